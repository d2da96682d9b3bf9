"""A TCP listener's SYN queue full: new connections dropped, or answered with SYN cookies.

Between the client's SYN and its final ACK, a connection waits in its listener's SYN queue
(request sockets), which holds at most the listener's backlog (``listen()``'s argument capped
by ``net.core.somaxconn``). When it is full, ``tcp_conn_request()`` (net/ipv4/tcp_input.c)
either answers with a SYN cookie and keeps no state (``net.ipv4.tcp_syncookies`` 1, counted in
``TcpExt.TCPReqQFullDoCookies``) or drops the SYN (``TCPReqQFullDrop``; the kernel logs
"Possible SYN flooding on port ..."). A dropped SYN costs the client a retransmission one
second later, then three, then seven: TCP queries and zone transfers to a DNS server, or any
connection to a web server, stall for seconds. The cause is a SYN flood, or clients whose
ACKs are slow to come back (lossy path) on a listener with a small backlog.

Proof: ``TCPReqQFullDrop`` or ``TCPReqQFullDoCookies`` rising between the two samples (per
network namespace); the listeners with the smallest backlogs are the first to overflow
(sock_diag: a listener's backlog is ``ss -lnt``'s Send-Q). Fix: SYN cookies on; a larger
backlog for the listener (twice the backlog plus the SYNs dropped in the interval, as a power
of two), with ``net.core.somaxconn`` and ``net.ipv4.tcp_max_syn_backlog`` at least as large
(tcp(7), listen(2)).
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, Listener
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules._common import counter_evidence, owner_text, socket_subject
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
    pow2_at_least,
)

ID = "tcp-syn-queue-full"
DROP = "TcpExt.TCPReqQFullDrop"
COOKIES = "TcpExt.TCPReqQFullDoCookies"
KEYS = ("s0/proc/net/netstat", "s1/proc/net/netstat")
MIN_BACKLOG = 128


def target_backlog(backlog: int, dropped: int) -> int:
    """The backlog to propose: twice the backlog plus the SYNs dropped, a power of two, at
    least 128.

    >>> target_backlog(4, 44), target_backlog(511, 10)
    (128, 2048)
    """
    return max(pow2_at_least(2 * (backlog + dropped)), MIN_BACKLOG)


def _smallest(f: HostFacts) -> list[Listener]:
    tcp = [x for x in f.listeners if x.kind == "tcp"]
    return sorted(tcp, key=lambda x: (x.backlog, x.name))[:3]


def check(f: HostFacts) -> Iterator[Outcome]:
    if f.rate(DROP) is None and f.rate(COOKIES) is None:
        yield NotChecked(ID, describe_missing(f, *KEYS) or "TcpExt counters not read", KEYS)
        return
    dropped, cookies = f.delta(DROP), f.delta(COOKIES)
    if not dropped and not cookies:
        total = sum(r.after for n in (DROP, COOKIES) if (r := f.rate(n)) is not None)
        yield Ok(
            ID,
            f"TCP SYN queues: no SYN dropped or answered with a cookie in {f.seconds:.1f} s "
            f"({total:,} since boot)",
        )
        return
    sysctls = f.sysctls
    small = _smallest(f)
    ev = list(counter_evidence(f, DROP, COOKIES))
    ev += [
        Evidence("SYNs dropped in the interval", dropped, "", "/proc/net/netstat"),
        Evidence("SYN cookies sent in the interval", cookies, "", "/proc/net/netstat"),
        Evidence("net.ipv4.tcp_syncookies", _shown(sysctls.tcp_syncookies), "", "/proc/sys"),
        Evidence(
            "net.ipv4.tcp_max_syn_backlog", _shown(sysctls.tcp_max_syn_backlog), "", "/proc/sys"
        ),
        Evidence("net.core.somaxconn", _shown(sysctls.somaxconn), "", "/proc/sys"),
    ]
    for x in small:
        ev.append(
            Evidence(f"listener {x.name} ({owner_text(x, f)}) backlog", x.backlog, "", "sock_diag")
        )
    first = small[0] if small else None
    backlog = target_backlog(first.backlog if first else MIN_BACKLOG // 2, dropped + cookies)
    fixes: list[tuple[str, int | str]] = []
    if sysctls.tcp_syncookies == 0 or (dropped and sysctls.tcp_syncookies is None):
        fixes.append(("net.ipv4.tcp_syncookies", 1))
    if sysctls.somaxconn is None or sysctls.somaxconn < backlog:
        fixes.append(("net.core.somaxconn", backlog))
    if sysctls.tcp_max_syn_backlog is None or sysctls.tcp_max_syn_backlog < backlog:
        fixes.append(("net.ipv4.tcp_max_syn_backlog", backlog))
    n = dropped + cookies
    rate = n / f.seconds if f.seconds > 0 else float(n)
    who = f"{first.name} ({owner_text(first, f)})" if first else "the listener"
    yield Finding(
        rule=ID,
        title=(
            f"TCP SYN queue overflow: {dropped:,} SYNs dropped in {f.seconds:.1f} s"
            if dropped
            else f"TCP SYN queue overflow: {cookies:,} SYN cookies sent in {f.seconds:.1f} s"
        ),
        cause=Cause.TCP_LISTEN_QUEUE_FULL,
        severity=Severity.ERROR if dropped else Severity.WARNING,
        confidence=Confidence.HIGH if dropped else Confidence.MEDIUM,
        subject=socket_subject(first) if first else Subject("host", "TCP listeners"),
        explanation=(
            f"A listener's queue of half-open connections was full {n:,} times in "
            f"{f.seconds:.1f} s ({rate:,.0f}/s): "
            + (
                f"{dropped:,} SYNs were dropped (clients retry after 1, 3, 7 s)"
                if dropped
                else f"the kernel answered {cookies:,} SYNs with cookies instead of queueing them"
            )
            + (
                f". The smallest backlog is {first.backlog} on {who}."
                if first
                else ". No listener was seen at the second sample."
            )
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Give {who} a backlog of {backlog:,} (twice its backlog plus the {n:,} overflows, "
            "as a power of two) in the program's own setting, with the kernel's ceilings at "
            "least as large"
            + (
                "; turn SYN cookies on so a full queue no longer drops"
                if fixes and fixes[0][0] == "net.ipv4.tcp_syncookies"
                else ""
            )
            + ". If the SYNs come from a flood, filter it upstream.",
            sysctls=tuple(fixes),
            commands=(
                "ss -lnt  # Send-Q is each listener's backlog",
                "nstat -az TcpExtTCPReqQFullDrop TcpExtTCPReqQFullDoCookies TcpExtListenDrops",
            ),
        ),
    )


def _shown(v: int | None) -> int | str:
    return v if v is not None else "not read"


RULE = Rule(ID, "TCP SYN queue overflow", Cause.TCP_LISTEN_QUEUE_FULL, check, needs=KEYS)
