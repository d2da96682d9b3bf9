"""The kernel's SNMP counters: ``/proc/net/snmp``, ``/proc/net/netstat`` and ``/proc/net/snmp6``.

``snmp`` and ``netstat`` print each protocol as a pair of lines, a line of names and a line of
values, both starting with ``Proto:`` (``snmp_seq_show()`` and ``netstat_seq_show()`` in
net/ipv4/proc.c). One protocol may take several pairs: ``IcmpMsg`` prints 16 names a pair
(``icmpmsg_put()``), and only the ICMP types seen so far, so it is absent in a new namespace.
``snmp6`` prints one ``Name<TAB>value`` line per counter, the protocol glued to the name
(``Udp6RcvbufErrors``; net/ipv6/proc.c ``snmp6_seq_show()``).

All three become one :class:`Counters`, a frozen mapping of ``"Proto.Field"`` to int, the snmp6
names split the same way (``Udp6RcvbufErrors`` -> ``"Udp6.RcvbufErrors"``). Counters are per
network namespace and start at zero in a new one. Values are signed: ``Tcp.MaxConn`` is -1
(RFC 2012: dynamic).

Sample content (``/proc/net/snmp``, shortened)::

    Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets
    Tcp: 1 200 120000 -1 36 2 0 0
    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
    Udp: 0 23 197 1147 197 1113

Sample content (``/proc/net/snmp6``, shortened; the name is padded to 32 columns, then a tab)::

    Udp6InErrors                     197
    Udp6RcvbufErrors                 197

Examples:

>>> snmp = parse_snmp(
...     "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\\n"
...     "Udp: 0 23 197 1147 197 1113\\n"
... )
>>> snmp["Udp.SndbufErrors"]
1113
>>> snmp.protocol("Udp")["NoPorts"]
23
>>> snmp6 = parse_snmp6("Udp6InErrors\\t197\\nUdp6RcvbufErrors\\t197\\n")
>>> snmp6["Udp6.RcvbufErrors"]
197
>>> both = snmp.merged(snmp6)
>>> sorted(both.protocols)
['Udp', 'Udp6']
>>> later = parse_snmp("Udp: SndbufErrors MaxConn\\nUdp: 1133 5\\n")
>>> delta(snmp, later, 2.0)["Udp.SndbufErrors"]
10.0
>>> parse_snmp("Udp: InDatagrams NoPorts\\nUdp: 1\\n")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: /proc/net/snmp:2: Udp: 1 values for 2 names: 'Udp: 1'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sockdoc.parsers.errors import ParseError, decimal, lines_of

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# snmp6 protocols all end in "6" (Ip6, Icmp6, Udp6, UdpLite6), the field starts with a capital.
_SNMP6_NAME = re.compile(r"(?P<proto>[A-Za-z]+6)(?P<field>[A-Z][A-Za-z0-9_]*)")

# Values that are settings or current levels, not event counters (RFC 2011/2012 and
# net/ipv4/proc.c): a per-second rate of them means nothing, so delta() leaves them out.
GAUGES: frozenset[str] = frozenset(
    {
        "Ip.Forwarding",
        "Ip.DefaultTTL",
        "Tcp.RtoAlgorithm",
        "Tcp.RtoMin",
        "Tcp.RtoMax",
        "Tcp.MaxConn",
        "Tcp.CurrEstab",
    }
)


@dataclass(frozen=True)
class Counters(Mapping[str, int]):
    """Counters by ``"Proto.Field"`` (``"Udp.SndbufErrors"``, ``"TcpExt.ListenOverflows"``)."""

    data: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A private copy, read-only by its type: a MappingProxyType would be safer but can be
        # neither pickled (worker processes) nor copied by dataclasses.asdict() (bundles).
        object.__setattr__(self, "data", dict(self.data))

    def __getitem__(self, key: str) -> int:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __hash__(self) -> int:
        return hash(frozenset(self.data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Counters):
            return dict(self.data) == dict(other.data)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Counters({len(self.data)} values)"

    @property
    def protocols(self) -> frozenset[str]:
        """The protocols present (``"Udp"``, ``"TcpExt"``, ``"Udp6"``...)."""
        return frozenset(key.partition(".")[0] for key in self.data)

    def protocol(self, proto: str) -> Mapping[str, int]:
        """The fields of one protocol, by field name; empty when it is absent."""
        prefix = proto + "."
        return {k[len(prefix) :]: v for k, v in self.data.items() if k.startswith(prefix)}

    def merged(self, *others: Counters) -> Counters:
        """One mapping of these counters and ``others`` (snmp, netstat and snmp6 share none)."""
        combined = dict(self.data)
        for other in others:
            combined.update(other.data)
        return Counters(combined)


def parse_snmp(text: str, source: str = "/proc/net/snmp") -> Counters:
    """Parse ``/proc/net/snmp`` or ``/proc/net/netstat`` (pairs of name and value lines)."""
    lines = lines_of(text, source)
    values: dict[str, int] = {}
    for index in range(0, len(lines), 2):
        header, lineno = lines[index], index + 1
        proto, names = _split(header, source, lineno, "names")
        if index + 1 >= len(lines):
            raise ParseError(source, lineno, header, f"{proto}: names without a line of values")
        line = lines[index + 1]
        vproto, tokens = _split(line, source, lineno + 1, "values")
        if vproto != proto:
            raise ParseError(source, lineno + 1, line, f"values of {vproto} after names of {proto}")
        if len(tokens) != len(names):
            raise ParseError(
                source, lineno + 1, line, f"{proto}: {len(tokens)} values for {len(names)} names"
            )
        for name, token in zip(names, tokens, strict=True):
            if _NAME.fullmatch(name) is None:
                raise ParseError(source, lineno, header, f"{proto}: bad counter name {name!r}")
            key = f"{proto}.{name}"
            if key in values:
                raise ParseError(source, lineno, header, f"{key} appears twice")
            values[key] = decimal(token, source, lineno + 1, line, key)
    return Counters(values)


def parse_netstat(text: str, source: str = "/proc/net/netstat") -> Counters:
    """Parse ``/proc/net/netstat``: the same layout as ``/proc/net/snmp`` (TcpExt, IpExt...).

    >>> netstat = parse_netstat("TcpExt: ListenOverflows ListenDrops\\nTcpExt: 18 18\\n")
    >>> netstat["TcpExt.ListenDrops"]
    18
    """
    return parse_snmp(text, source)


def parse_snmp6(text: str, source: str = "/proc/net/snmp6") -> Counters:
    """Parse ``/proc/net/snmp6`` (also ``/proc/net/dev_snmp6/IFACE``): ``Name value`` lines."""
    values: dict[str, int] = {}
    for lineno, line in enumerate(lines_of(text, source), start=1):
        parts = line.split()
        if len(parts) != 2:
            raise ParseError(source, lineno, line, "expected a name and a value")
        m = _SNMP6_NAME.fullmatch(parts[0])
        if m is None:
            raise ParseError(source, lineno, line, f"bad counter name {parts[0]!r}")
        key = f"{m['proto']}.{m['field']}"
        if key in values:
            raise ParseError(source, lineno, line, f"{key} appears twice")
        values[key] = decimal(parts[1], source, lineno, line, key)
    return Counters(values)


def delta(a: Counters, b: Counters, seconds: float) -> Mapping[str, float | None]:
    """Per-second rates from sample ``a`` to the later sample ``b``, taken ``seconds`` apart.

    Only counters present in both samples, gauges (:data:`GAUGES`) left out. A counter that went
    down gives None: it was reset (the namespace was re-created, a module reloaded) or it
    wrapped (``unsigned long``: 32 bits on 32-bit kernels), and two samples cannot tell which.

    >>> a = Counters({"Udp.SndbufErrors": 10, "Udp.RcvbufErrors": 5, "Tcp.CurrEstab": 3})
    >>> b = Counters({"Udp.SndbufErrors": 30, "Udp.RcvbufErrors": 0, "Tcp.CurrEstab": 9})
    >>> dict(delta(a, b, 4))
    {'Udp.SndbufErrors': 5.0, 'Udp.RcvbufErrors': None}
    """
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, not {seconds!r}")
    rates: dict[str, float | None] = {}
    for key, before in a.data.items():
        after = b.data.get(key)
        if after is None or key in GAUGES:
            continue
        rates[key] = None if after < before else (after - before) / seconds
    return rates


def _split(line: str, source: str, lineno: int, what: str) -> tuple[str, list[str]]:
    proto, colon, rest = line.partition(":")
    if not colon or _NAME.fullmatch(proto) is None:
        raise ParseError(source, lineno, line, f"expected 'Proto: {what}...'")
    tokens = rest.split()
    if not tokens:
        raise ParseError(source, lineno, line, f"{proto}: no {what}")
    return proto, tokens
