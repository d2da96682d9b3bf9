"""Socket counts and socket memory: ``/proc/net/sockstat`` and ``/proc/net/sockstat6``.

Each line is a protocol and ``name value`` pairs (net/ipv4/proc.c ``sockstat_seq_show()``,
net/ipv6/proc.c ``sockstat6_seq_show()``). ``mem`` is in pages (compare with
``net.ipv4.tcp_mem`` / ``udp_mem``, also pages); ``FRAG ... memory`` is in bytes.

Not everything is per network namespace: ``inuse`` and ``tw`` are, but ``TCP ... mem`` and
``orphan`` are the host's totals (``tcp_memory_allocated``, ``tcp_orphan_count``), so a new
namespace shows the host's TCP ``mem``. UDP ``mem`` lags behind the buffers really queued:
since Linux 6.0 each CPU keeps up to 1 MiB of forward allocation before charging it to the
global counter (``sk_memory_allocated_add()``, include/net/sock.h).

Sample content (``/proc/net/sockstat``)::

    sockets: used 20
    TCP: inuse 14 orphan 0 tw 0 alloc 15 mem 273
    UDP: inuse 4 mem 0
    UDPLITE: inuse 0
    RAW: inuse 0
    FRAG: inuse 0 memory 0

Sample content (``/proc/net/sockstat6``)::

    TCP6: inuse 0
    UDP6: inuse 0
    UDPLITE6: inuse 0
    RAW6: inuse 0
    FRAG6: inuse 0 memory 0

Examples:

>>> s = parse_sockstat("sockets: used 120\\nTCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\\n"
...                    "UDP: inuse 3 mem 2\\n")
>>> (s.sockets_used, s.tcp_inuse, s.tcp_tw, s.tcp_mem_pages, s.udp_mem_pages)
(120, 5, 2, 1, 2)
>>> s.get("TCP.alloc")
7
>>> s6 = parse_sockstat("TCP6: inuse 4\\nUDP6: inuse 1\\n", "/proc/net/sockstat6")
>>> both = s.merged(s6)
>>> (both.tcp_inuse, both.tcp6_inuse, both.udp6_inuse, both.raw_inuse)
(5, 4, 1, None)
>>> parse_sockstat("TCP: inuse 5 tw\\n")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: /proc/net/sockstat:1: TCP: 'tw' has no value: 'TCP: inuse 5 tw'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from sockdoc.parsers.errors import ParseError, decimal, lines_of

_PROTO = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_KEY = re.compile(r"[a-z_]+")

# "PROTO.key" in the file -> the typed field that holds it.
_FIELDS: dict[str, str] = {
    "sockets.used": "sockets_used",
    "TCP.inuse": "tcp_inuse",
    "TCP.orphan": "tcp_orphan",
    "TCP.tw": "tcp_tw",
    "TCP.alloc": "tcp_alloc",
    "TCP.mem": "tcp_mem_pages",
    "UDP.inuse": "udp_inuse",
    "UDP.mem": "udp_mem_pages",
    "UDPLITE.inuse": "udplite_inuse",
    "RAW.inuse": "raw_inuse",
    "FRAG.inuse": "frag_inuse",
    "FRAG.memory": "frag_memory_bytes",
    "TCP6.inuse": "tcp6_inuse",
    "UDP6.inuse": "udp6_inuse",
    "UDPLITE6.inuse": "udplite6_inuse",
    "RAW6.inuse": "raw6_inuse",
    "FRAG6.inuse": "frag6_inuse",
    "FRAG6.memory": "frag6_memory_bytes",
}


@dataclass(frozen=True)
class SockStat:
    """The values of sockstat and/or sockstat6; None when the line or field is absent.

    ``values`` keeps every pair read, known or not, as ``("PROTO.key", value)``.
    """

    sockets_used: int | None = None
    tcp_inuse: int | None = None
    tcp_orphan: int | None = None
    tcp_tw: int | None = None
    tcp_alloc: int | None = None
    tcp_mem_pages: int | None = None
    udp_inuse: int | None = None
    udp_mem_pages: int | None = None
    udplite_inuse: int | None = None
    raw_inuse: int | None = None
    frag_inuse: int | None = None
    frag_memory_bytes: int | None = None
    tcp6_inuse: int | None = None
    udp6_inuse: int | None = None
    udplite6_inuse: int | None = None
    raw6_inuse: int | None = None
    frag6_inuse: int | None = None
    frag6_memory_bytes: int | None = None
    values: tuple[tuple[str, int], ...] = ()

    def get(self, key: str) -> int | None:
        """The value of ``"PROTO.key"`` (``"TCP.orphan"``), None when absent."""
        for name, value in self.values:
            if name == key:
                return value
        return None

    def merged(self, other: SockStat) -> SockStat:
        """sockstat and sockstat6 in one: ``other``'s values where this one has none."""
        changes = {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if f.name != "values" and getattr(self, f.name) is None
        }
        known = {name for name, _ in self.values}
        extra = tuple(pair for pair in other.values if pair[0] not in known)
        return replace(self, **changes, values=self.values + extra)


def parse_sockstat(text: str, source: str = "/proc/net/sockstat") -> SockStat:
    """Parse ``/proc/net/sockstat`` or ``/proc/net/sockstat6``."""
    pairs: list[tuple[str, int]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines_of(text, source), start=1):
        proto, colon, rest = line.partition(":")
        if not colon or _PROTO.fullmatch(proto) is None:
            raise ParseError(source, lineno, line, "expected 'PROTO: name value ...'")
        if proto in seen:
            raise ParseError(source, lineno, line, f"{proto} appears twice")
        seen.add(proto)
        tokens = rest.split()
        if not tokens:
            raise ParseError(source, lineno, line, f"{proto}: no values")
        if len(tokens) % 2:
            raise ParseError(source, lineno, line, f"{proto}: {tokens[-1]!r} has no value")
        for key, token in zip(tokens[::2], tokens[1::2], strict=True):
            if _KEY.fullmatch(key) is None:
                raise ParseError(source, lineno, line, f"{proto}: bad name {key!r}")
            pairs.append((f"{proto}.{key}", decimal(token, source, lineno, line, key)))
    typed: dict[str, Any] = {_FIELDS[name]: value for name, value in pairs if name in _FIELDS}
    return replace(SockStat(values=tuple(pairs)), **typed)
