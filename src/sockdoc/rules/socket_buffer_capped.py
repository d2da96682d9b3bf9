"""A daemon asks for a larger socket buffer than the kernel allows, and silently gets less.

``setsockopt(SO_SNDBUF / SO_RCVBUF)`` caps the request at ``net.core.wmem_max`` /
``rmem_max`` without an error, then doubles it for bookkeeping overhead (socket(7),
``sk_setsockopt()`` in net/core/sock.c): a daemon configured for a 16 MiB send buffer under a
4 MiB ceiling runs with 8 MiB and never says so. BIND's ``udp-send-buffer`` /
``udp-receive-buffer`` are such requests (measured here on 9.18.49: ``udp-send-buffer
16777216`` with ``wmem_max`` 4194304 gave sockets with ``SO_SNDBUF`` 8388608, twice the
ceiling). The ISC note tells operators to raise ``wmem_max`` for exactly this reason. A
socket whose buffer is exactly twice the ceiling was capped too (whoever asked): when its
sends or receives overflow, the ceiling is what limits it.

Proof: a configured ``udp-send-buffer`` above ``wmem_max`` (or ``udp-receive-buffer`` above
``rmem_max``) in ``named-checkconf -p``; a UDP socket (sock_diag) whose ``SO_SNDBUF`` is twice
``wmem_max`` while ``Udp.SndbufErrors`` or named's send errors rise, or whose ``SO_RCVBUF`` is
twice ``rmem_max`` while it drops datagrams. Advice (info) while nothing overflows. Fix: the
ceiling raised to what the daemon asks for (or twice today's, for a socket whose request is
unknown), then a restart of the daemon: open sockets keep the size they got.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules._common import MAX_BUFFER, owner_text, socket_subject
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
)
from sockdoc.rules.bind_send_errors import bind_config, named_sockets, send_errors

ID = "socket-buffer-capped"
KEYS = ("proc/sys/net/core/wmem_max", "proc/sys/net/core/rmem_max")
CONF = "named-checkconf -p"


@dataclass(frozen=True)
class _Side:
    what: str  # "send" / "receive"
    option: str  # BIND's option
    sysctl: str
    ceiling: int
    asked: int | None  # BIND's configured value
    failing: int  # overflows in the interval on this side


def _sides(f: HostFacts) -> list[_Side]:
    conf = bind_config(f)
    bind = send_errors(f)
    send_failing = f.delta("Udp.SndbufErrors", "Udp6.SndbufErrors") + (bind[0] if bind else 0)
    recv_failing = f.delta("Udp.RcvbufErrors", "Udp6.RcvbufErrors")
    out = []
    if f.sysctls.wmem_max is not None:
        out.append(
            _Side(
                "send",
                "udp-send-buffer",
                "net.core.wmem_max",
                f.sysctls.wmem_max,
                conf.udp_send_buffer if conf is not None else None,
                send_failing,
            )
        )
    if f.sysctls.rmem_max is not None:
        out.append(
            _Side(
                "receive",
                "udp-receive-buffer",
                "net.core.rmem_max",
                f.sysctls.rmem_max,
                conf.udp_receive_buffer if conf is not None else None,
                recv_failing,
            )
        )
    return out


def _buf(u: UdpSocket, side: _Side) -> int:
    return u.sndbuf if side.what == "send" else u.rcvbuf


def check(f: HostFacts) -> Iterator[Outcome]:
    sides = _sides(f)
    if not sides:
        yield NotChecked(ID, describe_missing(f, *KEYS) or "wmem_max / rmem_max not read", KEYS)
        return
    found = False
    named = named_sockets(f)
    for side in sides:
        if side.asked is not None and side.asked > side.ceiling:
            found = True
            yield _config_finding(f, side, named)
            continue
        capped = [
            u
            for u in f.udp
            if _buf(u, side) == 2 * side.ceiling
            and (side.failing if side.what == "send" else (u.drops or 0))
            and u not in named
        ]
        for u in capped:
            found = True
            yield _socket_finding(f, side, u)
    if not found:
        asked = [f"{s.option} {s.asked:,} <= {s.sysctl} {s.ceiling:,}" for s in sides if s.asked]
        yield Ok(
            ID,
            "socket buffers: "
            + ("; ".join(asked) + "; " if asked else "")
            + f"{len(f.udp)} UDP sockets, none at the kernel's ceiling while overflowing",
        )


def _config_finding(f: HostFacts, side: _Side, named: list[UdpSocket]) -> Finding:
    asked = side.asked or 0
    got = 2 * side.ceiling
    ev = [
        Evidence(side.option, asked, "bytes", CONF),
        Evidence(side.sysctl, side.ceiling, "bytes", "/proc/sys"),
        Evidence("buffer named gets (twice the ceiling)", got, "bytes", "socket(7)"),
        Evidence("buffer it would get uncapped", 2 * asked, "bytes", "socket(7)"),
    ]
    if named:
        ev.append(Evidence("named's UDP sockets", len(named), "", "sock_diag"))
        ev.append(
            Evidence(
                f"their largest {'SO_SNDBUF' if side.what == 'send' else 'SO_RCVBUF'}",
                max(_buf(u, side) for u in named),
                "bytes",
                "sock_diag",
            )
        )
    ev.append(Evidence(f"{side.what} overflows in the interval", side.failing, "", "counters"))
    pid = named[0].owner.pid if named and named[0].owner is not None else None
    return Finding(
        rule=ID,
        title=f"named's {side.option} {asked:,} is capped by {side.sysctl} {side.ceiling:,}",
        cause=Cause.BUFFER_SIZE_CAPPED,
        severity=Severity.WARNING if side.failing else Severity.INFO,
        confidence=Confidence.HIGH,
        subject=Subject("daemon", "named", pid, "named"),
        explanation=(
            f"named is configured with {side.option} {asked:,}, but the kernel caps a "
            f"socket's request at {side.sysctl} ({side.ceiling:,}) without telling it: its "
            f"UDP sockets get {got:,} bytes instead of {2 * asked:,}"
            + (
                f", and {side.failing:,} {side.what} overflows happened in {f.seconds:.1f} s."
                if side.failing
                else "."
            )
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Raise {side.sysctl} to {asked:,}, the size named asks for, then restart named "
            "(its sockets keep the size they got)"
            + ("; in a container, set it on the host" if f.netns else "")
            + ".",
            sysctls=((side.sysctl, asked),),
        ),
    )


def _socket_finding(f: HostFacts, side: _Side, u: UdpSocket) -> Finding:
    new = min(2 * side.ceiling, MAX_BUFFER)
    overflow = side.failing if side.what == "send" else (u.drops or 0)
    ev = [
        Evidence(
            "SO_SNDBUF" if side.what == "send" else "SO_RCVBUF", _buf(u, side), "bytes", "sock_diag"
        ),
        Evidence(side.sysctl, side.ceiling, "bytes", "/proc/sys"),
        Evidence(
            "send overflows in the interval (host)"
            if side.what == "send"
            else "datagrams this socket dropped",
            overflow,
            "",
            "/proc/net/snmp" if side.what == "send" else "sock_diag",
        ),
    ]
    return Finding(
        rule=ID,
        title=f"UDP socket {u.name}: {side.what} buffer at the kernel's ceiling and overflowing",
        cause=Cause.BUFFER_SIZE_CAPPED,
        severity=Severity.WARNING,
        confidence=Confidence.MEDIUM,
        subject=socket_subject(u) if u.owner is not None else Subject("socket", u.name),
        explanation=(
            f"{u.name} ({owner_text(u, f)}) has a {side.what} buffer of {_buf(u, side):,} "
            f"bytes, exactly twice {side.sysctl} ({side.ceiling:,}): it asked for at least "
            f"the ceiling and was capped, and {overflow:,} {side.what} overflows happened in "
            f"{f.seconds:.1f} s."
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Raise {side.sysctl} to {new:,} (twice today's ceiling) or to the size the "
            "program is configured to ask for, then restart it.",
            sysctls=((side.sysctl, new),),
        ),
    )


RULE = Rule(ID, "Socket buffer capped by the kernel", Cause.BUFFER_SIZE_CAPPED, check, needs=KEYS)
