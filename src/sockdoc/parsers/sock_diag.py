"""Replies of the kernel's NETLINK_SOCK_DIAG interface (what ``ss`` reads), decoded.

Reads the bytes of one or more netlink messages, as received from a ``SOCK_DIAG_BY_FAMILY``
dump request (one ``recv()`` or several concatenated): ``inet_diag_msg`` records for TCP and
UDP sockets, ``unix_diag_msg`` records for UNIX sockets, ``NLMSG_DONE`` (end of the dump) and
``NLMSG_ERROR`` (the kernel refused the request). Layouts are those of the kernel's uapi headers
``include/uapi/linux/netlink.h``, ``sock_diag.h``, ``inet_diag.h`` and ``unix_diag.h``; states
are ``include/net/tcp_states.h``.

What the queue numbers mean depends on the socket (``tcp_diag_get_info()``,
``udp_diag_get_info()``, ``sk_diag_show_rqlen()`` in the kernel):

- TCP LISTEN: ``rqueue`` is the accept queue's current length (connections the kernel has
  completed and the application has not yet ``accept()``-ed), ``wqueue`` its limit (the
  ``listen()`` backlog after the ``net.core.somaxconn`` cap). The kernel drops a new connection
  only when the queue holds *more* than the backlog, so a listener is full at ``backlog + 1``.
- other TCP states: bytes not yet read by the application / not yet acknowledged by the peer.
- UDP: bytes of receive / send buffer memory in use.
- UNIX LISTEN: pending connections (``rqueue``) and the backlog (``wqueue``); full, again, at
  ``backlog + 1``. Other UNIX sockets: ``rqueue`` is the bytes waiting to be read (stream,
  seqpacket) or the size of the next datagram only (dgram); ``wqueue`` the send buffer memory
  in use (bytes sent and not yet read by the peer, with the kernel's overhead).
"""

from __future__ import annotations

import functools
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields, make_dataclass
from typing import Generic, Literal, TypeVar

# include/uapi/linux/netlink.h
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLA_TYPE_MASK = 0x3FFF  # ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
# include/uapi/linux/sock_diag.h
SOCK_DIAG_BY_FAMILY = 20
# include/uapi/linux/inet_diag.h: attribute types of inet_diag_msg
INET_DIAG_SKMEMINFO = 7
# include/uapi/linux/unix_diag.h: udiag_show bits and attribute types of unix_diag_msg
UDIAG_SHOW_NAME = 0x01
UDIAG_SHOW_PEER = 0x04
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_NAME = 0
UNIX_DIAG_PEER = 2
UNIX_DIAG_RQLEN = 4
# include/net/tcp_states.h (UNIX and UDP sockets reuse these numbers)
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_LISTEN = 10

# struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
NLMSGHDR = struct.Struct("=IHHII")
# struct nlattr { u16 nla_len; u16 nla_type; }
_NLATTR = struct.Struct("=HH")
# struct nlmsgerr { int error; struct nlmsghdr msg; }, and NLMSG_DONE's int
_INT = struct.Struct("=i")
# struct inet_diag_msg: family, state, timer, retrans; inet_diag_sockid { __be16 sport, dport;
# __be32 src[4], dst[4]; u32 if; u32 cookie[2] }; u32 expires, rqueue, wqueue, uid, inode
_INET_MSG = struct.Struct("=BBxxHH16s16s16xIIII")
# struct unix_diag_msg: family, type, state, pad; u32 ino; u32 cookie[2]
_UNIX_MSG = struct.Struct("=xBBxI8x")
# struct unix_diag_rqlen { u32 udiag_rqueue; u32 udiag_wqueue; }
_U32X2 = struct.Struct("=II")
_U32 = struct.Struct("=I")
_SK_MEMINFO_VARS = 9  # SK_MEMINFO_* of sock_diag.h; kernels before 4.7 sent 8 (no DROPS)
_SKMEM9 = struct.Struct("=9I")
_SKMEM8 = struct.Struct("=8I")

STATES: tuple[str, ...] = (
    "UNKNOWN",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
    "BOUND_INACTIVE",
)
"""Kernel socket state names by number (``include/net/tcp_states.h``); ``CLOSE`` is also an
unconnected UDP or UNIX socket, ``ESTABLISHED`` a connected one."""

Family = Literal["ipv4", "ipv6"]
Protocol = Literal["tcp", "udp"]
UnixType = Literal["stream", "dgram", "seqpacket"]
_UNIX_TYPES: dict[int, UnixType] = {
    socket.SOCK_STREAM: "stream",
    socket.SOCK_DGRAM: "dgram",
    socket.SOCK_SEQPACKET: "seqpacket",
}


class SockDiagParseError(ValueError):
    """The bytes are not a well-formed sock_diag reply (truncated or inconsistent lengths)."""


class NetlinkError(OSError):
    """The kernel answered the request with an error (``NLMSG_ERROR``, or a failed dump)."""


def state_name(state: int) -> str:
    """Name of a kernel socket state number.

    >>> state_name(10), state_name(99)
    ('LISTEN', 'STATE99')
    """
    return STATES[state] if 0 <= state < len(STATES) else f"STATE{state}"


@dataclass(frozen=True, slots=True)
class SkMemInfo:
    """A socket's memory accounting (attribute ``INET_DIAG_SKMEMINFO``, the ``SK_MEMINFO_*``
    array of ``sock_diag.h``; ``ss -m`` prints it as ``skmem:(r,rb,t,tb,f,w,o,bl,d)``).

    Bytes, except ``drops``: packets the kernel discarded for this socket because its receive
    buffer (UDP) or accept queue (TCP listener) was full. ``drops`` is None on kernels before
    4.7, which did not report it.
    """

    rmem_alloc: int
    rcvbuf: int
    wmem_alloc: int
    sndbuf: int
    fwd_alloc: int
    wmem_queued: int
    optmem: int
    backlog: int
    drops: int | None


@dataclass(frozen=True, slots=True)
class InetSocket:
    """One TCP or UDP socket from an ``inet_diag_msg``.

    Addresses are text (``127.0.0.1``, ``::1``, ``::ffff:192.0.2.1``); an unbound or unconnected
    side is ``0.0.0.0`` / ``::`` with port 0. ``inode`` is 0 for TIME_WAIT and NEW_SYN_RECV
    entries, which are not full sockets. ``mem`` is present when the request asked for
    ``INET_DIAG_SKMEMINFO``. See the module docstring for what ``rqueue``/``wqueue`` count.
    """

    family: Family
    protocol: Protocol
    state: str
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    inode: int
    uid: int
    rqueue: int
    wqueue: int
    mem: SkMemInfo | None


@dataclass(frozen=True, slots=True)
class UnixSocket:
    """One UNIX socket from a ``unix_diag_msg``.

    ``path`` is the filesystem path of a socket bound to one, ``abstract`` the name of a socket
    in the abstract namespace (without its leading NUL byte; ``ss`` shows it as ``@name``);
    both are None for an unbound socket or when ``UDIAG_SHOW_NAME`` was not requested. Bytes
    that are not UTF-8 are kept as surrogate escapes. ``rqueue``/``wqueue`` come from
    ``UNIX_DIAG_RQLEN`` (None if not requested); ``peer`` is the inode of the connected peer
    (``UNIX_DIAG_PEER``, None for listeners, unconnected sockets, or when not requested).
    """

    type: UnixType
    state: str
    inode: int
    path: str | None
    abstract: str | None
    rqueue: int | None
    wqueue: int | None
    peer: int | None


S = TypeVar("S", InetSocket, UnixSocket)


@dataclass(frozen=True, slots=True)
class Dump(Generic[S]):
    """The sockets found in a run of netlink messages, and whether ``NLMSG_DONE`` ended it."""

    sockets: tuple[S, ...]
    done: bool


def _control(data: bytes, off: int, length: int, mtype: int) -> bool:
    """Handle a netlink control message; True when it ends the dump."""
    if mtype == NLMSG_DONE:
        # netlink_dump_done(): a dump that failed half-way ends with DONE carrying -errno
        if length >= NLMSGHDR.size + _INT.size:
            (err,) = _INT.unpack_from(data, off + NLMSGHDR.size)
            if err < 0:
                raise NetlinkError(-err, f"sock_diag dump failed: {os.strerror(-err)}")
        return True
    if mtype == NLMSG_ERROR:
        if length < NLMSGHDR.size + _INT.size:
            raise SockDiagParseError(f"NLMSG_ERROR of {length} bytes at offset {off}")
        (err,) = _INT.unpack_from(data, off + NLMSGHDR.size)
        if err == 0:  # an acknowledgement: nothing follows it
            return True
        raise NetlinkError(-err, f"sock_diag request refused: {os.strerror(-err)}")
    if mtype == NLMSG_OVERRUN:
        raise NetlinkError(0, "netlink overrun: the kernel lost part of the reply")
    return False  # NLMSG_NOOP, or a message type this module does not know: skip it


def _header(data: bytes, off: int, minimum: int) -> tuple[int, int]:
    """Length and type of the message at ``off``, checked; ``minimum`` is the size a
    ``SOCK_DIAG_BY_FAMILY`` message must have."""
    end = len(data)
    if end - off < NLMSGHDR.size:
        raise SockDiagParseError(f"{end - off} trailing bytes at offset {off}")
    length, mtype, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, off)
    if length < NLMSGHDR.size or off + length > end:
        raise SockDiagParseError(f"netlink message of length {length} at offset {off}")
    if mtype == SOCK_DIAG_BY_FAMILY and length < minimum:
        raise SockDiagParseError(f"sock_diag message of {length} bytes at offset {off}")
    return length, mtype


def _attrs(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """The attributes (type -> payload) between ``start`` and ``end``."""
    found: dict[int, bytes] = {}
    while start + _NLATTR.size <= end:
        alen, atype = _NLATTR.unpack_from(data, start)
        if alen < _NLATTR.size or start + alen > end:
            raise SockDiagParseError(f"attribute of length {alen} at offset {start}")
        found[atype & NLA_TYPE_MASK] = data[start + _NLATTR.size : start + alen]
        start += (alen + 3) & ~3
    return found


def _meminfo(payload: bytes) -> SkMemInfo | None:
    n = len(payload) // 4
    if n >= _SK_MEMINFO_VARS:
        return SkMemInfo(*_SKMEM9.unpack_from(payload))
    if n == _SK_MEMINFO_VARS - 1:
        return SkMemInfo(*(*_SKMEM8.unpack_from(payload), None))
    return None


def _find_meminfo(data: bytes, start: int, end: int) -> SkMemInfo | None:
    payload = _attrs(data, start, end).get(INET_DIAG_SKMEMINFO)
    return None if payload is None else _meminfo(payload)


def _builder(cls: type) -> type:
    """A mutable twin of the frozen slots dataclass ``cls``: same fields, same slots.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which
    costs about 1 us per object here, most of the parse time of a large dump. Building the twin
    and then assigning ``__class__`` (allowed between classes of identical slot layout) gives
    the same frozen object four times faster.
    """
    return make_dataclass(
        f"_{cls.__name__}Builder",
        [(f.name, f.type) for f in fields(cls)],
        slots=True,
        repr=False,
        eq=False,
    )


_InetBuilder = _builder(InetSocket)
_MemBuilder = _builder(SkMemInfo)


def _new_meminfo(payload: bytes) -> SkMemInfo:
    mem = _MemBuilder(*_SKMEM9.unpack_from(payload))
    mem.__class__ = SkMemInfo
    return mem  # type: ignore[no-any-return]


# nlmsghdr (len, type; flags, seq, pid skipped) and inet_diag_msg in one read
_INET_HEAD = struct.Struct("=IH10x" + _INET_MSG.format[1:])
_INET_BASE = _INET_HEAD.size
_STATE_OF_BYTE = tuple(state_name(i) for i in range(256))

Layout = tuple[Callable[[bytes, int], tuple[bytes, ...]], tuple[bytes, ...] | None, int]


def _layout(data: bytes, off: int, length: int) -> Layout:
    """Where the attributes of the message at ``off`` sit: a function reading all their
    headers at once, the headers it must read back, and the offset of the SKMEMINFO values
    from the message start.

    Messages of one dump carry the same attributes in the same order. Reading every header of a
    message in one call and finding those of the first message of that length proves that the
    SKMEMINFO values are where they were there; any difference falls back to reading the
    attributes one by one, which costs more than building the socket object.
    """
    pos = off + _INET_BASE
    end = off + length
    fmt = ["="]
    headers: list[bytes] = []
    mem_at = -1
    while pos + _NLATTR.size <= end:
        alen, atype = _NLATTR.unpack_from(data, pos)
        if alen < _NLATTR.size or pos + alen > end:
            raise SockDiagParseError(f"attribute of length {alen} at offset {pos}")
        if atype & NLA_TYPE_MASK == INET_DIAG_SKMEMINFO and alen == _NLATTR.size + _SKMEM9.size:
            mem_at = pos + _NLATTR.size - off
        step = min((alen + 3) & ~3, end - pos)
        fmt.append(f"4s{step - _NLATTR.size}x")
        headers.append(data[pos : pos + _NLATTR.size])
        pos += step
    # without a 9-value SKMEMINFO nothing may match (None): always the slow path
    return (
        struct.Struct("".join(fmt)).unpack_from,
        tuple(headers) if mem_at >= 0 else None,
        mem_at,
    )


def parse_inet(data: bytes, protocol: Protocol, *, meminfo: bool = True) -> Dump[InetSocket]:
    """Decode the ``inet_diag_msg`` records of a TCP or UDP dump.

    ``protocol`` is the one the request named (the record does not say). With
    ``meminfo=False`` attributes are not read (faster for large dumps that did not ask for
    them). Raises :class:`NetlinkError` for an error reply and :class:`SockDiagParseError` for
    malformed bytes.

    Sample content (captured on this machine: a TCP listener on 127.0.0.1:34997 with backlog 7
    and 5 connections waiting for accept(), and the NLMSG_DONE that ended the dump):

    >>> reply = bytes.fromhex(
    ...     "a4000000140002000100000007320000020a000088b500007f0000010000000000000000"
    ...     "000000000000000000000000000000000000000000000000c9380b000000000000000000"
    ...     "050000000700000000000000d4cc1f00050008000000000008000f00000000000c001500"
    ...     "010000000000000006001600520000002800070000000000000002000000000000400000"
    ...     "0000000000000000000000000000000000000000"
    ...     "1400000003000200010000000732000000000000"
    ... )
    >>> dump = parse_inet(reply, "tcp")
    >>> dump.done, len(dump.sockets)
    (True, 1)
    >>> s = dump.sockets[0]
    >>> s.state, s.local_addr, s.local_port, s.rqueue, s.wqueue, s.inode
    ('LISTEN', '127.0.0.1', 34997, 5, 7, 2084052)
    >>> s.mem.rcvbuf, s.mem.sndbuf, s.mem.drops
    (131072, 16384, 0)
    >>> parse_inet(reply[:100], "tcp")
    Traceback (most recent call last):
    ...
    sockdoc.parsers.sock_diag.SockDiagParseError: netlink message of length 164 at offset 0
    """
    sockets: list[InetSocket] = []
    # Few distinct addresses in one reply (a server's own, its clients'): decode each once.
    # The kernel zeroes the unused 12 bytes of an IPv4 address.
    names4: dict[bytes, str] = {}
    names6: dict[bytes, str] = {}
    layouts: dict[int, Layout] = {}
    # Idle sockets have identical memory figures; equal frozen values can share one object.
    mems: dict[bytes, SkMemInfo] = {}
    done = False
    off = 0
    end = len(data)
    while off < end and not done:
        if end - off >= _INET_BASE:
            length, mtype, fam, st, sport, dport, src, dst, rq, wq, uid, ino = (
                _INET_HEAD.unpack_from(data, off)
            )
        if (
            end - off < _INET_BASE
            or mtype != SOCK_DIAG_BY_FAMILY
            or not _INET_BASE <= length <= end - off
        ):
            length, mtype = _header(data, off, _INET_BASE)
            done = _control(data, off, length, mtype)
            off += (length + 3) & ~3
            continue
        if fam == socket.AF_INET:
            family: Family = "ipv4"
            names = names4
            alen = 4
        elif fam == socket.AF_INET6:
            family = "ipv6"
            names = names6
            alen = 16
        else:
            raise SockDiagParseError(f"address family {fam} at offset {off}")
        laddr = names.get(src) or names.setdefault(src, socket.inet_ntop(fam, src[:alen]))
        raddr = names.get(dst) or names.setdefault(dst, socket.inet_ntop(fam, dst[:alen]))
        mem = None
        if meminfo and length > _INET_BASE:
            layout = layouts.get(length) or layouts.setdefault(length, _layout(data, off, length))
            read_headers, expected, at = layout
            if read_headers(data, off + _INET_BASE) == expected:
                raw = data[off + at : off + at + _SKMEM9.size]
                mem = mems.get(raw) or mems.setdefault(raw, _new_meminfo(raw))
            else:
                mem = _find_meminfo(data, off + _INET_BASE, off + length)
        sock = _InetBuilder(
            family,
            protocol,
            _STATE_OF_BYTE[st],
            laddr,
            socket.ntohs(sport),
            raddr,
            socket.ntohs(dport),
            ino,
            uid,
            rq,
            wq,
            mem,
        )
        sock.__class__ = InetSocket
        sockets.append(sock)
        off += (length + 3) & ~3
    return Dump(tuple(sockets), done)


def parse_unix(data: bytes) -> Dump[UnixSocket]:
    """Decode the ``unix_diag_msg`` records of a UNIX socket dump.

    Reads the attributes ``UNIX_DIAG_NAME``, ``UNIX_DIAG_RQLEN`` and ``UNIX_DIAG_PEER`` when the
    request asked for them (``UDIAG_SHOW_NAME``, ``UDIAG_SHOW_RQLEN``, ``UDIAG_SHOW_PEER``).
    Raises :class:`NetlinkError` for an error reply and :class:`SockDiagParseError` for
    malformed bytes.

    Sample content (captured on this machine: a seqpacket listener bound to the abstract name
    ``sockdoc-sample`` with listen(4) and 5 connections pending; NAME and RQLEN requested):

    >>> reply = bytes.fromhex(
    ...     "4800000014000200010000000732000001050a00dbcc1f00ca380b000000000013000000"
    ...     "00736f636b646f632d73616d706c65000c00040005000000040000000500060000000000"
    ...     "1400000003000200010000000732000000000000"
    ... )
    >>> parse_unix(reply).sockets
    (UnixSocket(type='seqpacket', state='LISTEN', inode=2084059, path=None, \
abstract='sockdoc-sample', rqueue=5, wqueue=4, peer=None),)
    """
    sockets: list[UnixSocket] = []
    base = NLMSGHDR.size + _UNIX_MSG.size
    done = False
    off = 0
    end = len(data)
    while off < end and not done:
        length, mtype = _header(data, off, base)
        if mtype == SOCK_DIAG_BY_FAMILY:
            utype, st, ino = _UNIX_MSG.unpack_from(data, off + NLMSGHDR.size)
            attrs = _attrs(data, off + base, off + length)
            path = abstract = None
            name = attrs.get(UNIX_DIAG_NAME)
            if name:
                if name[0] == 0:
                    abstract = name[1:].decode("utf-8", "surrogateescape")
                else:
                    path = name.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            rq = wq = peer = None
            rqlen = attrs.get(UNIX_DIAG_RQLEN)
            if rqlen is not None and len(rqlen) >= _U32X2.size:
                rq, wq = _U32X2.unpack_from(rqlen)
            peer_raw = attrs.get(UNIX_DIAG_PEER)
            if peer_raw is not None and len(peer_raw) >= _U32.size:
                (peer,) = _U32.unpack_from(peer_raw)
            unix_type = _UNIX_TYPES.get(utype)
            if unix_type is None:
                raise SockDiagParseError(f"UNIX socket type {utype} at offset {off}")
            sockets.append(
                UnixSocket(
                    unix_type,
                    state_name(st),
                    ino,
                    path,
                    abstract,
                    rq,
                    wq,
                    peer,
                )
            )
        else:
            done = _control(data, off, length, mtype)
        off += (length + 3) & ~3
    return Dump(tuple(sockets), done)


# A recorded dump (bundles) is the reply datagrams as the kernel sent them, each preceded by
# its length as a little-endian u32, so the same parsers read live and recorded replies.
_FRAME = struct.Struct("<I")


def frame(chunks: list[bytes]) -> bytes:
    """Join reply datagrams into one recorded dump.

    >>> unframe(frame([b"ab", b"", b"cde"]))
    [b'ab', b'', b'cde']
    """
    return b"".join(_FRAME.pack(len(c)) + c for c in chunks)


def unframe(blob: bytes) -> list[bytes]:
    """Split a recorded dump into its datagrams; a truncated blob is a SockDiagParseError.

    >>> unframe(b"\\x05\\x00\\x00\\x00ab")
    Traceback (most recent call last):
    ...
    sockdoc.parsers.sock_diag.SockDiagParseError: recorded dump cut short at offset 0
    """
    chunks: list[bytes] = []
    off = 0
    while off < len(blob):
        if len(blob) - off < _FRAME.size:
            raise SockDiagParseError(f"recorded dump cut short at offset {off}")
        (n,) = _FRAME.unpack_from(blob, off)
        if off + _FRAME.size + n > len(blob):
            raise SockDiagParseError(f"recorded dump cut short at offset {off}")
        chunks.append(blob[off + _FRAME.size : off + _FRAME.size + n])
        off += _FRAME.size + n
    return chunks


def parse_recorded(blob: bytes, parse: Callable[[bytes], Dump[S]]) -> tuple[S, ...]:
    """All sockets of a recorded dump (several requests' replies, each ending in DONE)."""
    found: list[S] = []
    for chunk in unframe(blob):
        found.extend(parse(chunk).sockets)
    return tuple(found)


@functools.lru_cache(maxsize=16)
def recorded_inet(blob: bytes, protocol: Protocol) -> tuple[InetSocket, ...]:
    """:func:`parse_recorded` of an inet dump, remembered for the last few dumps: ``watch``
    and the exporter read each sample twice (as a step's second sample, then as the next
    step's first), and a dump of 1,000 listeners takes over a millisecond to parse.

    >>> recorded_inet(b"", "tcp")
    ()
    """
    return parse_recorded(blob, lambda x: parse_inet(x, protocol))


@functools.lru_cache(maxsize=8)
def recorded_unix(blob: bytes) -> tuple[UnixSocket, ...]:
    """:func:`parse_recorded` of a UNIX dump, remembered like :func:`recorded_inet`."""
    return parse_recorded(blob, parse_unix)


def inet_name(s: InetSocket) -> str:
    """``addr:port`` of a socket's local end, IPv6 in brackets (as ``ss`` prints it)."""
    addr = f"[{s.local_addr}]" if ":" in s.local_addr else s.local_addr
    return f"{addr}:{s.local_port}"


def unix_name(s: UnixSocket) -> str:
    """A UNIX socket's path, ``@name`` for an abstract one, else ``unnamed:INODE``."""
    if s.path:
        return s.path
    if s.abstract is not None:
        return "@" + s.abstract
    return f"unnamed:{s.inode}"
