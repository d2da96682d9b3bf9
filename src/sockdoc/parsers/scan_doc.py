"""The document ``sockdoc scan --json`` prints, read back: what ``check`` knows of the logs.

Only what the rules and reports use is kept: totals by cause, signature and daemon, the
incidents (bursts of matched lines grouped in time), one example line per signature, and the
inputs read.

Examples:

>>> d = parse_scan_doc('{"inputs": ["journal"], "matched": 23, "by_cause": '
...     '{"unix-listen-queue-full": 23}, "by_signature": {"dovecot.net-connect-unix-eagain": 23},'
...     ' "by_daemon": {"dovecot": 23}, "incidents": [{"start": "2026-11-21T03:00:00+00:00", '
...     '"end": "2026-11-21T03:02:00+00:00", "count": 23, "peak_per_minute": 20, "causes": '
...     '{"unix-listen-queue-full": 23}, "signatures": {"dovecot.net-connect-unix-eagain": 23}}],'
...     ' "examples": {}}')
>>> d.matched, d.incidents[0].count, d.incidents[0].start
(23, 23, 1795230000.0)
>>> d.count_for_cause("unix-listen-queue-full")
23
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sockdoc.parsers.errors import ParseError

SOURCE = "sockdoc scan --json"


@dataclass(frozen=True)
class LogIncident:
    start: float
    end: float
    count: int
    peak_per_minute: int
    causes: tuple[tuple[str, int], ...]
    signatures: tuple[tuple[str, int], ...]
    per_minute: tuple[int, ...] = ()  # matched lines per point from ``start``
    minutes_per_point: int = 1  # a long incident's series is binned


@dataclass(frozen=True)
class LogFacts:
    inputs: tuple[str, ...]
    matched: int
    by_cause: tuple[tuple[str, int], ...]
    by_signature: tuple[tuple[str, int], ...]
    by_daemon: tuple[tuple[str, int], ...]
    by_service: tuple[tuple[str, int], ...]
    top_sockets: tuple[tuple[str, int], ...]
    incidents: tuple[LogIncident, ...]
    examples: tuple[tuple[str, str], ...]
    unreadable: int
    untimed: int = 0  # matched lines without a time stamp

    def count_for_cause(self, cause: str) -> int:
        return sum(n for c, n in self.by_cause if c == cause)

    def example_for(self, signature: str) -> str | None:
        for sig, line in self.examples:
            if sig == signature:
                return line
        return None


def _counts(doc: Any, key: str) -> tuple[tuple[str, int], ...]:
    v = doc.get(key, {}) if isinstance(doc, dict) else {}
    if not isinstance(v, dict):
        raise ParseError(SOURCE, None, None, f"{key} is not an object")
    out = []
    for k, n in v.items():
        if isinstance(n, bool) or not isinstance(n, int):
            raise ParseError(SOURCE, None, None, f"{key}.{k} is not an integer")
        out.append((str(k), n))
    return tuple(out)


def _top(doc: dict[str, Any], key: str) -> tuple[tuple[str, int], ...]:
    top = doc.get("top", {})
    rows = top.get(key, []) if isinstance(top, dict) else []
    if not isinstance(rows, list):
        raise ParseError(SOURCE, None, None, f"top.{key} is not a list")
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[1], int)):
            raise ParseError(SOURCE, None, None, f"top.{key} has a bad row")
        out.append((str(row[0]), row[1]))
    return tuple(out)


def _time(v: Any, what: str) -> float:
    if not isinstance(v, str):
        raise ParseError(SOURCE, None, None, f"{what} is not a time")
    try:
        return datetime.fromisoformat(v).timestamp()
    except ValueError:
        raise ParseError(SOURCE, None, None, f"{what} is not an ISO time ({v!r})") from None


def _series(inc: dict[str, Any], i: int) -> tuple[tuple[int, ...], int]:
    series = inc.get("per_minute", [])
    step = inc.get("minutes_per_point", 1)
    if not isinstance(series, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in series
    ):
        raise ParseError(SOURCE, None, None, f"incident {i} per_minute: not a list of counts")
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ParseError(SOURCE, None, None, f"incident {i} minutes_per_point is not >= 1")
    return tuple(series), step


def _int(doc: dict[str, Any], key: str) -> int:
    v = doc.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ParseError(SOURCE, None, None, f"{key} is not an integer")
    return v


def parse_scan_doc(text: str) -> LogFacts:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(SOURCE, None, None, f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ParseError(SOURCE, None, None, "not a JSON object")
    incidents = []
    raw = doc.get("incidents", [])
    if not isinstance(raw, list):
        raise ParseError(SOURCE, None, None, "incidents is not a list")
    for i, inc in enumerate(raw):
        if not isinstance(inc, dict):
            raise ParseError(SOURCE, None, None, f"incident {i} is not an object")
        series, step = _series(inc, i)
        incidents.append(
            LogIncident(
                start=_time(inc.get("start"), f"incident {i} start"),
                end=_time(inc.get("end"), f"incident {i} end"),
                count=_int(inc, "count"),
                peak_per_minute=_int(inc, "peak_per_minute"),
                causes=_counts(inc, "causes"),
                signatures=_counts(inc, "signatures"),
                per_minute=series,
                minutes_per_point=step,
            )
        )
    inputs = doc.get("inputs", [])
    examples = doc.get("examples", {})
    return LogFacts(
        inputs=tuple(str(x) for x in inputs) if isinstance(inputs, list) else (),
        matched=_int(doc, "matched"),
        by_cause=_counts(doc, "by_cause"),
        by_signature=_counts(doc, "by_signature"),
        by_daemon=_counts(doc, "by_daemon"),
        by_service=_counts(doc, "by_service"),
        top_sockets=_top(doc, "sockets"),
        incidents=tuple(incidents),
        examples=tuple((str(k), str(v)) for k, v in examples.items())
        if isinstance(examples, dict)
        else (),
        unreadable=_int(doc, "unreadable"),
        untimed=_int(doc, "untimed"),
    )
