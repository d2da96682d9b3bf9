"""Packets dropped before any socket saw them: a CPU's receive backlog was full.

Packets that arrive through ``netif_rx()`` (virtual devices: veth, tun, bridges, loopback;
receive packet steering to another CPU) wait in a per-CPU backlog until the receive softirq
takes them. When that backlog holds ``net.core.netdev_max_backlog`` packets (1,000 by
default), ``enqueue_to_backlog()`` (net/core/dev.c) drops the next ones and counts them in
the second column of ``/proc/net/softnet_stat``. Queries are lost before the daemon's socket,
so neither ``RcvbufErrors`` nor the daemon shows anything. The third column, ``time_squeeze``,
counts the times the softirq stopped with packets left because it used up its budget
(``net.core.netdev_budget`` packets or ``netdev_budget_usecs`` microseconds); on its own it is
common on busy hosts, with drops it says the CPU does not drain the backlog fast enough. The
ISC note on BIND's send errors lists inbound overflow among the causes: a backlogged receive
path competes with the send path for CPU and memory.

Proof: ``dropped`` rising between the two samples (summed over CPUs; the file is the host's,
whatever namespace is analysed, and the sysctls exist only in the initial namespace). Fix:
``netdev_max_backlog`` doubled, to a power of two; when ``time_squeeze`` rises too, twice the
budget as well (Documentation/admin-guide/sysctl/net.rst).
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
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

ID = "softnet-backlog-drops"
STAT = "/proc/net/softnet_stat"
SYS = "/proc/sys/net/core"
KEYS = ("s0/proc/net/softnet_stat", "s1/proc/net/softnet_stat")
# the kernel's defaults (net/core/net-sysfs.c, net/core/dev.c)
DEFAULT_BACKLOG = 1000
DEFAULT_BUDGET = 300
DEFAULT_BUDGET_USECS = 8000  # two jiffies at HZ=250 (Debian kernels)
SQUEEZE_NOTE = 10  # time squeezes per second worth a note without drops


def target_backlog(current: int) -> int:
    """``netdev_max_backlog`` to propose: a power of two at least twice today's.

    >>> target_backlog(1000), target_backlog(4096)
    (2048, 8192)
    """
    return pow2_at_least(2 * current)


def check(f: HostFacts) -> Iterator[Outcome]:
    sn = f.softnet
    if sn is None:
        yield NotChecked(ID, describe_missing(f, *KEYS) or "softnet_stat not read", KEYS)
        return
    squeeze_rate = sn.time_squeeze / f.seconds if f.seconds > 0 else float(sn.time_squeeze)
    if not sn.dropped and squeeze_rate < SQUEEZE_NOTE:
        yield Ok(
            ID,
            f"softnet backlog: no drops in {f.seconds:.1f} s on {sn.cpus} CPUs "
            f"({sn.dropped_total:,} since boot), {sn.time_squeeze} time squeezes",
        )
        return
    backlog = f.sysctls.netdev_max_backlog or DEFAULT_BACKLOG
    budget = f.sysctls.netdev_budget or DEFAULT_BUDGET
    usecs = f.sysctls.netdev_budget_usecs or DEFAULT_BUDGET_USECS
    ev = [
        Evidence("packets dropped in the interval", sn.dropped, "packets", STAT),
        Evidence(
            "dropped per second",
            round(sn.dropped / f.seconds, 1) if f.seconds > 0 else sn.dropped,
            "/s",
            STAT,
        ),
        Evidence("dropped since boot", sn.dropped_total, "packets", STAT),
        Evidence("time squeezes in the interval", sn.time_squeeze, "", STAT),
        Evidence("CPUs", sn.cpus, "", STAT),
        Evidence("net.core.netdev_max_backlog", backlog, "packets", SYS),
        Evidence("net.core.netdev_budget", budget, "packets", SYS),
        Evidence("net.core.netdev_budget_usecs", usecs, "us", SYS),
    ]
    sysctls: list[tuple[str, int | str]] = []
    parts = []
    if sn.dropped:
        new_backlog = target_backlog(backlog)
        sysctls.append(("net.core.netdev_max_backlog", new_backlog))
        parts.append(
            f"a receive backlog of {new_backlog:,} packets (a power of two, at least twice "
            f"today's {backlog:,})"
        )
    if sn.time_squeeze:
        sysctls += [
            ("net.core.netdev_budget", 2 * budget),
            ("net.core.netdev_budget_usecs", 2 * usecs),
        ]
        parts.append(
            f"a softirq budget of {2 * budget} packets / {2 * usecs:,} us (twice today's) so "
            "each run drains more of it"
        )
    if sn.dropped:
        title = f"{sn.dropped:,} packets dropped: receive backlog full"
        explanation = (
            f"The kernel dropped {sn.dropped:,} incoming packets in {f.seconds:.1f} s because "
            f"a CPU's receive backlog already held netdev_max_backlog ({backlog:,}) packets; "
            "no socket saw them, so no daemon logs them"
            + (
                f", and the receive softirq ran out of budget {sn.time_squeeze:,} times"
                if sn.time_squeeze
                else ""
            )
            + "."
        )
    else:
        title = f"Receive softirq out of budget {sn.time_squeeze:,} times in {f.seconds:.1f} s"
        explanation = (
            f"The receive softirq stopped with packets left {sn.time_squeeze:,} times "
            f"({squeeze_rate:,.0f}/s) because it used its budget of {budget} packets or "
            f"{usecs:,} us. Nothing was dropped yet; if drops follow, the backlog overflows."
        )
    yield Finding(
        rule=ID,
        title=title,
        cause=Cause.RECEIVE_BUFFER_FULL,
        severity=Severity.ERROR if sn.dropped else Severity.INFO,
        confidence=Confidence.HIGH,
        subject=Subject("host", "receive backlog (softnet)"),
        explanation=explanation,
        evidence=tuple(ev),
        fix=Fix(
            "Give the receive path " + " and ".join(parts) + "; these sysctls exist only in "
            "the host's initial network namespace. If one CPU takes all the packets, spread "
            "them (RPS: /sys/class/net/IFACE/queues/rx-*/rps_cpus).",
            sysctls=tuple(sysctls),
            commands=(
                "awk '{print NR-1, $2, $3}' /proc/net/softnet_stat  # per CPU: dropped, "
                "time_squeeze (hex)",
            ),
        ),
    )


RULE = Rule(ID, "Receive backlog drops (softnet)", Cause.RECEIVE_BUFFER_FULL, check, needs=KEYS)
