"""Cost of ``sockdoc check`` and of its socket evidence (netlink sock_diag) against ``ss``, on a
host with many established TCP connections.

Opens LISTENERS listening sockets and CONNECTIONS established connections to them, all on
127.0.0.1 (both ends are in this namespace: twice as many TCP sockets), then times, warm, ours
and the reference taking turns, the median of RUNS each:

- our listener query (``tcp_listeners()``, with memory info): target <= 2 ms whatever the
  number of connections (5 x RUNS turns; also 5 x RUNS calls back to back), with ``ss -ltn``
  beside it for reference;
- our full dump and parse (``tcp_all()``) against ``ss -tan`` plus a minimal parse of its text
  into (state, recv-q, send-q, local, port, peer, port) tuples: target ours <= 0.8x of ss;
- the cheap kernel counters (/proc/net/snmp, netstat, snmp6, sockstat, softnet_stat, dev) read
  through the live Root and parsed: target < 1 ms;
- ``sockdoc check --interval 2`` as a whole command, start-up included (median of 3): target
  <= 3 s wall, with and without the default log scan.

    python bench/check_bench.py [--connections 100000] [--listeners 1000] [--runs 7]

The connections are held by forked processes of up to RLIMIT_NOFILE descriptors each (the
soft limit is raised to the hard one; raising the hard limit would need CAP_SYS_RESOURCE).
They are closed with an RST (SO_LINGER 0), so no TIME_WAIT entries are left behind.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sized
from pathlib import Path
from typing import NamedTuple

from sockdoc.collect import specs
from sockdoc.collect.root import LiveRoot
from sockdoc.collect.sock_diag import tcp_all, tcp_listeners
from sockdoc.parsers.proc_dev import parse_dev
from sockdoc.parsers.proc_snmp import parse_netstat, parse_snmp, parse_snmp6
from sockdoc.parsers.proc_sockstat import parse_sockstat
from sockdoc.parsers.proc_softnet import parse_softnet

_PARSERS: dict[str, Callable[[str], object]] = {
    "snmp": parse_snmp,
    "netstat": parse_netstat,
    "snmp6": parse_snmp6,
    "sockstat": parse_sockstat,
    "softnet_stat": parse_softnet,
    "dev": parse_dev,
}

_LINGER_RST = struct.pack("ii", 1, 0)
_MAX_CONNECTIONS = 500_000


def raise_nofile() -> int:
    """Raise the soft descriptor limit to the hard one; return it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def open_listeners(n_listeners: int) -> list[socket.socket]:
    backlog = int(Path("/proc/sys/net/core/somaxconn").read_text())
    listeners: list[socket.socket] = []
    for _ in range(n_listeners):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(backlog)
        listeners.append(sock)
    return listeners


def hold_connections(listeners: list[socket.socket], first: int, count: int) -> list[socket.socket]:
    """Open ``count`` connections, both ends held here, spread over the listeners."""
    held: list[socket.socket] = []
    for i in range(first, first + count):
        listener = listeners[i % len(listeners)]
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        client.connect(listener.getsockname())
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        held += (client, conn)
    return held


class Holders(NamedTuple):
    release: int
    pids: list[int]


def spawn_holders(listeners: list[socket.socket], n_connections: int, per_process: int) -> Holders:
    """Fork processes that each open and hold up to ``per_process`` connections (one process
    cannot raise its descriptor limit beyond the hard limit without CAP_SYS_RESOURCE). They
    run one after the other, so each accepts exactly the connections it made, and exit (closing
    everything with an RST) when ``release`` reaches end of file."""
    release_r, release_w = os.pipe()
    pids: list[int] = []
    for first in range(0, n_connections, per_process):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never returns
            code = 1
            try:
                os.close(release_w)
                os.close(ready_r)
                for sock in listeners:
                    sock.settimeout(10)
                held = hold_connections(listeners, first, min(per_process, n_connections - first))
                os.write(ready_w, b"1")
                os.read(release_r, 1)
                del held
                code = 0
            finally:
                os._exit(code)
        os.close(ready_w)
        ok = os.read(ready_r, 1)
        os.close(ready_r)
        pids.append(pid)
        if ok != b"1":
            release(Holders(release_w, pids))
            sys.exit(f"holder process {pid} could not open its connections")
    os.close(release_r)
    return Holders(release_w, pids)


def release(holders: Holders) -> None:
    os.close(holders.release)
    for pid in holders.pids:
        os.waitpid(pid, 0)


def medians_ms(ours: Callable[[], Sized], theirs: Callable[[], Sized], runs: int) -> Timing:
    """Run the two in turns (so drifting machine load hits both alike), each result dropped
    before the next run as in real use; return the medians and the result sizes."""
    sizes = (len(ours()), len(theirs()))  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for func, spent in zip((ours, theirs), times, strict=True):
            started = time.perf_counter()
            func()
            spent.append((time.perf_counter() - started) * 1e3)
    return Timing(statistics.median(times[0]), statistics.median(times[1]), *sizes)


def back_to_back_ms(func: Callable[[], Sized], runs: int) -> float:
    """Median of ``runs`` calls in a row (caches and CPU warm, unlike calls taking turns)."""
    func()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


class Timing(NamedTuple):
    ours_ms: float
    theirs_ms: float
    ours_n: int
    theirs_n: int


Row = tuple[str, int, int, str, int, str, int]


def ss_tan() -> list[Row]:
    out = subprocess.run(["ss", "-tan"], capture_output=True, check=True).stdout
    rows: list[Row] = []
    for line in out.decode().splitlines()[1:]:
        state, rq, sq, local, peer = line.split()
        laddr, lport = local.rsplit(":", 1)
        paddr, pport = peer.rsplit(":", 1)
        rows.append(
            (state, int(rq), int(sq), laddr, int(lport), paddr, 0 if pport == "*" else int(pport))
        )
    return rows


def ss_ltn() -> list[bytes]:
    out = subprocess.run(["ss", "-ltn"], capture_output=True, check=True).stdout
    return out.splitlines()[1:]


def proc_counters_ms(runs: int) -> float:
    """Median time to read and parse the cheap /proc counters once, as check does."""
    root = LiveRoot()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for name, parse in _PARSERS.items():
            got = root.file(specs.proc_net("s0", name), f"/proc/net/{name}")
            parse(got.text())
        times.append((time.perf_counter() - t0) * 1000)
    root.close()
    return statistics.median(times)


def check_wall_s(extra: list[str], runs: int = 3) -> float:
    """Median wall time of a whole ``sockdoc check --interval 2`` (start-up included)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sockdoc", "check", "--interval", "2", "--json", *extra],
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - t0)
        if done.returncode not in (0, 1):
            raise SystemExit(f"sockdoc check failed: {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=100_000)
    ap.add_argument("--listeners", type=int, default=1_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    if not 0 < args.connections <= _MAX_CONNECTIONS or not 0 < args.listeners <= 20_000:
        ap.error(f"--connections 1..{_MAX_CONNECTIONS}, --listeners 1..20000")
    limit = raise_nofile()
    per_process = (limit - args.listeners - 64) // 2
    if per_process < 1:
        ap.error(f"RLIMIT_NOFILE {limit} leaves no room beside {args.listeners} listeners")

    started = time.perf_counter()
    listeners = open_listeners(args.listeners)
    holders = spawn_holders(listeners, args.connections, per_process)
    print(
        f"{args.listeners} listeners, {args.connections} established connections"
        f" ({2 * args.connections} sockets, held by {len(holders.pids)} processes)"
        f" opened in {time.perf_counter() - started:.1f} s"
    )
    try:
        listen = medians_ms(tcp_listeners, ss_ltn, 5 * args.runs)
        tight = back_to_back_ms(tcp_listeners, 5 * args.runs)
        print(
            f"listener query      ours {listen.ours_ms:8.2f} ms  ({listen.ours_n} listeners;"
            f" target <= 2 ms; {tight:.2f} ms back to back)"
        )
        print(f"  ss -ltn                {listen.theirs_ms:8.2f} ms  ({listen.theirs_n} listeners)")
        full = medians_ms(tcp_all, ss_tan, args.runs)
        print(f"full dump + parse   ours {full.ours_ms:8.2f} ms  ({full.ours_n} sockets)")
        print(f"  ss -tan + text parse   {full.theirs_ms:8.2f} ms  ({full.theirs_n} sockets)")
        print(f"ratio ours / ss          {full.ours_ms / full.theirs_ms:8.2f}  (target <= 0.8)")
        counters = proc_counters_ms(10 * args.runs)
        print(f"/proc counters read + parse {counters:6.2f} ms  (target < 1 ms)")
        quiet = check_wall_s(["--no-logs"])
        logs = check_wall_s([])
        print(
            f"sockdoc check --interval 2  {quiet:6.2f} s wall without logs, {logs:.2f} s with"
            " the default log scan (target <= 3 s)"
        )
    finally:
        release(holders)
        for sock in listeners:
            sock.close()


if __name__ == "__main__":
    main()
