"""Cost of ``sockdoc exporter`` (one scrape) and ``sockdoc watch`` (CPU at 1 Hz) on a host with
many established TCP connections and listeners, against ``ss`` doing the listener part of the
same work in the same run.

Opens LISTENERS listeners and CONNECTIONS established loopback connections (the holders of
bench/check_bench.py), then:

- starts a real ``sockdoc exporter`` on a free loopback port, lets its background refresh
  (process table, socket owners) finish, and times SCRAPES HTTP scrapes 1.1 s apart (each one
  a fresh step: the exporter serves a step younger than 1 s again): median and worst, target
  < 100 ms; ``ss -ltn`` is timed beside it for reference;
- runs the real ``sockdoc watch`` full-screen under ``script`` (a pseudo-terminal) at its
  default 1 s refresh, and reads its CPU time from /proc/PID/stat over SECONDS (default 60, so
  that two refreshes of the slow sources fall inside) after a 15 s warm-up that covers the
  first lookup of every socket's owner (repeated every 600 s: about 0.3% more, amortized):
  target < 2% of one core.

    sudo .venv/bin/python bench/watch_exporter_bench.py [--connections 100000] [--listeners 1000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from check_bench import open_listeners, raise_nofile, release, spawn_holders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, all its threads included, and of its children that ended
    (the ``tc`` it runs each step): utime + stime + cutime + cstime."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def thread_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (the main loop, the background refresh)."""
    out: dict[str, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = "main" if tid == str(pid) else text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def scrape_ms(port: int) -> tuple[float, int]:
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as resp:
        size = len(resp.read())
    return (time.perf_counter() - started) * 1000, size


def ss_ltn_ms() -> float:
    started = time.perf_counter()
    subprocess.run(["ss", "-ltn"], capture_output=True, check=True, timeout=60)
    return (time.perf_counter() - started) * 1000


def bench_exporter(scrapes: int) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sockdoc", "exporter", "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        proc.stderr.readline()
        time.sleep(8)  # the first background refresh: the owner scan of every socket
        scrape_ms(port)
        times, sizes, ss = [], [], []
        for _ in range(scrapes):
            time.sleep(1.1)
            ms, size = scrape_ms(port)
            times.append(ms)
            sizes.append(size)
            ss.append(ss_ltn_ms())
        print(
            f"exporter scrape     median {statistics.median(times):7.1f} ms, worst "
            f"{max(times):7.1f} ms over {scrapes} scrapes ({sizes[-1]:,} bytes; target < 100 ms)"
        )
        print(
            f"  ss -ltn           median {statistics.median(ss):7.1f} ms (the listener part only)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_watch(seconds: float) -> None:
    proc = subprocess.Popen(
        ["script", "-qfec", f"{sys.executable} -m sockdoc watch", "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160", "LINES": "60", "TERM": "xterm"},
    )
    try:
        time.sleep(15)  # start-up and the first background refresh (every socket's owner)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        watch_pid = int(children[0])
        before, t0 = cpu_seconds(watch_pid), time.monotonic()
        threads0 = thread_seconds(watch_pid)
        time.sleep(seconds)
        used, wall = cpu_seconds(watch_pid) - before, time.monotonic() - t0
        threads1 = thread_seconds(watch_pid)
        print(
            f"watch at 1 Hz       {100 * used / wall:7.2f} % of one core over {wall:.0f} s"
            f" ({used * 1000 / wall:.1f} ms of CPU per second; target < 2 %)"
        )
        split = ", ".join(
            f"{name} {100 * (v - threads0.get(name, 0.0)) / wall:.2f} %"
            for name, v in sorted(threads1.items())
        )
        print(f"  by thread: {split}; children (tc) the rest; load {os.getloadavg()[0]:.1f}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=100_000)
    ap.add_argument("--listeners", type=int, default=1_000)
    ap.add_argument("--scrapes", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--only", choices=("exporter", "watch"))
    args = ap.parse_args()
    limit = raise_nofile()
    per_process = (limit - args.listeners - 64) // 2
    started = time.perf_counter()
    listeners = open_listeners(args.listeners)
    holders = spawn_holders(listeners, args.connections, per_process)
    print(
        f"{args.listeners} listeners, {args.connections} established connections"
        f" ({2 * args.connections} sockets) opened in {time.perf_counter() - started:.1f} s"
    )
    try:
        if args.only != "watch":
            bench_exporter(args.scrapes)
        if args.only != "exporter":
            bench_watch(args.seconds)
    finally:
        release(holders)
        for s in listeners:
            s.close()


if __name__ == "__main__":
    main()
