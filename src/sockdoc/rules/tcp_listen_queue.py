"""A TCP listener whose accept queue overflows: new connections are dropped.

When a listener's accept queue is longer than its backlog, the kernel drops the handshake's
final ACK (or the SYN) and counts ``TcpExt.ListenOverflows`` and ``ListenDrops``
(``tcp_v4_syn_recv_sock()``, net/ipv4/tcp_ipv4.c); the listener's own drop counter
(``SK_MEMINFO_DROPS``) rises too. Clients see a slow or failed connect. The application does
not call ``accept()`` fast enough, or its backlog (capped by ``net.core.somaxconn``) is smaller
than its bursts.

Proof: the counters' rise, and the attribution sampler naming the listener whose queue was
full or whose drops rose. Fix: more accepting capacity and a larger backlog.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules._common import counter_evidence, owner_text, socket_subject
from sockdoc.rules.base import Finding, Fix, NotChecked, Ok, Outcome, Rule, Subject
from sockdoc.rules.unix_listen_queue import backlog_fix, full_listeners, listener_evidence

ID = "tcp-listen-queue-full"
COUNTERS = ("TcpExt.ListenOverflows", "TcpExt.ListenDrops")


def check(f: HostFacts) -> Iterator[Outcome]:
    if f.rate("TcpExt.ListenOverflows") is None and f.missing("s1/sock_diag/tcp_listen"):
        yield NotChecked(ID, "neither TcpExt counters nor TCP listeners could be read")
        return
    overflows = f.delta("TcpExt.ListenOverflows")
    full = full_listeners(f, "tcp")
    count = sum(1 for x in f.listeners if x.kind == "tcp")
    if not full and not overflows:
        yield Ok(
            ID, f"TCP listeners: {count} checked, no accept-queue overflow in {f.seconds:.1f} s"
        )
        return
    for s in full:
        who = owner_text(s, f)
        yield Finding(
            rule=ID,
            title=f"TCP listener {s.name}: accept queue overflowing",
            cause=Cause.TCP_LISTEN_QUEUE_FULL,
            severity=Severity.ERROR,
            confidence=Confidence.HIGH if (s.drops or s.full_samples >= 2) else Confidence.MEDIUM,
            subject=socket_subject(s),
            explanation=(
                f"{s.name} ({who}) had a full accept queue (backlog {s.backlog}) in "
                f"{s.full_samples} of {s.samples} samples and dropped {s.drops or 0} "
                "connections in the interval: the application accepts too slowly."
            ),
            evidence=tuple(listener_evidence(f, s)) + counter_evidence(f, *COUNTERS),
            fix=backlog_fix(f, s, who),
        )
    if overflows and not full:
        yield Finding(
            rule=ID,
            title="TCP accept queues overflowed, listener not caught in the act",
            cause=Cause.TCP_LISTEN_QUEUE_FULL,
            severity=Severity.WARNING,
            confidence=Confidence.MEDIUM,
            subject=Subject("host", "TCP listeners"),
            explanation=(
                f"TcpExt.ListenOverflows rose by {overflows} in {f.seconds:.1f} s but no "
                "listener was seen full while sampling: the bursts are shorter than the "
                "sampling period. Run check with a longer --interval during the load."
            ),
            evidence=counter_evidence(f, *COUNTERS),
            fix=Fix(
                "Find the listener: ss -ltn shows Recv-Q (queue) against Send-Q (backlog); "
                "then give it more accepting capacity and a larger backlog."
            ),
        )


RULE = Rule(
    ID,
    "TCP listener queue overflow",
    Cause.TCP_LISTEN_QUEUE_FULL,
    check,
    needs=("s1/proc/net/netstat", "s1/sock_diag/tcp_listen"),
)
