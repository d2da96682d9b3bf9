"""The programs a lab scenario runs inside its network namespaces.

Each role is a small, bounded workload built from plain sockets, started by the lab as
``python -m sockdoc.lab.agents ROLE JSON_ARGS`` under ``ip netns exec``. Protocol, on stdout:
one JSON line when the role is ready (its pid and name), then one JSON line with its counts
when it ends. A role ends when its work is done, when its stdin is closed (the lab's stop
signal), or at ``max_seconds``, whichever comes first; nothing here runs unbounded.

Event times are ``time.monotonic()`` readings: CLOCK_MONOTONIC is one clock for the whole
machine, namespaces included, so the lab can put every agent's events on one timeline.

This module imports only the standard library, so that an agent starts in a few tens of
milliseconds and does not disturb the measurement it is part of.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import random
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

PR_SET_NAME = 15  # include/uapi/linux/prctl.h
SO_SNDBUFFORCE = 32  # include/uapi/asm-generic/socket.h: root may exceed wmem_max
SO_RCVBUFFORCE = 33
SEND_FULL = (errno.EAGAIN, errno.ENOBUFS)  # what a non-blocking UDP send returns when full

Args = dict[str, Any]


def set_name(name: str) -> None:
    """Set this process's command name (``/proc/PID/comm``), so that sockdoc attributes the
    scenario's sockets to a recognisable owner instead of ``python3``."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def emit(obj: Args) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Stop:
    """Tells a role when to end: stdin closed by the lab, or its time is up."""

    def __init__(self, max_seconds: float) -> None:
        self.deadline = time.monotonic() + max_seconds
        self.stdin_closed = False
        os.set_blocking(sys.stdin.fileno(), False)

    def __call__(self) -> bool:
        if time.monotonic() >= self.deadline:
            return True
        if not self.stdin_closed:
            try:
                data = os.read(sys.stdin.fileno(), 4096)
            except BlockingIOError:
                return False
            self.stdin_closed = not data
        return self.stdin_closed


def _buffer(sock: socket.socket, force: int, plain: int, size: int) -> int:
    """Set a socket buffer; ``size`` is what setsockopt is given (the kernel doubles it).
    The FORCE option (root) ignores ``net.core.[rw]mem_max``, which in a child namespace is
    read-only: the lab asks for exactly the size under study. Returns the effective size."""
    if size > 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, plain, size)
    return sock.getsockopt(socket.SOL_SOCKET, plain)


# --- udp-send: a responder answering bursts through a slow egress, and its requester ---------

QUERY = struct.Struct(">cII")  # b"Q", burst number, query number in the burst


def udp_responder(a: Args, stop: Stop) -> Args:
    """Answer every query with ``size`` bytes, non-blocking, as named does: a send that the
    kernel refuses (EAGAIN: send buffer full; ENOBUFS) is counted for the query's burst and the
    answer is lost."""
    set_name("lab-responder")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sndbuf = _buffer(s, SO_SNDBUFFORCE, socket.SO_SNDBUF, int(a["sndbuf"]))
    _buffer(s, SO_RCVBUFFORCE, socket.SO_RCVBUF, 4 << 20)
    s.bind((a["addr"], int(a["port"])))
    s.setblocking(False)
    emit({"pid": os.getpid(), "comm": "lab-responder", "sndbuf": sndbuf})
    answer = b"A" * int(a["size"])
    sent = 0
    failed: dict[str, int] = {}
    errors: dict[str, int] = {}
    times: list[float] = []
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    while not stop():
        if not sel.select(0.05):
            continue
        while True:
            try:
                query, peer = s.recvfrom(64)
            except BlockingIOError:
                break
            if len(query) < QUERY.size:
                continue
            _, burst, _ = QUERY.unpack_from(query)
            try:
                s.sendto(answer, peer)
                sent += 1
            except OSError as exc:
                if exc.errno not in SEND_FULL:
                    raise
                key = str(burst)
                failed[key] = failed.get(key, 0) + 1
                name = errno.errorcode[exc.errno or 0]
                errors[name] = errors.get(name, 0) + 1
                times.append(time.monotonic())
    return {
        "sent": sent,
        "failed": sum(failed.values()),
        "per_burst": failed,
        "errors": errors,
        "fail_times": times,
        "sndbuf": sndbuf,
    }


def udp_requester(a: Args, stop: Stop) -> Args:
    """Send ``bursts`` bursts of ``burst`` queries, one burst every ``period_ms``, and count the
    answers; after the last burst, wait until answers stop arriving (at most ``drain_ms``)."""
    set_name("lab-requester")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _buffer(s, SO_RCVBUFFORCE, socket.SO_RCVBUF, 16 << 20)
    s.setblocking(False)
    dest = (a["dest"], int(a["port"]))
    emit({"pid": os.getpid(), "comm": "lab-requester"})
    burst, bursts, period = int(a["burst"]), int(a["bursts"]), float(a["period_ms"]) / 1000
    answers = 0
    per_burst: dict[str, int] = {}

    def receive(until: float) -> None:
        nonlocal answers
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            ready = select.select([s], [], [], left)[0]
            if not ready:
                continue
            while True:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    break
                answers += 1
                del data

    queries = 0
    start = time.monotonic()
    for b in range(bursts):
        if stop():
            break
        for q in range(burst):
            s.sendto(QUERY.pack(b"Q", b, q), dest)
            queries += 1
        per_burst[str(b)] = burst
        receive(start + (b + 1) * period)
    quiet_until = time.monotonic() + float(a["drain_ms"]) / 1000
    last = answers
    while time.monotonic() < quiet_until:
        receive(time.monotonic() + 0.2)
        if answers == last:
            break
        last = answers
    return {"queries": queries, "answers": answers}


# --- udp-receive: a slow reader and a fast sender ---------------------------------------------


def udp_reader(a: Args, stop: Stop) -> Args:
    """Read at most ``read_rate`` datagrams per second (0: none until told to stop); at the
    end, read whatever is still queued, so that received + dropped = sent exactly."""
    set_name("lab-reader")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rcvbuf = _buffer(s, SO_RCVBUFFORCE, socket.SO_RCVBUF, int(a["rcvbuf"]))
    s.bind((a["addr"], int(a["port"])))
    emit({"pid": os.getpid(), "comm": "lab-reader", "rcvbuf": rcvbuf})
    rate = float(a["read_rate"])
    received = 0
    s.settimeout(0.05)
    next_read = time.monotonic()
    while not stop():
        if rate <= 0:
            time.sleep(0.05)
            continue
        now = time.monotonic()
        if now < next_read:
            time.sleep(min(next_read - now, 0.05))
            continue
        try:
            s.recv(65536)
            received += 1
            next_read = max(next_read + 1 / rate, now - 0.1)
        except TimeoutError:
            pass
    s.setblocking(False)
    while True:
        try:
            s.recv(65536)
            received += 1
        except BlockingIOError:
            break
    return {"received": received, "rcvbuf": rcvbuf}


def udp_sender(a: Args, stop: Stop) -> Args:
    """Send ``count`` datagrams of ``size`` bytes at ``rate`` per second (blocking sends: on
    loopback every one is delivered to the receiver's queue or counted as dropped there)."""
    set_name("lab-sender")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    emit({"pid": os.getpid(), "comm": "lab-sender"})
    dest = (a["dest"], int(a["port"]))
    payload = b"d" * int(a["size"])
    count, rate = int(a["count"]), float(a["rate"])
    start = time.monotonic()
    sent = 0
    times: list[float] = []
    while sent < count and not stop():
        due = start + sent / rate
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        s.sendto(payload, dest)
        times.append(time.monotonic())
        sent += 1
    return {"sent": sent, "send_times": times}


# --- unix-backlog: a Dovecot-like master with worker processes, and a login storm -------------


def _worker(listener: socket.socket, client_limit: int, service: float, report: int) -> None:
    """One worker process: accept while fewer than ``client_limit`` clients are in service,
    serve each for ``service`` seconds (answer its request, then close)."""
    set_name("lab-worker")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    listener.setblocking(False)
    busy: list[tuple[float, socket.socket]] = []
    while True:
        now = time.monotonic()
        while busy and busy[0][0] <= now:
            _, conn = busy.pop(0)
            with contextlib.suppress(OSError):
                conn.send(b"OK\n")
            conn.close()
            os.write(report, b"s")
        wake = busy[0][0] if busy else now + 0.05
        if len(busy) < client_limit:
            ready = select.select([listener], [], [], max(wake - now, 0))[0]
            if ready:
                with contextlib.suppress(BlockingIOError):
                    conn, _ = listener.accept()
                    busy.append((time.monotonic() + service, conn))
        else:
            time.sleep(max(wake - now, 0))


def unix_master(a: Args, stop: Stop) -> Args:
    """Listen on a UNIX stream socket with backlog ``backlog`` (the kernel clamps it to
    ``net.core.somaxconn``), and fork ``process_limit`` workers that share the listener, each
    serving up to ``client_limit`` clients at a time, like Dovecot's master and its service
    processes."""
    set_name("lab-master")
    path = a["path"]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(int(a["backlog"]))
    read_end, write_end = os.pipe()
    workers = []
    for _ in range(int(a["process_limit"])):
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            os.close(read_end)
            _worker(listener, int(a["client_limit"]), float(a["service_ms"]) / 1000, write_end)
            os._exit(0)
        workers.append(pid)
    os.close(write_end)
    emit({"pid": os.getpid(), "comm": "lab-master", "workers": workers, "path": path})
    os.set_blocking(read_end, False)
    served = 0
    while not stop():
        time.sleep(0.05)
        with contextlib.suppress(BlockingIOError):
            served += len(os.read(read_end, 65536))
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    with contextlib.suppress(BlockingIOError):
        served += len(os.read(read_end, 65536))
    return {"served": served}


class _Login:
    __slots__ = ("attempts", "retry_at", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.attempts = 0
        self.retry_at = started


def unix_storm(a: Args, stop: Stop) -> Args:  # noqa: PLR0915 (one event loop)
    """Start ``logins`` login-like clients at ``rate`` per second. Each connects non-blocking
    to the service socket; on EAGAIN (the listener's queue is full) it retries after 1-10 ms
    until ``retry_ms`` have passed, then gives up, as Dovecot's login processes do
    (``net_connect_unix_with_retries()``, src/lib/net.c)."""
    set_name("lab-logins")
    path, logins, rate = a["path"], int(a["logins"]), float(a["rate"])
    retry = float(a["retry_ms"]) / 1000
    emit({"pid": os.getpid(), "comm": "lab-logins"})
    rnd = random.Random(int(a.get("seed", 1)))  # noqa: S311 (retry jitter, not security)
    start = time.monotonic()
    pending: list[_Login] = []
    waiting: dict[socket.socket, float] = {}
    counts = {"first_try": 0, "after_retry": 0, "failed": 0, "eagain": 0, "answered": 0}
    fail_times: list[float] = []
    started = 0
    sel = selectors.DefaultSelector()
    while not stop():
        now = time.monotonic()
        while started < logins and start + started / rate <= now:
            pending.append(_Login(now))
            started += 1
        still: list[_Login] = []
        for login in pending:
            if login.retry_at > now:
                still.append(login)
                continue
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            login.attempts += 1
            try:
                sock.connect(path)
            except BlockingIOError as exc:
                sock.close()
                if exc.errno != errno.EAGAIN:
                    raise
                counts["eagain"] += 1
                if now - login.started >= retry:
                    counts["failed"] += 1
                    fail_times.append(now)
                else:
                    login.retry_at = now + rnd.uniform(0.001, 0.010)
                    still.append(login)
                continue
            counts["first_try" if login.attempts == 1 else "after_retry"] += 1
            sock.send(b"LOGIN\n")
            sel.register(sock, selectors.EVENT_READ)
            waiting[sock] = now
        pending = still
        for key, _ in sel.select(0.001 if pending or started < logins else 0.05):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            with contextlib.suppress(OSError):
                if conn.recv(16):
                    counts["answered"] += 1
            sel.unregister(conn)
            conn.close()
            del waiting[conn]
        if started >= logins and not pending and not waiting:
            break
    counts.update(logins=started, gave_up_waiting=len(pending) + len(waiting))
    return {**counts, "fail_times": fail_times}


# --- tcp-backlog: a listener that accepts slowly, and bursts of connects -----------------------


def tcp_server(a: Args, stop: Stop) -> Args:
    """Listen with ``backlog`` and accept at most ``accept_rate`` connections per second
    (0: never), closing each at once."""
    set_name("lab-tcpserver")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a["addr"], int(a["port"])))
    s.listen(int(a["backlog"]))
    s.setblocking(False)
    emit({"pid": os.getpid(), "comm": "lab-tcpserver"})
    rate = float(a["accept_rate"])
    accepted = 0
    next_accept = time.monotonic()
    while not stop():
        now = time.monotonic()
        if rate <= 0 or now < next_accept:
            time.sleep(0.01 if rate <= 0 else min(next_accept - now, 0.01))
            continue
        try:
            conn, _ = s.accept()
        except BlockingIOError:
            time.sleep(0.005)
            continue
        conn.close()
        accepted += 1
        next_accept = max(next_accept + 1 / rate, now - 0.1)
    return {"accepted": accepted}


def tcp_clients(a: Args, stop: Stop) -> Args:
    """Every ``period_ms``, open ``burst`` non-blocking connections; ``wait_ms`` later, count
    the ones that completed and close the ones still waiting for an answer to their SYN. The
    wait is shorter than the first SYN retransmission (1 s, RFC 6298), so every connection
    that did not complete is exactly one SYN that the listener dropped."""
    set_name("lab-tcpclients")
    dest = (a["dest"], int(a["port"]))
    burst, bursts = int(a["burst"]), int(a["bursts"])
    period, wait = float(a["period_ms"]) / 1000, float(a["wait_ms"]) / 1000
    emit({"pid": os.getpid(), "comm": "lab-tcpclients"})
    connects = established = refused = 0
    drop_times: list[float] = []
    start = time.monotonic()
    for b in range(bursts):
        if stop():
            break
        socks = []
        for _ in range(burst):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect(dest)
            socks.append(c)
            connects += 1
        time.sleep(wait)
        now = time.monotonic()
        for c in socks:
            err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            done = not select.select([], [c], [], 0)[1]
            if err:
                refused += 1
            elif done:  # not writable yet: still in SYN_SENT
                drop_times.append(now)
            else:
                established += 1
            c.close()
        time.sleep(max(start + (b + 1) * period - time.monotonic(), 0))
    return {
        "connects": connects,
        "established": established,
        "dropped": len(drop_times),
        "refused": refused,
        "drop_times": drop_times,
    }


# --- fd-limit: a server with a low RLIMIT_NOFILE, and clients that hold sessions ---------------


def fd_server(a: Args, stop: Stop) -> Args:
    """Lower this process's soft ``RLIMIT_NOFILE`` to ``nofile``, then accept clients and
    hold each session open, answering one line. At the limit ``accept()`` fails with EMFILE
    (the connection stays in the listener's queue); the server counts it and tries again
    50 ms later, as event-driven daemons do."""
    set_name("lab-fdserver")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(a["nofile"]), hard))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a["addr"], int(a["port"])))
    s.listen(int(a["backlog"]))
    s.setblocking(False)
    emit({"pid": os.getpid(), "comm": "lab-fdserver", "nofile": int(a["nofile"])})
    sessions: list[socket.socket] = []
    emfile = 0
    emfile_times: list[float] = []
    while not stop():
        try:
            conn, _ = s.accept()
        except BlockingIOError:
            time.sleep(0.005)
            continue
        except OSError as exc:
            if exc.errno != errno.EMFILE:
                raise
            emfile += 1
            emfile_times.append(time.monotonic())
            time.sleep(0.05)
            continue
        conn.settimeout(1.0)
        with contextlib.suppress(OSError):
            conn.recv(64)
            conn.send(b"OK\n")
        sessions.append(conn)
    return {"accepted": len(sessions), "emfile": emfile, "emfile_times": emfile_times}


def fd_clients(a: Args, stop: Stop) -> Args:
    """Open ``clients`` sessions, send a line on each, then wait ``timeout_ms`` in all for the
    answers. Sessions stay open until the lab stops the scenario."""
    set_name("lab-fdclients")
    emit({"pid": os.getpid(), "comm": "lab-fdclients"})
    dest = (a["dest"], int(a["port"]))
    held: list[socket.socket] = []
    failed = 0
    for _ in range(int(a["clients"])):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(1.0)
        try:
            c.connect(dest)
            c.send(b"HELLO\n")
            held.append(c)
        except OSError:
            failed += 1
            c.close()
    waiting = set(held)
    answered = 0
    deadline = time.monotonic() + float(a["timeout_ms"]) / 1000
    while waiting and time.monotonic() < deadline:
        ready = select.select(list(waiting), [], [], deadline - time.monotonic())[0]
        for c in ready:
            waiting.discard(c)
            with contextlib.suppress(OSError):
                if c.recv(16):
                    answered += 1
    unanswered = len(waiting)
    while not stop():
        time.sleep(0.05)
    return {"clients": len(held), "answered": answered, "unanswered": unanswered, "failed": failed}


ROLES: dict[str, Callable[[Args, Stop], Args]] = {
    "udp-responder": udp_responder,
    "udp-requester": udp_requester,
    "udp-reader": udp_reader,
    "udp-sender": udp_sender,
    "unix-master": unix_master,
    "unix-storm": unix_storm,
    "tcp-server": tcp_server,
    "tcp-clients": tcp_clients,
    "fd-server": fd_server,
    "fd-clients": fd_clients,
}


def main(argv: list[str]) -> int:
    role, args = argv[0], json.loads(argv[1])
    stop = Stop(float(args.get("max_seconds", 30)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    result = ROLES[role](args, stop)
    emit({"done": True, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
