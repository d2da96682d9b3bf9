"""Network namespaces for tests: made by the test, removed afterwards with every process in
them. Needs root: outside CI a test skips with the reason; under CI=true it fails instead."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "scenarios"
_counter = itertools.count()


def require_root() -> None:
    if os.geteuid() == 0:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true: this test needs root (network namespaces) and must run")
    pytest.skip("needs root to make network namespaces (runs in CI as root)")


def _run(argv: Sequence[str]) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=10)


@contextmanager
def namespace(prefix: str = "sdtest") -> Iterator[str]:
    """A fresh network namespace with loopback up; counters in it start at zero."""
    require_root()
    name = f"{prefix}-{os.getpid()}-{next(_counter)}"
    _run(["ip", "netns", "add", name])
    try:
        _run(["ip", "-n", name, "link", "set", "lo", "up"])
        yield name
    finally:
        pids = subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=10)


class Scenario:
    """A scenario script from tests/scenarios/ running inside a namespace. Its first line of
    output is a JSON object describing what it set up (pids, addresses, paths)."""

    def __init__(self, netns: str, script: str, *args: str) -> None:
        argv = ["ip", "netns", "exec", netns, sys.executable, str(SCENARIOS / script), *args]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"scenario {script} failed to start: {err}")
        self.info: dict[str, Any] = json.loads(line)

    def finish(self, timeout: float = 30) -> dict[str, Any]:
        """Wait for the scenario to end; its last line is a JSON summary."""
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, err
        lines = [x for x in out.splitlines() if x.strip()]
        return json.loads(lines[-1]) if lines else {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


def run_sockdoc(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sockdoc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)
