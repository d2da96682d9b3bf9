"""sock_diag against real kernel sockets, no mocks: TCP, UDP and UNIX sockets made here with
known queues, backlogs and drops, read back through netlink and checked, at the same moment,
against ``ss`` and the kernel's SNMP counters; and the parser on dumps captured from real
sockets (``tests/fixtures/sock_diag/``).

The fixtures are regenerated, as root, by ``python tests/test_sock_diag.py``: it captures in a
fresh network namespace, so the files hold only the scenarios' sockets, and stores what ``ss``
said about the same sockets beside them.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from sockdoc.collect import sock_diag as collect
from sockdoc.collect.sock_diag import (
    Owner,
    ReplyTooLarge,
    SocketOwners,
    inet_request,
    query,
    socket_owners,
    tcp_all,
    tcp_listeners,
    udp_sockets,
    unix_listeners,
    unix_request,
)
from sockdoc.parsers.sock_diag import (
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGHDR,
    InetSocket,
    NetlinkError,
    SkMemInfo,
    SockDiagParseError,
    UnixSocket,
    parse_inet,
    parse_unix,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sock_diag"
UDP_EXTRA = 23  # datagrams beyond what the receive buffer holds: a prime, so no coincidence


# --- what ss and the kernel counters say ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SsLine:
    fields: list[str]
    skmem: dict[str, int]


def ss(*args: str) -> str:
    done = subprocess.run(
        ["ss", "-H", *args], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def ss_lines(text: str) -> list[SsLine]:
    """ss's lines, with the ``skmem:(...)`` continuation line (``-m``) attached to its socket."""
    out: list[SsLine] = []
    for line in text.splitlines():
        if line[:1].isspace() and out:
            m = re.search(r"skmem:\(([^)]*)\)", line)
            if m:
                skmem = {k: int(v) for k, v in re.findall(r"([a-z]+)(\d+)", m.group(1))}
                out[-1] = SsLine(out[-1].fields, skmem)
        elif line.strip():
            out.append(SsLine(line.split(), {}))
    return out


def counters(path: str, section: str) -> dict[str, int]:
    rows = [line.split() for line in Path(path).read_text().splitlines()]
    names, values = (row for row in rows if row[0] == f"{section}:")
    return dict(zip(names[1:], map(int, values[1:]), strict=True))


def wait_for(check: Callable[[], bool], seconds: float = 2.0) -> None:
    """Loopback delivery normally completes before send() returns, but may be left to
    ksoftirqd on a busy machine: give it a moment."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)


def inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def my_comm() -> str:
    return Path("/proc/self/comm").read_text().strip()


# --- scenarios (shared with the fixture capture) -------------------------------------------


@contextmanager
def tcp_listener(
    host: str = "127.0.0.1", backlog: int = 7, queued: int = 5, refused: int = 0
) -> Iterator[socket.socket]:
    """A listener with ``queued`` completed connections nobody accepts, then ``refused``
    connection attempts (non-blocking) that find the accept queue full."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket(family))
        listener.bind((host, 0))
        listener.listen(backlog)
        for _ in range(queued):
            client = stack.enter_context(socket.socket(family))
            client.settimeout(5)
            client.connect(listener.getsockname())
        for _ in range(refused):
            client = stack.enter_context(socket.socket(family))
            client.setblocking(False)
            client.connect_ex(listener.getsockname())
        yield listener


@contextmanager
def unix_listener(
    address: str, kind: int = socket.SOCK_STREAM, backlog: int = 4
) -> Iterator[tuple[socket.socket, int]]:
    """A UNIX listener and the number of non-blocking connects it took before one failed
    with EAGAIN (bounded)."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket(socket.AF_UNIX, kind))
        listener.bind(address)
        listener.listen(backlog)
        connected = 0
        for _ in range(backlog + 10):
            client = stack.enter_context(socket.socket(socket.AF_UNIX, kind))
            client.setblocking(False)
            try:
                client.connect(address)
            except BlockingIOError as e:
                assert e.errno == errno.EAGAIN
                break
            connected += 1
        yield listener, connected


def udp_capacity(rcvbuf: int, payload: bytes) -> int:
    """How many datagrams of ``payload`` a socket with SO_RCVBUF ``rcvbuf`` holds, measured
    (what fits depends on the kernel's per-packet overhead, not on the payload alone)."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        rx.bind(("127.0.0.1", 0))
        for _ in range(200):
            tx.sendto(payload, rx.getsockname())
        time.sleep(0.05)
        return drain(rx)


def drain(rx: socket.socket) -> int:
    rx.setblocking(False)
    n = 0
    while True:
        try:
            rx.recv(65536)
        except BlockingIOError:
            return n
        n += 1


@contextmanager
def flooded_udp(
    extra: int = UDP_EXTRA, rcvbuf: int = 4096
) -> Iterator[tuple[socket.socket, int, dict[str, int]]]:
    """A UDP socket sent ``extra`` datagrams more than its receive buffer holds, never read.
    Yields it, its capacity, and the Udp SNMP counters from just before the flood."""
    payload = b"x" * 100
    capacity = udp_capacity(rcvbuf, payload)
    assert 0 < capacity < 200
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        rx.bind(("127.0.0.1", 0))
        before = counters("/proc/net/snmp", "Udp")
        for _ in range(capacity + extra):
            tx.sendto(payload, rx.getsockname())
        yield rx, capacity, before


def by_port(sockets: tuple[InetSocket, ...], port: int) -> InetSocket:
    (found,) = [s for s in sockets if s.local_port == port]
    return found


def by_inode(sockets: tuple[UnixSocket, ...], ino: int) -> UnixSocket:
    (found,) = [s for s in sockets if s.inode == ino]
    return found


# --- live: TCP -----------------------------------------------------------------------------


def test_tcp_listener_reports_accept_queue_and_backlog() -> None:
    with tcp_listener(backlog=7, queued=5) as listener:
        port = listener.getsockname()[1]
        s = by_port(tcp_listeners(), port)
        text = ss("-ltnm", "sport", "=", f":{port}")

        assert (s.family, s.protocol, s.state) == ("ipv4", "tcp", "LISTEN")
        assert (s.local_addr, s.remote_addr, s.remote_port) == ("127.0.0.1", "0.0.0.0", 0)
        assert (s.rqueue, s.wqueue) == (5, 7)  # 5 waiting for accept(), backlog 7
        assert (s.inode, s.uid) == (inode(listener), os.getuid())
        assert s.mem is not None and s.mem.drops == 0
        assert socket_owners([s.inode]).owners == {s.inode: Owner(os.getpid(), my_comm())}

        (line,) = ss_lines(text)
        assert line.fields[:4] == ["LISTEN", "5", "7", f"127.0.0.1:{port}"]
        assert line.skmem["rb"] == s.mem.rcvbuf and line.skmem["d"] == 0


def test_tcp_listener_full_queue_counts_drops() -> None:
    """The accept queue takes backlog + 1 connections (the kernel drops only when it holds
    *more* than the backlog); the next SYNs are dropped and counted on the listener."""
    before = counters("/proc/net/netstat", "TcpExt")
    with tcp_listener(backlog=7, queued=8, refused=3) as listener:
        port = listener.getsockname()[1]

        def dropped() -> bool:
            mem = by_port(tcp_listeners(), port).mem
            return mem is not None and mem.drops == 3

        wait_for(dropped)  # before the first SYN retransmission (1 s) adds more
        s = by_port(tcp_listeners(), port)
        after = counters("/proc/net/netstat", "TcpExt")
        text = ss("-ltnm", "sport", "=", f":{port}")

    assert (s.rqueue, s.wqueue) == (8, 7)
    assert s.mem is not None and s.mem.drops == 3
    assert after["ListenOverflows"] - before["ListenOverflows"] == 3
    assert after["ListenDrops"] - before["ListenDrops"] == 3
    (line,) = ss_lines(text)
    assert line.fields[1:3] == ["8", "7"] and line.skmem["d"] == 3


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_tcp_listener_ipv6() -> None:
    with tcp_listener("::1", backlog=3, queued=2) as listener:
        port = listener.getsockname()[1]
        s = by_port(tcp_listeners(), port)
        (line,) = ss_lines(ss("-ltn", "sport", "=", f":{port}"))
    assert (s.family, s.local_addr, s.remote_addr, s.rqueue, s.wqueue) == (
        "ipv6",
        "::1",
        "::",
        2,
        3,
    )
    assert line.fields[:4] == ["LISTEN", "2", "3", f"[::1]:{port}"]


SS_STATE = {"ESTABLISHED": "ESTAB", "CLOSE": "UNCONN"}


def test_tcp_all_agrees_with_ss() -> None:
    """Every socket of a small scene (listener, accepted and queued connections, both ends,
    IPv4 and IPv6) appears in the full dump exactly as ss shows it."""
    hosts = ["127.0.0.1", "::1"] if ipv6_loopback() else ["127.0.0.1"]
    with ExitStack() as stack:
        ports = []
        for host in hosts:
            listener = stack.enter_context(tcp_listener(host, backlog=8, queued=4))
            ports.append(listener.getsockname()[1])
            for _ in range(2):
                stack.enter_context(listener.accept()[0])
        ours = {
            (
                SS_STATE.get(s.state, s.state),
                s.rqueue,
                s.wqueue,
                s.local_addr,
                s.local_port,
                s.remote_addr,
                s.remote_port,
            )
            for s in tcp_all()
            if s.local_port in ports or s.remote_port in ports
        }
        theirs = set()
        for line in ss_lines(ss("-tan")):
            state, rq, sq, local, peer = line.fields[:5]
            laddr, lport = local.rsplit(":", 1)
            raddr, rport = peer.rsplit(":", 1)
            lp, rp = int(lport), 0 if rport == "*" else int(rport)
            if lp in ports or rp in ports:
                theirs.add((state, int(rq), int(sq), laddr.strip("[]"), lp, raddr.strip("[]"), rp))
    # per host: the listener, 4 clients, and their 4 server ends (2 accepted, 2 still queued:
    # a queued connection is already a full ESTABLISHED socket)
    assert len(ours) == 9 * len(hosts)
    assert ours == theirs


# --- live: UNIX ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        ("path", socket.SOCK_STREAM),
        ("abstract", socket.SOCK_STREAM),
        ("abstract", socket.SOCK_SEQPACKET),
    ],
)
def test_unix_listener_pending_and_backlog(tmp_path: Path, where: str, kind: int) -> None:
    name = f"sockdoc-test-{os.getpid()}-{kind}"
    address = str(tmp_path / "listen.sock") if where == "path" else "\0" + name
    with unix_listener(address, kind, backlog=4) as (listener, connected):
        s = by_inode(unix_listeners(), inode(listener))
        lines = [ln for ln in ss_lines(ss("-xl")) if ln.fields[5:6] == [str(s.inode)]]
        owners = socket_owners([s.inode])

    assert connected == 5  # listen(4) takes 5 pending connections; the 6th got EAGAIN
    assert (s.state, s.rqueue, s.wqueue, s.peer) == ("LISTEN", 5, 4, None)
    assert s.type == ("stream" if kind == socket.SOCK_STREAM else "seqpacket")
    if where == "path":
        assert (s.path, s.abstract) == (address, None)
    else:
        assert (s.path, s.abstract) == (None, name)
    (line,) = lines
    shown = address if where == "path" else "@" + name
    assert line.fields[1:5] == ["LISTEN", "5", "4", shown]
    assert owners.owners == {s.inode: Owner(os.getpid(), my_comm())}


# --- live: UDP -----------------------------------------------------------------------------


def test_udp_receive_buffer_drops() -> None:
    with flooded_udp(UDP_EXTRA, rcvbuf=4096) as (rx, capacity, before):
        port = rx.getsockname()[1]

        def all_counted() -> bool:
            mem = by_port(udp_sockets(), port).mem
            return mem is not None and (mem.drops or 0) >= UDP_EXTRA

        wait_for(all_counted)
        s = by_port(udp_sockets(), port)
        after = counters("/proc/net/snmp", "Udp")
        (line,) = ss_lines(ss("-uamn", "sport", "=", f":{port}"))
        rcvbuf = rx.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        queued = drain(rx)
        empty = by_port(udp_sockets(), port)

    assert s.mem is not None and s.mem.drops == UDP_EXTRA
    assert (s.protocol, s.state, s.local_addr) == ("udp", "CLOSE", "127.0.0.1")
    assert s.mem.rcvbuf == rcvbuf == 8192  # the kernel doubles SO_RCVBUF
    assert s.rqueue == s.mem.rmem_alloc > 0
    assert queued == capacity
    assert after["RcvbufErrors"] - before["RcvbufErrors"] == UDP_EXTRA
    assert after["InErrors"] - before["InErrors"] == UDP_EXTRA
    assert line.fields[:2] == ["UNCONN", str(s.rqueue)]
    assert (line.skmem["d"], line.skmem["rb"], line.skmem["r"]) == (
        UDP_EXTRA,
        rcvbuf,
        s.mem.rmem_alloc,
    )
    assert empty.rqueue == 0 and empty.mem is not None and empty.mem.drops == UDP_EXTRA


# --- live: owners, errors, bounds ----------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_socket_owners_counts_unreadable_processes() -> None:
    """Without privilege the fd tables of other users' processes cannot be read: the socket
    gets no owner and the refusals are counted, so a report can say "run as root"."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                wanted = inode(held)
                held.close()  # this child shares it: only the parent should hold it now
                found = socket_owners([wanted])
                os.write(write_fd, json.dumps([list(found.owners), found.denied]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as r:
            data = r.read()
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    owners, denied = json.loads(data)
    assert owners == []
    assert denied >= 2  # at least pid 1 and this test's process


def test_socket_owners_skips_missing_inodes() -> None:
    found = socket_owners([0xFFFFFFFF])
    assert isinstance(found, SocketOwners)
    assert found.owners == {}


def test_kernel_refusal_is_a_netlink_error() -> None:
    request = inet_request(socket.AF_INET, 200, 0xFFFFFFFF, 0)  # no such protocol handler

    with pytest.raises(NetlinkError) as caught:
        query([request], lambda data: parse_inet(data, "tcp"), timeout=5)
    assert caught.value.errno == errno.ENOENT


def test_timeout_when_the_kernel_never_answers() -> None:
    # Without NLM_F_REQUEST the kernel treats the message as a reply and sends nothing back.
    request = bytearray(inet_request(socket.AF_INET, socket.IPPROTO_TCP, 0xFFFFFFFF, 0))
    struct.pack_into("=H", request, 6, 0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        query([bytes(request)], lambda data: parse_inet(data, "tcp"), timeout=0.2)
    assert time.monotonic() - started < 2


def test_reply_size_is_bounded() -> None:
    with pytest.raises(ReplyTooLarge):
        tcp_listeners(max_bytes=64)
    assert collect.DEFAULT_MAX_BYTES >= 64 << 20


# --- parser on captured dumps --------------------------------------------------------------


def expected() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((FIXTURES / "expected.json").read_text())
    return data


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def chunks(name: str) -> list[bytes]:
    """The fixture cut as the kernel delivered it, one recv() each."""
    data = fixture(name)
    sizes = expected()[name]["chunks"]
    assert isinstance(sizes, list) and sum(sizes) == len(data)
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    return out


def ss_of(name: str) -> list[SsLine]:
    text = expected()[name]["ss"]
    assert isinstance(text, str)
    return ss_lines(text)


def test_fixture_tcp_listeners_multipart() -> None:
    """41 listeners (40 idle, one with a full queue and 3 dropped SYNs), in several recv()s."""
    parts = chunks("tcp_listen_v4")
    assert len(parts) > 1
    dumps = [parse_inet(part, "tcp") for part in parts]
    assert [d.done for d in dumps] == [False] * (len(parts) - 1) + [True]
    whole = parse_inet(fixture("tcp_listen_v4"), "tcp")
    assert whole.done and whole.sockets == tuple(s for d in dumps for s in d.sockets)
    assert len(whole.sockets) == 41
    assert {(s.family, s.state, s.local_addr) for s in whole.sockets} == {
        ("ipv4", "LISTEN", "127.0.0.1")
    }

    (full,) = [s for s in whole.sockets if s.rqueue]
    assert (full.rqueue, full.wqueue) == (8, 7)
    assert full.mem == SkMemInfo(0, 131072, 0, 16384, 0, 0, 0, 0, 3)
    (line,) = [line for line in ss_of("tcp_listen_v4") if line.fields[1] != "0"]
    assert line.fields[1:4] == ["8", "7", f"127.0.0.1:{full.local_port}"]
    assert line.skmem["d"] == full.mem.drops
    assert sorted(int(ln.fields[3].rsplit(":", 1)[1]) for ln in ss_of("tcp_listen_v4")) == sorted(
        s.local_port for s in whole.sockets
    )


def test_fixture_tcp_listener_ipv6() -> None:
    (s,) = parse_inet(fixture("tcp_listen_v6"), "tcp").sockets
    (line,) = ss_of("tcp_listen_v6")
    assert (s.family, s.local_addr, s.rqueue, s.wqueue) == ("ipv6", "::1", 2, 3)
    assert line.fields[:4] == ["LISTEN", "2", "3", f"[::1]:{s.local_port}"]


def test_fixture_udp_drops() -> None:
    dump = parse_inet(fixture("udp_v4"), "udp")
    assert dump.done
    (s,) = [s for s in dump.sockets if s.mem and s.mem.drops]
    (line,) = [line for line in ss_of("udp_v4") if line.skmem.get("d")]
    assert s.mem is not None and s.mem.drops == UDP_EXTRA == line.skmem["d"]
    assert (s.mem.rcvbuf, s.mem.rmem_alloc) == (line.skmem["rb"], line.skmem["r"])
    assert line.fields[3] == f"127.0.0.1:{s.local_port}"


def test_fixture_unix_listeners() -> None:
    dump = parse_unix(fixture("unix_listen"))
    assert dump.done
    names = {(s.path or "@" + str(s.abstract)): s for s in dump.sockets}
    assert len(names) == 3
    listening = [line for line in ss_of("unix_listen") if line.fields[1] == "LISTEN"]
    assert len(listening) == 3  # ss -xl also lists unconnected sockets (CLOSE state)
    for line in listening:
        s = names[line.fields[4]]
        assert (s.state, s.rqueue, s.wqueue, s.inode) == ("LISTEN", 5, 4, int(line.fields[5]))
        assert s.type == {"u_str": "stream", "u_seq": "seqpacket"}[line.fields[0]]


def messages(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        step = (struct.unpack_from("=I", data, at)[0] + 3) & ~3
        out.append(data[at : at + step])
        at += step
    return out


def test_fixture_every_cut_is_an_error_or_an_unfinished_dump() -> None:
    data = fixture("tcp_listen_v4")
    boundaries, at = set(), 0
    for message in messages(data):
        boundaries.add(at)
        at += len(message)
    for cut in range(1, len(data)):
        if cut in boundaries:
            assert not parse_inet(data[:cut], "tcp").done
        else:
            with pytest.raises(SockDiagParseError):
                parse_inet(data[:cut], "tcp")


def test_fixture_damaged_attribute_is_an_error() -> None:
    data = bytearray(fixture("tcp_listen_v4"))
    first_attribute = NLMSGHDR.size + 72
    struct.pack_into("=H", data, first_attribute, 0xFFF0)
    with pytest.raises(SockDiagParseError, match="attribute"):
        parse_inet(bytes(data), "tcp")
    # without asking for attributes the same message is still readable
    assert len(parse_inet(bytes(data), "tcp", meminfo=False).sockets) == 41


def test_attribute_layout_change_within_a_dump_is_still_read_exactly() -> None:
    """A message of the same length as the first but with its attributes in another order:
    its SKMEMINFO must not be read at the offset the first message had it."""
    parts = messages(fixture("tcp_listen_v4"))
    (message,) = [m for m in parts if parse_inet(m, "tcp").sockets[:1] and m[72:76] != bytes(4)]
    (full,) = parse_inet(message, "tcp").sockets
    base = NLMSGHDR.size + 72
    attributes, pos = [], base
    while pos < len(message):
        step = (struct.unpack_from("=H", message, pos)[0] + 3) & ~3
        attributes.append(message[pos : pos + step])
        pos += step
    reordered = message[:base] + b"".join(reversed(attributes))
    done = struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 1, 0, 0)
    dump = parse_inet(parts[0] + reordered + done, "tcp")
    assert len(parts[0]) == len(reordered) and dump.done
    assert dump.sockets[1] == full and full.mem is not None and full.mem.drops == 3


def test_kernels_before_4_7_report_no_drops() -> None:
    """Their SKMEMINFO array has 8 values (no SK_MEMINFO_DROPS): drops is unknown, not 0."""
    message, done = messages(fixture("tcp_listen_v6"))
    (now,) = parse_inet(message, "tcp").sockets
    assert message[-40:-36] == struct.pack("=HH", 40, 7)  # SKMEMINFO is the last attribute
    old = bytearray(message[:-4])
    struct.pack_into("=I", old, 0, len(old))
    struct.pack_into("=H", old, len(old) - 36, 36)
    (then,) = parse_inet(bytes(old) + done, "tcp").sockets
    assert now.mem is not None and then.mem is not None and then.mem.drops is None
    assert then == dataclasses.replace(now, mem=dataclasses.replace(now.mem, drops=None))


def test_error_and_done_messages() -> None:
    refused = struct.pack("=IHHIIi", 36, NLMSG_ERROR, 0, 1, 0, -errno.EPERM) + bytes(16)
    with pytest.raises(NetlinkError) as caught:
        parse_unix(refused)
    assert caught.value.errno == errno.EPERM
    failed = struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 1, 0, -errno.EINTR)
    with pytest.raises(NetlinkError):
        parse_inet(failed, "udp")
    assert parse_inet(struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 1, 0, 0), "udp").done


def test_parsed_objects_are_ordinary_frozen_dataclasses() -> None:
    """The parser builds objects through a faster path; they must be indistinguishable from
    ones made by the constructor."""
    s = parse_inet(fixture("tcp_listen_v6"), "tcp").sockets[0]
    assert type(s) is InetSocket and type(s.mem) is SkMemInfo
    made = InetSocket(**{f.name: getattr(s, f.name) for f in dataclasses.fields(s)})
    assert s == made and hash(s) == hash(made) and repr(s) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rqueue = 0  # type: ignore[misc]
    assert dataclasses.replace(s, rqueue=0).rqueue == 0


# --- capture -------------------------------------------------------------------------------


def raw_dump(request: bytes, done: Callable[[bytes], bool]) -> list[bytes]:
    """The reply to ``request`` as the kernel delivered it, one recv() per item, until
    ``done`` says a part ended the dump."""
    out: list[bytes] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, collect.NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(5)
        nl.sendto(request, (0, 0))
        while True:
            out.append(nl.recv(1 << 16))
            if done(out[-1]):
                return out


def capture(directory: Path) -> None:
    """Write the fixtures from real sockets, in a new network namespace (needs root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed (needs root)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    skmem = 1 << 6  # INET_DIAG_SKMEMINFO
    listen = 1 << 10
    result: dict[str, dict[str, object]] = {}

    def save(name: str, parts: list[bytes], ss_text: str) -> None:
        (directory / f"{name}.bin").write_bytes(b"".join(parts))
        result[name] = {"chunks": [len(p) for p in parts], "ss": ss_text}

    def tcp(data: bytes) -> bool:
        return parse_inet(data, "tcp").done

    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for _ in range(40):
            stack.enter_context(tcp_listener(queued=0))
        full = stack.enter_context(tcp_listener(backlog=7, queued=8, refused=3))
        port = full.getsockname()[1]
        wait_for(lambda: getattr(by_port(tcp_listeners(), port).mem, "drops", 0) == 3)
        parts = raw_dump(inet_request(socket.AF_INET, socket.IPPROTO_TCP, listen, skmem), tcp)
        save("tcp_listen_v4", parts, ss("-ltnm"))
    with tcp_listener("::1", backlog=3, queued=2):
        parts = raw_dump(inet_request(socket.AF_INET6, socket.IPPROTO_TCP, listen, skmem), tcp)
        save("tcp_listen_v6", parts, ss("-ltn"))
    with flooded_udp() as (rx, _capacity, _before):
        port = rx.getsockname()[1]
        wait_for(lambda: getattr(by_port(udp_sockets(), port).mem, "drops", 0) == UDP_EXTRA)
        parts = raw_dump(
            inet_request(socket.AF_INET, socket.IPPROTO_UDP, 0xFFFFFFFF, skmem),
            lambda data: parse_inet(data, "udp").done,
        )
        save("udp_v4", parts, ss("-uamn"))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stack.enter_context(unix_listener(f"{tmp}/sockdoc.sock"))
        stack.enter_context(unix_listener("\0sockdoc-abstract"))
        stack.enter_context(unix_listener("\0sockdoc-seqpacket", socket.SOCK_SEQPACKET))
        parts = raw_dump(unix_request(listen, 0x01 | 0x10), lambda data: parse_unix(data).done)
        save("unix_listen", parts, ss("-xl"))
    (directory / "expected.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    capture(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES)
