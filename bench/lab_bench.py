"""How long each lab scenario takes with its default arguments, from the command line to the
last namespace removed (the issue's target: under 15 s each), against the scenario's own
workload length, so that the lab's overhead (namespaces, agents, check) is visible.

    sudo .venv/bin/python bench/lab_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from sockdoc.lab.scenarios import SCENARIOS

TARGET = 15.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'scenario':<14} {'median s':>9} {'max s':>7} {'workload s':>11}  proved  target")
    worst = 0.0
    for name in SCENARIOS:
        times, proved = [], True
        workload = 0.0
        for _ in range(args.repeat):
            t0 = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "sockdoc", "lab", name, "--json"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            times.append(time.monotonic() - t0)
            doc = json.loads(done.stdout)
            proved = proved and bool(doc["check"] and doc["check"]["proved"]) and doc["agree"]
            workload = len(next(iter(doc["timeline"]["series"].values()))) / 10
        worst = max(worst, *times)
        ok = "ok" if max(times) < TARGET else "MISSED"
        print(
            f"{name:<14} {statistics.median(times):>9.2f} {max(times):>7.2f} {workload:>11.1f}"
            f"  {'yes' if proved else 'NO':>6}  {ok}"
        )
    print(f"slowest run: {worst:.2f} s (target < {TARGET:.0f} s)")
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
