"""Socket evidence from the kernel: NETLINK_SOCK_DIAG dumps (what ``ss`` asks), and which
process holds each socket (``/proc/PID/fd``).

Everything is read in the network namespace of the calling thread. Each query opens its own
netlink socket, asks for IPv4 then IPv6 (UNIX: one dump), and reads the reply with an overall
deadline (:class:`TimeoutError`) and a size bound (:class:`ReplyTooLarge`). The kernel refusing
a request raises :class:`~sockdoc.parsers.sock_diag.NetlinkError`; netlink being unavailable
(a sandbox) raises the OSError of ``socket()``. Every failure is an OSError. Dumps need no
privilege: an unprivileged caller sees every socket of the namespace, but not which process
owns it (:func:`socket_owners` says how many processes it could not look into).
"""

from __future__ import annotations

import gc
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from sockdoc.parsers.sock_diag import (
    INET_DIAG_SKMEMINFO,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSGHDR,
    SOCK_DIAG_BY_FAMILY,
    TCP_LISTEN,
    UDIAG_SHOW_NAME,
    UDIAG_SHOW_RQLEN,
    Dump,
    InetSocket,
    Protocol,
    S,
    UnixSocket,
    parse_inet,
    parse_unix,
)

NETLINK_SOCK_DIAG = 4  # include/uapi/linux/netlink.h (Python's socket module lacks it)
ALL_STATES = 0xFFFFFFFF
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 256 << 20
"""Bound on one query's reply: about two million TCP sockets without extensions."""

# The kernel fills one dump message of at most 32 KiB per recv() (netlink_dump(),
# nlk->max_recvmsg_len); twice that leaves room and MSG_TRUNC still reports anything larger.
_RECV_SIZE = 64 << 10

# struct inet_diag_req_v2 (inet_diag.h): family, protocol, ext, pad, u32 states, then an
# inet_diag_sockid left zero (no address filter)
_INET_REQ = struct.Struct("=BBBxI48x")
# struct unix_diag_req (unix_diag.h): family, protocol, u16 pad, u32 states, ino, show,
# cookie[2] (ino 0 and cookie ~0 = no single-socket lookup)
_UNIX_REQ = struct.Struct("=BBxxIIIII")
_NO_COOKIE = 0xFFFFFFFF


class ReplyTooLarge(OSError):
    """The kernel's reply exceeded the size bound the caller allowed."""


def _request(payload: bytes, seq: int) -> bytes:
    header = NLMSGHDR.pack(
        NLMSGHDR.size + len(payload), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0
    )
    return header + payload


def inet_request(family: int, protocol: int, states: int, ext: int, seq: int = 1) -> bytes:
    """The netlink message asking for a dump of ``family``/``protocol`` sockets in ``states``
    (a bit mask of ``1 << state``), with the extensions ``ext`` (``1 << (INET_DIAG_x - 1)``)."""
    return _request(_INET_REQ.pack(family, protocol, ext, states), seq)


def unix_request(states: int, show: int, seq: int = 1) -> bytes:
    """The netlink message asking for a dump of UNIX sockets in ``states`` with the
    attributes ``show`` (``UDIAG_SHOW_*`` bits)."""
    return _request(_UNIX_REQ.pack(socket.AF_UNIX, 0, states, 0, show, _NO_COOKIE, _NO_COOKIE), seq)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a dump is parsed.

    A dump allocates one tracked object per socket and creates no reference cycles; left on,
    the collector traverses the growing result again and again (17% of a 200,000-socket dump
    here, growing faster than the dump). Re-enabled only if it was enabled before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def query(
    requests: Iterable[bytes],
    parse: Callable[[bytes], Dump[S]],
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record: list[bytes] | None = None,
) -> tuple[S, ...]:
    """Send each dump request in turn on one netlink socket and return the sockets ``parse``
    finds in the replies. ``timeout`` (seconds) and ``max_bytes`` bound the whole exchange.
    With ``record``, each raw reply datagram is appended to it (for bundles)."""
    deadline = time.monotonic() + timeout
    received = 0
    found: list[S] = []
    buf = bytearray(_RECV_SIZE)
    view = memoryview(buf)
    with (
        _gc_paused(),
        socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock,
    ):
        for request in requests:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendto(request, (0, 0))
            done = False
            while not done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"sock_diag reply not complete after {timeout} s")
                sock.settimeout(remaining)
                try:
                    n = sock.recv_into(buf, _RECV_SIZE, socket.MSG_TRUNC)
                except TimeoutError:
                    raise TimeoutError(f"sock_diag reply not complete after {timeout} s") from None
                if n > _RECV_SIZE:
                    raise ReplyTooLarge(f"a netlink message of {n} bytes (buffer {_RECV_SIZE})")
                received += n
                if received > max_bytes:
                    raise ReplyTooLarge(f"sock_diag reply over {max_bytes} bytes")
                chunk = bytes(view[:n])
                if record is not None:
                    record.append(chunk)
                dump = parse(chunk)
                found.extend(dump.sockets)
                done = dump.done
    return tuple(found)


def _inet(
    protocol: int,
    states: int,
    ext: int,
    timeout: float,
    max_bytes: int,
    record: list[bytes] | None = None,
) -> tuple[InetSocket, ...]:
    name: Protocol = "tcp" if protocol == socket.IPPROTO_TCP else "udp"
    meminfo = ext != 0

    def parse(data: bytes) -> Dump[InetSocket]:
        return parse_inet(data, name, meminfo=meminfo)

    requests = (
        inet_request(family, protocol, states, ext, seq)
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1)
    )
    return query(requests, parse, timeout, max_bytes, record)


_SKMEMINFO = 1 << (INET_DIAG_SKMEMINFO - 1)


def tcp_listeners(
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record: list[bytes] | None = None,
) -> tuple[InetSocket, ...]:
    """TCP sockets in LISTEN state (IPv4 and IPv6), with accept queue length (``rqueue``),
    backlog (``wqueue``) and memory info (``mem.drops``: connections dropped at this listener).

    The kernel walks only its listening hash for this, so the cost does not grow with the
    number of established connections."""
    return _inet(socket.IPPROTO_TCP, 1 << TCP_LISTEN, _SKMEMINFO, timeout, max_bytes, record)


def udp_sockets(
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record: list[bytes] | None = None,
) -> tuple[InetSocket, ...]:
    """All UDP sockets (IPv4 and IPv6), with memory info (``mem.rcvbuf``, ``mem.drops``)."""
    return _inet(socket.IPPROTO_UDP, ALL_STATES, _SKMEMINFO, timeout, max_bytes, record)


def tcp_all(
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record: list[bytes] | None = None,
) -> tuple[InetSocket, ...]:
    """Every TCP socket in every state (IPv4 and IPv6), without memory info."""
    return _inet(socket.IPPROTO_TCP, ALL_STATES, 0, timeout, max_bytes, record)


def unix_listeners(
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    record: list[bytes] | None = None,
) -> tuple[UnixSocket, ...]:
    """UNIX stream and seqpacket sockets in LISTEN state, with their name, pending connections
    (``rqueue``) and backlog (``wqueue``)."""
    request = unix_request(1 << TCP_LISTEN, UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN)
    return query((request,), parse_unix, timeout, max_bytes, record)


class Owner(NamedTuple):
    """A process holding a socket open: its pid and command name (``/proc/PID/comm``)."""

    pid: int
    comm: str


@dataclass(frozen=True)
class SocketOwners:
    """Which process holds each socket inode, from the ``socket:[INODE]`` links in
    ``/proc/PID/fd``. A socket shared by several processes (a pre-forked server's listener) is
    credited to the lowest pid, usually the parent. ``denied`` counts processes whose fd table
    could not be read (not root: their sockets have no owner here); ``vanished`` those that
    exited during the scan."""

    owners: dict[int, Owner]
    denied: int
    vanished: int


def _comm(proc: str, pid: int) -> str:
    try:
        with open(f"{proc}/{pid}/comm", "rb") as f:
            return f.read(64).rstrip(b"\n").decode("utf-8", "surrogateescape")
    except OSError:
        return ""


def socket_owners(inodes: Iterable[int], proc: str = "/proc") -> SocketOwners:
    """Find the processes holding the sockets ``inodes`` by scanning ``PROC/*/fd``.

    Stops as soon as every inode has an owner (the counts then cover the processes scanned so
    far). ``proc`` can name a copied procfs tree."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, Owner] = {}
    denied = vanished = 0
    pids = sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    for pid in pids:
        if len(owners) == len(wanted):
            break
        try:
            fd_dir = os.open(f"{proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except PermissionError:
            denied += 1
            continue
        except OSError:  # exited since listdir (ENOENT, ESRCH)
            vanished += 1
            continue
        comm: str | None = None
        try:
            for fd in os.listdir(fd_dir):
                try:
                    link = os.readlink(fd, dir_fd=fd_dir)
                except OSError:  # closed since listdir, or the process exited
                    continue
                inode = wanted.get(link)
                if inode is not None and inode not in owners:
                    if comm is None:
                        comm = _comm(proc, pid)
                    owners[inode] = Owner(pid, comm)
        except PermissionError:
            denied += 1
        except OSError:
            vanished += 1
        finally:
            os.close(fd_dir)
    return SocketOwners(owners, denied, vanished)
