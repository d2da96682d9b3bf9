"""Link speed, duplex and state: ``/sys/class/net/IFACE/{speed,duplex,operstate}``.

``speed`` is in Mb/s and ``duplex`` is ``full``, ``half`` or ``unknown``, both from the driver's
ethtool link settings (net/core/net-sysfs.c ``speed_show()`` / ``duplex_show()``). A speed the
driver does not know is ``-1`` (``SPEED_UNKNOWN``); kernels that printed the ``u32`` unsigned
show it as ``4294967295``. Both files fail to read (EINVAL) when the interface is down or its
driver has no ethtool link settings (``lo``): that is absence, for the caller, not bad text.
A veth reports 10000 Mb/s full duplex whatever the real limit is.

Sample content (``speed``, ``duplex``, ``operstate`` of a veth)::

    10000
    full
    up

Examples:

>>> link_info("eth0", speed="10000\\n", duplex="full\\n", operstate="up\\n")
LinkInfo(name='eth0', speed_mbps=10000, duplex='full', operstate='up')
>>> link_info("eth1", speed="-1\\n", duplex="unknown\\n", operstate="up\\n").speed_mbps is None
True
>>> link_info("lo", operstate="unknown\\n")
LinkInfo(name='lo', speed_mbps=None, duplex='unknown', operstate='unknown')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from sockdoc.parsers.errors import ParseError, decimal, lines_of

Duplex = Literal["full", "half", "unknown"]
# RFC 2863 ifOperStatus names as the kernel prints them (net/core/net-sysfs.c operstates[]).
OperState = Literal["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"]
_DUPLEXES: frozenset[str] = frozenset({"full", "half", "unknown"})
_OPERSTATES: frozenset[str] = frozenset(
    {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}
)
# SPEED_UNKNOWN (-1) as printed by kernels that used an unsigned format.
_U32_MINUS_ONE = 0xFFFFFFFF


@dataclass(frozen=True)
class LinkInfo:
    """One interface. ``speed_mbps`` None: unknown or unreadable."""

    name: str
    speed_mbps: int | None
    duplex: Duplex
    operstate: OperState


def parse_speed(text: str, source: str = "speed") -> int | None:
    """Mb/s, or None when the driver does not know (``-1``)."""
    line = _one_line(text, source)
    value = decimal(line.strip(), source, 1, line, "speed")
    if value in (-1, _U32_MINUS_ONE):
        return None
    if value < 0:
        raise ParseError(source, 1, line, "negative speed")
    return value


def parse_duplex(text: str, source: str = "duplex") -> Duplex:
    """``full``, ``half`` or ``unknown``."""
    line = _one_line(text, source)
    word = line.strip()
    if word not in _DUPLEXES:
        raise ParseError(source, 1, line, "expected full, half or unknown")
    return cast("Duplex", word)


def parse_operstate(text: str, source: str = "operstate") -> OperState:
    """The RFC 2863 operational state (``up``, ``down``, ``unknown``, ``dormant``...)."""
    line = _one_line(text, source)
    word = line.strip()
    if word not in _OPERSTATES:
        raise ParseError(source, 1, line, "not an operational state")
    return cast("OperState", word)


def link_info(
    name: str,
    speed: str | None = None,
    duplex: str | None = None,
    operstate: str | None = None,
    root: str = "/sys/class/net",
) -> LinkInfo:
    """One interface from the texts of its three files; None for a file that could not be read."""
    base = f"{root}/{name}"
    return LinkInfo(
        name=name,
        speed_mbps=None if speed is None else parse_speed(speed, f"{base}/speed"),
        duplex="unknown" if duplex is None else parse_duplex(duplex, f"{base}/duplex"),
        operstate=(
            "unknown" if operstate is None else parse_operstate(operstate, f"{base}/operstate")
        ),
    )


def _one_line(text: str, source: str) -> str:
    lines = lines_of(text, source)
    if len(lines) != 1:
        raise ParseError(source, 2, lines[1], "expected one line")
    return lines[0]
