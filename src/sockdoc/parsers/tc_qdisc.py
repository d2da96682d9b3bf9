"""Queueing discipline statistics: the output of ``tc -s -j qdisc show`` (or ``tc -s qdisc show``).

iproute2 prints, per qdisc, the counters the kernel keeps in ``struct gnet_stats_basic`` and
``struct gnet_stats_queue`` (tc/tc_util.c ``print_tcstats2_attr()``): bytes and packets sent,
drops, overlimits (the shaper said "not yet": a packet waited, not necessarily dropped),
requeues, and the current backlog in bytes and packets (``qlen``). Drops of a qdisc are not
counted in ``/proc/net/dev``; a parent's counters include its children's drops and backlog.

The JSON form (``-j``) is exact. The text form is read as a fallback: its backlog goes through
``sprint_size()``, which prints ``1Mb`` / ``15Kb`` (1024-based) when the value is within 1 KiB
of whole MiB or 16 bytes of whole KiB, so a text backlog may be rounded by up to 1 KiB. Old
kernels without ``TCA_STATS2`` print ``Sent N bytes N pkts (dropped N, overlimits N)`` with
no requeues: those are read as 0.

Sample content (``tc -s -j qdisc show``, one qdisc, pretty-printed here; tc prints one line)::

    [{"kind": "tbf", "handle": "1:", "dev": "vcap0", "root": true, "refcnt": 3,
      "options": {"rate": 125000, "burst": 4500, "lat": 31964000},
      "bytes": 6636, "packets": 10, "drops": 0, "overlimits": 916, "requeues": 0,
      "backlog": 1130220, "qlen": 910}]

Sample content (``tc -s qdisc show``)::

    qdisc tbf 1: dev vcap0 root refcnt 3 rate 1Mbit burst 4500b lat 32s
     Sent 7878 bytes 11 pkt (dropped 0, overlimits 918 requeues 0)
     backlog 1128978b 909p requeues 0

Examples:

>>> j = parse_qdiscs('[{"kind":"tbf","handle":"1:","dev":"vcap0","root":true,"bytes":6636,'
...                  '"packets":10,"drops":0,"overlimits":916,"requeues":0,"backlog":1130220,'
...                  '"qlen":910}]')
>>> q = j[0]
>>> (q.dev, q.kind, q.handle, q.parent, q.overlimits, q.backlog_bytes, q.qlen)
('vcap0', 'tbf', '1:', None, 916, 1130220, 910)
>>> t = parse_qdiscs("qdisc pfifo 10: dev vcap2 parent 1:1 limit 5p\\n"
...                  " Sent 6678 bytes 11 pkt (dropped 28, overlimits 0 requeues 0)\\n"
...                  " backlog 3Kb 3p requeues 0\\n")
>>> (t[0].kind, t[0].parent, t[0].drops, t[0].backlog_bytes, t[0].qlen)
('pfifo', '1:1', 28, 3072, 3)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sockdoc.parsers.errors import ParseError, decimal, lines_of

_STATS = ("bytes", "packets", "drops", "overlimits", "requeues", "backlog", "qlen")
_HEAD = re.compile(
    r"qdisc (?P<kind>\S+) (?P<handle>\S+) dev (?P<dev>\S+) (?:root|parent (?P<parent>\S+))(?: .*)?"
)
_SENT = re.compile(
    r"\s*Sent (?P<bytes>\S+) bytes (?P<packets>\S+) pkts? \(dropped (?P<drops>\S+), "
    r"overlimits (?P<overlimits>[^\s)]+)(?: requeues (?P<requeues>[^\s)]+))?\)\s*"
)
# With a rate estimator the backlog follows "rate N pps" on the same line; cake's per-tin table
# has rows that also start with "backlog", after it: only the first such line is the qdisc's.
_HAS_BACKLOG = re.compile(r"(?:^|\s)backlog(?:\s|$)")
_BACKLOG = re.compile(r"(?:^|\s)backlog (?P<size>\S+) (?P<qlen>\S+)p(?:\s|$)")
# Offloading qdiscs add "Sent software ..." / "Sent hardware ..." lines after the totals.
_SENT_SPLIT = ("Sent software ", "Sent hardware ")
# "%gMb" of a u32 never needs an exponent (at most 4096Mb).
_SIZE = re.compile(r"(?P<number>[0-9]{1,12}(?:\.[0-9]{1,6})?)(?P<unit>b|Kb|Mb)")
_UNIT = {"b": 1, "Kb": 1024, "Mb": 1024 * 1024}


@dataclass(frozen=True)
class Qdisc:
    """One qdisc. ``parent`` is None for a root qdisc (else ``"1:1"``, ``"ffff:fff1"``...)."""

    dev: str
    kind: str
    handle: str
    parent: str | None
    bytes: int
    packets: int
    drops: int
    overlimits: int
    requeues: int
    backlog_bytes: int
    qlen: int


def parse_qdiscs(text: str, source: str = "tc -s -j qdisc show") -> tuple[Qdisc, ...]:
    """Parse either form: JSON when the text starts with ``[``, else the text form."""
    if text.lstrip().startswith("["):
        return parse_qdisc_json(text, source)
    return parse_qdisc_text(text, source)


def parse_qdisc_json(text: str, source: str = "tc -s -j qdisc show") -> tuple[Qdisc, ...]:
    """Parse the JSON of ``tc -s -j qdisc show`` (a list of objects, ``-p`` or not)."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ParseError(source, None, None, "JSON nested too deeply") from None
    except ValueError as e:
        lineno = getattr(e, "lineno", None)
        lines = text.split("\n")
        line = lines[lineno - 1] if lineno is not None and 0 < lineno <= len(lines) else None
        raise ParseError(source, lineno, line, f"not JSON ({e})") from None
    if not isinstance(doc, list):
        raise ParseError(source, None, None, "expected a JSON list of qdiscs")
    return tuple(_from_json(i, obj, source) for i, obj in enumerate(doc, start=1))


def _from_json(index: int, obj: Any, source: str) -> Qdisc:
    where = f"qdisc {index}"
    if not isinstance(obj, dict):
        raise ParseError(source, None, None, f"{where}: not an object")
    strings: dict[str, str] = {}
    for key in ("kind", "handle", "dev"):
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise ParseError(source, None, None, f"{where}: {key!r} missing or not a string")
        strings[key] = value
    where = f"qdisc {index} ({strings['kind']} {strings['handle']} dev {strings['dev']})"
    parent = obj.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ParseError(source, None, None, f"{where}: 'parent' is not a string")
    if parent is None and obj.get("root") is not True:
        raise ParseError(source, None, None, f"{where}: neither root nor a parent")
    if not any(key in obj for key in _STATS):
        raise ParseError(source, None, None, f"{where}: no statistics (run tc with -s)")
    stats: dict[str, int] = {}
    for key in _STATS:
        value = obj.get(key)
        # bool is an int to Python, but true/false is not a count.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ParseError(source, None, None, f"{where}: {key!r} missing or not a count")
        stats[key] = value
    return Qdisc(
        dev=strings["dev"],
        kind=strings["kind"],
        handle=strings["handle"],
        parent=parent,
        bytes=stats["bytes"],
        packets=stats["packets"],
        drops=stats["drops"],
        overlimits=stats["overlimits"],
        requeues=stats["requeues"],
        backlog_bytes=stats["backlog"],
        qlen=stats["qlen"],
    )


def parse_qdisc_text(text: str, source: str = "tc -s qdisc show") -> tuple[Qdisc, ...]:
    """Parse the text of ``tc -s qdisc show``; lines other than Sent/backlog are skipped."""
    lines = lines_of(text, source)
    heads = [i for i, line in enumerate(lines) if line.startswith("qdisc ")]
    if not heads or heads[0] != 0:
        raise ParseError(source, 1, lines[0], "expected 'qdisc KIND HANDLE dev DEV ...'")
    qdiscs: list[Qdisc] = []
    for n, start in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        qdiscs.append(_from_text(lines, start, end, source))
    return tuple(qdiscs)


def _from_text(lines: list[str], start: int, end: int, source: str) -> Qdisc:
    head = _HEAD.fullmatch(lines[start].rstrip())
    if head is None:
        raise ParseError(source, start + 1, lines[start], "expected 'qdisc KIND HANDLE dev DEV'")
    counts: dict[str, int] | None = None
    backlog = qlen = 0
    backlog_seen = False
    for i in range(start + 1, end):
        line, lineno = lines[i], i + 1
        stripped = line.lstrip()
        if counts is None and stripped.startswith("Sent ") and not stripped.startswith(_SENT_SPLIT):
            sent = _SENT.fullmatch(line)
            if sent is None:
                raise ParseError(source, lineno, line, "expected 'Sent N bytes N pkt (dropped..'")
            counts = {
                key: 0 if sent[key] is None else decimal(sent[key], source, lineno, line, key)
                for key in ("bytes", "packets", "drops", "overlimits", "requeues")
            }
        elif counts is not None and not backlog_seen and _HAS_BACKLOG.search(line):
            m = _BACKLOG.search(line)
            if m is None:
                raise ParseError(source, lineno, line, "expected 'backlog SIZE Np'")
            backlog = _size(m["size"], source, lineno, line)
            qlen = decimal(m["qlen"], source, lineno, line, "qlen")
            backlog_seen = True
    if counts is None:
        raise ParseError(
            source, start + 1, lines[start], "no 'Sent' line (run tc with -s) for this qdisc"
        )
    return Qdisc(
        dev=head["dev"],
        kind=head["kind"],
        handle=head["handle"],
        parent=head["parent"],
        bytes=counts["bytes"],
        packets=counts["packets"],
        drops=counts["drops"],
        overlimits=counts["overlimits"],
        requeues=counts["requeues"],
        backlog_bytes=backlog,
        qlen=qlen,
    )


def _size(token: str, source: str, lineno: int, line: str) -> int:
    m = _SIZE.fullmatch(token)
    if m is None:
        raise ParseError(source, lineno, line, f"backlog is not a size ({token!r})")
    return round(float(m["number"]) * _UNIT[m["unit"]])
