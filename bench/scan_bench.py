"""Benchmark ``sockdoc scan`` against grep, ripgrep and zcat|grep on the same file, same run.

    python bench/scan_bench.py [--size-mb 1024] [--runs 5]

Generates bench/data/syslog (+ .gz) with bench/gen_logs.py when missing, warms the page cache,
then times each command (whole process, median of --runs) and prints MB/s, the ratios the
scan issue sets as targets, sockdoc's peak RSS (the whole process tree: main process plus
workers), and whether sockdoc's counts per cause equal the generator's truth.
References: ``LC_ALL=C grep -c -F -f anchors``, ``rg -c -F -f anchors`` (needs ripgrep),
``zcat | LC_ALL=C grep -c -F -f anchors``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from sockdoc.matchers.catalogue import default

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run(cmd: list[str] | str, *, pipe_from: list[str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS (KiB) and stdout of one run."""
    env = {**os.environ, "LC_ALL": "C"}
    started = time.perf_counter()
    first = None
    if pipe_from:
        first = subprocess.Popen(pipe_from, stdout=subprocess.PIPE, env=env)
    proc = subprocess.Popen(
        cmd, stdin=first.stdout if first else None, stdout=subprocess.PIPE, env=env
    )
    if first and first.stdout:
        first.stdout.close()
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    if first:
        first.wait()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return elapsed, peak, out.decode()


def median_run(
    label: str, cmd: list[str], runs: int, size: int, pipe_from: list[str] | None = None
) -> tuple[float, int, str]:
    times, peaks, out = [], [], ""
    for _ in range(runs):
        t, peak, out = run(cmd, pipe_from=pipe_from)
        times.append(t)
        peaks.append(peak)
    t = statistics.median(times)
    rate, peak_mb = size / t / 1e6, max(peaks) / 1024
    print(f"  {label:<34} {t:7.3f} s  {rate:8.0f} MB/s  peak RSS {peak_mb:6.0f} MB")
    return t, max(peaks), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    plain = DATA / f"syslog-{args.size_mb}m"
    gz = Path(f"{plain}.gz")
    if not plain.exists():
        subprocess.run(
            [sys.executable, str(HERE / "gen_logs.py"), str(plain), "--size-mb", str(args.size_mb)],
            check=True,
        )
    if not gz.exists():
        with gz.open("wb") as f:
            subprocess.run(["gzip", "-6", "-c", str(plain)], stdout=f, check=True)
    truth = json.loads(Path(f"{plain}.truth.json").read_text())
    anchors = DATA / "anchors.txt"
    anchors.write_bytes(b"\n".join(default().anchors) + b"\n")
    size = plain.stat().st_size
    sockdoc = [str(Path(sys.executable).parent / "sockdoc"), "scan", "--json"]
    for path in (plain, gz):  # warm the page cache
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    print(
        f"input: {size / 1e6:.0f} MB plain ({gz.stat().st_size / 1e6:.0f} MB gz), "
        f"{len(default().anchors)} anchors, {len(default())} signatures, "
        f"{os.cpu_count()} cores, median of {args.runs}"
    )
    t_grep, _, _ = median_run(
        "LC_ALL=C grep -c -F -f anchors",
        ["grep", "-c", "-F", "-f", str(anchors), str(plain)],
        args.runs,
        size,
    )
    t_rg = None
    if shutil.which("rg"):
        t_rg, _, _ = median_run(
            "rg -c -F -f anchors",
            ["rg", "-c", "-F", "-f", str(anchors), str(plain)],
            args.runs,
            size,
        )
    else:
        print("  rg: not installed (apt-get install ripgrep)")
    t_sd, rss_sd, out = median_run("sockdoc scan --json", [*sockdoc, str(plain)], args.runs, size)
    got = json.loads(out)["by_cause"]
    t_zg, _, _ = median_run(
        "zcat | grep -c -F -f anchors",
        ["grep", "-c", "-F", "-f", str(anchors)],
        args.runs,
        size,
        pipe_from=["zcat", str(gz)],
    )
    t_sdz, rss_sdz, outz = median_run(
        "sockdoc scan --json (.gz)", [*sockdoc, str(gz)], args.runs, size
    )
    gotz = json.loads(outz)["by_cause"]
    print("ratios (higher is better for sockdoc):")
    print(f"  vs grep -F        {t_grep / t_sd:5.2f}x   (target >= 4)")
    if t_rg:
        print(f"  vs ripgrep        {t_rg / t_sd:5.2f}x   (target >= 2)")
    print(f"  .gz vs zcat|grep  {t_zg / t_sdz:5.2f}x   (target >= 2.5)")
    print(f"  peak RSS          {max(rss_sd, rss_sdz) / 1024:5.0f} MB  (target < 150)")
    ok = got == truth["by_cause"] and gotz == truth["by_cause"]
    print(f"counts per cause equal the generator's truth: {'yes' if ok else 'NO'}")
    if not ok:
        print(f"  truth {truth['by_cause']}\n  plain {got}\n  gz    {gotz}")
        sys.exit(1)


if __name__ == "__main__":
    main()
