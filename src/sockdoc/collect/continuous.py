"""Evidence over and over, for ``sockdoc watch`` and ``sockdoc exporter``.

``check`` reads everything once, with two samples ``--interval`` apart. Here the same sources
are read with the same code (:mod:`sockdoc.collect.gather`), split by how fast they change:

- every step: the kernel counters, the listeners and UDP sockets, qdiscs, conntrack, the
  daemons' CPU times and BIND's statistics (the ``s1`` sample); the previous step's sample
  becomes ``s0``, so rates cover the time between two steps (two scrapes, two refreshes);
- every ``slow_every`` seconds, in a background thread: the process table, the daemons'
  limits, descriptors and configurations (``doveconf``, ``named-checkconf`` run as commands),
  the sysctls and links, and the socket owners. Finding a socket's owner means reading every
  process's descriptor table, about a second with 200,000 sockets, far more than a scrape may
  take; so owners are looked up in the background, every ``OWNERS_EVERY`` seconds, and a
  step uses the latest table. A new listener or unconnected (server) UDP socket asks for an
  early lookup, at most every ``EARLY_REFRESH`` seconds; connected UDP sockets (a resolver's
  queries) come and go too fast to chase.

A step never waits for the slow sources; until their first read completes, a step has
counters and sockets only (and says so in the sources' status).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sockdoc.collect import processes, specs
from sockdoc.collect.gather import (
    Collected,
    GatherOptions,
    _Gatherer,
    _owners,
)
from sockdoc.collect.root import Got, LiveRoot
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.sock_diag import (
    InetSocket,
    SockDiagParseError,
    UnixSocket,
    recorded_inet,
    recorded_unix,
)
from sockdoc.parsers.tc_qdisc import parse_qdiscs

SLOW_EVERY = 30.0  # seconds between refreshes of the slow sources
OWNERS_EVERY = 600.0  # seconds between full owner scans when nothing new appears
# tc is a fork per step, about a quarter of watch's CPU; when every qdisc is idle (nothing
# queued, nothing dropped) it is read again only every QDISC_IDLE_EVERY steps, and every step
# as soon as one queues or drops
QDISC_IDLE_EVERY = 10
EARLY_REFRESH = 15.0  # at the soonest, when a listener or UDP server socket appears


@dataclass(frozen=True)
class Step:
    """One step's evidence (``collected``) and how long its fast part took."""

    collected: Collected
    seconds: float
    slow_age: float | None  # seconds since the slow sources were read; None: not yet


def _parsed(kind: str, data: bytes) -> tuple[InetSocket | UnixSocket, ...]:
    if kind == "unix_listen":
        return recorded_unix(data)
    return recorded_inet(data, "tcp" if kind == "tcp_listen" else "udp")


def _qdisc_state(got: Got | None) -> tuple[int, bool] | None:
    """From a ``tc -s -j qdisc show`` reading: the drops of all qdiscs together, and whether
    any packet is queued; None when it could not be read."""
    if got is None or not got.ok:
        return None
    try:
        qdiscs = parse_qdiscs(got.text())
    except ParseError:
        return None
    return sum(q.drops for q in qdiscs), any(q.qlen or q.backlog_bytes for q in qdiscs)


def _as_s0(got: Mapping[str, Got]) -> dict[str, Got]:
    """A step's sample (keys ``s1/...``) under the first sample's keys (``s0/...``)."""
    out: dict[str, Got] = {}
    for key, g in got.items():
        if key.startswith("s1/"):
            name = "s0/" + key[3:]
            out[name] = Got(name, g.status, g.data, g.reason, g.needs_root, g.seconds, g.origin)
    return out


class Continuous:
    """Reads a step on demand; refreshes the slow sources in the background."""

    def __init__(self, options: GatherOptions, slow_every: float = SLOW_EVERY) -> None:
        self.options = options
        self.slow_every = slow_every
        self.root = LiveRoot()
        self._g = _Gatherer(self.root, options, None)
        self._g.host_only()
        self._host_only = dict(self._g.rec.got)
        self._g.enter_namespace()
        self._lock = threading.Lock()
        self._slow: dict[str, Got] = {}
        self._slow_at: float | None = None
        self._known_inodes: frozenset[int] = frozenset()
        self._owners_at: float | None = None
        self._owners_wanted = False
        self._pids: tuple[int, ...] = ()  # the daemons' processes, from the slow read
        self._stats_urls: tuple[str, ...] = ()
        self._refreshing = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._previous: dict[str, Got] | None = None
        self._qdisc_idle_steps = QDISC_IDLE_EVERY
        self._qdisc_drops: int | None = None
        self._thread = threading.Thread(target=self._slow_loop, name="sockdoc-slow", daemon=True)
        self._thread.start()

    # --- the slow sources ---------------------------------------------------------------

    def _read_slow(self) -> None:
        g = _Gatherer(self.root, self.options, None)
        g.other_netns = self._g.other_netns
        g.daemons()
        with self._lock:
            previous = self._previous
        if previous is None:  # before the first step: a sample of our own, for its sockets
            first = _Gatherer(self.root, self.options, None)
            first.sample("s1")
            previous = dict(first.rec.got)
        g.rec.got.update(previous)  # settings() lists interfaces from s1's /proc/net/dev
        g.settings()
        with self._lock:
            owners_due = (
                self._owners_at is None
                or self._owners_wanted
                or (time.monotonic() - self._owners_at >= OWNERS_EVERY)
            )
        if owners_due:
            inodes = self._inodes(previous)
            g.rec.compute(specs.OWNERS, "/proc/*/fd", functools.partial(_owners, sorted(inodes)))
        slow = {
            k: v for k, v in g.rec.got.items() if not (k.startswith("s1/") or k.startswith("s0/"))
        }
        with self._lock:
            if not owners_due and specs.OWNERS in self._slow:
                slow[specs.OWNERS] = self._slow[specs.OWNERS]
            self._slow = slow
            self._slow_at = time.monotonic()
            if owners_due:
                self._owners_at = time.monotonic()
                self._owners_wanted = False
                self._known_inodes = frozenset(self._inodes(previous, servers_only=True))
            self._pids = g.pids
            self._stats_urls = g.stats_urls

    def _slow_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_slow()
            except Exception:  # a failed refresh must not end the exporter; the next one retries
                with self._lock:
                    self._slow_at = time.monotonic()
            self._wake.wait(self.slow_every)
            self._wake.clear()

    @staticmethod
    def _inodes(sample: Mapping[str, Got], servers_only: bool = False) -> set[int]:
        """Inodes of the sample's sockets; with ``servers_only``, those whose owner matters:
        listeners, and UDP sockets that are not connected (servers; a resolver's client
        sockets come and go by the thousand)."""
        inodes: set[int] = set()
        for kind in specs.SOCK_DIAG_KINDS:
            got = sample.get(specs.sock_diag("s1", kind))
            if got is None or not got.ok or got.data is None:
                continue
            try:
                for s in _parsed(kind, got.data):
                    if not servers_only or kind != "udp" or getattr(s, "remote_port", 0) == 0:
                        inodes.add(s.inode)
            except (SockDiagParseError, ParseError, OSError):
                continue
        return inodes

    # --- a step ---------------------------------------------------------------------------

    def step(self) -> Step:
        """Read the fast sources now; return them with the previous step's as ``s0``."""
        started = time.monotonic()
        g = _Gatherer(self.root, self.options, None)
        with self._lock:
            g.pids = self._pids
            g.stats_urls = self._stats_urls
            slow = dict(self._slow)
            slow_at = self._slow_at
            known = self._known_inodes
            previous = self._previous
        key = specs.qdisc("s1")
        reuse = previous is not None and self._qdisc_idle_steps < QDISC_IDLE_EVERY
        g.sample("s1", qdiscs=not reuse)
        if reuse and previous is not None and key in previous:
            g.rec.got[key] = previous[key]
            self._qdisc_idle_steps += 1
        else:
            state = _qdisc_state(g.rec.got.get(key))
            idle = state is not None and not state[1] and state[0] == self._qdisc_drops
            self._qdisc_drops = state[0] if state is not None else None
            self._qdisc_idle_steps = 0 if idle else QDISC_IDLE_EVERY
        for pid in g.pids:  # one stat each (see processes.fd_count): fresh every step
            g.rec.compute(
                specs.fdcount(pid),
                f"/proc/{pid}/fd",
                functools.partial(processes.fd_count, "/proc", pid),
            )
        current = dict(g.rec.got)
        first = previous is None
        s0 = _as_s0(previous if previous is not None else current)
        with self._lock:
            self._previous = current
        got: dict[str, Got] = {**self._host_only, **slow, **s0, **current}
        fresh = self._inodes(current, servers_only=True) - known
        if fresh and known and self._owners_at is not None:
            with self._lock:
                if time.monotonic() - self._owners_at >= EARLY_REFRESH:
                    self._owners_wanted = True
                    self._wake.set()
        if first:
            # one sample only: every rate is over zero seconds; say so rather than invent one
            got[specs.ATTRIBUTION] = Got(specs.ATTRIBUTION, "absent", None, "first step")
        age = None if slow_at is None else time.monotonic() - slow_at
        return Step(Collected(got, "live"), time.monotonic() - started, age)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self.root.close()
