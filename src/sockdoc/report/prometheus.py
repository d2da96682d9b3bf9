"""A :class:`~sockdoc.monitor.State` as Prometheus metric families (docs/metrics.md).

Pure: builds ``prometheus_client`` metric family objects, reads nothing. Cardinality is bounded
here: at most :data:`MAX_SERIES` listeners per kind and UDP sockets get their own series (the
nearest their limit first, then the most drops); the rest are summed into ``_other``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sockdoc import __version__
from sockdoc.facts.host import HostFacts, Listener, UdpSocket
from sockdoc.monitor import State

MAX_SERIES = 100
OTHER = "_other"

T = TypeVar("T")

# (metric, counter name in /proc, label value)
_KERNEL: tuple[tuple[str, str, str, str], ...] = (
    ("sockdoc_udp_send_buffer_errors", "Udp.SndbufErrors", "proto", "udp"),
    ("sockdoc_udp_send_buffer_errors", "Udp6.SndbufErrors", "proto", "udp6"),
    ("sockdoc_udp_receive_buffer_errors", "Udp.RcvbufErrors", "proto", "udp"),
    ("sockdoc_udp_receive_buffer_errors", "Udp6.RcvbufErrors", "proto", "udp6"),
    ("sockdoc_tcp_listen_overflows", "TcpExt.ListenOverflows", "", ""),
    ("sockdoc_tcp_listen_drops", "TcpExt.ListenDrops", "", ""),
    ("sockdoc_tcp_syncookies_sent", "TcpExt.SyncookiesSent", "", ""),
    ("sockdoc_tcp_syn_queue_drops", "TcpExt.TCPReqQFullDrop", "", ""),
    ("sockdoc_udp_datagrams_sent", "Udp.OutDatagrams", "proto", "udp"),
    ("sockdoc_udp_datagrams_sent", "Udp6.OutDatagrams", "proto", "udp6"),
    ("sockdoc_udp_datagrams_received", "Udp.InDatagrams", "proto", "udp"),
    ("sockdoc_udp_datagrams_received", "Udp6.InDatagrams", "proto", "udp6"),
)
_HELP = {
    "sockdoc_udp_send_buffer_errors": "UDP datagrams refused: socket send buffer full.",
    "sockdoc_udp_receive_buffer_errors": "UDP datagrams dropped: socket receive buffer full.",
    "sockdoc_tcp_listen_overflows": "Connections dropped at a full TCP accept queue.",
    "sockdoc_tcp_listen_drops": "Connections dropped at TCP listeners, for any reason.",
    "sockdoc_tcp_syncookies_sent": "SYN cookies sent because a SYN queue was full.",
    "sockdoc_tcp_syn_queue_drops": "SYNs dropped because a SYN queue was full (no cookies).",
    "sockdoc_udp_datagrams_sent": "UDP datagrams sent (for ratios with the errors).",
    "sockdoc_udp_datagrams_received": "UDP datagrams delivered to sockets.",
}


def _top(items: Sequence[T], key: Callable[[T], tuple[float, ...]]) -> tuple[list[T], list[T]]:
    ranked = sorted(items, key=key, reverse=True)
    return ranked[:MAX_SERIES], ranked[MAX_SERIES:]


def _owner(owner: object) -> str:
    comm = getattr(owner, "comm", None)
    return str(comm) if comm else ""


def _kernel(f: HostFacts) -> Iterable[Metric]:
    families: dict[str, CounterMetricFamily] = {}
    for metric, counter, label, value in _KERNEL:
        rate = f.rate(counter)
        if rate is None:
            continue
        fam = families.get(metric)
        if fam is None:
            fam = CounterMetricFamily(metric, _HELP[metric], labels=[label] if label else [])
            families[metric] = fam
        fam.add_metric([value] if label else [], rate.after)
    yield from families.values()
    if f.softnet is not None:
        fam = CounterMetricFamily(
            "sockdoc_softnet_dropped",
            "Packets dropped because a CPU's input backlog (netdev_max_backlog) was full.",
        )
        fam.add_metric([], f.softnet.dropped_total)
        yield fam
    drops = CounterMetricFamily(
        "sockdoc_qdisc_drops", "Packets a root qdisc dropped.", labels=["dev", "kind", "handle"]
    )
    backlog = GaugeMetricFamily(
        "sockdoc_qdisc_backlog_bytes",
        "Bytes waiting in a root qdisc.",
        labels=["dev", "kind", "handle"],
    )
    for q in f.qdiscs:
        if q.root:
            drops.add_metric([q.dev, q.kind, q.handle], q.drops_total)
            backlog.add_metric([q.dev, q.kind, q.handle], q.backlog_bytes)
    yield drops
    yield backlog
    if f.conntrack is not None and f.conntrack.count is not None:
        entries = GaugeMetricFamily("sockdoc_conntrack_entries", "Connection-tracking entries.")
        entries.add_metric([], f.conntrack.count)
        yield entries
        if f.conntrack.max is not None:
            size = GaugeMetricFamily("sockdoc_conntrack_max", "Connection-tracking table size.")
            size.add_metric([], f.conntrack.max)
            yield size


def _fill(x: Listener) -> tuple[float, ...]:
    return (x.queue / x.backlog if x.backlog else float(x.queue > 0), float(x.drops_total or 0))


def _listeners(f: HostFacts) -> Iterable[Metric]:
    labels = ["kind", "listener", "process"]
    queue = GaugeMetricFamily(
        "sockdoc_listener_queue", "Connections waiting to be accepted.", labels=labels
    )
    backlog = GaugeMetricFamily(
        "sockdoc_listener_backlog",
        "Size of the listen queue (backlog; full at backlog + 1).",
        labels=labels,
    )
    drops = CounterMetricFamily(
        "sockdoc_listener_drops", "Connections this TCP listener dropped.", labels=labels
    )
    count = GaugeMetricFamily("sockdoc_listeners", "Listening sockets.", labels=["kind"])
    for kind in ("tcp", "unix"):
        mine = [x for x in f.listeners if x.kind == kind]
        count.add_metric([kind], len(mine))
        shown, rest = _top(mine, _fill)
        for x in shown:
            key = [kind, x.name, _owner(x.owner)]
            queue.add_metric(key, x.queue)
            backlog.add_metric(key, x.backlog)
            if x.drops_total is not None:
                drops.add_metric(key, x.drops_total)
        if rest:
            key = [kind, OTHER, ""]
            queue.add_metric(key, sum(x.queue for x in rest))
            backlog.add_metric(key, sum(x.backlog for x in rest))
            if kind == "tcp":
                drops.add_metric(key, sum(x.drops_total or 0 for x in rest))
    yield from (queue, backlog, drops, count)


def _udp_fill(u: UdpSocket) -> tuple[float, ...]:
    rx = u.rmem / u.rcvbuf if u.rcvbuf else 0.0
    tx = u.wmem / u.sndbuf if u.sndbuf else 0.0
    return (max(rx, tx), float(u.drops_total or 0))


def _udp(f: HostFacts) -> Iterable[Metric]:
    labels = ["socket", "process"]
    names = (
        ("sockdoc_udp_socket_receive_queue_bytes", "Receive memory in use.", "rmem"),
        ("sockdoc_udp_socket_receive_buffer_bytes", "Receive buffer limit (SO_RCVBUF).", "rcvbuf"),
        ("sockdoc_udp_socket_send_queue_bytes", "Send memory in use.", "wmem"),
        ("sockdoc_udp_socket_send_buffer_bytes", "Send buffer limit (SO_SNDBUF).", "sndbuf"),
    )
    gauges = [(GaugeMetricFamily(n, h, labels=labels), attr) for n, h, attr in names]
    drops = CounterMetricFamily(
        "sockdoc_udp_socket_drops", "Datagrams dropped for this socket.", labels=labels
    )
    shown, rest = _top(list(f.udp), _udp_fill)
    for u in shown:
        key = [u.name, _owner(u.owner)]
        for fam, attr in gauges:
            fam.add_metric(key, getattr(u, attr))
        if u.drops_total is not None:
            drops.add_metric(key, u.drops_total)
    if rest:
        for fam, attr in gauges:
            fam.add_metric([OTHER, ""], sum(getattr(u, attr) for u in rest))
        drops.add_metric([OTHER, ""], sum(u.drops_total or 0 for u in rest))
    yield from (fam for fam, _ in gauges)
    yield drops


def _daemons(f: HostFacts) -> Iterable[Metric]:
    procs = GaugeMetricFamily(
        "sockdoc_daemon_processes", "Running processes.", labels=["daemon", "process"]
    )
    fds = GaugeMetricFamily(
        "sockdoc_process_open_fds",
        "Open descriptors of the process of this name nearest its limit.",
        labels=["daemon", "process"],
    )
    limit = GaugeMetricFamily(
        "sockdoc_process_fd_limit",
        "That process's soft RLIMIT_NOFILE.",
        labels=["daemon", "process"],
    )
    for d in f.daemons:
        for comm, n in d.count_by_comm:
            procs.add_metric([d.name, comm], n)
        worst: dict[str, tuple[float, int, int]] = {}
        for p in d.processes:
            if p.open_fds is None or not p.nofile_soft:
                continue
            ratio = p.open_fds / p.nofile_soft
            if p.comm not in worst or ratio > worst[p.comm][0]:
                worst[p.comm] = (ratio, p.open_fds, p.nofile_soft)
        for comm, (_, n, soft) in sorted(worst.items()):
            fds.add_metric([d.name, comm], n)
            limit.add_metric([d.name, comm], soft)
    yield from (procs, fds, limit)
    dovecot = f.configs.get("dovecot")
    services = getattr(dovecot, "services", None)
    if services:
        fam = GaugeMetricFamily(
            "sockdoc_dovecot_service_limit",
            "Dovecot's effective service settings (doveconf).",
            labels=["service", "limit"],
        )
        for svc in services:
            for attr in ("process_limit", "client_limit", "service_count", "process_min_avail"):
                value = getattr(svc, attr, None)
                if isinstance(value, int):
                    fam.add_metric([svc.name, attr], value)
        yield fam
    if f.bind_stats:
        fam_b = CounterMetricFamily(
            "sockdoc_bind_send_errors",
            "named's count of failed sends (statistics channel).",
            labels=["counter"],
        )
        for name, rate in sorted(f.bind_stats.items()):
            if name.endswith("SendErr"):
                fam_b.add_metric([name], rate.after)
        yield fam_b


def _logs(s: State) -> Iterable[Metric]:
    events = CounterMetricFamily(
        "sockdoc_log_events",
        "Log lines of the failure family, by cause, daemon, signature and severity.",
        labels=["cause", "daemon", "signature", "severity"],
    )
    for (cause, daemon, sig, severity), n in sorted(s.log_events.items()):
        events.add_metric([cause, daemon, sig, severity], n)
    lines = CounterMetricFamily("sockdoc_log_lines", "Log lines read.", labels=["source"])
    for source, n in sorted(s.log_lines.items()):
        lines.add_metric([source], n)
    yield from (events, lines)


def _findings(s: State) -> Iterable[Metric]:
    fam = GaugeMetricFamily(
        "sockdoc_finding",
        "A finding of sockdoc's rules that is active now.",
        labels=["rule", "severity", "cause", "subject"],
    )
    seen: set[tuple[str, str, str, str]] = set()
    for finding in s.diagnosis.findings:
        key = (finding.rule, finding.severity.value, finding.cause.value, finding.subject.name)
        if key not in seen:
            seen.add(key)
            fam.add_metric(list(key), 1)
    yield fam


def _self(s: State, extra_down: Sequence[str]) -> Iterable[Metric]:
    up = GaugeMetricFamily(
        "sockdoc_source_up", "1 when the evidence source was read.", labels=["source"]
    )
    down = set(extra_down)
    for src in s.facts.sources:
        family = _source_family(src.key)
        if family is None:
            continue
        ok = src.status in ("ok", "absent") and family not in down
        down.discard(family)
        up.add_metric([family], 1 if ok else 0)
    for family in sorted(down):
        up.add_metric([family], 0)
    yield up
    took = GaugeMetricFamily("sockdoc_scrape_duration_seconds", "How long the last step took.")
    took.add_metric([], s.step_seconds)
    yield took
    info = GaugeMetricFamily("sockdoc_build_info", "sockdoc's version.", labels=["version"])
    info.add_metric([__version__], 1)
    yield info


def _source_family(key: str) -> str | None:
    """A bounded name for a source key: per-process keys collapse into one family."""
    if not key.startswith("s1/"):
        return None
    rest = key[3:]
    if rest.startswith("proc/") and rest[5:6].isdigit():
        return "proc/PID/stat"
    if rest.startswith("bind/"):
        return "bind/stats"
    return rest


def families(s: State, extra_down: Sequence[str] = ()) -> list[Metric]:
    """Every metric family of docs/metrics.md for state ``s``."""
    f = s.facts
    out: list[Metric] = []
    for part in (_kernel(f), _listeners(f), _udp(f), _daemons(f), _logs(s), _findings(s)):
        out.extend(part)
    out.extend(_self(s, extra_down))
    return out
