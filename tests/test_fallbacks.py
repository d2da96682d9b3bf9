"""The slow paths: without the hyperscan wheel (pure-Python prefilter) and without ISA-L (zlib),
sockdoc gives the same answers and says once that it is slower. The missing module is simulated
by blocking its import in the child process (sys.modules[name] = None), the only way to take a
wheel away from an installed environment."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from test_scan import BIND, DOVECOT, syslog

RUN = (
    "import sys; sys.modules[{mod!r}] = None; sys.argv = ['sockdoc', *sys.argv[1:]];"
    " from sockdoc.cli import main; main()"
)


def run_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN.format(mod=module), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scan_without_hyperscan_same_result(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text(
        "".join(
            syslog("03:00:01", "named[1]", BIND.format(a=a))
            + syslog("03:00:02", "dovecot", DOVECOT.format(a=a))
            + "filler\n" * 5
            for a in range(23)
        )
    )
    fast = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--json", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    slow = run_without("hyperscan", "scan", "--json", str(log))
    assert slow.returncode == fast.returncode == 1
    assert slow.stderr.count("hyperscan unavailable") == 1, slow.stderr
    assert "hyperscan unavailable" not in fast.stderr
    a, b = json.loads(fast.stdout), json.loads(slow.stdout)
    assert a["engine"] == "hyperscan" and b["engine"] == "python"
    for key in ("by_cause", "by_signature", "matched", "incidents", "top"):
        assert a[key] == b[key], key
    assert b["by_cause"] == {"send-buffer-full": 23, "unix-listen-queue-full": 23}


def test_explain_without_hyperscan() -> None:
    line = syslog("03:00:01", "named[1]", BIND.format(a=1))
    proc = run_without("hyperscan", "explain", "--json", line)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["cause"] == "send-buffer-full"


def test_gzip_without_isal(tmp_path: Path) -> None:
    path = tmp_path / "syslog.2.gz"
    with gzip.open(path, "wt") as f:
        f.write(syslog("03:00:01", "named[1]", BIND.format(a=1)) * 29)
    proc = run_without("isal", "scan", "--json", str(path))
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["matched"] == 29
