"""BIND's own count of UDP responses it could not send: ``UDP4SendErr`` / ``UDP6SendErr``.

named counts, in its statistics channel (``sockstats``), every UDP response whose send failed:
the kernel refused it (EAGAIN with a full socket send buffer, EPERM from a firewall), or, since
9.18.31, named gave up on it itself (lib/isc/netmgr/udp.c): once more than 64 KiB of responses
wait in libuv's send queue of one socket, named tries one direct send, which libuv refuses
while that queue is not empty. Each failure is also a per-client log line ``send failed: no
pending connections`` (category ``security``, ``debug 3``, so normally unseen) and, at most once
a second, ``Sending UDP messages failed`` (category ``general``). ``Response`` in ``nsstats``
counts these failed answers too.

The 64 KiB are reached two ways, and the kernel's ``Udp.SndbufErrors`` tells them apart:

- The socket's send buffer is full (a slow link or shaper holds the answers, each charged to
  the socket until it leaves): the kernel refuses a send, libuv queues the rest until the
  buffer drains, and the queue passes 64 KiB. ``Udp.SndbufErrors`` rises (each refused send
  counts once; named then waits, so far fewer than named's failures). Measured here on 9.18.49
  behind a 10 Mbit/s shaper, bursts of 300 queries for a 3.6 kB answer over 500 ms:
  ``udp-send-buffer 65536`` lost about 24% of the answers, ``udp-send-buffer 524288`` none.
- The kernel never refuses: libuv counts a response as queued until the *next* pass of its
  event loop, even after the kernel took it (libuv src/unix/udp.c: ``uv__udp_run_completed()``
  lowers the count, ``uv__udp_try_send()`` refuses while it is not 0), so a burst of large
  answers produced in one pass (queries that arrived together) passes 64 KiB by itself: about
  17 answers of 3.6 kB, 53 of 1,232 bytes, per socket and pass. ``Udp.SndbufErrors`` stays
  at 0 and named's sockets stay far from their send buffer; a larger buffer barely helps
  (measured: bursts of 200 such queries at once, unshaped, lost 41-46% of the answers with a
  212,992-byte buffer, 35-41% with 1 MiB, none with ``max-udp-size 1232``). A busy CPU makes
  it worse: queries that wait for named arrive together.

Proof: ``UDP4SendErr + UDP6SendErr`` rising between the two samples of the statistics
channel (``statistics-channels`` in named.conf; the JSON leaves out counters that are 0).
Fix, when the kernel refused sends: a send buffer that holds the burst (``udp-send-buffer``;
the kernel doubles the value and caps it at ``net.core.wmem_max``), sized like
``udp-send-buffer-errors``: the failures of 100 ms at the observed rate on top of today's
buffer, doubled, as a power of two, at least 1 MiB, and the bottleneck behind it (a shaper or
a full qdisc, a slow link: see ``qdisc-drops``). When it refused none: smaller UDP answers
(``max-udp-size 1232``, named's default: a larger answer goes out truncated and the client
asks again over TCP), or the queries spread over more UDP sockets (``named -n``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import Daemon, HostFacts, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.named_conf import BindConfig
from sockdoc.rules._common import sampled, socket_subject
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
# lib/isc/netmgr/udp.c (9.18.31+): ISC_NETMGR_UDP_SENDBUF_SIZE, the queued bytes past which named
# drops a response
QUEUE_LIMIT = 65535
SMALL_ANSWER = 1232  # named's default max-udp-size (named -C, 9.18)
BIG_ANSWER = 4096  # a common raised max-udp-size (the EDNS buffer clients advertise)
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
        if f.attribution is not None:
            ev.append(
                Evidence(
                    "their peak send memory",
                    max(u.send_peak or u.wmem for u in socks),
                    "bytes",
                    "attribution sampler",
                )
            )
            ev.append(
                Evidence(
                    "samples with one at its send limit",
                    f"{max(u.tx_full_samples for u in socks)} of {sampled(f)}",
                    "",
                    "attribution sampler",
                )
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
    pid = named.main.pid if named is not None and named.main is not None else None
    subject = socket_subject(sock) if sock is not None else Subject("daemon", "named", pid)
    title = f"named: {failed:,} UDP responses not sent in {f.seconds:.1f} s"
    commands = tuple(
        f"curl -s http://{_host(c.address)}:{c.port}/json/v1/net | grep SendErr"
        for c in (conf.statistics_channels[:1] if conf is not None else ())
    )
    kernel_read = any(f.rate(c) is not None for c in KERNEL_COUNTERS)
    if kernel_read and kernel == 0 and not any(u.tx_full_samples for u in socks):
        # the kernel took every datagram named handed it: named's own queue overflowed
        return Finding(
            rule=ID,
            title=title,
            cause=Cause.SEND_BUFFER_FULL,
            severity=Severity.ERROR,
            confidence=Confidence.HIGH,
            subject=subject,
            explanation=(
                f"named counted {failed:,} UDP responses it did not send in {f.seconds:.1f} s "
                f"({rate:,.0f}/s), yet the kernel refused none (Udp.SndbufErrors +0)"
                + (
                    " and named's sockets never came near their send buffer"
                    if f.attribution is not None and socks
                    else ""
                )
                + ": named dropped them itself. From 9.18.31 it drops a UDP response when more "
                "than 64 KiB of responses wait in its send queue for one socket, and a response "
                "counts as waiting until the next pass of its event loop even once the kernel "
                "took it. Queries that arrive together for large answers overflow it at once: "
                f"about {QUEUE_LIMIT // BIG_ANSWER} answers of {BIG_ANSWER:,} bytes, or "
                f"{QUEUE_LIMIT // SMALL_ANSWER} of {SMALL_ANSWER:,}, per socket and pass. A "
                "larger udp-send-buffer does not change that."
            ),
            evidence=tuple(ev),
            fix=Fix(
                f"Keep UDP answers at {SMALL_ANSWER:,} bytes or less (max-udp-size "
                f"{SMALL_ANSWER}, named's default: a larger answer goes out truncated and the "
                "client asks again over TCP), so a burst of "
                f"{QUEUE_LIMIT // SMALL_ANSWER} answers fits each socket's queue; if "
                "named-checkconf -p already shows it, spread the queries over more UDP sockets "
                f"(named -n, one socket per thread and address; {len(socks) or 'unknown'} "
                "today). A larger udp-send-buffer would not help: the kernel took every "
                "answer named handed it.",
                config=(
                    ConfigChange(
                        "named.conf (options)",
                        f"max-udp-size {SMALL_ANSWER};",
                        "rndc reconfig",
                    ),
                ),
                commands=commands,
            ),
        )
    current = (
        sock.sndbuf
        if sock is not None
        else 2 * conf.udp_send_buffer
        if conf is not None and conf.udp_send_buffer
        else f.sysctls.wmem_default or 212992
    )
    target = target_buffer(current, rate, DEFAULT_DATAGRAM)
    option = target // 2  # named asks for it, the kernel doubles it (socket(7) SO_SNDBUF)
    sysctls: tuple[tuple[str, int | str], ...] = ()
    if f.sysctls.wmem_max is not None and f.sysctls.wmem_max < option:
        sysctls = (("net.core.wmem_max", option),)
    return Finding(
        rule=ID,
        title=title,
        cause=Cause.SEND_BUFFER_FULL,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        subject=subject,
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
            commands=commands,
        ),
    )


def _host(address: str) -> str:
    if address in ("*", "0.0.0.0", "any"):  # noqa: S104 (a configured address, not a bind)
        return "127.0.0.1"
    return f"[{address}]" if ":" in address else address


RULE = Rule(
    ID, "BIND UDP send errors (statistics channel)", Cause.SEND_BUFFER_FULL, check, needs=KEYS
)
