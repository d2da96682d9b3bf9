"""Host facts: every collected source parsed and combined into what the rules reason about.

Counters become rates over the interval between the two samples (and keep their value since
boot); sockets from sock_diag are joined with their owning process and with what the
attribution sampler saw; daemon processes with their limits, descriptors, CPU use,
configuration and statistics. A source that could not be read or parsed leaves its fact empty
(None or an empty tuple) and is listed in :attr:`HostFacts.unavailable` with the reason, so a
rule can say "could not check" instead of "OK".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from sockdoc.collect import specs
from sockdoc.collect.gather import Collected
from sockdoc.collect.processes import DaemonProc, parse_process_table
from sockdoc.collect.root import Got, Status
from sockdoc.parsers import bind_stats, doveconf, named_conf, nginx_conf, phpfpm_conf, proc_pid
from sockdoc.parsers.attribution import Attribution, Track, parse_attribution
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.owners import Owner, Owners, parse_owners
from sockdoc.parsers.proc_conntrack import parse_conntrack_stat
from sockdoc.parsers.proc_dev import InterfaceStats, parse_dev
from sockdoc.parsers.proc_limits import parse_limits
from sockdoc.parsers.proc_snmp import GAUGES, Counters, parse_netstat, parse_snmp, parse_snmp6
from sockdoc.parsers.proc_sockstat import SockStat, parse_sockstat
from sockdoc.parsers.proc_softnet import Softnet, counter_delta, parse_softnet
from sockdoc.parsers.scan_doc import LogFacts, parse_scan_doc
from sockdoc.parsers.sock_diag import (
    InetSocket,
    NetlinkError,
    SockDiagParseError,
    UnixSocket,
    inet_name,
    recorded_inet,
    recorded_unix,
    unix_name,
)
from sockdoc.parsers.sys_class_net import LinkInfo, link_info
from sockdoc.parsers.sysctl import Sysctls
from sockdoc.parsers.tc_qdisc import Qdisc, parse_qdiscs

T = TypeVar("T")


@functools.lru_cache(maxsize=4)
def _parse_owners(text: str) -> Owners:
    # watch and the exporter rebuild facts every step from the same owner table (it is
    # refreshed in the background): parse it once
    return parse_owners(text)


@dataclass(frozen=True)
class SourceState:
    """How one source went; ``status != "ok"`` ones are listed as could-not-check."""

    key: str
    status: Status
    reason: str
    needs_root: bool
    origin: str


@dataclass(frozen=True)
class Rate:
    """A counter over the interval: its value at each sample, the change, and per second."""

    name: str
    before: int
    after: int
    seconds: float

    @property
    def delta(self) -> int:
        return max(self.after - self.before, 0)

    @property
    def per_second(self) -> float:
        return self.delta / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Listener:
    """A TCP or UNIX socket in LISTEN state at the second sample."""

    kind: Literal["tcp", "unix"]
    name: str
    inode: int
    queue: int
    backlog: int
    drops: int | None  # connections this listener dropped during the interval (TCP only)
    owner: Owner | None
    peak: int | None = None  # the attribution sampler's longest queue
    full_samples: int = 0
    samples: int = 0
    drops_total: int | None = None  # since the listener was made (TCP only)

    @property
    def full_now(self) -> bool:
        return self.queue > self.backlog


@dataclass(frozen=True)
class UdpSocket:
    name: str
    inode: int
    rcvbuf: int
    sndbuf: int
    rmem: int
    wmem: int
    drops_total: int | None  # since the socket was made
    drops: int | None  # during the interval
    owner: Owner | None
    rx_full_samples: int = 0
    tx_full_samples: int = 0
    send_peak: int | None = None
    samples: int = 0


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    daemon: str
    comm: str
    cmdline: str | None
    cpu_percent: float | None
    nofile_soft: int | None
    nofile_hard: int | None
    open_fds: int | None


@dataclass(frozen=True)
class Daemon:
    """A running daemon: its process tree (all of it counted, some of it read in detail)."""

    name: str
    version: str | None
    main: Proc | None
    processes: tuple[Proc, ...]  # the ones read in detail
    count_by_comm: tuple[tuple[str, int], ...]  # every process of the tree, by command name

    def count(self, comm: str) -> int:
        return sum(n for c, n in self.count_by_comm if c == comm)


@dataclass(frozen=True)
class QdiscRate:
    dev: str
    kind: str
    handle: str
    root: bool
    drops: int
    overlimits: int
    requeues: int
    drops_total: int
    backlog_bytes: int
    qlen: int


@dataclass(frozen=True)
class Link:
    name: str
    info: LinkInfo | None
    tx_errs: int
    tx_drop: int
    tx_carrier: int
    tx_colls: int
    rx_drop: int
    rx_errs: int


@dataclass(frozen=True)
class Conntrack:
    count: int | None
    max: int | None
    drop: int  # during the interval
    early_drop: int
    insert_failed: int
    drop_total: int | None


@dataclass(frozen=True)
class SoftnetRate:
    dropped: int
    time_squeeze: int
    dropped_total: int
    cpus: int


@dataclass(frozen=True)
class HostFacts:
    kind: str
    host: str
    kernel: str
    netns: str | None
    euid: int | None
    taken_at: float | None
    seconds: float
    counters: Mapping[str, Rate]
    sockstat: SockStat | None
    softnet: SoftnetRate | None
    links: tuple[Link, ...]
    qdiscs: tuple[QdiscRate, ...]
    sysctls: Sysctls
    conntrack: Conntrack | None
    listeners: tuple[Listener, ...]
    udp: tuple[UdpSocket, ...]
    attribution: Attribution | None
    daemons: tuple[Daemon, ...]
    configs: Mapping[str, Any]  # "dovecot", "bind", "nginx" -> parsed config; "php-fpm" pools
    bind_stats: Mapping[str, Rate]
    logs: LogFacts | None
    sources: tuple[SourceState, ...]
    owners_denied: int = 0
    cpus: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def rate(self, name: str) -> Rate | None:
        return self.counters.get(name)

    def delta(self, *names: str) -> int:
        return sum(r.delta for n in names if (r := self.counters.get(n)) is not None)

    def daemon(self, name: str) -> Daemon | None:
        for d in self.daemons:
            if d.name == name:
                return d
        return None

    def source(self, key: str) -> SourceState | None:
        for s in self.sources:
            if s.key == key:
                return s
        return None

    @property
    def unavailable(self) -> tuple[SourceState, ...]:
        return tuple(s for s in self.sources if s.status != "ok")

    def missing(self, *keys: str) -> tuple[SourceState, ...]:
        """The sources among ``keys`` (by prefix) that were not read."""
        return tuple(s for s in self.unavailable if any(s.key.startswith(k) for k in keys))


_ERRORS = (ParseError, SockDiagParseError, NetlinkError, ValueError)


class _Builder:
    def __init__(self, c: Collected) -> None:
        self.c = c
        self.states: dict[str, SourceState] = {}
        for key, g in c.got.items():
            self.states[key] = SourceState(key, g.status, g.reason, g.needs_root, g.origin)

    def fail(self, g: Got, exc: Exception) -> None:
        self.states[g.key] = SourceState(g.key, "error", f"unreadable: {exc}", False, g.origin)

    def parse(self, key: str, fn: Callable[[str], T]) -> T | None:
        g = self.c.get(key)
        if not g.ok:
            return None
        try:
            return fn(g.text())
        except _ERRORS as exc:
            self.fail(g, exc)
            return None

    def parse_bytes(self, key: str, fn: Callable[[bytes], T]) -> T | None:
        g = self.c.get(key)
        if not g.ok or g.data is None:
            return None
        try:
            return fn(g.data)
        except _ERRORS as exc:
            self.fail(g, exc)
            return None


def _times(b: _Builder) -> tuple[float | None, float]:
    def clock(s: str) -> tuple[float, float] | None:
        g = b.c.get(f"{s}/time")
        parts = g.text().split()
        if len(parts) != 2:
            return None
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            return None

    t0, t1 = clock("s0"), clock("s1")
    if t0 is None or t1 is None:
        return (t1[0] if t1 else None), 0.0
    return t1[0], max(t1[1] - t0[1], 0.0)


# watch and the exporter read each sample twice (as a step's s1, then as the next one's s0):
# parse each text once
_parse_snmp = functools.lru_cache(maxsize=4)(parse_snmp)
_parse_netstat = functools.lru_cache(maxsize=4)(parse_netstat)
_parse_snmp6 = functools.lru_cache(maxsize=4)(parse_snmp6)


def _counters(b: _Builder, s: str) -> Counters | None:
    parts = [
        b.parse(specs.proc_net(s, "snmp"), _parse_snmp),
        b.parse(specs.proc_net(s, "netstat"), _parse_netstat),
        b.parse(specs.proc_net(s, "snmp6"), _parse_snmp6),
    ]
    got = [p for p in parts if p is not None]
    if not got:
        return None
    return got[0].merged(*got[1:])


def _rates(
    a: Mapping[str, int] | None, z: Mapping[str, int] | None, seconds: float
) -> dict[str, Rate]:
    if z is None:
        return {}
    out: dict[str, Rate] = {}
    for name, after in z.items():
        if name in GAUGES:
            continue
        before = a.get(name, after) if a is not None else after
        out[name] = Rate(name, before, after, seconds)
    return out


def _softnet(b: _Builder) -> SoftnetRate | None:
    s0 = b.parse(specs.proc_net("s0", "softnet_stat"), parse_softnet)
    s1 = b.parse(specs.proc_net("s1", "softnet_stat"), parse_softnet)
    if s1 is None:
        return None
    base: Softnet = s0 if s0 is not None else s1
    return SoftnetRate(
        dropped=counter_delta(base.dropped, s1.dropped),
        time_squeeze=counter_delta(base.time_squeeze, s1.time_squeeze),
        dropped_total=s1.dropped,
        cpus=len(s1.cpus),
    )


def _links(b: _Builder) -> tuple[Link, ...]:
    d0 = b.parse(specs.proc_net("s0", "dev"), parse_dev)
    d1 = b.parse(specs.proc_net("s1", "dev"), parse_dev)
    if d1 is None:
        return ()
    links = []
    for i in d1.interfaces:
        before = d0.get(i.name) if d0 is not None else None
        prev = before or i

        def dl(attr: str, prev: InterfaceStats = prev, i: InterfaceStats = i) -> int:
            return max(int(getattr(i, attr)) - int(getattr(prev, attr)), 0)

        texts = {a: b.c.get(specs.link(i.name, a)) for a in specs.LINK_ATTRS}
        info: LinkInfo | None = None
        if any(g.ok for g in texts.values()):
            try:
                info = link_info(
                    i.name,
                    speed=texts["speed"].text() if texts["speed"].ok else None,
                    duplex=texts["duplex"].text() if texts["duplex"].ok else None,
                    operstate=texts["operstate"].text() if texts["operstate"].ok else None,
                )
            except ParseError as exc:
                b.fail(texts["speed"], exc)
        links.append(
            Link(
                i.name,
                info,
                dl("tx_errs"),
                dl("tx_drop"),
                dl("tx_carrier"),
                dl("tx_colls"),
                dl("rx_drop"),
                dl("rx_errs"),
            )
        )
    return tuple(links)


def _qdiscs(b: _Builder) -> tuple[QdiscRate, ...]:
    q0 = b.parse(specs.qdisc("s0"), parse_qdiscs) or ()
    q1 = b.parse(specs.qdisc("s1"), parse_qdiscs)
    if q1 is None:
        return ()
    before: dict[tuple[str, str, str | None], Qdisc] = {(q.dev, q.handle, q.parent): q for q in q0}
    out = []
    for q in q1:
        p = before.get((q.dev, q.handle, q.parent), q)
        out.append(
            QdiscRate(
                q.dev,
                q.kind,
                q.handle,
                q.parent is None,
                drops=max(q.drops - p.drops, 0),
                overlimits=max(q.overlimits - p.overlimits, 0),
                requeues=max(q.requeues - p.requeues, 0),
                drops_total=q.drops,
                backlog_bytes=q.backlog_bytes,
                qlen=q.qlen,
            )
        )
    return tuple(out)


def _one_sysctl(name: str, text: str) -> Sysctls:
    return Sysctls.from_texts({name: text})


def _sysctls(b: _Builder) -> Sysctls:
    merged = Sysctls()
    for name in specs.SYSCTL_NAMES:
        key = specs.sysctl_key(name)
        one = b.parse(key, functools.partial(_one_sysctl, name))
        if one is not None:
            changes = {k: v for k, v in vars(one).items() if v is not None}
            merged = replace(merged, **changes)
    return merged


def _conntrack(b: _Builder, sysctls: Sysctls) -> Conntrack | None:
    c0 = b.parse(specs.conntrack_stat("s0"), parse_conntrack_stat)
    c1 = b.parse(specs.conntrack_stat("s1"), parse_conntrack_stat)
    count_text = b.c.get(specs.conntrack_count("s1"))
    count = (
        int(count_text.text().strip())
        if count_text.ok and count_text.text().strip().isdigit()
        else None
    )
    if c1 is None and count is None and sysctls.nf_conntrack_max is None:
        return None

    def d(name: str) -> int:
        if c1 is None:
            return 0
        a = (c0 or c1).get(name) or 0
        return max((c1.get(name) or 0) - a, 0)

    return Conntrack(
        count=count if count is not None else (c1.entries if c1 else None),
        max=sysctls.nf_conntrack_max,
        drop=d("drop"),
        early_drop=d("early_drop"),
        insert_failed=d("insert_failed"),
        drop_total=c1.get("drop") if c1 else None,
    )


def _inet(
    b: _Builder, s: str, kind: str, proto: Literal["tcp", "udp"]
) -> tuple[InetSocket, ...] | None:
    return b.parse_bytes(specs.sock_diag(s, kind), lambda d: recorded_inet(d, proto))


def _sockets(
    b: _Builder, owners: Owners | None, att: Attribution | None
) -> tuple[tuple[Listener, ...], tuple[UdpSocket, ...]]:
    own = owners.owners if owners is not None else {}
    tracks: dict[tuple[str, int], Track] = {}
    if att is not None:
        for track in att.tracks:
            tracks[(track.kind, track.inode)] = track
    listeners: list[Listener] = []
    t0 = {s.inode: s for s in (_inet(b, "s0", "tcp_listen", "tcp") or ())}
    for s in _inet(b, "s1", "tcp_listen", "tcp") or ():
        prev = t0.get(s.inode)
        drops = None
        if s.mem is not None and s.mem.drops is not None:
            first = prev.mem.drops if prev is not None and prev.mem is not None else None
            drops = max(s.mem.drops - (first if first is not None else s.mem.drops), 0)
        t = tracks.get(("tcp-listen", s.inode))
        if drops is None and t is not None:  # the samples' own delta first: same window as
            drops = t.drops  # the counters; the sampler's only when a sample lacked it
        listeners.append(
            Listener(
                "tcp",
                inet_name(s),
                s.inode,
                s.rqueue,
                s.wqueue,
                drops,
                own.get(s.inode),
                t.peak if t else None,
                t.full if t else 0,
                t.samples if t else 0,
                s.mem.drops if s.mem is not None else None,
            )
        )
    unix: tuple[UnixSocket, ...] = (
        b.parse_bytes(specs.sock_diag("s1", "unix_listen"), recorded_unix) or ()
    )
    for u in unix:
        t = tracks.get(("unix-listen", u.inode))
        listeners.append(
            Listener(
                "unix",
                unix_name(u),
                u.inode,
                u.rqueue or 0,
                u.wqueue or 0,
                None,
                own.get(u.inode),
                t.peak if t else None,
                t.full if t else 0,
                t.samples if t else 0,
            )
        )
    udp: list[UdpSocket] = []
    u0 = {s.inode: s for s in (_inet(b, "s0", "udp", "udp") or ())}
    for s in _inet(b, "s1", "udp", "udp") or ():
        m = s.mem
        if m is None:
            continue
        prev = u0.get(s.inode)
        drops = None
        if m.drops is not None:
            first = prev.mem.drops if prev is not None and prev.mem is not None else None
            drops = max(m.drops - (first if first is not None else m.drops), 0)
        t = tracks.get(("udp", s.inode))
        if drops is None and t is not None:  # the samples' own delta first: same window as
            drops = t.drops  # the counters; the sampler's only when a sample lacked it
        udp.append(
            UdpSocket(
                inet_name(s),
                s.inode,
                m.rcvbuf,
                m.sndbuf,
                m.rmem_alloc,
                m.wmem_alloc,
                m.drops,
                drops,
                own.get(s.inode),
                t.full if t else 0,
                t.send_full if t else 0,
                t.send_peak if t else None,
                t.samples if t else 0,
            )
        )
    return tuple(listeners), tuple(udp)


def _host(b: _Builder) -> dict[str, Any]:
    g = b.c.get(specs.HOST)
    if not g.ok:
        return {}
    try:
        doc = json.loads(g.text())
    except ValueError as exc:
        b.fail(g, exc)
        return {}
    return doc if isinstance(doc, dict) else {}


def _daemons(b: _Builder, host: Mapping[str, Any], seconds: float) -> tuple[Daemon, ...]:
    table: tuple[DaemonProc, ...] = b.parse(specs.PROCESSES, parse_process_table) or ()
    if not table:
        return ()
    clk = host.get("clk_tck")
    ticks = clk if isinstance(clk, int) and clk > 0 else 100
    own = host.get("netns_link")
    if isinstance(own, str) and own != "?":
        # daemons of other network namespaces (the host's, when checking a container) are
        # not this namespace's; "?" is a process whose namespace could not be read
        table = tuple(p for p in table if p.netns in ("?", own))
    by_daemon: dict[str, list[DaemonProc]] = {}
    for p in table:
        by_daemon.setdefault(p.daemon, []).append(p)
    daemons = []
    for name, procs in sorted(by_daemon.items()):
        pids = {p.pid for p in procs}
        detailed: list[Proc] = []
        for p in procs:
            if (
                not b.c.get(specs.proc_pid(p.pid, "limits")).ok
                and specs.proc_pid(p.pid, "limits") not in b.c.got
            ):
                continue
            limits = b.parse(specs.proc_pid(p.pid, "limits"), parse_limits)
            nofile = limits.nofile if limits is not None else None
            fds = b.parse(specs.fdcount(p.pid), lambda t: int(t.strip()))
            st0 = b.parse(specs.proc_pid(p.pid, "stat", "s0"), proc_pid.parse_stat)
            st1 = b.parse(specs.proc_pid(p.pid, "stat", "s1"), proc_pid.parse_stat)
            cpu = None
            if st0 is not None and st1 is not None and seconds > 0:
                try:
                    cpu = proc_pid.cpu_percent(st0, st1, seconds, ticks)
                except ValueError:  # the pid was reused between the two samples
                    cpu = None
            cmd = b.parse(specs.proc_pid(p.pid, "cmdline"), lambda t: t.replace("\0", " ").strip())
            detailed.append(
                Proc(
                    p.pid,
                    p.ppid,
                    p.daemon,
                    p.comm,
                    cmd,
                    cpu,
                    nofile.soft if nofile else None,
                    nofile.hard if nofile else None,
                    fds,
                )
            )
        main = next((d for d in detailed if d.ppid not in pids), None)
        counts: dict[str, int] = {}
        for p in procs:
            counts[p.comm] = counts.get(p.comm, 0) + 1
        version = b.parse(specs.daemon_command(f"{name}-version"), lambda t: t.strip() or None)
        daemons.append(Daemon(name, version, main, tuple(detailed), tuple(sorted(counts.items()))))
    return tuple(daemons)


def _configs(b: _Builder) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not any(
        k.startswith(("cmd/doveconf", "cmd/named-checkconf", "cmd/nginx-T", "conf/"))
        for k in b.c.got
    ):
        return out
    dove = b.parse(specs.daemon_command("doveconf-a"), doveconf.parse_doveconf)
    dove_n = b.parse(specs.daemon_command("doveconf-n"), doveconf.parse_doveconf)
    if dove is not None or dove_n is not None:
        out["dovecot"] = dove if dove is not None else dove_n
        out["dovecot-n"] = dove_n
    bind = b.parse(specs.daemon_command("named-checkconf"), named_conf.parse_named_conf)
    if bind is not None:
        out["bind"] = bind
    ng = b.parse(specs.daemon_command("nginx-T"), nginx_conf.parse_nginx_dump)
    if ng is not None:
        out["nginx"] = ng
    listing = b.c.get("conf/php-fpm/list")
    files = []
    for i, path in enumerate(listing.text().splitlines()):
        got = b.c.get(specs.phpfpm_pool(i))
        if got.ok:
            files.append((path, got.text()))
    pools: tuple[Any, ...] = ()
    if files:
        # pools may span files (php-fpm includes them in sorted order): parse them together
        try:
            pools = phpfpm_conf.parse_pool_files(files)
        except ParseError as exc:
            b.fail(listing, exc)
    if pools:
        out["php-fpm"] = pools
    return out


def _bind_stats(b: _Builder, seconds: float) -> dict[str, Rate]:
    if specs.bind_stats("s1") + "0" not in b.c.got:
        return {}
    a = b.parse(specs.bind_stats("s0") + "0", bind_stats.parse_bind_stats)
    z = b.parse(specs.bind_stats("s1") + "0", bind_stats.parse_bind_stats)
    if z is None:
        return {}
    counters = {**z.nsstats, **z.sockstats}
    if a is None:
        return _rates(None, counters, seconds)
    # named's JSON leaves out counters that are still 0: absent in the first sample means 0
    before = dict.fromkeys(counters, 0)
    before.update({**a.nsstats, **a.sockstats})
    return _rates(before, counters, seconds)


def build(c: Collected) -> HostFacts:
    """Parse and combine everything in ``c`` (never raises for bad source data)."""
    b = _Builder(c)
    host = _host(b)
    taken_at, seconds = _times(b)
    before, after = _counters(b, "s0"), _counters(b, "s1")
    sysctls = _sysctls(b)
    att = b.parse(specs.ATTRIBUTION, parse_attribution)
    owners = b.parse(specs.OWNERS, _parse_owners)
    listeners, udp = _sockets(b, owners, att)
    sockstat = b.parse(specs.proc_net("s1", "sockstat"), parse_sockstat)
    s6 = b.parse(specs.proc_net("s1", "sockstat6"), parse_sockstat)
    if sockstat is not None and s6 is not None:
        sockstat = sockstat.merged(s6)
    facts = HostFacts(
        kind=c.kind,
        host=str(host.get("hostname", "")),
        kernel=str(host.get("kernel", "")),
        netns=host.get("netns") if isinstance(host.get("netns"), str) else None,
        euid=host.get("euid") if isinstance(host.get("euid"), int) else None,
        taken_at=taken_at,
        seconds=seconds,
        counters=_rates(before, after, seconds),
        sockstat=sockstat,
        softnet=_softnet(b),
        links=_links(b),
        qdiscs=_qdiscs(b),
        sysctls=sysctls,
        conntrack=_conntrack(b, sysctls),
        listeners=listeners,
        udp=udp,
        attribution=att,
        daemons=_daemons(b, host, seconds),
        configs=_configs(b),
        bind_stats=_bind_stats(b, seconds),
        logs=b.parse(specs.LOGS, parse_scan_doc),
        sources=(),
        owners_denied=owners.denied if owners is not None else 0,
        cpus=host.get("cpus") if isinstance(host.get("cpus"), int) else None,
    )
    if owners is not None and owners.denied:
        unowned = sum(1 for x in listeners if x.owner is None) + sum(
            1 for u in udp if u.owner is None
        )
        if unowned:
            g = c.get(specs.OWNERS)
            b.states[specs.OWNERS] = SourceState(
                specs.OWNERS,
                "denied",
                f"the open files of {owners.denied} processes could not be read, so "
                f"{unowned} sockets have no known owner",
                True,
                g.origin,
            )
    return replace(facts, sources=tuple(b.states.values()))
