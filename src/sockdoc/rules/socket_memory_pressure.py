"""TCP or UDP socket memory as a whole near or past the kernel's system-wide limits.

Besides each socket's own buffer limit, the kernel caps the memory of all TCP sockets
together at ``net.ipv4.tcp_mem`` and of all UDP sockets at ``net.ipv4.udp_mem``: three numbers
in pages (min, pressure, max). Past *pressure* the kernel enters memory pressure: TCP shrinks
every socket's buffers and stops growing windows (counted once per entry in
``TcpExt.TCPMemoryPressures``); past *max* new buffer memory is refused: TCP drops incoming
segments and aborts connections (``TcpExt.TCPAbortOnMemory``, "out of memory -- consider
tuning tcp_mem"), UDP drops datagrams on arrival (``Udp.MemErrors``) and sends wait or fail
(``__sk_mem_raise_allocated()``, net/core/sock.c). Many sockets with full buffers (slow
clients, a daemon that stopped reading) get there long before the machine runs out of RAM.
The ISC note on BIND's send errors asks: "Is the OS running out of mbufs or sk_buffs?"

Proof: the ``mem`` of ``TCP`` / ``UDP`` in ``/proc/net/sockstat`` (pages, the host's total even
inside a namespace; UDP's lags behind by up to 1 MiB per CPU) at or above the pressure value,
or ``TCPMemoryPressures`` / ``TCPAbortOnMemory`` / ``Udp.MemErrors`` rising. Fix: all three
values of the limit multiplied by the smallest power of two that puts *pressure* at twice the
memory in use (kept in proportion, as the kernel sizes them from RAM at boot; tcp(7), udp(7)),
and finding the sockets that hold the memory (``ss -tm``: large ``Recv-Q`` / ``Send-Q``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
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
    pow2_at_least,
)

ID = "socket-memory-pressure"
PAGE = 4096  # x86_64; sockstat and tcp_mem/udp_mem count pages
SOCKSTAT = "/proc/net/sockstat"
KEYS = ("s1/proc/net/sockstat", "host/proc/sys/net/ipv4/tcp_mem", "host/proc/sys/net/ipv4/udp_mem")


@dataclass(frozen=True)
class _Proto:
    name: str  # "TCP" or "UDP"
    sysctl: str
    pages: int
    limits: tuple[int, int, int]
    pressures: int  # entries into pressure in the interval (TCP only)
    failures: int  # refusals in the interval (TCP aborts, UDP MemErrors)
    failure_counter: str


def scaled(limits: tuple[int, int, int], pages: int) -> tuple[int, int, int]:
    """``limits`` multiplied by the smallest power of two (at least 2) that puts the pressure
    value at twice ``pages`` or more.

    >>> scaled((287901, 383868, 575802), 300000)
    (575802, 767736, 1151604)
    >>> scaled((287901, 383868, 575802), 412345)
    (1151604, 1535472, 2303208)
    """
    factor = max(pow2_at_least(math.ceil(2 * pages / max(limits[1], 1))), 2)
    low, pressure, high = limits
    return low * factor, pressure * factor, high * factor


def _mib(pages: int) -> str:
    return f"{pages * PAGE / (1 << 20):,.0f} MiB"


def _protos(f: HostFacts) -> list[_Proto]:
    ss = f.sockstat
    out: list[_Proto] = []
    if ss is None:
        return out
    if ss.tcp_mem_pages is not None and f.sysctls.tcp_mem is not None:
        out.append(
            _Proto(
                "TCP",
                "net.ipv4.tcp_mem",
                ss.tcp_mem_pages,
                f.sysctls.tcp_mem,
                f.delta("TcpExt.TCPMemoryPressures"),
                f.delta("TcpExt.TCPAbortOnMemory"),
                "TcpExt.TCPAbortOnMemory",
            )
        )
    if ss.udp_mem_pages is not None and f.sysctls.udp_mem is not None:
        out.append(
            _Proto(
                "UDP",
                "net.ipv4.udp_mem",
                ss.udp_mem_pages,
                f.sysctls.udp_mem,
                0,
                f.delta("Udp.MemErrors", "Udp6.MemErrors"),
                "Udp.MemErrors",
            )
        )
    return out


def check(f: HostFacts) -> Iterator[Outcome]:
    protos = _protos(f)
    if not protos:
        yield NotChecked(ID, describe_missing(f, *KEYS) or "sockstat or tcp_mem not read", KEYS)
        return
    found = False
    for p in protos:
        pressure = p.limits[1]
        if p.pages < pressure and not p.pressures and not p.failures:
            continue
        found = True
        yield _finding(f, p)
    if not found:
        yield Ok(
            ID,
            "socket memory: "
            + "; ".join(
                f"{p.name} {p.pages:,} pages of pressure {p.limits[1]:,} / max {p.limits[2]:,}"
                for p in protos
            )
            + f"; no pressure or refusals in {f.seconds:.1f} s",
        )


def _finding(f: HostFacts, p: _Proto) -> Finding:
    low, pressure, high = p.limits
    new = scaled(p.limits, p.pages)
    over_max = p.pages >= high
    lost = "connections were aborted" if p.name == "TCP" else "datagrams were dropped"
    ev = [
        Evidence(f"{p.name} memory in use", p.pages, "pages", SOCKSTAT),
        Evidence(f"{p.name} memory in use (MiB)", round(p.pages * PAGE / (1 << 20), 1), "MiB"),
        Evidence(f"{p.sysctl} min", low, "pages", "/proc/sys"),
        Evidence(f"{p.sysctl} pressure", pressure, "pages", "/proc/sys"),
        Evidence(f"{p.sysctl} max", high, "pages", "/proc/sys"),
        Evidence(
            "of pressure", round(100 * p.pages / max(pressure, 1), 1), "%", "in use / pressure"
        ),
    ]
    if p.name == "TCP":
        ev.append(
            Evidence(
                "TcpExt.TCPMemoryPressures in the interval", p.pressures, "", "/proc/net/netstat"
            )
        )
    ev.append(Evidence(f"{p.failure_counter} in the interval", p.failures, "", "/proc/net"))
    state = (
        "past its max: new buffer memory is refused"
        if over_max
        else (
            "past its pressure value: the kernel shrinks buffers"
            if p.pages >= pressure
            else "entered memory pressure during the interval"
        )
    )
    return Finding(
        rule=ID,
        title=f"{p.name} socket memory {state.split(':', maxsplit=1)[0]}",
        cause=Cause.SOCKET_MEMORY,
        severity=Severity.ERROR if over_max or p.failures else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=Subject("host", f"{p.name} socket memory"),
        explanation=(
            f"All {p.name} sockets together hold {p.pages:,} pages ({_mib(p.pages)}); "
            f"{p.sysctl} puts pressure at {pressure:,} and the limit at {high:,} pages "
            f"({_mib(high)}). Socket memory is {state}"
            + (
                f", and {p.failures:,} {lost} for lack of it in {f.seconds:.1f} s"
                if p.failures
                else ""
            )
            + ". Sends block or fail and receive windows shrink for every socket on the host."
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Set {p.sysctl} to {new[0]} {new[1]} {new[2]} pages (today's values times "
            f"{new[1] // max(pressure, 1)}; max {_mib(new[2])}, keep it well below RAM), and "
            "find the sockets that hold the memory: large Recv-Q means a reader that does not "
            "read, large Send-Q a peer that does not take the data.",
            sysctls=((p.sysctl, f"{new[0]} {new[1]} {new[2]}"),),
            commands=(
                f"ss -{p.name[0].lower()}an | sort -k2 -n -r | head  # largest Recv-Q",
                f"ss -{p.name[0].lower()}an | sort -k3 -n -r | head  # largest Send-Q",
            ),
        ),
    )


RULE = Rule(
    ID, "Socket memory pressure (tcp_mem / udp_mem)", Cause.SOCKET_MEMORY, check, needs=KEYS
)
