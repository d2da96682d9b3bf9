"""``sockdoc watch``: a golden frame from a bundle at a fixed width, and a live frame of a
namespace whose queues overflow, with a log line written while it watches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from netnskit import Scenario, namespace, require_root, run_sockdoc

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "watch" / "overflow-100.txt"
BUNDLE = FIXTURES / "bundles" / "overflow.tar.gz"
BIND_LINE = (
    "21-Nov-2026 03:00:00.123 client @0x7f00aa001000 192.0.2.7#5353 (example.test): "
    "send failed: no pending connections"
)


def test_once_from_a_bundle_matches_the_golden_frame() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sockdoc", "watch", "--once", "--bundle", str(BUNDLE),
         "--width", "100"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "TZ": "UTC"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == GOLDEN.read_text()


def test_bundle_needs_once_and_a_missing_bundle_is_one_line() -> None:
    done = run_sockdoc("watch", "--bundle", str(BUNDLE))
    assert done.returncode == 2 and "--once" in done.stderr
    done = run_sockdoc("watch", "--once", "--bundle", "/nonexistent.tar.gz")
    assert done.returncode == 3 and "no such bundle" in done.stderr
    assert "Traceback" not in done.stderr


def test_live_frame_shows_the_full_queues_their_owner_and_a_new_log_event(tmp_path: Path) -> None:
    require_root()
    os.chmod(tmp_path, 0o755)
    log = tmp_path / "named.log"
    log.write_text("")
    with namespace("sdwatch") as ns:
        scenario = Scenario(ns, "overflow.py", str(tmp_path), "30")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sockdoc", "watch", "--once", "--netns", ns,
                 "--logs", str(log), "--width", "160"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            # the follower starts at the end of the file, once watch has started: keep
            # writing a line every 0.2 s until the frame is printed
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                with log.open("a") as f:
                    f.write(BIND_LINE + "\n")
                time.sleep(0.2)
            out, err = proc.communicate(timeout=60)
        finally:
            scenario.stop()
    assert proc.returncode == 0, err
    assert "unix-listen-queue-full" in out
    assert "udp-receive-buffer-errors" in out
    assert "/svc.sock" in out and "5/4" in out
    assert "bind.send-failed" in out, out
