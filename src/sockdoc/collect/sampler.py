"""The attribution sampler: poll every listener and UDP socket many times a second.

Runs for the ``check`` interval between the two counter samples. Each round asks sock_diag for
TCP listeners, UNIX listeners and UDP sockets (the LISTEN queries cost about 2 ms with 1,000
listeners, whatever the number of connections). The rate adapts: when a round takes more than
a fifth of its period, the period doubles, so sampling never takes more than about 20% of one
core. The record format is :mod:`sockdoc.parsers.attribution`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sockdoc.collect import sock_diag
from sockdoc.parsers.attribution import Attribution, Track, TrackKind, to_json
from sockdoc.parsers.sock_diag import inet_name, unix_name

DEFAULT_HZ = 25.0
MAX_TRACKS = 5000
BUSY_SHARE = 0.2
# The kernel refuses a datagram when the memory already charged plus the new one's truesize
# exceeds the buffer, so "full" means less than one more datagram of room: 10% of the buffer,
# or 2,304 bytes (the truesize of a ~1.2 KB datagram), whichever is larger.
MIN_ROOM = 2304


def near_full(used: int, limit: int) -> bool:
    """True when a buffer of ``limit`` bytes with ``used`` charged has no room for a datagram.

    >>> near_full(6912, 8192), near_full(100_000, 212_992), near_full(200_000, 212_992)
    (True, False, True)
    """
    return used >= limit - max(limit // 10, MIN_ROOM)


@dataclass
class _Acc:
    kind: TrackKind
    name: str
    inode: int
    samples: int = 0
    limit: int = 0
    peak: int = 0
    full: int = 0
    drops_first: int | None = None
    drops_last: int | None = None
    send_limit: int | None = None
    send_peak: int | None = None
    send_full: int = 0

    def drops(self, value: int | None) -> None:
        if value is None:
            return
        if self.drops_first is None:
            self.drops_first = value
        self.drops_last = value

    def frozen(self) -> Track:
        return Track(
            self.kind,
            self.name,
            self.inode,
            self.samples,
            self.limit,
            self.peak,
            self.full,
            self.drops_first,
            self.drops_last,
            self.send_limit,
            self.send_peak,
            self.send_full,
        )

    def interest(self) -> tuple[int, int, int]:
        return (
            self.full + self.send_full,
            (self.drops_last or 0) - (self.drops_first or 0),
            self.peak,
        )


def _round(accs: dict[tuple[str, int], _Acc]) -> None:
    for s in sock_diag.tcp_listeners():
        a = accs.get(("t", s.inode)) or accs.setdefault(
            ("t", s.inode), _Acc("tcp-listen", inet_name(s), s.inode)
        )
        a.samples += 1
        a.limit = s.wqueue
        a.peak = max(a.peak, s.rqueue)
        a.full += s.rqueue > s.wqueue
        a.drops(s.mem.drops if s.mem else None)
    for u in sock_diag.unix_listeners():
        a = accs.get(("u", u.inode)) or accs.setdefault(
            ("u", u.inode), _Acc("unix-listen", unix_name(u), u.inode)
        )
        a.samples += 1
        a.limit = u.wqueue or 0
        a.peak = max(a.peak, u.rqueue or 0)
        a.full += (u.rqueue or 0) > (u.wqueue or 0)
    for s in sock_diag.udp_sockets():
        a = accs.get(("d", s.inode)) or accs.setdefault(
            ("d", s.inode), _Acc("udp", inet_name(s), s.inode)
        )
        a.samples += 1
        if s.mem is None:
            continue
        a.limit = s.mem.rcvbuf
        a.peak = max(a.peak, s.mem.rmem_alloc)
        a.full += near_full(s.mem.rmem_alloc, s.mem.rcvbuf)
        a.send_limit = s.mem.sndbuf
        a.send_peak = max(a.send_peak or 0, s.mem.wmem_alloc)
        a.send_full += near_full(s.mem.wmem_alloc, s.mem.sndbuf)
        a.drops(s.mem.drops)


def sample(
    seconds: float, hz: float = DEFAULT_HZ, clock: Callable[[], float] = time.monotonic
) -> bytes:
    """Sample for ``seconds`` (at least one round) and return the JSON record."""
    accs: dict[tuple[str, int], _Acc] = {}
    period = 1.0 / hz
    start = clock()
    cpu0 = time.process_time()
    deadline = start + seconds
    rounds = 0
    while True:
        t0 = clock()
        _round(accs)
        rounds += 1
        took = clock() - t0
        if took > BUSY_SHARE * period:
            period = min(period * 2, 1.0)
        now = clock()
        if now >= deadline:
            break
        time.sleep(max(min(t0 + period, deadline) - now, 0.0))
    elapsed = clock() - start
    tracks = sorted(accs.values(), key=lambda a: a.interest(), reverse=True)[:MAX_TRACKS]
    record = Attribution(
        seconds=round(elapsed, 3),
        rounds=rounds,
        hz=round(rounds / elapsed, 2) if elapsed > 0 else 0.0,
        cpu_seconds=round(time.process_time() - cpu0, 3),
        tracks=tuple(sorted((a.frozen() for a in tracks), key=lambda t: (t.kind, t.name))),
    )
    return to_json(record).encode()
