"""An egress queueing discipline (qdisc) dropping packets, or holding a long standing queue.

Every packet a host sends waits in its interface's qdisc until the driver takes it. A shaper
(``tbf``, ``htb``) or a queue with a small ``limit`` drops what does not fit
(``qdisc_drop()``, include/net/sch_generic.h), and the sender is not told: for UDP the
``NET_XMIT_DROP`` becomes ENOBUFS, which ``udp_send_skb()`` (net/ipv4/udp.c) swallows unless
the socket set ``IP_RECVERR``, counting the datagram in ``Udp.SndbufErrors`` instead. So a DNS
server's answers vanish with no error in its log, and ``Udp.SndbufErrors`` rises exactly as
much as the qdisc's drops (measured here: 2,769 tbf drops and 2,764 SndbufErrors in the same
2 s). A qdisc that holds a long queue instead (a large ``limit``) keeps each waiting datagram
charged to its sender's socket buffer, so the sender gets EAGAIN once that buffer is full; the
ISC note on BIND's "error sending response" asks the same question: can every device on the
way handle the outbound packet rate?

Proof: the qdisc's ``dropped`` counter rising between the two samples (``tc -s qdisc``), or a
backlog of 64 KiB or more at the second sample (a warning when ``Udp.SndbufErrors`` rises too,
else advice: bulk TCP fills queues for a moment). Drops of an AQM qdisc (``fq_codel``,
``cake``, ``codel``, ``pie``...) are its way of telling TCP senders to slow down: they are
reported as advice unless UDP senders lose datagrams too, and its backlog is not reported.

Fix: raise the shaper's rate or remove it; against drops, also a queue that holds the observed
burst: 100 ms of the observed drop rate on top of today's queue, doubled and rounded up to a
power of two (tc-tbf(8), tc-fq_codel(8), ``txqueuelen`` in ip-link(8) for ``pfifo_fast``). A
standing queue without drops needs a higher rate, not a longer queue.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, QdiscRate
from sockdoc.matchers.base import Confidence, Severity
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

ID = "qdisc-drops"
SOURCE = "tc -s qdisc"
BURST_SECONDS = 0.1
BACKLOG_WARN = 64 * 1024  # bytes standing in one qdisc at the second sample
MANY_DROPS = 10  # drops in the interval that make it an error rather than a warning
DEFAULT_PACKET = 1500
UDP_SNDBUF = ("Udp.SndbufErrors", "Udp6.SndbufErrors")
# qdiscs that never hold egress packets of their own
_NOT_QUEUES = frozenset({"noqueue", "ingress", "clsact"})
# active queue management: dropping early is how these signal congestion to TCP
AQM = frozenset({"fq_codel", "codel", "cake", "pie", "fq_pie", "red", "choke", "sfb", "gred"})
# limits counted in bytes (the others count packets)
_BYTE_LIMITS = frozenset({"tbf", "bfifo"})
# the packet limit each kind starts with when none is given (the tc-* man pages; pfifo and
# pfifo_fast take the interface's txqueuelen, 1000 by default)
DEFAULT_LIMIT = {
    "pfifo_fast": 1000,
    "pfifo": 1000,
    "fq_codel": 10240,
    "fq": 10000,
    "sfq": 127,
    "codel": 1000,
    "pie": 1000,
    "fq_pie": 10240,
}


def _packet_size(q: QdiscRate) -> int:
    return q.backlog_bytes // q.qlen if q.qlen else DEFAULT_PACKET


def target_limit(q: QdiscRate, seconds: float) -> int:
    """The limit to propose for ``q``: bytes for tbf/bfifo, packets for the others.

    The queue was full when it dropped, so today's limit is at least the backlog seen plus one
    packet (or the kind's default, when that is larger); on top of it a burst of
    ``BURST_SECONDS`` at the observed drop rate, doubled, as a power of two.

    >>> q = QdiscRate("vqa", "tbf", "8003:", True, 2769, 3491, 0, 3569, 3126, 3)
    >>> target_limit(q, 2.0)
    524288
    >>> target_limit(QdiscRate("eth0", "pfifo_fast", "0:", True, 500, 0, 0, 500, 0, 0), 2.0)
    4096
    """
    rate = q.drops / seconds if seconds > 0 else float(q.drops)
    burst = math.ceil(rate * BURST_SECONDS)
    if q.kind in _BYTE_LIMITS:
        size = _packet_size(q)
        return pow2_at_least(2 * (q.backlog_bytes + size + burst * size))
    today = max(q.qlen + 1, DEFAULT_LIMIT.get(q.kind, 0))
    return pow2_at_least(2 * (today + burst))


def _where(q: QdiscRate) -> str:
    return "root" if q.root else f"handle {q.handle}"


def _commands(q: QdiscRate, limit: int) -> tuple[str, ...]:
    dev = q.dev
    show = f"tc -s qdisc show dev {dev}"
    if q.kind == "tbf":
        return (
            show,
            f"tc qdisc change dev {dev} {_where(q)} tbf rate RATE burst BURST limit {limit}"
            "  # RATE and BURST: the values the first command prints (keep them, or raise RATE)",
            f"tc qdisc del dev {dev} root  # or drop the shaping altogether",
        )
    if q.kind == "pfifo_fast":
        return (show, f"ip link set dev {dev} txqueuelen {limit}")
    if q.kind in ("pfifo", "bfifo", "fq_codel", "fq", "sfq", "codel", "pie", "fq_pie"):
        return (show, f"tc qdisc change dev {dev} {_where(q)} {q.kind} limit {limit}")
    return (
        show,
        f"tc -s class show dev {dev}  # {q.kind} drops in a class: raise that class's rate or "
        f"its leaf qdisc's limit (to {limit} {'bytes' if q.kind in _BYTE_LIMITS else 'packets'})",
    )


def _rate_commands(q: QdiscRate) -> tuple[str, ...]:
    """For a standing queue: the rate is the problem, a longer queue would only add delay."""
    dev = q.dev
    show = f"tc -s qdisc show dev {dev}"
    if q.kind == "tbf":
        return (
            show,
            f"tc qdisc change dev {dev} {_where(q)} tbf rate RATE burst BURST limit LIMIT"
            "  # BURST and LIMIT as the first command prints them, RATE above the senders' rate",
            f"tc qdisc del dev {dev} root  # or drop the shaping altogether",
        )
    return (show, f"tc -s class show dev {dev}  # the class whose rate holds the queue back")


def _per_device(f: HostFacts) -> dict[str, list[QdiscRate]]:
    out: dict[str, list[QdiscRate]] = {}
    for q in f.qdiscs:
        if q.kind in _NOT_QUEUES:
            continue
        out.setdefault(q.dev, []).append(q)
    return out


def _culprit(qs: list[QdiscRate]) -> QdiscRate | None:
    """The qdisc that drops (the leaf with the most drops; a parent's counters include its
    children's), else the one with the longest standing queue past BACKLOG_WARN."""
    dropping = [q for q in qs if q.drops]
    if dropping:
        leaves = [q for q in dropping if not q.root] or dropping
        return max(leaves, key=lambda q: q.drops)
    # an AQM qdisc keeps its own queue short (codel's 5 ms target): its backlog is by design
    backlogged = [q for q in qs if q.backlog_bytes >= BACKLOG_WARN and q.kind not in AQM]
    if backlogged:
        return max(backlogged, key=lambda q: q.backlog_bytes)
    return None


def check(f: HostFacts) -> Iterator[Outcome]:
    keys = ("s0/cmd/tc-qdisc", "s1/cmd/tc-qdisc")
    if not f.qdiscs:
        if f.missing(*keys):
            yield NotChecked(ID, describe_missing(f, *keys), keys)
        return
    devices = _per_device(f)
    udp_lost = f.delta(*UDP_SNDBUF)
    found = False
    for _dev, qs in sorted(devices.items()):
        q = _culprit(qs)
        if q is None:
            continue
        found = True
        yield _finding(f, q, qs, udp_lost)
    if not found:
        count = sum(len(qs) for qs in devices.values())
        biggest = max((q.backlog_bytes for qs in devices.values() for q in qs), default=0)
        yield Ok(
            ID,
            f"{count} qdisc{'s' if count != 1 else ''} on {len(devices)} "
            f"interface{'s' if len(devices) != 1 else ''}: no drops in {f.seconds:.1f} s, "
            f"largest backlog {biggest:,} bytes",
        )


def _finding(f: HostFacts, q: QdiscRate, qs: list[QdiscRate], udp_lost: int) -> Finding:
    rate = q.drops / f.seconds if f.seconds > 0 else float(q.drops)
    limit = target_limit(q, f.seconds)
    unit = "bytes" if q.kind in _BYTE_LIMITS else "packets"
    ev = [
        Evidence("interface", q.dev, "", SOURCE),
        Evidence("qdisc", f"{q.kind} {q.handle} ({'root' if q.root else 'child'})", "", SOURCE),
        Evidence("drops in the interval", q.drops, "packets", SOURCE),
        Evidence("drops per second", round(rate, 1), "/s", SOURCE),
        Evidence("drops since the qdisc was made", q.drops_total, "packets", SOURCE),
        Evidence("backlog now", q.backlog_bytes, "bytes", SOURCE),
        Evidence("packets queued now", q.qlen, "packets", SOURCE),
        Evidence("overlimits in the interval", q.overlimits, "", SOURCE),
    ]
    for other in qs:
        if other is not q and other.drops:
            ev.append(
                Evidence(
                    f"drops of {other.kind} {other.handle} (includes its children)",
                    other.drops,
                    "packets",
                    SOURCE,
                )
            )
    if udp_lost:
        ev.append(
            Evidence("Udp.SndbufErrors in the interval", udp_lost, "datagrams", "/proc/net/snmp")
        )
    if q.drops:
        aqm_only = q.kind in AQM and not udp_lost
        severity = (
            Severity.INFO
            if aqm_only
            else (Severity.ERROR if q.drops >= MANY_DROPS or udp_lost else Severity.WARNING)
        )
        title = f"{q.dev}: qdisc {q.kind} dropped {q.drops:,} packets in {f.seconds:.1f} s"
        explanation = (
            f"The {q.kind} qdisc on {q.dev} dropped {q.drops:,} outgoing packets "
            f"({rate:,.0f}/s) because its queue was full"
            + (
                f"; it held {q.backlog_bytes:,} bytes ({q.qlen} packets) at the second sample"
                if q.backlog_bytes
                else ""
            )
            + ". Senders are not told: a UDP datagram a qdisc drops is counted in "
            "Udp.SndbufErrors"
            + (f" ({udp_lost:,} in the interval)" if udp_lost else "")
            + " and the answer never leaves."
            + (
                " As an AQM qdisc it drops on purpose to slow TCP senders down."
                if q.kind in AQM
                else ""
            )
        )
    else:
        # a momentary backlog is normal under bulk TCP; senders hitting their limits is not
        severity = Severity.WARNING if udp_lost else Severity.INFO
        title = f"{q.dev}: qdisc {q.kind} holds a standing queue of {q.backlog_bytes:,} bytes"
        explanation = (
            f"The {q.kind} qdisc on {q.dev} held {q.backlog_bytes:,} bytes ({q.qlen} packets) "
            "at the second sample: packets leave more slowly than they are sent. Each waiting "
            "packet stays charged to its sender's socket buffer, so a busy UDP sender fills "
            "it and gets EAGAIN (or drops, when its queue limit is reached)."
        )
    return Finding(
        rule=ID,
        title=title,
        cause=Cause.SEND_BUFFER_FULL,
        severity=severity,
        confidence=Confidence.HIGH,
        subject=Subject("interface", q.dev),
        explanation=explanation,
        evidence=tuple(ev),
        fix=Fix(
            f"Let {q.dev} send what its senders produce: raise or remove the shaping, or give "
            f"the {q.kind} qdisc a limit of {limit:,} {unit} (a {BURST_SECONDS * 1000:.0f} ms "
            "burst at the observed drop rate on top of today's queue, doubled). A longer queue "
            "absorbs bursts, not a sustained excess, and adds delay; while it is full, the "
            "drops also show up as Udp.SndbufErrors.",
            commands=_commands(q, limit),
        )
        if q.drops
        else Fix(
            f"Raise the rate of the {q.kind} qdisc on {q.dev} above what its senders produce, "
            "or remove the shaping: the queue stands because packets leave more slowly than "
            "they come, and a longer limit would only add delay.",
            commands=_rate_commands(q),
        ),
    )


RULE = Rule(
    ID,
    "Egress qdisc drops or standing queue",
    Cause.SEND_BUFFER_FULL,
    check,
    needs=("s0/cmd/tc-qdisc", "s1/cmd/tc-qdisc"),
)
