"""The report as one JSON document (``sockdoc report --json``).

It is the ``check --json`` document (:mod:`sockdoc.report.check_json`: findings, ok,
not_checked, unavailable, errors) with a ``report`` object added: what the charts draw, as
data. ``report.window`` gives the two sample times; ``report.counters`` each charted counter at
``s0`` and ``s1``; ``report.logs.per_minute`` the scan's points (``minutes`` > 1 where it binned
a long incident); ``report.sampler`` what the attribution sampler did; ``report.listeners`` and
``report.udp`` the rows nearest their limits, with ``*_total`` the number there were.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sockdoc.report import check_json
from sockdoc.report.model import Fill, Report


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).isoformat() if t is not None else None


def _fill(f: Fill) -> dict[str, Any]:
    return {
        "kind": f.what,
        "socket": f.name,
        "inode": f.inode,
        "owner": f.owner,
        "at_s1": f.now,
        "peak": f.peak,
        "limit": f.limit,
        "unit": f.unit,
        "fullest": round(f.ratio, 4),
        "full_samples": f.full_samples,
        "samples": f.samples,
        "drops": f.drops,
    }


def to_json(r: Report) -> dict[str, Any]:
    doc = check_json.to_json(r.diagnosis)
    logs: dict[str, Any] | None = None
    if r.logs is not None:
        logs = {
            "inputs": list(r.logs.inputs),
            "matched": r.logs.matched,
            "untimed": r.logs.untimed,
            "per_minute": [
                {"start": _iso(p.start), "minutes": p.minutes, "count": p.count}
                for p in r.logs.points
            ],
        }
    s = r.sampling
    doc["report"] = {
        "generated_at": _iso(r.generated_at),
        "window": {
            "s0": _iso(r.window.s0),
            "s1": _iso(r.window.s1),
            "seconds": round(r.window.seconds, 3),
        },
        "logs": logs,
        "logs_note": r.logs_note,
        "counters": [
            {
                "name": c.name,
                "s0": c.before,
                "s1": c.after,
                "delta": c.delta,
                "per_second": round(c.per_second, 3),
                "cited": c.cited,
            }
            for c in r.counters
        ],
        "sampler": (
            {"rounds": s.rounds, "hz": s.hz, "seconds": round(s.seconds, 3)}
            if s is not None
            else None
        ),
        "listeners": [_fill(f) for f in r.listeners],
        "listeners_total": r.listeners_total,
        "udp": [_fill(f) for f in r.udp],
        "udp_total": r.udp_total,
    }
    return doc
