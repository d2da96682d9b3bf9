"""Gather everything ``check`` reads, in order, from a :class:`~sockdoc.collect.root.Root`.

The same sequence runs against the live host and against a bundle; only the root differs (a
bundle answers every key from what it stored, and nothing sleeps). On a live host:

1. host-only values (some sysctls) in the host's namespace, then ``setns`` for ``--netns``;
2. the log scan starts in a child process (it runs during the interval, on the other core);
3. the daemon process table and configurations (they say what else to read);
4. sample ``s0``: kernel counters, qdiscs, sockets, daemon CPU times, BIND statistics;
5. the attribution sampler polls listeners and UDP sockets for ``interval`` seconds;
6. sample ``s1``, the same as ``s0``;
7. settings, links, limits, socket owners, and the log scan's result.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sockdoc import __version__
from sockdoc.collect import daemon_sources, logscan, netns, processes, sampler, sock_diag, specs
from sockdoc.collect.processes import DaemonProc, parse_process_table, watched_pids
from sockdoc.collect.root import BundleRoot, Got, Recorder, Root
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.sock_diag import (
    Dump,
    InetSocket,
    SockDiagParseError,
    frame,
    parse_inet,
    parse_recorded,
    parse_unix,
)
from sockdoc.parsers.sysctl import sysctl_path

LOG_TIMEOUT = 60.0
HTTP_LIMIT = 8 << 20


@dataclass(frozen=True)
class GatherOptions:
    interval: float = 2.0
    logs: tuple[str, ...] | None = None  # None: the default sources; (): no log scan
    log_window: str = logscan.DEFAULT_WINDOW
    hz: float = sampler.DEFAULT_HZ
    netns: str | None = None
    pid: int | None = None


@dataclass(frozen=True)
class Collected:
    """Every source's outcome, by key, in the order they were read."""

    got: Mapping[str, Got]
    kind: str

    def get(self, key: str) -> Got:
        return self.got.get(key) or Got(key, "absent", None, "not collected")


Progress = Callable[[str], None]


def _dump(fn: Callable[..., object]) -> Callable[[], bytes]:
    def run() -> bytes:
        chunks: list[bytes] = []
        fn(record=chunks)
        return frame(chunks)

    return run


_DUMPS: dict[str, tuple[str, Callable[..., object]]] = {
    "tcp_listen": ("sock_diag TCP LISTEN", sock_diag.tcp_listeners),
    "unix_listen": ("sock_diag UNIX LISTEN", sock_diag.unix_listeners),
    "udp": ("sock_diag UDP", sock_diag.udp_sockets),
}


def _host_info(options: GatherOptions) -> bytes:
    doc = {
        "hostname": socket.gethostname(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "tool": __version__,
        "euid": os.geteuid(),
        "netns": options.netns or (f"pid:{options.pid}" if options.pid else None),
        "netns_link": processes.own_netns(),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "cpus": os.cpu_count(),
        "interval": options.interval,
    }
    return json.dumps(doc, sort_keys=True).encode()


def _clock() -> bytes:
    return f"{time.time():.6f} {time.monotonic():.6f}\n".encode()


class _Gatherer:
    def __init__(self, root: Root, options: GatherOptions, progress: Progress | None) -> None:
        self.rec = Recorder(root)
        self.live = root.kind == "live"
        self.options = options
        self.progress = progress or (lambda _s: None)
        self.pids: tuple[int, ...] = ()
        self.table: tuple[DaemonProc, ...] = ()
        self.stats_urls: tuple[str, ...] = ()
        self.other_netns = bool(options.netns or options.pid)

    # --- steps ---------------------------------------------------------------------------

    def host_only(self) -> None:
        for name in specs.SYSCTL_NAMES:
            if name in specs.HOST_ONLY_SYSCTLS:
                self.rec.file(specs.sysctl_key(name), f"/proc/sys/{sysctl_path(name)}")

    def enter_namespace(self) -> None:
        path = netns.path_for(self.options.netns, self.options.pid)
        if path is not None and self.live:
            netns.enter(path)

    def daemons(self) -> None:
        extra = (self.options.pid,) if self.options.pid else ()
        got = self.rec.compute(
            specs.PROCESSES,
            "/proc/*/stat",
            functools.partial(processes.daemon_table, "/proc", extra),
        )
        host = self.rec.compute(specs.HOST, "host", lambda: _host_info(self.options))
        own = "?"
        if host.ok:
            try:
                doc = json.loads(host.data or b"{}")
                own = str(doc.get("netns_link", "?"))
                self.other_netns = bool(doc.get("netns"))
            except (ValueError, AttributeError):
                own = "?"
        self.table = parse_process_table(got.text())
        self.pids = watched_pids(self.table, own)
        for pid in self.pids:
            self.rec.file(specs.proc_pid(pid, "cmdline"), f"/proc/{pid}/cmdline")
            self.rec.file(specs.proc_pid(pid, "limits"), f"/proc/{pid}/limits")
            self.rec.file(specs.proc_pid(pid, "status"), f"/proc/{pid}/status")
            self.rec.compute(
                specs.fdcount(pid),
                f"/proc/{pid}/fd",
                functools.partial(processes.fd_count, "/proc", pid),
            )
        self.stats_urls = daemon_sources.collect(self.rec, self.table, self.pids)

    def sample(self, s: str, qdiscs: bool = True) -> None:
        """Read sample ``s``; ``qdiscs=False`` leaves out ``tc`` (the caller reuses an
        earlier reading, see :mod:`sockdoc.collect.continuous`)."""
        rec = self.rec
        rec.compute(f"{s}/time", "clock", _clock)
        for name in specs.PROC_NET:
            rec.file(specs.proc_net(s, name), f"/proc/net/{name}")
        # sockets right after the counters, so that a socket's drops and the counter's
        # change cover nearly the same moment; the tc command (a fork) comes after
        for kind, (origin, fn) in _DUMPS.items():
            rec.compute(specs.sock_diag(s, kind), origin, _dump(fn))
        if qdiscs:
            rec.command(specs.qdisc(s), ["tc", "-s", "-j", "qdisc", "show"], timeout=5.0)
        rec.file(specs.conntrack_stat(s), specs.CONNTRACK_STAT)
        rec.file(f"{s}/proc/stat", "/proc/stat")
        rec.file(specs.conntrack_count(s), "/proc/sys/net/netfilter/nf_conntrack_count")

        for pid in self.pids:
            rec.file(specs.proc_pid(pid, "stat", s), f"/proc/{pid}/stat")
        for i, url in enumerate(self.stats_urls):
            rec.compute(f"{specs.bind_stats(s)}{i}", url, functools.partial(_http_get, url))

    def attribution(self) -> None:
        opts = self.options
        self.rec.compute(
            specs.ATTRIBUTION,
            f"sock_diag sampling for {opts.interval} s at up to {opts.hz} Hz",
            lambda: sampler.sample(opts.interval, opts.hz),
        )

    def settings(self) -> None:
        for name in specs.SYSCTL_NAMES:
            if name not in specs.HOST_ONLY_SYSCTLS:
                self.rec.file(specs.sysctl_key(name), f"/proc/sys/{sysctl_path(name)}")
        if self.other_netns:
            # sysfs shows the interfaces of the namespace that mounted it (the host's), so
            # link speed and duplex of another namespace's interfaces cannot be read there
            self.rec.compute(specs.NETNS_LINKS, "/sys/class/net", _not_in_netns)
            return
        dev = self.rec.got.get(specs.proc_net("s1", "dev"))
        for ifname in _interfaces(dev.text() if dev else ""):
            for attr in specs.LINK_ATTRS:
                self.rec.file(specs.link(ifname, attr), f"/sys/class/net/{ifname}/{attr}")

    def owners(self) -> None:
        """Who holds each socket seen in the first sample. Scanning every process's
        descriptors takes about 1 s with 200,000 open sockets, so this runs in a thread during
        the interval (the scan waits in readlink(), the sampler in netlink)."""
        inodes: set[int] = set()
        for kind in specs.SOCK_DIAG_KINDS:
            got = self.rec.got.get(specs.sock_diag("s0", kind))
            if got is None or not got.ok or got.data is None:
                continue
            parse = _PARSE[kind]
            try:
                inodes.update(s.inode for s in parse_recorded(got.data, parse))
            except (SockDiagParseError, OSError, ParseError):
                continue
        wanted = sorted(inodes)
        self.rec.compute(specs.OWNERS, "/proc/*/fd", functools.partial(_owners, wanted))


def _parse_udp(data: bytes) -> Dump[InetSocket]:
    return parse_inet(data, "udp")


def _parse_tcp(data: bytes) -> Dump[InetSocket]:
    return parse_inet(data, "tcp")


_PARSE: dict[str, Callable[[bytes], Dump[Any]]] = {
    "tcp_listen": _parse_tcp,
    "udp": _parse_udp,
    "unix_listen": parse_unix,
}


def _not_in_netns() -> bytes:
    raise FileNotFoundError(
        0, "link speed and duplex: sysfs shows the host's interfaces, not this namespace's"
    )


def _interfaces(dev_text: str) -> list[str]:
    names: list[str] = []
    for line in dev_text.splitlines()[2:]:
        name = line.split(":", 1)[0].strip()
        if name and "/" not in name and name not in (".", ".."):
            names.append(name)
    return names[:256]


def _owners(inodes: Sequence[int]) -> bytes:
    found = sock_diag.socket_owners(inodes)
    lines = [f"{ino}\t{o.pid}\t{o.comm}" for ino, o in sorted(found.owners.items())]
    lines.append(f"# denied {found.denied} vanished {found.vanished}")
    return ("\n".join(lines) + "\n").encode()


def _http_get(url: str) -> bytes:
    # only the statistics channel named in named's own configuration, on this host
    if not url.startswith("http://"):
        raise OSError(f"not an http URL: {url}")
    req = urllib.request.Request(url, headers={"User-Agent": f"sockdoc/{__version__}"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=3.0) as resp:  # noqa: S310
        data: bytes = resp.read(HTTP_LIMIT + 1)
    if len(data) > HTTP_LIMIT:
        raise OSError(f"statistics larger than {HTTP_LIMIT} bytes")
    return data


def gather(root: Root, options: GatherOptions, progress: Progress | None = None) -> Collected:
    """Read every source (see the module docstring); never raises for a missing source."""
    g = _Gatherer(root, options, progress)
    g.host_only()
    g.enter_namespace()
    scan: logscan.LogScan | None = None
    sources = options.logs if options.logs is not None else logscan.default_sources()
    if isinstance(root, BundleRoot):  # a bundle's logs are whatever it recorded
        sources = ("bundle",) if root.has(specs.LOGS) else ()
    if g.live and sources:
        scan = logscan.LogScan(sources, options.log_window)
    try:
        g.progress("daemons")
        g.daemons()
        g.progress("sample 1")
        g.sample("s0")
        g.progress("sampling sockets")
        owners = threading.Thread(target=g.owners, name="sockdoc-owners", daemon=True)
        owners.start()
        g.attribution()
        g.progress("sample 2")
        g.sample("s1")
        g.settings()
        owners.join()
        if sources:
            g.progress("logs")
            running = scan
            g.rec.compute(
                specs.LOGS,
                "sockdoc scan --json " + " ".join(sources),
                lambda: _no_scan() if running is None else running.result(LOG_TIMEOUT),
            )
    finally:
        if scan is not None:
            scan.cancel()
    return Collected(dict(g.rec.got), root.kind)


def _no_scan() -> bytes:
    raise FileNotFoundError(0, "no log scan")
