"""Debian's real BIND 9.18 in network namespaces, for the end-to-end tests.

A *pair* is two namespaces made by the test and joined by a veth: the server side
(``SERVER_ADDR`` on ``SERVER_DEV``) runs ``named -f`` with a configuration written into a
temporary directory and may shape its egress with ``tc tbf`` (a long ``limit``, so answers wait
in the queue, still charged to named's socket, instead of being dropped); the client side runs
:func:`burst_load`, a bounded load generator that sends bursts of EDNS queries for a 3.6 kB TXT
answer and counts the answers that come back. Everything is stopped by pid, the namespaces are
deleted (netnskit.namespace) and the directory removed on the way out, whatever happened.

With no logging statement ``named -f`` logs to syslog (``/dev/log``), which this machine does
not have. :class:`Named` can give it one: named then starts in the mount namespace that ``ip
netns exec`` makes for it (slave to the host's, so nothing reaches the host) with ``/dev`` a
small tmpfs holding the four devices named opens and ``/dev/log`` a link to
:class:`SyslogSink`'s socket, which writes what named sends in the traditional syslog file
format, as /var/log/syslog would hold it.

Run as a program (inside the client namespace) this module is the load generator::

    bindkit.py load DEST QNAME BURSTS SIZE PERIOD SPREAD

It prints one JSON line: queries sent, answers received (and how many were truncated), seconds,
answers per burst. As root, from the repository root, it also re-captures the bundles behind
the BIND rule fixtures (tests/fixtures/rules/*/README.md say which)::

    PYTHONPATH=tests .venv/bin/python tests/e2e/bindkit.py capture OUTDIR
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from netnskit import namespace, require_root, run_sockdoc

from sockdoc.parsers.proc_snmp import parse_snmp

SERVER_ADDR = "10.79.0.1"
CLIENT_ADDR = "10.79.0.2"
SERVER_DEV = "sdns0"
CLIENT_DEV = "sdns1"
STATS_PORT = 8053
ZONE = "example.test"
QNAME = f"big.{ZONE}"
TXT_STRINGS = 14  # 14 strings of 250 bytes: a 3.6 kB answer, three IP fragments on the veth
BIG_UDP = 4096  # named's max-udp-size is 1232 by default (named -C): bigger answers need more
WORKERS = 2  # named -n: one UDP socket per worker thread (SO_REUSEPORT) on each address
CLIENT_SOCKETS = 16  # client source ports, spread over named's sockets by the reuseport hash
DIG = ("dig", "+time=1", "+tries=1", "+short", "-t", "A")  # a readiness probe
TC_FLAG = 0x0200  # the header's truncation bit (RFC 1035 4.1.1)
SHAPER = "rate 10mbit burst 4500 limit 4000000"  # 1.25 MB/s; 4 MB wait instead of dropping

_TESTS = Path(__file__).resolve().parent.parent


# --- the load generator (runs as a program inside the client namespace) ----------------------


def query(qid: int, qname: str) -> bytes:
    """A DNS query for QNAME/TXT with an EDNS0 OPT record advertising 4,096 bytes."""
    header = struct.pack(">HHHHHH", qid & 0xFFFF, 0, 1, 0, 0, 1)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in qname.split("."))
    question = labels + b"\0" + struct.pack(">HH", 16, 1)  # TXT, IN
    opt = b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return header + question + opt


def burst_load(
    dest: str, qname: str, bursts: int, size: int, period: float, spread: float
) -> dict[str, Any]:
    """Send ``bursts`` bursts of ``size`` queries, one burst every ``period`` seconds, each
    spread evenly over ``spread`` seconds (0: all at once), round robin over CLIENT_SOCKETS
    sockets; then read answers until they stop for a second (at most 10 s more). Query ids are
    unique (a run stays under 65,536 queries), so each answer is counted once."""
    socks = []
    sel = selectors.DefaultSelector()
    for _ in range(CLIENT_SOCKETS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    answered: set[int] = set()
    truncated: set[int] = set()
    sent = 0
    t0 = time.monotonic()
    last = [t0]

    def drain(until: float) -> None:
        while (left := until - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                with contextlib.suppress(BlockingIOError):
                    while True:
                        data = s.recv(65535)
                        if len(data) < 4:
                            continue
                        qid, flags = struct.unpack(">HH", data[:4])
                        answered.add(qid)
                        if flags & TC_FLAG:
                            truncated.add(qid)
                        last[0] = time.monotonic()

    for b in range(bursts):
        start = t0 + b * period
        for i in range(size):
            if spread:
                drain(start + spread * i / size)
            with contextlib.suppress(BlockingIOError):
                socks[i % len(socks)].sendto(query(b * size + i, qname), (dest, 53))
                sent += 1
        drain(start + period)
    end = time.monotonic() + 10
    while time.monotonic() < end and time.monotonic() - last[0] < 1.0:
        drain(min(time.monotonic() + 0.2, end))
    for s in socks:
        s.close()
    per_burst = [0] * bursts
    for qid in answered:
        per_burst[min(qid // size, bursts - 1)] += 1
    return {
        "sent": sent,
        "answered": len(answered),
        "truncated": len(truncated),
        "seconds": round(time.monotonic() - t0, 2),
        "per_burst": per_burst,
    }


# --- namespaces -------------------------------------------------------------------------------


def run(*argv: str, timeout: float = 10) -> str:
    return subprocess.run(
        list(argv), check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


def in_ns(ns: str, *argv: str, timeout: float = 10) -> str:
    return run("ip", "netns", "exec", ns, *argv, timeout=timeout)


@dataclass(frozen=True)
class Pair:
    server: str  # namespace names
    client: str
    workdir: Path  # removed when the pair goes


@contextmanager
def dns_pair(tbf: str | None) -> Iterator[Pair]:
    """Two fresh namespaces joined by a veth and a temporary directory; ``tbf`` (e.g.
    SHAPER) shapes the server's egress."""
    with (
        tempfile.TemporaryDirectory(prefix="sockdoc-e2e-bind-") as tmp,
        namespace("sdbind-s") as server,
        namespace("sdbind-c") as client,
    ):
        veth = ["type", "veth", "peer", "name", CLIENT_DEV, "netns", client]
        run("ip", "link", "add", SERVER_DEV, "netns", server, *veth)
        for ns, dev, addr in ((server, SERVER_DEV, SERVER_ADDR), (client, CLIENT_DEV, CLIENT_ADDR)):
            run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        if tbf:
            run("tc", "-n", server, "qdisc", "add", "dev", SERVER_DEV, "root", "tbf", *tbf.split())
        yield Pair(server, client, Path(tmp))


def snmp(ns: str) -> dict[str, int]:
    """The namespace's /proc/net/snmp counters, by "Proto.Field"."""
    return dict(parse_snmp(in_ns(ns, "cat", "/proc/net/snmp")))


# --- named ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedSetup:
    """What a test varies in named.conf."""

    udp_send_buffer: int | None = 65536
    max_udp_size: int = BIG_UDP
    security_log: bool = False  # category security at debug 3 to security.log
    statistics: bool = True


def zone_text() -> str:
    strings = " ".join(f'"sockdoc-{i:02d}-{"x" * 239}"' for i in range(TXT_STRINGS))
    return (
        "$TTL 300\n"
        f"@\tIN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300\n"
        f"\tIN NS ns1.{ZONE}.\n"
        f"ns1\tIN A {SERVER_ADDR}\n"
        f"big\tIN TXT {strings}\n"
    )


def config_text(workdir: Path, setup: NamedSetup) -> str:
    opts = [
        f'directory "{workdir}";',
        f'pid-file "{workdir}/named.pid";',
        f'session-keyfile "{workdir}/session.key";',
        f"listen-on port 53 {{ {SERVER_ADDR}; }};",
        "listen-on-v6 { none; };",
        "recursion no;",
        "dnssec-validation no;",
        f"max-udp-size {setup.max_udp_size};",
    ]
    if setup.udp_send_buffer is not None:
        opts.append(f"udp-send-buffer {setup.udp_send_buffer};")
    # no command channel: named would otherwise read /etc/bind/rndc.key and listen on 953
    text = "options {\n" + "".join(f"\t{o}\n" for o in opts) + "};\ncontrols { };\n"
    if setup.statistics:
        text += (
            "statistics-channels {\n"
            f"\tinet 127.0.0.1 port {STATS_PORT} allow {{ 127.0.0.1; }};\n"
            "};\n"
        )
    if setup.security_log:
        text += (
            "logging {\n"
            "\tchannel security_file {\n"
            f'\t\tfile "{workdir}/security.log" versions 2 size 50m;\n'
            "\t\tseverity debug 3;\n"
            "\t\tprint-time yes;\n"
            "\t\tprint-category yes;\n"
            "\t\tprint-severity yes;\n"
            "\t};\n"
            "\tcategory security { security_file; };\n"
            "};\n"
        )
    text += f'zone "{ZONE}" {{\n\ttype primary;\n\tfile "{workdir}/db.{ZONE}";\n}};\n'
    return text


class SyslogSink:
    """A /dev/log stand-in: a UNIX datagram socket whose messages are appended to ``path`` as
    ``MMM DD HH:MM:SS HOST TAG[PID]: MESSAGE`` lines (glibc's syslog() sends
    ``<PRI>MMM DD HH:MM:SS TAG[PID]: MESSAGE``, RFC 3164; a syslog daemon adds the host)."""

    def __init__(self, sock_path: Path, path: Path, host: str = "ns1") -> None:
        self.sock_path = sock_path
        self.path = path
        self.host = host
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(sock_path))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._out: TextIO = path.open("a", encoding="utf-8")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            msg = data.decode("utf-8", "replace").rstrip("\n\0")
            if msg.startswith("<") and ">" in msg[:5]:
                msg = msg.split(">", 1)[1]
            self._out.write(f"{msg[:15]} {self.host} {msg[16:]}\n")
            self._out.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        self._out.close()
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()


# $0 is the sink's socket; the rest is named's command line
_WITH_DEVLOG = (
    "mount -t tmpfs -o size=64k,mode=755 sockdoc-dev /dev"
    " && mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5"
    " && mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9"
    ' && ln -s "$0" /dev/log && exec "$@"'
)


class Named:
    """``named -f -c CONF -n WORKERS`` in the server namespace, answering before this returns.
    :meth:`stop` ends it (the namespace's deletion would kill it too)."""

    def __init__(self, pair: Pair, name: str, setup: NamedSetup, syslog: bool = False) -> None:
        self.pair = pair
        self.setup = setup
        self.dir = pair.workdir / name
        self.dir.mkdir()
        (self.dir / f"db.{ZONE}").write_text(zone_text())
        self.conf = self.dir / "named.conf"
        self.conf.write_text(config_text(self.dir, setup))
        self.security_log = self.dir / "security.log"
        self.syslog = self.dir / "syslog"
        self.sink = SyslogSink(self.dir / "log.sock", self.syslog) if syslog else None
        cmd = ["named", "-f", "-c", str(self.conf), "-n", str(WORKERS)]
        if self.sink is not None:
            cmd = ["sh", "-c", _WITH_DEVLOG, str(self.sink.sock_path), *cmd]
        self._out = (self.dir / "named.out").open("w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", pair.server, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid  # ip netns exec and sh exec named: the same process

    def _wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"named exited {self.proc.returncode}: {self.output()}")
            got = subprocess.run(
                ["ip", "netns", "exec", self.pair.client, *DIG, f"@{SERVER_ADDR}", f"ns1.{ZONE}"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if got.stdout.strip() == SERVER_ADDR:
                return
            time.sleep(0.1)
        raise TimeoutError(f"named not answering after {timeout} s: {self.output()}")

    def output(self) -> str:
        self._out.flush()
        return (self.dir / "named.out").read_text(errors="replace")[-2000:]

    def stats(self) -> dict[str, Any]:
        """The statistics channel's /json/v1 document, read inside the server namespace."""
        code = (
            "import sys, urllib.request\n"
            "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
        )
        url = f"http://127.0.0.1:{STATS_PORT}/json/v1"
        doc: dict[str, Any] = json.loads(in_ns(self.pair.server, sys.executable, "-c", code, url))
        return doc

    def send_errors(self) -> int:
        """UDP4SendErr + UDP6SendErr since named started (the JSON leaves out zeros)."""
        sock = self.stats().get("sockstats", {})
        return int(sock.get("UDP4SendErr", 0)) + int(sock.get("UDP6SendErr", 0))

    def reload(self, setup: NamedSetup) -> None:
        """Rewrite named.conf and send SIGHUP (what ``rndc reload`` does: configuration and
        zones read again, sockets kept); returns once the statistics channel shows a new
        config-time."""
        assert setup.statistics and self.setup.statistics
        before = self.stats().get("config-time")
        self.setup = setup
        self.conf.write_text(config_text(self.dir, setup))
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self.stats().get("config-time") != before:
                return
        raise TimeoutError(f"named did not reload: {self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._out.close()
        if self.sink is not None:
            self.sink.close()


@contextmanager
def named(pair: Pair, name: str, setup: NamedSetup, syslog: bool = False) -> Iterator[Named]:
    n = Named(pair, name, setup, syslog)
    try:
        yield n
    finally:
        n.stop()


# --- load, diagnosis, numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    bursts: int
    size: int  # queries per burst
    period: float  # seconds from one burst's start to the next
    spread: float = 0.0  # seconds over which a burst's queries go out

    @property
    def queries(self) -> int:
        return self.bursts * self.size


# 1,800 queries: 6 bursts of 300, each sent at 600/s for 500 ms (2.2 MB/s of answers into a
# 1.25 MB/s shaper: about 450 kB wait, charged to named's two sockets), one a second (on
# average 1.1 MB/s: the link drains each burst before the next). Faster bursts also overflow
# named's own queue whenever it gets the CPU late (test_bind_send_path's second test).
BURSTS = Load(bursts=6, size=300, period=1.0, spread=0.5)
# 1,600 queries: 8 bursts of 200 sent at once, one every 500 ms
AT_ONCE = Load(bursts=8, size=200, period=0.5, spread=0.0)
# 1,200 queries: 8 bursts of 150 spread over 500 ms each (300/s, 1.1 MB/s of answers)
STEADY = Load(bursts=8, size=150, period=0.6, spread=0.5)


class LoadRun:
    """:func:`burst_load` running in the client namespace."""

    def __init__(self, pair: Pair, load: Load) -> None:
        self.load = load
        params = (load.bursts, load.size, load.period, load.spread)
        argv = ["ip", "netns", "exec", pair.client, sys.executable, __file__, "load"]
        argv += [SERVER_ADDR, QNAME, *map(str, params)]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(_TESTS)},
        )

    def finish(self) -> dict[str, Any]:
        try:
            out, err = self.proc.communicate(timeout=self.load.bursts * self.load.period + 15)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        assert self.proc.returncode == 0, err
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=5)


def check(pair: Pair, logs: Path | None, interval: float = 2.0) -> dict[str, Any]:
    """``sockdoc check --netns SERVER --json`` (with ``--logs FILE`` or ``--no-logs``)."""
    args = ["check", "--netns", pair.server, "--json", "--interval", str(interval)]
    args += ["--logs", str(logs)] if logs is not None else ["--no-logs"]
    done = run_sockdoc(*args, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def scan_counts(path: Path) -> dict[str, int]:
    """``sockdoc scan FILE --json``: lines per recognised signature."""
    done = run_sockdoc("scan", "--json", str(path), timeout=60)
    assert done.returncode in (0, 1) and done.stdout.startswith("{"), (
        done.returncode,
        done.stdout[:500],
        done.stderr,
    )
    doc = json.loads(done.stdout)
    return {sig: int(n) for sig, n in doc["by_signature"].items()}


@dataclass
class Outcome:
    """One run's numbers and, when sockdoc ran during it, its diagnosis."""

    label: str
    sent: int = 0
    answered: int = 0
    truncated: int = 0
    send_errors: int | None = 0  # named's UDP4SendErr + UDP6SendErr (None: no statistics)
    sndbuf_errors: int = 0  # the server namespace's Udp.SndbufErrors over the run
    per_burst: list[int] = field(default_factory=list)
    seconds: float = 0.0  # the load's, from its first query to its last answer
    diagnosis: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """named's failed sends (its statistics channel must have been read)."""
        assert self.send_errors is not None, f"{self.label}: no statistics channel"
        return self.send_errors

    @property
    def lost(self) -> int:
        return self.sent - self.answered

    def row(self) -> str:
        named = "n/a" if self.send_errors is None else f"{self.send_errors:,}"
        return (
            f"{self.label:<34} {named:>12} {self.sndbuf_errors:>15,} "
            f"{self.answered:>9,} {self.lost:>6,} {self.truncated:>10,}  of {self.sent:,}"
        )


HEADER = (
    f"{'run':<34} {'UDP4SendErr':>12} {'Udp.SndbufErrors':>15} "
    f"{'answered':>9} {'lost':>6} {'truncated':>10}"
)


def drive(
    pair: Pair,
    server: Named,
    load: Load,
    label: str,
    logs: Path | None = None,
    diagnose: bool = True,
    settle: float = 0.8,
) -> Outcome:
    """Run ``load`` against ``server``; with ``diagnose``, run sockdoc check during it, once
    ``settle`` seconds of the load have passed (so the logs hold some of it)."""
    k0 = snmp(pair.server)
    e0 = server.send_errors() if server.setup.statistics else None
    loadrun = LoadRun(pair, load)
    try:
        doc: dict[str, Any] = {}
        if diagnose:
            time.sleep(settle)
            doc = check(pair, logs)
        res = loadrun.finish()
    finally:
        loadrun.stop()
    k1 = snmp(pair.server)
    e1 = server.send_errors() if server.setup.statistics else None
    return Outcome(
        label,
        sent=int(res["sent"]),
        answered=int(res["answered"]),
        truncated=int(res["truncated"]),
        send_errors=e1 - e0 if e1 is not None and e0 is not None else None,
        sndbuf_errors=k1["Udp.SndbufErrors"] - k0["Udp.SndbufErrors"],
        per_burst=list(res["per_burst"]),
        seconds=float(res["seconds"]),
        diagnosis=doc,
    )


def above_info(doc: dict[str, Any]) -> list[str]:
    """The findings of a diagnosis more severe than info, as "rule: title"."""
    return [f"{f['rule']}: {f['title']}" for f in doc["findings"] if f["severity"] != "info"]


def evidence(finding: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in finding["evidence"]}


def finding(doc: dict[str, Any], rule: str) -> dict[str, Any] | None:
    return next((f for f in doc["findings"] if f["rule"] == rule), None)


def collect(pair: Pair, out: Path, logs: Path | None) -> None:
    """``sockdoc collect --netns SERVER`` into ``out`` (for fixtures)."""
    args = ["collect", "--netns", pair.server, "--interval", "2", "-o", str(out)]
    args += ["--logs", str(logs)] if logs is not None else ["--no-logs"]
    done = run_sockdoc(*args, timeout=60)
    assert done.returncode == 0, done.stderr


def version() -> str:
    """``named -v`` (e.g. ``BIND 9.18.49-1~deb12u3-Debian (Extended Support Version) <id:>``);
    first of all, skips the test (fails it under CI=true) without root."""
    require_root()
    return run("named", "-v").strip()


def assert_clean(pair: Pair) -> None:
    """Nothing of ``pair`` is left: its namespaces, its directory, a process using it."""
    listed = run("ip", "netns", "list")
    assert pair.server not in listed and pair.client not in listed, listed
    assert not pair.workdir.exists(), pair.workdir
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            assert str(pair.workdir).encode() not in cmdline.read_bytes(), cmdline


def print_table(title: str, *runs: Outcome) -> None:
    print(f"\n{title}\n{HEADER}")
    for r in runs:
        print(r.row())


# the runs whose bundles are rule fixtures: name -> (shaper, named.conf, load, syslog)
CAPTURES: dict[str, tuple[str | None, NamedSetup, Load, bool]] = {
    "bursts": (SHAPER, NamedSetup(udp_send_buffer=65536, security_log=True), BURSTS, False),
    "fixed": (SHAPER, NamedSetup(udp_send_buffer=524288, security_log=True), BURSTS, False),
    "own-queue": (None, NamedSetup(udp_send_buffer=None, security_log=True), AT_ONCE, False),
    "stock": (SHAPER, NamedSetup(udp_send_buffer=65536, statistics=False), BURSTS, True),
}


def capture(out: Path) -> None:
    """Run each of CAPTURES with ``sockdoc collect`` (1.2 s into the load) instead of check;
    write OUT/NAME.tar.gz and OUT/NAME.json (the run's numbers and named.conf)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, (tbf, setup, load, syslog) in CAPTURES.items():
        with dns_pair(tbf) as pair, named(pair, name, setup, syslog) as n:
            k0 = snmp(pair.server)
            loadrun = LoadRun(pair, load)
            try:
                time.sleep(1.2)
                logs = n.syslog if syslog else n.security_log if setup.security_log else None
                collect(pair, out / f"{name}.tar.gz", logs)
                res = loadrun.finish()
            finally:
                loadrun.stop()
            res["Udp.SndbufErrors"] = snmp(pair.server)["Udp.SndbufErrors"] - k0["Udp.SndbufErrors"]
            res["UDP4SendErr"] = n.send_errors() if setup.statistics else None
            res["tbf"] = tbf
            res["load"] = str(load)
            res["named.conf"] = n.conf.read_text()
            res["version"] = version()
        (out / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
        print(name, {k: v for k, v in res.items() if k != "named.conf"}, flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["load"]:
    d, q, n, size, period, spread = sys.argv[2:8]
    print(json.dumps(burst_load(d, q, int(n), int(size), float(period), float(spread))), flush=True)
elif __name__ == "__main__" and sys.argv[1:2] == ["capture"]:
    capture(Path(sys.argv[2]))
