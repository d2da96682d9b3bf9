"""Debian's Dovecot 2.3 for the end-to-end tests, a bounded IMAP login client, and one run.

:func:`running` starts ``dovecot -F -c FILE`` inside a network namespace the test made
(``netnskit.namespace()``), with everything in a fresh temporary directory: the configuration,
``base_dir``, ``state_dir``, the log, a passwd-file of users (uid 65534, above
``first_valid_uid``) and their maildirs. SSL is off; only IMAP is served, on 127.0.0.1 of the
namespace. When the ``with`` block ends, whatever happened inside it, the master is stopped
by its pid (its children with it) and the directory is removed.

The client enters the namespace per thread: ``setns(2)`` with ``CLONE_NEWNET`` changes only
the calling thread's namespace, and a socket stays in the namespace it was made in.
:func:`burst` runs a fixed number of concurrent logins under a time limit; :func:`hold` keeps
logged-in sessions open so that a service's limit is reached.

:func:`drive` is one run of the scenario: Dovecot with given ``service`` settings, sessions
held, a burst of logins, then ``sockdoc check --netns NS --logs LOG --json`` while a second
burst runs. :func:`recommended` reads the service settings and sysctls the report's fixes
ask for, so that a test can apply them in a second run.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
Services = dict[str, dict[str, str]]  # {"imap": {"process_limit": "1"}}

PORT = 10143
PASSWORD = "e2e-pw"  # a throwaway account inside a private namespace
MAIL_USER = "nobody"  # uid 65534: owns the test maildirs
FIRST_VALID_UID = 500  # Dovecot's built-in value, written out so that the test states it
CLONE_NEWNET = 0x40000000  # include/uapi/linux/sched.h
TMP_PREFIX = "sockdoc-e2e-dovecot-"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
CHECK_TIMEOUT = 60.0
# the master's RLIMIT_NOFILE (set with prlimit, so that no runner's own ulimit -n decides the
# outcome of the fd-limit rules): above the 1,000 Dovecot's built-in limits need
NOFILE = 4096

# A self-contained instance: nothing read from /etc/dovecot, nothing written outside {dir}.
BASE_CONF = """\
# sockdoc e2e: a self-contained Dovecot 2.3 instance (tests/e2e/dovecotkit.py)
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {first_valid_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def require_dovecot() -> None:
    """Dovecot's IMAP server is installed (``scripts/install --test``); skip, or fail in CI."""
    if (
        shutil.which("dovecot")
        and shutil.which("doveconf")
        and Path("/usr/lib/dovecot/imap").exists()
    ):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true: dovecot-imapd is not installed (scripts/install --test)")
    pytest.skip("dovecot-imapd not installed (scripts/install --test installs it)")


def version() -> str:
    """``dovecot --version``: "2.3.19.1 (9b53102964)" on Debian 12."""
    out = subprocess.run(
        ["dovecot", "--version"], capture_output=True, text=True, timeout=5, check=True
    )
    return out.stdout.strip()


_made: list[Path] = []  # the directories this process made: what its runs may leave behind


def leftovers() -> list[str]:
    """What this process's runs left behind: their directories, and processes using them
    (Dovecot's processes are started with ``-c DIR/dovecot.conf``). Other users of this kit
    running at the same time are not counted."""
    found = [str(d) for d in _made if d.exists()]
    marks = [str(d).encode() for d in _made]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmdline for m in marks):
            argv = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"pid {entry.name}: {argv}")
    return found


def assert_clean(netns: str) -> None:
    """Nothing of a finished run is left: no directory, no process, no namespace."""
    assert leftovers() == [], leftovers()
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=True
    ).stdout.split()
    assert netns not in listed, listed


# --- the daemon ---------------------------------------------------------------------------------


@dataclass
class Dovecot:
    """A running instance: its files and its master process."""

    netns: str
    dir: Path
    conf: Path
    log: Path
    port: int
    users: tuple[str, ...]
    nofile: int = NOFILE
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base_dir(self) -> Path:
        return self.dir / "run"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def render(services: Services) -> str:
    """Dovecot configuration text for ``{"imap": {"process_limit": "1"}}``."""
    blocks = []
    for name, settings in services.items():
        body = "".join(f"  {k} = {v}\n" for k, v in settings.items())
        blocks.append(f"service {name} {{\n{body}}}\n")
    return "".join(blocks)


def write_config(d: Path, services: Services, port: int = PORT) -> Path:
    """``d/dovecot.conf``: the base instance plus the ``services`` sections."""
    conf = d / "dovecot.conf"
    text = BASE_CONF.format(dir=d, port=port, first_valid_uid=FIRST_VALID_UID)
    conf.write_text(text + render(services))
    return conf


def _make_dir(users: int) -> tuple[Path, tuple[str, ...]]:
    d = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    _made.append(d)
    # login, auth and mail processes run as other users: they must reach into the directory
    d.chmod(0o755)
    mail = pwd.getpwnam(MAIL_USER)
    assert mail.pw_uid >= FIRST_VALID_UID
    names = tuple(f"u{i}" for i in range(1, users + 1))
    lines = []
    for name in names:
        home = d / "mail" / name
        home.mkdir(parents=True)
        for p in (home, home.parent):
            os.chown(p, mail.pw_uid, mail.pw_gid)
        lines.append(f"{name}:{PASSWORD}:{mail.pw_uid}:{mail.pw_gid}::{home}::\n")
    passwd = d / "passwd"
    passwd.write_text("".join(lines))
    # read by the auth process, which runs as the dovecot user (default_internal_user)
    os.chown(passwd, 0, pwd.getpwnam("dovecot").pw_gid)
    passwd.chmod(0o640)
    return d, names


@contextmanager
def running(
    netns: str, services: Services, *, users: int = 40, port: int = PORT, nofile: int = NOFILE
) -> Iterator[Dovecot]:
    """Dovecot with the base configuration plus ``services``, serving IMAP in ``netns``, its
    master started with ``nofile`` as soft and hard RLIMIT_NOFILE."""
    require_dovecot()
    d, names = _make_dir(users)
    conf = write_config(d, services, port)
    dc = Dovecot(netns, d, conf, d / "dovecot.log", port, names, nofile)
    try:
        start(dc)
        yield dc
    finally:
        try:
            stop(dc)
        finally:
            shutil.rmtree(d, ignore_errors=True)


def start(dc: Dovecot) -> None:
    """Start the master with ``dc.conf``; return once it answers on the IMAP port."""
    argv = ["prlimit", f"--nofile={dc.nofile}:{dc.nofile}", "--"]
    argv += ["ip", "netns", "exec", dc.netns, "dovecot", "-F", "-c", str(dc.conf)]
    # prlimit and `ip netns exec` exec the next command themselves, so the child's pid is the
    # master's; its own session, so that whatever the master leaves can be found by its id
    dc.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(dc.netns, dc.port):
        if dc.proc.poll() is not None:
            raise RuntimeError(f"dovecot exited {dc.proc.returncode}: {dc.log_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"dovecot silent on port {dc.port}: {dc.log_text()[-2000:]}")
        time.sleep(0.05)


def _answers(netns: str, port: int) -> bool:
    def probe() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            ready = s.recv(64).startswith(b"* OK")
            s.sendall(b"p LOGOUT\r\n")
            return ready

    try:
        return in_netns(netns, probe)
    except OSError:
        return False


def stop(dc: Dovecot) -> None:
    """SIGTERM to the master, which stops its children and waits for them; SIGKILL, by pid,
    to whatever of its session is left after STOP_TIMEOUT."""
    proc, dc.proc = dc.proc, None
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while left := _session(proc.pid):
        if time.monotonic() > deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    proc.wait(timeout=5)


def _session(sid: int) -> list[int]:
    """Processes whose session id is ``sid`` (zombies included until reaped)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        # fields after "(comm)": state ppid pgrp session ...
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


# --- the namespace, per thread ------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def enter(netns: str) -> None:
    """Move the calling thread (only it) into ``netns`` (``ip netns`` names /run/netns/NAME)."""
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({netns}): {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(netns: str, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
    """``fn(*args)`` in a new thread that has entered ``netns``: its result or its exception."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            enter(netns)
            box["value"] = fn(*args)
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, name=f"in-{netns}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"{fn!r} still running after {timeout} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


# --- the IMAP client ----------------------------------------------------------------------------


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buf[:80])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def tagged(self, tag: bytes) -> bytes:
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return line


def login(port: int, user: str, deadline: float) -> tuple[socket.socket, str]:
    """Connect to 127.0.0.1:``port`` and LOGIN: (socket, "ok"), else (closed socket, why).
    Every wait ends at ``deadline`` (time.monotonic())."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=_left(deadline))
    try:
        lines = _Lines(sock)
        greeting = lines.line()
        if not greeting.startswith(b"* OK"):
            return _closed(sock, "greeting: " + greeting[:40].decode(errors="replace"))
        sock.settimeout(_left(deadline))
        sock.sendall(f"a LOGIN {user} {PASSWORD}\r\n".encode())
        answer = lines.tagged(b"a")
        if not answer.startswith(b"a OK"):
            return _closed(sock, "refused: " + answer[2:60].decode(errors="replace"))
        return sock, "ok"
    except EOFError:
        # how a failed hand-off to imap looks to the client: imap-login just disconnects
        return _closed(sock, "closed by server")
    except TimeoutError:
        return _closed(sock, "timeout")
    except OSError as e:
        return _closed(sock, f"error: {e.strerror or e}")


def _left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())


def _closed(sock: socket.socket, why: str) -> tuple[socket.socket, str]:
    sock.close()
    return sock, why


def logout(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, EOFError):
        sock.settimeout(2.0)
        sock.sendall(b"z LOGOUT\r\n")
        _Lines(sock).tagged(b"z")
    sock.close()


@dataclass
class BurstResult:
    """What ``count`` concurrent logins got: "ok" or a reason, per login."""

    count: int
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return self.outcomes["ok"]

    @property
    def failed(self) -> int:
        return self.count - self.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "logins": self.count,
            "failed": self.failed,
            "outcomes": dict(self.outcomes),
            "seconds": round(self.seconds, 2),
        }


def burst(
    dc: Dovecot, count: int, *, hold: float = 0.5, time_limit: float = 4.0, first_user: int = 0
) -> BurstResult:
    """``count`` logins released at once, each session kept ``hold`` seconds and logged out;
    every login must be done ``time_limit`` seconds after the start. Users are taken in turn
    from ``first_user`` on."""
    result = BurstResult(count)
    lock = threading.Lock()
    gate = threading.Barrier(count, timeout=time_limit)
    start = time.monotonic()
    deadline = start + time_limit

    def one(i: int) -> None:
        why = "not started"
        try:
            enter(dc.netns)
            gate.wait()
            user = dc.users[(first_user + i) % len(dc.users)]
            sock, why = login(dc.port, user, deadline)
            if why == "ok":
                time.sleep(max(0.0, min(hold, deadline - time.monotonic())))
                logout(sock)
        except threading.BrokenBarrierError:
            why = "not started (barrier)"
        except OSError as e:
            why = f"connect: {e.strerror or e}"
        finally:
            with lock:
                result.outcomes[why] += 1

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline + 3.0 - time.monotonic()))
    with lock:
        missing = count - sum(result.outcomes.values())
        if missing:
            result.outcomes["still running at the time limit"] += missing
    result.seconds = time.monotonic() - start
    return result


@contextmanager
def hold(dc: Dovecot, n: int, *, timeout: float = 10.0) -> Iterator[list[socket.socket]]:
    """``n`` logged-in sessions (users from the end of the list) open until the block ends."""
    socks: list[socket.socket] = []
    try:
        for i in range(n):
            user = dc.users[-1 - i]
            sock, why = in_netns(dc.netns, login, dc.port, user, time.monotonic() + timeout)
            if why != "ok":
                raise RuntimeError(f"could not hold a session for {user}: {why}")
            socks.append(sock)
        yield socks
    finally:
        for s in socks:
            logout(s)


# --- sockdoc ------------------------------------------------------------------------------------


def _sockdoc(*args: str) -> list[str]:
    return [sys.executable, "-m", "sockdoc", *args]


def scan_counts(log: Path) -> dict[str, int]:
    """``sockdoc scan --json`` of a whole log file: lines by signature id."""
    out = subprocess.run(
        _sockdoc("scan", "--json", "--", str(log)),
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    counts = json.loads(out.stdout).get("by_signature", {})
    return {str(k): int(v) for k, v in counts.items()}


def somaxconn(netns: str) -> int:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "cat", "/proc/sys/net/core/somaxconn"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return int(out.stdout)


def set_sysctls(netns: str, sysctls: list[tuple[str, str]]) -> None:
    """``sysctl -w`` inside ``netns`` only (the namespace's own net.* values)."""
    for name, value in sysctls:
        assert name.startswith("net."), f"not a per-namespace setting: {name}"
        subprocess.run(
            ["ip", "netns", "exec", netns, "sysctl", "-q", "-w", f"{name}={value}"],
            capture_output=True,
            timeout=10,
            check=True,
        )


@dataclass
class Run:
    """One load against one configuration: the client's view, sockdoc's, and the log's."""

    services: Services
    held: int
    bursts: list[BurstResult]
    report: dict[str, Any]
    log_lines: dict[str, int]
    base_dir: str
    conf: str
    master_pid: int
    seconds: float

    @property
    def logins(self) -> int:
        return sum(b.count for b in self.bursts)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.bursts)

    def findings(self, rule: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.report["findings"] if rule is None or f["rule"] == rule]

    def finding(self, rule: str) -> dict[str, Any]:
        found = self.findings(rule)
        assert found, f"no {rule} finding; findings: {[f['rule'] for f in self.findings()]}"
        return found[0]

    def outcome(self, rule: str) -> tuple[str, dict[str, Any]] | None:
        """("findings" | "ok" | "not_checked", the entry) for ``rule``; None when absent."""
        for section in ("findings", "ok", "not_checked"):
            for item in self.report[section]:
                if item["rule"] == rule:
                    return section, item
        return None

    def above_info(self) -> list[str]:
        return [
            f"{f['severity']} {f['rule']}: {f['title']}"
            for f in self.findings()
            if f["severity"] != "info"
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "config": render(self.services).replace("\n", " ").strip(),
            "held sessions": self.held,
            "logins": self.logins,
            "failed logins": self.failed,
            "bursts": [b.as_dict() for b in self.bursts],
            "log lines by signature": self.log_lines,
            "findings": [f"{f['severity']} {f['rule']}" for f in self.findings()],
            "seconds": round(self.seconds, 1),
        }


def drive(
    netns: str,
    services: Services,
    *,
    held: int,
    logins: int = 20,
    interval: float = 2.0,
    time_limit: float = 4.0,
    bundle: Path | None = None,
    keep_log: Path | None = None,
) -> Run:
    """One run, bounded in time and traffic: Dovecot with ``services``; ``held`` sessions
    kept open; a burst of ``logins`` (whose failures are in the log when the check starts);
    then ``sockdoc check --netns NS --logs LOG --json --interval I`` (with ``bundle``:
    ``sockdoc collect`` to that file, then ``check --bundle``) while a second burst of the
    same size runs. Dovecot is stopped and its directory removed before this returns (its
    log copied to ``keep_log`` first, when given)."""
    t0 = time.monotonic()
    with running(netns, services) as dc:
        master = dc.pid
        with hold(dc, held):
            first = burst(dc, logins, time_limit=time_limit)
            if bundle is None:
                argv = _sockdoc("check", "--json")
            else:
                argv = _sockdoc("collect", "-o", str(bundle))
            argv += ["--netns", netns, "--logs", str(dc.log), "--interval", str(interval)]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # the sampler starts after about a second of start-up, and runs `interval`
                time.sleep(0.8)
                second = burst(dc, logins, time_limit=time_limit, first_user=logins)
                out, err = proc.communicate(timeout=CHECK_TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate(timeout=10)
        stop(dc)
        lines = scan_counts(dc.log)
        if keep_log is not None:
            shutil.copyfile(dc.log, keep_log)
        conf = str(dc.conf)
        base = str(dc.base_dir)
    assert proc.returncode in (0, 1), err
    if bundle is not None:
        out = subprocess.run(
            _sockdoc("check", "--json", "--bundle", str(bundle)),
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            check=False,
        ).stdout
    report = json.loads(out)
    seconds = time.monotonic() - t0
    return Run(services, held, [first, second], report, lines, base, conf, master, seconds)


_SECTION = re.compile(r"service (?P<name>[\w-]+) \{\n(?P<body>(?:[^{}\n]*\n)*?)\}")
_SETTING = re.compile(r"^\s*(?P<key>\w+) = (?P<value>\S+)\s*$", re.MULTILINE)


@dataclass
class Recommended:
    """What the fixes of a report ask for, merged."""

    services: Services
    sysctls: list[tuple[str, str]]
    conflicts: list[str]  # the same setting asked with different values by two rules

    def apply(self, old: Services) -> Services:
        out = {name: dict(settings) for name, settings in old.items()}
        for name, settings in self.services.items():
            out.setdefault(name, {}).update(settings)
        return out


def recommended(report: dict[str, Any], conf: str) -> Recommended:
    """The service settings (in config file ``conf``) and sysctls every finding's fix asks
    for. Where two rules give one setting different numbers the larger is kept (each means
    "at least": a process_limit, processes kept ready), and the pair is listed."""
    services: Services = {}
    origin: dict[tuple[str, str], str] = {}
    conflicts: list[str] = []
    sysctls: dict[str, int] = {}
    for f in report["findings"]:
        for line in f["fix"]["sysctl"]:
            name, _, value = line.removeprefix("sysctl -w ").strip("'").partition("=")
            sysctls[name] = max(int(value), sysctls.get(name, 0))
        for change in f["fix"]["config"]:
            if change["file"] != conf:
                continue
            for m in _SECTION.finditer(change["text"]):
                wanted = services.setdefault(m["name"], {})
                for s in _SETTING.finditer(m["body"]):
                    key, value, where = s["key"], s["value"], (m["name"], s["key"])
                    old = wanted.get(key)
                    if old is not None and old != value:
                        conflicts.append(
                            f"service {m['name']} {key}: {origin[where]} {old}, {f['rule']} {value}"
                        )
                        if int(value) <= int(old):
                            continue
                    wanted[key] = value
                    origin[where] = f["rule"]
    return Recommended(services, [(k, str(v)) for k, v in sorted(sysctls.items())], conflicts)


def evidence(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding's evidence by name."""
    return {e["name"]: e["value"] for e in finding["evidence"]}
