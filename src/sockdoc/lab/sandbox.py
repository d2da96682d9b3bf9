"""The namespaces, links, qdiscs and processes of one lab run, and their removal.

The lab is the one part of sockdoc that changes the system, and it changes only what it made:
network namespaces named ``sdlab-<PID>-<role>`` (PID: the lab process that owns them), the
veth pairs between them (created inside them, so the host never sees a new interface), qdiscs
and sysctls inside them, and the agent processes it starts in them. Deleting a namespace
removes its interfaces and qdiscs with it (ip-netns(8)); processes are killed by pid first.

Removal happens on every way out: normal end, an exception, Ctrl-C, SIGTERM (turned into an
exception by the caller) and SIGHUP. A lab killed with SIGKILL cannot clean up; the next lab
run, or ``sockdoc lab clean``, removes every ``sdlab-`` namespace whose owner is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

PREFIX = "sdlab"
COMMAND_TIMEOUT = 10.0  # seconds for one ip/tc/sysctl command
AGENT_START_TIMEOUT = 10.0


class LabError(RuntimeError):
    """The lab could not set something up; the message says what and why."""


def _run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise LabError(f"{argv[0]} not found (install iproute2)") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer after {COMMAND_TIMEOUT} s") from None
    if done.returncode != 0:
        err = done.stderr.strip().splitlines()
        raise LabError(f"{' '.join(argv)}: {err[-1] if err else f'exit {done.returncode}'}")
    return done.stdout


def namespaces() -> list[str]:
    """The names of all network namespaces (``ip netns list``)."""
    out = _run(["ip", "-j", "netns", "list"]).strip()
    if not out:
        return []
    return [str(n["name"]) for n in json.loads(out)]


def _owner(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) >= 3 and parts[0] == PREFIX and parts[1].isdigit():
        return int(parts[1])
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_namespace(name: str) -> None:
    """Kill every process in namespace ``name`` (by pid), then delete it."""
    pids = subprocess.run(
        ["ip", "netns", "pids", name],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    ).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    subprocess.run(
        ["ip", "netns", "del", name], capture_output=True, timeout=COMMAND_TIMEOUT, check=False
    )


def clean_stale() -> list[str]:
    """Remove the lab namespaces whose owning lab process is gone, and its temporary
    directories (``sdlab-PID-*`` in the temporary directory); return the namespaces' names."""
    removed = []
    for name in namespaces():
        pid = _owner(name)
        if pid is not None and not _alive(pid):
            remove_namespace(name)
            removed.append(name)
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        pid = _owner(entry)
        if pid is not None and not _alive(pid):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)
    return removed


@dataclass
class Agent:
    """A running agent (see :mod:`sockdoc.lab.agents`): its process and what it said."""

    role: str
    ns: str
    proc: subprocess.Popen[str]
    ready: dict[str, Any]
    result: dict[str, Any] | None = None
    stderr: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Close its stdin: the agent's signal to finish."""
        stdin = self.proc.stdin
        if stdin is not None:
            # communicate() would flush a closed stdin; it has no stdin to handle any more
            self.proc.stdin = None
            with contextlib.suppress(OSError):
                stdin.close()

    def finish(self, timeout: float) -> dict[str, Any]:
        """Wait for the agent's last line (its counts); kill it if it does not come."""
        if self.result is not None:
            return self.result
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=COMMAND_TIMEOUT)
        self.stderr = err or ""
        lines = [line for line in (out or "").splitlines() if line.strip()]
        try:
            doc = json.loads(lines[-1]) if lines else {}
        except ValueError:
            doc = {}
        if not doc.get("done"):
            tail = self.stderr.strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"agent {self.role} in {self.ns} did not finish: {tail[0]}")
        self.result = doc
        return doc


@dataclass
class Sandbox:
    """What one lab run created; :meth:`close` removes all of it."""

    tag: str
    created: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)

    def netns(self, role: str) -> str:
        """A new network namespace with loopback up; its counters start at zero."""
        name = f"{PREFIX}-{os.getpid()}-{self.tag}-{role}"
        _run(["ip", "netns", "add", name])
        self.created.append(name)
        _run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def directory(self) -> str:
        """A new private directory (for UNIX socket paths), removed with the sandbox."""
        path = tempfile.mkdtemp(prefix=f"{PREFIX}-{os.getpid()}-{self.tag}-")
        self.directories.append(path)
        return path

    def veth(self, a: str, addr_a: str, b: str, addr_b: str, prefix: int = 24) -> tuple[str, str]:
        """A veth pair between namespaces ``a`` and ``b`` (``lab0`` in a, ``lab1`` in b), up and
        addressed. Created inside the namespaces, so nothing appears on the host."""
        _run(
            [
                "ip",
                "-n",
                a,
                "link",
                "add",
                "lab0",
                "type",
                "veth",
                "peer",
                "name",
                "lab1",
                "netns",
                b,
            ]
        )
        _run(["ip", "-n", a, "addr", "add", f"{addr_a}/{prefix}", "dev", "lab0"])
        _run(["ip", "-n", b, "addr", "add", f"{addr_b}/{prefix}", "dev", "lab1"])
        _run(["ip", "-n", a, "link", "set", "lab0", "up"])
        _run(["ip", "-n", b, "link", "set", "lab1", "up"])
        return "lab0", "lab1"

    def tc(self, ns: str, *args: str) -> None:
        _run(["tc", "-n", ns, *args])

    def sysctl(self, ns: str, name: str, value: int | str) -> None:
        """Set a per-namespace sysctl inside ``ns``."""
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{name}={value}"])

    def command(self, ns: str, *argv: str) -> str:
        """Run a read-only command (``nstat``, ``ss``) inside ``ns``; its output."""
        return _run(["ip", "netns", "exec", ns, *argv])

    def spawn(self, ns: str, role: str, args: dict[str, Any]) -> Agent:
        """Start agent ``role`` in ``ns`` and wait for its ready line."""
        argv = [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "sockdoc.lab.agents",
            role,
            json.dumps(args),
        ]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the lab, which stops agents itself
        )
        agent = Agent(role, ns, proc, {})
        self.agents.append(agent)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], AGENT_START_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line:
            proc.kill()
            _, err = proc.communicate(timeout=COMMAND_TIMEOUT)
            tail = (err or "").strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"agent {role} in {ns} did not start: {tail[0]}")
        agent.ready = json.loads(line)
        return agent

    def close(self) -> None:
        """Kill the agents (by pid, with their children), then delete the namespaces."""
        for agent in self.agents:
            if agent.running():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(agent.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    agent.proc.communicate(timeout=COMMAND_TIMEOUT)
        for name in reversed(self.created):
            remove_namespace(name)
        self.created.clear()
        for path in self.directories:
            shutil.rmtree(path, ignore_errors=True)
        self.directories.clear()


@contextlib.contextmanager
def sandbox(tag: str) -> Iterator[Sandbox]:
    """A :class:`Sandbox` removed on the way out, whatever the way. SIGTERM and SIGHUP are
    turned into KeyboardInterrupt for the duration, so that they unwind through here too."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    box = Sandbox(tag)
    try:
        clean_stale()
        yield box
    finally:
        # a second Ctrl-C during cleanup must not leave namespaces behind
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            box.close()
        finally:
            signal.signal(signal.SIGINT, old_int)
            for s, handler in previous.items():
                signal.signal(s, handler)


def wait_until(deadline: float) -> None:
    time.sleep(max(deadline - time.monotonic(), 0))
