"""The lab's own view of a scenario's namespace, ten times a second.

Each :class:`Sample` holds what sockdoc's collectors and parsers read at one moment: the
namespace's SNMP and netstat counters (zero when the namespace was made, so a value is also the
delta since the start), the TCP and UNIX listeners with their queues, the UDP sockets with their
buffers and drops, and the qdiscs. The caller must be inside the namespace, on the main thread
(see :func:`sockdoc.collect.netns.entered`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sockdoc.collect import sock_diag
from sockdoc.collect.root import LiveRoot
from sockdoc.parsers.proc_snmp import Counters, parse_netstat, parse_snmp
from sockdoc.parsers.sock_diag import InetSocket, UnixSocket, inet_name, unix_name
from sockdoc.parsers.tc_qdisc import Qdisc, parse_qdisc_json


@dataclass(frozen=True)
class Sample:
    """One reading; ``t`` is ``time.monotonic()`` when it started."""

    t: float
    counters: Counters
    tcp: tuple[InetSocket, ...]
    unix: tuple[UnixSocket, ...]
    udp: tuple[InetSocket, ...]
    qdiscs: tuple[Qdisc, ...]

    def counter(self, name: str) -> int:
        """A counter by ``Proto.Field`` name; 0 when this kernel does not have it."""
        return self.counters.get(name, 0)

    def listener(self, name: str) -> InetSocket | UnixSocket | None:
        for s in self.tcp:
            if inet_name(s) == name:
                return s
        for u in self.unix:
            if unix_name(u) == name:
                return u
        return None

    def udp_socket(self, name: str) -> InetSocket | None:
        return next((s for s in self.udp if inet_name(s) == name), None)

    def qdisc(self, dev: str) -> Qdisc | None:
        return next((q for q in self.qdiscs if q.dev == dev and q.parent is None), None)


class Probe:
    """Reads samples in the namespace the main thread is in."""

    def __init__(self, qdiscs: bool) -> None:
        self.root = LiveRoot()
        self.qdiscs = qdiscs

    def sample(self) -> Sample:
        t = time.monotonic()
        snmp = self.root.file("snmp", "/proc/net/snmp")
        netstat = self.root.file("netstat", "/proc/net/netstat")
        counters = parse_snmp(snmp.text()).merged(parse_netstat(netstat.text()))
        qdiscs: tuple[Qdisc, ...] = ()
        if self.qdiscs:
            got = self.root.command("tc", ["tc", "-s", "-j", "qdisc", "show"])
            if got.ok:
                qdiscs = parse_qdisc_json(got.text())
        return Sample(
            t,
            counters,
            sock_diag.tcp_listeners(),
            sock_diag.unix_listeners(),
            sock_diag.udp_sockets(),
            qdiscs,
        )

    def close(self) -> None:
        self.root.close()
