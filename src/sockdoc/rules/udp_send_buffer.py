"""UDP sends refused for lack of socket send buffer.

``Udp.SndbufErrors`` (and ``Udp6.SndbufErrors``) count datagrams the kernel refused because the
sending socket's buffer (``SO_SNDBUF``) was full, and datagrams a full egress queue dropped
after accepting them. A daemon that sends non-blocking (named, unbound) sees EAGAIN, logs
"would block" / "no pending connections" / "sendto failed", and the client gets no answer. It
happens when responses are sent in bursts faster than the link or qdisc drains them: the
datagrams wait in the socket's buffer, charged to it, until the buffer is full.

Proof: the counter's rise over the interval; the attribution sampler names the socket whose
send memory reached its ``SO_SNDBUF``. Fix: a send buffer that holds a whole burst. The value
proposed is the observed failures per second times 100 ms times the datagram's memory cost
(payload + about 768 bytes of kernel overhead), added to the current buffer and doubled for
headroom, rounded up to a power of two and capped at 64 MiB. ``net.core.wmem_default`` is
the buffer a socket gets without asking, so it is proposed only for a socket whose
``SO_SNDBUF`` equals it; ``wmem_max`` caps what a daemon may ask for (``udp-send-buffer`` in
BIND, ``so-sndbuf`` in Unbound); socket(7).
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
    ConfigChange,
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

ID = "udp-send-buffer-errors"
COUNTERS = ("Udp.SndbufErrors", "Udp6.SndbufErrors")
OVERHEAD = 768  # skb truesize beyond the payload for a small datagram (x86_64, 6.x)
BURST_SECONDS = 0.1
DEFAULT_DATAGRAM = 1232  # a typical large DNS answer (the EDNS buffer size of DNS Flag Day 2020)


def _suspect(f: HostFacts) -> UdpSocket | None:
    ranked = sorted(
        f.udp,
        key=lambda u: (u.tx_full_samples, (u.send_peak or u.wmem) / max(u.sndbuf, 1)),
        reverse=True,
    )
    if ranked and (ranked[0].tx_full_samples or ranked[0].wmem or ranked[0].send_peak):
        return ranked[0]
    return None


def target_buffer(current: int, failures_per_second: float, datagram: int) -> int:
    """The send buffer to propose (see the module docstring).

    >>> target_buffer(212992, 500.0, 1232)
    1048576
    >>> target_buffer(212992, 100000.0, 4096)
    67108864
    """
    shortfall = int(failures_per_second * BURST_SECONDS * (datagram + OVERHEAD))
    return min(max(pow2_at_least(2 * (current + shortfall)), 1 << 20), MAX_BUFFER)


def check(f: HostFacts) -> Iterator[Outcome]:
    if all(f.rate(n) is None for n in COUNTERS):
        yield NotChecked(ID, "UDP counters not read (/proc/net/snmp)", ("s1/proc/net/snmp",))
        return
    n = f.delta(*COUNTERS)
    if n == 0:
        total = sum(r.after for c in COUNTERS if (r := f.rate(c)) is not None)
        yield Ok(ID, f"UDP send-buffer errors: none in {f.seconds:.1f} s ({total:,} since boot)")
        return
    rate = n / f.seconds if f.seconds > 0 else float(n)
    sock = _suspect(f)
    wmem_default = f.sysctls.wmem_default or 212992
    current = sock.sndbuf if sock is not None else wmem_default
    target = target_buffer(current, rate, DEFAULT_DATAGRAM)
    ev = list(counter_evidence(f, *COUNTERS))
    ev.append(Evidence("send-buffer errors in the interval", n, "datagrams", "/proc/net/snmp"))
    if sock is not None:
        ev += [
            Evidence("socket", f"{sock.name} owned by {owner_text(sock, f)}", "", "sock_diag"),
            Evidence("its SO_SNDBUF", sock.sndbuf, "bytes", "sock_diag SK_MEMINFO"),
            Evidence(
                "its peak send memory", sock.send_peak or sock.wmem, "bytes", "sock_diag SK_MEMINFO"
            ),
            Evidence(
                "samples at its send limit",
                f"{sock.tx_full_samples} of {sampled(f)}",
                "",
                "attribution sampler",
            ),
        ]
        subject = socket_subject(sock)
    else:
        subject = Subject("host", "UDP send path")
    ev += [
        Evidence("net.core.wmem_default", wmem_default, "bytes", "/proc/sys"),
        Evidence("net.core.wmem_max", f.sysctls.wmem_max or 0, "bytes", "/proc/sys"),
    ]
    backlogged = [q for q in f.qdiscs if q.backlog_bytes or q.drops]
    for q in backlogged[:3]:
        ev.append(
            Evidence(
                f"qdisc {q.kind} on {q.dev}",
                f"backlog {q.backlog_bytes} B, {q.drops} drops in the interval",
                "",
                "tc -s qdisc",
            )
        )
    config = []
    named_stats = any(k in f.bind_stats for k in ("UDP4SendErr", "UDP6SendErr"))
    if sock is not None and sock.owner is not None and sock.owner.comm == "named":
        if named_stats:
            # named's own counters size its buffer more exactly: bind-send-errors gives the
            # udp-send-buffer value, so the two findings do not propose different numbers
            ev.append(
                Evidence(
                    "named's own send errors", "see rule bind-send-errors", "", "statistics channel"
                )
            )
        else:
            config.append(
                ConfigChange(
                    "named.conf (options)",
                    f"udp-send-buffer {target // 2};",
                    "restart named (its UDP sockets keep the size they were opened with)",
                )
            )
    if sock is not None and sock.owner is not None and sock.owner.comm == "unbound":
        config.append(
            ConfigChange(
                "unbound.conf (server:)", f"so-sndbuf: {target // 2}", "unbound-control reload"
            )
        )
    # a socket that asked for its own size (SO_SNDBUF, e.g. BIND's udp-send-buffer) does not
    # get wmem_default, so raising the default would not change it (socket(7))
    own_size = sock is not None and sock.sndbuf != wmem_default
    yield Finding(
        rule=ID,
        title="UDP datagrams refused: socket send buffer full",
        cause=Cause.SEND_BUFFER_FULL,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH
        if sock is not None and sock.tx_full_samples
        else Confidence.MEDIUM,
        subject=subject,
        explanation=(
            f"The kernel refused {n:,} UDP datagrams in {f.seconds:.1f} s "
            f"({rate:,.0f}/s) because a socket's send buffer was full; the clients got no "
            "answer. Responses leave in bursts faster than the path drains them"
            + (" (an egress qdisc is backlogged too)" if backlogged else "")
            + "."
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Give UDP sockets a send buffer of {target:,} bytes (it holds a burst of "
            f"{rate * BURST_SECONDS:,.0f} refused datagrams on top of today's "
            f"{current:,})"
            + (
                f"; this one sets its own SO_SNDBUF ({current:,}, not net.core.wmem_default), "
                "so its program must ask for it"
                if own_size
                else ""
            )
            + "; also look for the bottleneck that makes them wait.",
            sysctls=raises_only(
                f,
                (("net.core.wmem_max", target),)
                + (() if own_size else (("net.core.wmem_default", target),)),
            ),
            config=tuple(config),
        ),
    )


RULE = Rule(
    ID,
    "UDP send-buffer errors",
    Cause.SEND_BUFFER_FULL,
    check,
    needs=("s0/proc/net/snmp", "s1/proc/net/snmp"),
)
