"""Per-interface packet counters: ``/proc/net/dev``.

Two header lines, then one line per interface of this network namespace: the name, a colon,
8 receive and 8 transmit counters (net/core/net-procfs.c ``dev_seq_printf_stats()``). Some
columns are sums of the driver's finer counters: receive ``drop`` is rx_dropped +
rx_missed_errors, ``frame`` is rx_length + rx_over + rx_crc + rx_frame errors, transmit
``carrier`` is tx_carrier + tx_aborted + tx_window + tx_heartbeat errors. Packets a qdisc drops
are not in transmit ``drop``: those are in the qdisc statistics (``tc -s qdisc``).

The name is right-aligned in 6 columns and followed by ``": "``; Linux 2.4 printed no space after
the colon (``%6s:%8lu``), so the name is cut at the first colon (an interface name cannot
contain one: ``dev_valid_name()``).

Sample content (lines cut after the second transmit column to fit the page)::

    Inter-|   Receive                                                |  Transmit
     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets ...
        lo:    3193      29    0    0    0     0          0         0     3193      29 ...
      eth0: 431534570    8820    0    0    0     0          0         0   446972    5324 ...

Examples:

>>> head = ("Inter-|   Receive                                                |  Transmit\\n"
...         " face |bytes    packets errs drop fifo frame compressed multicast|"
...         "bytes    packets errs drop fifo colls carrier compressed\\n")
>>> dev = parse_dev(head + "  eth0: 431534570 8820 0 3 0 0 0 0 446972 5324 0 7 0 0 0 0\\n")
>>> eth0 = dev.get("eth0")
>>> (eth0.rx_bytes, eth0.rx_drop, eth0.tx_packets, eth0.tx_drop)
(431534570, 3, 5324, 7)
>>> [i.name for i in dev.interfaces]
['eth0']
"""

from __future__ import annotations

from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError, decimal, lines_of

RX_FIELDS = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
TX_FIELDS = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")


@dataclass(frozen=True)
class InterfaceStats:
    """The 16 counters of one interface, as the kernel sums them (see the module docstring)."""

    name: str
    rx_bytes: int
    rx_packets: int
    rx_errs: int
    rx_drop: int
    rx_fifo: int
    rx_frame: int
    rx_compressed: int
    rx_multicast: int
    tx_bytes: int
    tx_packets: int
    tx_errs: int
    tx_drop: int
    tx_fifo: int
    tx_colls: int
    tx_carrier: int
    tx_compressed: int


@dataclass(frozen=True)
class NetDev:
    """All interfaces, in the order the kernel listed them."""

    interfaces: tuple[InterfaceStats, ...]

    def get(self, name: str) -> InterfaceStats | None:
        """The interface called ``name``, None when there is none."""
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        return None


def parse_dev(text: str, source: str = "/proc/net/dev") -> NetDev:
    """Parse ``/proc/net/dev``; the header must name the 16 columns this parser knows."""
    lines = lines_of(text, source)
    if not lines[0].startswith("Inter-|"):
        raise ParseError(source, 1, lines[0], "expected the header 'Inter-|   Receive ...'")
    if len(lines) < 2:
        raise ParseError(source, 1, lines[0], "second header line missing")
    _check_columns(lines[1], source)
    interfaces: list[InterfaceStats] = []
    for lineno, line in enumerate(lines[2:], start=3):
        name, colon, rest = line.partition(":")
        name = name.strip()
        if not colon or not name or any(c.isspace() or c == "/" for c in name):
            raise ParseError(source, lineno, line, "expected 'NAME: counters'")
        tokens = rest.split()
        if len(tokens) != len(RX_FIELDS) + len(TX_FIELDS):
            raise ParseError(source, lineno, line, f"{name}: {len(tokens)} counters, 16 expected")
        if any(i.name == name for i in interfaces):
            raise ParseError(source, lineno, line, f"{name} appears twice")
        v = [decimal(t, source, lineno, line, f"{name} counter") for t in tokens]
        if any(x < 0 for x in v):
            raise ParseError(source, lineno, line, f"{name}: negative counter")
        interfaces.append(InterfaceStats(name, *v))
    return NetDev(tuple(interfaces))


def _check_columns(line: str, source: str) -> None:
    parts = line.split("|")
    if len(parts) != 3 or parts[0].strip() != "face":
        raise ParseError(source, 2, line, "expected ' face |rx columns|tx columns'")
    if tuple(parts[1].split()) != RX_FIELDS or tuple(parts[2].split()) != TX_FIELDS:
        raise ParseError(source, 2, line, "unknown column names")
