"""UDP datagrams dropped on arrival: a socket's receive buffer was full.

``Udp.RcvbufErrors`` counts datagrams dropped because the receiving socket's buffer
(``SO_RCVBUF``) could not hold them (``__udp_queue_rcv_skb()``, net/ipv4/udp.c); each such
socket also counts them in its own ``SK_MEMINFO_DROPS``. The daemon reads more slowly than
queries arrive (busy, too few threads) or the buffer is too small for the bursts. Inbound
overflow can also starve the outbound side of memory (the ISC note on BIND's send errors lists
it among the checks).

Proof: the counter's rise and the socket whose own drop count rose during the interval, with
its owner. Fix: a receive buffer for a burst (``net.core.rmem_default``/``rmem_max``, the
daemon's own option), and reading capacity.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules._common import (
    MAX_BUFFER,
    counter_evidence,
    owner_text,
    raises_only,
    sampled,
    socket_subject,
)
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    pow2_at_least,
)

ID = "udp-receive-buffer-errors"
COUNTERS = ("Udp.RcvbufErrors", "Udp6.RcvbufErrors")


def check(f: HostFacts) -> Iterator[Outcome]:
    if all(f.rate(n) is None for n in COUNTERS):
        yield NotChecked(ID, "UDP counters not read (/proc/net/snmp)", ("s1/proc/net/snmp",))
        return
    n = f.delta(*COUNTERS)
    dropping = sorted((u for u in f.udp if u.drops), key=lambda u: u.drops or 0, reverse=True)
    if n == 0 and not dropping:
        total = sum(r.after for c in COUNTERS if (r := f.rate(c)) is not None)
        yield Ok(ID, f"UDP receive-buffer errors: none in {f.seconds:.1f} s ({total:,} since boot)")
        return
    subjects: list[UdpSocket | None] = list(dropping) or [None]
    for u in subjects:
        ev = list(counter_evidence(f, *COUNTERS))
        ev.append(
            Evidence("receive-buffer errors in the interval", n, "datagrams", "/proc/net/snmp")
        )
        current = f.sysctls.rmem_default or 212992
        if u is not None:
            current = u.rcvbuf
            ev += [
                Evidence("socket", f"{u.name} owned by {owner_text(u, f)}", "", "sock_diag"),
                Evidence(
                    "datagrams this socket dropped in the interval",
                    u.drops or 0,
                    "",
                    "sock_diag SK_MEMINFO drops",
                ),
                Evidence("its SO_RCVBUF", u.rcvbuf, "bytes", "sock_diag SK_MEMINFO"),
                Evidence(
                    "samples with its buffer nearly full",
                    f"{u.rx_full_samples} of {sampled(f)}",
                    "",
                    "attribution sampler",
                ),
            ]
        ev += [
            Evidence("net.core.rmem_default", f.sysctls.rmem_default or 0, "bytes", "/proc/sys"),
            Evidence("net.core.rmem_max", f.sysctls.rmem_max or 0, "bytes", "/proc/sys"),
        ]
        target = min(max(pow2_at_least(4 * current), 1 << 20), MAX_BUFFER)
        drops = u.drops if u is not None and u.drops else n
        yield Finding(
            rule=ID,
            title=(
                f"UDP socket {u.name}: datagrams dropped, receive buffer full"
                if u
                else "UDP datagrams dropped: receive buffers full"
            ),
            cause=Cause.RECEIVE_BUFFER_FULL,
            severity=Severity.ERROR,
            confidence=Confidence.HIGH if u is not None else Confidence.MEDIUM,
            subject=socket_subject(u) if u is not None else Subject("host", "UDP receive path"),
            explanation=(
                f"{drops:,} datagrams were dropped on arrival in {f.seconds:.1f} s because the "
                "receiving socket's buffer was full: "
                + (
                    f"{owner_text(u, f)} reads {u.name} more slowly than datagrams arrive."
                    if u
                    else "a daemon reads more slowly than datagrams arrive."
                )
            ),
            evidence=tuple(ev),
            fix=_fix(f, u, current, target),
        )


def _fix(f: HostFacts, u: UdpSocket | None, current: int, target: int) -> Fix:
    # A socket that got net.core.rmem_default kept it; one whose program asked for SO_RCVBUF
    # holds twice what it asked (socket(7)), and rmem_default does not change it.
    own = (
        u is not None and f.sysctls.rmem_default is not None and u.rcvbuf != f.sysctls.rmem_default
    )
    if own:
        return Fix(
            f"{owner_text(u, f) if u else 'The program'} sets its own receive buffer "
            f"(SO_RCVBUF {current // 2:,}, doubled by the kernel to {current:,}): raise that "
            f"setting to {target // 2:,} ({target:,} bytes of buffer, 4x today's), which "
            "net.core.rmem_max must allow, and give it more reading capacity.",
            sysctls=raises_only(f, (("net.core.rmem_max", target // 2),)),
        )
    return Fix(
        f"Give the socket a receive buffer of {target:,} bytes (4x today's "
        f"{current:,}) and more reading capacity (threads/processes).",
        sysctls=raises_only(f, (("net.core.rmem_max", target), ("net.core.rmem_default", target))),
    )


RULE = Rule(
    ID, "UDP receive-buffer errors", Cause.RECEIVE_BUFFER_FULL, check, needs=("s1/proc/net/snmp",)
)
