"""BIND's own count of UDP responses it could not send: ``UDP4SendErr`` / ``UDP6SendErr``.

named counts, in its statistics channel (``sockstats``), every UDP response whose send failed:
the kernel refused it (EAGAIN with a full socket send buffer, EPERM from a firewall), or, since
9.18.31, named gave up because its queue of responses waiting for the socket to become
writable passed 64 KiB (lib/isc/netmgr/udp.c). Each failure is also a per-client log line
``send failed: no pending connections`` (category ``security``, ``debug 3``, so normally
unseen) and, at most once a second, ``Sending UDP messages failed`` (category ``general``).
These counters are the exact number: measured here on 9.18.49 behind a 1 Mbit/s shaper,
``UDP4SendErr`` rose by 9,589 with exactly 9,589 ``send failed`` lines, while the kernel's
``Udp.SndbufErrors`` rose by about a dozen, because named waits for writability instead of
sending into a full buffer. ``Response`` in ``nsstats`` counts these failed answers too.

Proof: ``UDP4SendErr + UDP6SendErr`` rising between the two samples of the statistics
channel (``statistics-channels`` in named.conf; the JSON leaves out counters that are 0).
Fix: a send buffer that holds the burst (``udp-send-buffer``; the kernel doubles the value and
caps it at ``net.core.wmem_max``), sized like ``udp-send-buffer-errors``: the failures of
100 ms at the observed rate on top of today's buffer, doubled, as a power of two, and the
bottleneck behind it (a shaper or a full qdisc, a slow link: see ``qdisc-drops``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import Daemon, HostFacts, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.named_conf import BindConfig
from sockdoc.rules._common import socket_subject
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
    describe_missing,
)
from sockdoc.rules.udp_send_buffer import DEFAULT_DATAGRAM, target_buffer

ID = "bind-send-errors"
COUNTERS = ("UDP4SendErr", "UDP6SendErr")
STATS = "statistics channel"
KEYS = ("s0/bind/stats0", "s1/bind/stats0")
KERNEL_COUNTERS = ("Udp.SndbufErrors", "Udp6.SndbufErrors")
_DEBUG = re.compile(r"(?:^|\s)-d\s*([0-9]+)(?:\s|$)")


def bind_config(f: HostFacts) -> BindConfig | None:
    """named's parsed configuration (``named-checkconf -p``), when it was read."""
    conf = f.configs.get("bind")
    return conf if isinstance(conf, BindConfig) else None


def server_debug(named: Daemon) -> int:
    """named's debug level from its command line (``-d N``); 0 without one."""
    cmd = named.main.cmdline if named.main is not None else None
    m = _DEBUG.search(cmd or "")
    return int(m[1]) if m else 0


def logs_to_stderr(named: Daemon) -> bool:
    """``named -g``: every message goes to stderr and the logging statement is ignored."""
    cmd = named.main.cmdline if named.main is not None else None
    return "-g" in (cmd or "").split()


def send_errors(f: HostFacts) -> tuple[int, int] | None:
    """(failed UDP sends in the interval, since named started) from the statistics channel;
    None when it was not read. A counter the JSON leaves out is 0."""
    if not f.bind_stats:
        return None
    rates = [f.bind_stats[c] for c in COUNTERS if c in f.bind_stats]
    return sum(r.delta for r in rates), sum(r.after for r in rates)


def named_sockets(f: HostFacts) -> list[UdpSocket]:
    return [u for u in f.udp if u.owner is not None and u.owner.comm == "named"]


def check(f: HostFacts) -> Iterator[Outcome]:
    named = f.daemon("bind")
    counts = send_errors(f)
    if counts is None:
        if named is None:
            return
        conf = bind_config(f)
        if conf is not None and not conf.statistics_channels:
            yield NotChecked(
                ID,
                "named has no statistics-channels statement: its count of failed sends cannot "
                "be read (bind-send-failures-hidden gives the snippet)",
                ("cmd/named-checkconf",),
            )
        else:
            yield NotChecked(ID, describe_missing(f, *KEYS) or "statistics channel not read", KEYS)
        return
    failed, total = counts
    if failed == 0:
        yield Ok(
            ID,
            f"named: no UDP send errors in {f.seconds:.1f} s ({total:,} since it started, "
            "UDP4SendErr + UDP6SendErr)",
        )
        return
    yield _finding(f, named, failed, total)


def _finding(f: HostFacts, named: Daemon | None, failed: int, total: int) -> Finding:
    rate = failed / f.seconds if f.seconds > 0 else float(failed)
    conf = bind_config(f)
    socks = named_sockets(f)
    sock = max(socks, key=lambda u: (u.tx_full_samples, u.send_peak or u.wmem), default=None)
    current = (
        sock.sndbuf
        if sock is not None
        else 2 * conf.udp_send_buffer
        if conf is not None and conf.udp_send_buffer
        else f.sysctls.wmem_default or 212992
    )
    target = target_buffer(current, rate, DEFAULT_DATAGRAM)
    option = target // 2  # named asks for it, the kernel doubles it (socket(7) SO_SNDBUF)
    kernel = f.delta(*KERNEL_COUNTERS)
    responses = f.bind_stats.get("Response")
    ev = [Evidence("failed UDP sends in the interval", failed, "responses", STATS)]
    for c in COUNTERS:
        r = f.bind_stats.get(c)
        if r is not None:
            ev.append(Evidence(f"{c} in the interval", r.delta, "", STATS))
            ev.append(Evidence(f"{c} since named started", r.after, "", STATS))
    ev.append(Evidence("failed sends per second", round(rate, 1), "/s", STATS))
    if responses is not None and responses.delta:
        ev.append(Evidence("responses named tried to send", responses.delta, "", STATS))
        ev.append(Evidence("of them failed", round(100 * failed / responses.delta, 1), "%", STATS))
    ev.append(Evidence("Udp.SndbufErrors in the interval", kernel, "", "/proc/net/snmp"))
    if conf is not None:
        ev.append(
            Evidence(
                "udp-send-buffer",
                conf.udp_send_buffer if conf.udp_send_buffer is not None else "not set",
                "bytes",
                "named-checkconf -p",
            )
        )
    if socks:
        ev.append(Evidence("named's UDP sockets", len(socks), "", "sock_diag"))
        ev.append(
            Evidence("their largest SO_SNDBUF", max(u.sndbuf for u in socks), "bytes", "sock_diag")
        )
    ev.append(Evidence("net.core.wmem_max", f.sysctls.wmem_max or 0, "bytes", "/proc/sys"))
    queued = [q for q in f.qdiscs if q.backlog_bytes or q.drops]
    for q in queued[:3]:
        ev.append(
            Evidence(
                f"qdisc {q.kind} on {q.dev} backlog",
                q.backlog_bytes,
                "bytes",
                "tc -s qdisc",
            )
        )
    sysctls: tuple[tuple[str, int | str], ...] = ()
    if f.sysctls.wmem_max is not None and f.sysctls.wmem_max < option:
        sysctls = (("net.core.wmem_max", option),)
    pid = named.main.pid if named is not None and named.main is not None else None
    return Finding(
        rule=ID,
        title=f"named: {failed:,} UDP responses not sent in {f.seconds:.1f} s",
        cause=Cause.SEND_BUFFER_FULL,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        subject=socket_subject(sock) if sock is not None else Subject("daemon", "named", pid),
        explanation=(
            f"named counted {failed:,} UDP responses it could not send in {f.seconds:.1f} s "
            f"({rate:,.0f}/s): the clients got no answer and will retry or give up. Its "
            "responses leave faster than the path drains them, so its send buffer stays full"
            + (f" (an egress qdisc held {queued[0].backlog_bytes:,} bytes)" if queued else "")
            + f". The kernel's Udp.SndbufErrors rose by only {kernel:,}: named waits for the "
            "socket instead of sending into a full buffer, and gives up when its own queue "
            "passes 64 KiB; its per-client 'send failed' lines are at debug 3."
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Give named's UDP sockets a send buffer of {target:,} bytes (udp-send-buffer "
            f"{option:,}; the kernel doubles it): it holds {rate * 0.1:,.0f} responses, 100 ms "
            f"of today's failures, on top of today's {current:,}. Then look for what holds "
            "the responses back (a shaper or full qdisc, the link, a firewall).",
            sysctls=sysctls,
            config=(
                ConfigChange(
                    "named.conf (options)",
                    f"udp-send-buffer {option};",
                    "restart named (open sockets keep their buffer size)",
                ),
            ),
            commands=tuple(
                f"curl -s http://{_host(c.address)}:{c.port}/json/v1/net | grep SendErr"
                for c in (conf.statistics_channels[:1] if conf is not None else ())
            ),
        ),
    )


def _host(address: str) -> str:
    if address in ("*", "0.0.0.0", "any"):  # noqa: S104 (a configured address, not a bind)
        return "127.0.0.1"
    return f"[{address}]" if ":" in address else address


RULE = Rule(
    ID, "BIND UDP send errors (statistics channel)", Cause.SEND_BUFFER_FULL, check, needs=KEYS
)
