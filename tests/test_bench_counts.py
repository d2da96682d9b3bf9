"""The benchmark's generator and sockdoc agree: a small generated file scanned by the installed
command yields exactly the generator's counts per cause (the 1 GiB bench checks the same)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_scan_counts_equal_generator_truth(tmp_path: Path) -> None:
    out = tmp_path / "syslog"
    subprocess.run(
        [sys.executable, str(BENCH / "gen_logs.py"), str(out), "--size-mb", "8", "--rate", "0.01"],
        check=True,
        capture_output=True,
    )
    truth = json.loads(Path(f"{out}.truth.json").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["by_cause"] == truth["by_cause"]
    assert doc["bytes"] == truth["bytes"]
