"""JSON rendering of a log scan: one document."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sockdoc.scan import ScanResult


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).isoformat() if t is not None else None


def to_json(r: ScanResult) -> dict[str, Any]:
    f = r.facts
    return {
        "inputs": list(r.inputs),
        "engine": r.engine,
        "seconds": round(r.seconds, 3),
        "bytes": f.bytes,
        "matched": f.matched,
        "first": _iso(f.first),
        "last": _iso(f.last),
        "untimed": f.untimed,
        "outside_window": f.outside_window,
        "by_cause": dict(f.by_cause),
        "by_signature": dict(f.by_signature),
        "by_daemon": dict(f.by_daemon),
        "by_service": dict(f.by_service),
        "top": {
            "clients": [list(x) for x in f.top_clients],
            "sockets": [list(x) for x in f.top_sockets],
            "upstreams": [list(x) for x in f.top_upstreams],
        },
        "incidents": [
            {
                "start": _iso(i.start),
                "end": _iso(i.end),
                "count": i.count,
                "peak_per_minute": i.peak_per_minute,
                "peak_minute": _iso(i.peak_minute),
                "per_minute": list(i.per_minute),
                "minutes_per_point": i.minutes_per_point,
                "causes": dict(i.causes),
                "signatures": dict(i.signatures),
            }
            for i in f.incidents
        ],
        "false_friends": dict(f.false_friends),
        "examples": dict(f.examples),
        "skipped": dict(sorted(r.skips.items())),
        "skipped_examples": dict(sorted(r.skip_examples.items())),
        "unreadable": r.unreadable,
    }
