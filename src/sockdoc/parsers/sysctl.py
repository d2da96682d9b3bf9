"""Kernel settings read from ``/proc/sys``: the socket, queue and file limits sockdoc checks.

A sysctl file holds one line: a number, or several separated by tabs (``tcp_mem``,
``udp_mem``: three page counts, min / pressure / max; ``fs.file-nr``: allocated, free (always 0
since 2.6), max). Each name maps to a path under ``/proc/sys`` by turning dots into slashes
(``fs.file-max`` -> ``fs/file-max``).

Namespaces (seen on Linux 6.18 from a child network namespace): ``net.core.somaxconn``,
``net.ipv4.tcp_max_syn_backlog``, ``tcp_syncookies`` and ``net.unix.max_dgram_qlen`` are per
namespace (writable there); ``net.core.{w,r}mem_*`` and ``nf_conntrack_max`` are shown but
read-only (0444); ``net.core.netdev_*``, ``net.ipv4.tcp_mem`` and ``udp_mem`` do not exist in a
child namespace at all: they are registered for the initial namespace only, so read them there.
``net.netfilter.*`` exists only once nf_conntrack is loaded; ``fs.*`` is not namespaced.

Sample content (``/proc/sys/net/ipv4/tcp_mem``; a tab between the values)::

    287901  383868  575802

Examples:

>>> sysctl_path("net.core.wmem_max")
'net/core/wmem_max'
>>> parse_value("212992\\n")
212992
>>> parse_value("287901\\t383868\\t575802\\n")
(287901, 383868, 575802)
>>> s = Sysctls.from_texts({"net.core.somaxconn": "4096\\n", "fs.file-nr": "542\\t0\\t2466177\\n"})
>>> (s.somaxconn, s.file_nr, s.wmem_max)
(4096, (542, 0, 2466177), None)
>>> parse_value("4096 x\\n", "somaxconn")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: somaxconn:1: value is not a decimal integer ('x'): '4096 x'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sockdoc.parsers.errors import ParseError, decimal, lines_of

# sysctl name -> (field of Sysctls, how many numbers the file holds).
SYSCTLS: dict[str, tuple[str, int]] = {
    "net.core.wmem_default": ("wmem_default", 1),
    "net.core.wmem_max": ("wmem_max", 1),
    "net.core.rmem_default": ("rmem_default", 1),
    "net.core.rmem_max": ("rmem_max", 1),
    "net.core.somaxconn": ("somaxconn", 1),
    "net.core.netdev_max_backlog": ("netdev_max_backlog", 1),
    "net.core.netdev_budget": ("netdev_budget", 1),
    "net.core.netdev_budget_usecs": ("netdev_budget_usecs", 1),
    "net.ipv4.tcp_max_syn_backlog": ("tcp_max_syn_backlog", 1),
    "net.ipv4.tcp_mem": ("tcp_mem", 3),
    "net.ipv4.udp_mem": ("udp_mem", 3),
    "net.ipv4.tcp_syncookies": ("tcp_syncookies", 1),
    "net.unix.max_dgram_qlen": ("max_dgram_qlen", 1),
    "fs.file-max": ("file_max", 1),
    "fs.nr_open": ("nr_open", 1),
    "fs.file-nr": ("file_nr", 3),
    "net.netfilter.nf_conntrack_count": ("nf_conntrack_count", 1),
    "net.netfilter.nf_conntrack_max": ("nf_conntrack_max", 1),
}
_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


def sysctl_path(name: str) -> str:
    """The path of sysctl ``name`` relative to ``/proc/sys``; ValueError for a malformed name."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"not a sysctl name: {name!r}")
    return name.replace(".", "/")


def parse_value(text: str, source: str = "/proc/sys") -> int | tuple[int, ...]:
    """The number in a sysctl file, or the tuple of numbers when it holds several."""
    lines = lines_of(text, source)
    if len(lines) != 1:
        raise ParseError(source, 2, lines[1], "a sysctl value is one line")
    line = lines[0]
    values = tuple(decimal(t, source, 1, line, "value") for t in line.split())
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Sysctls:
    """The settings in :data:`SYSCTLS`; None where the file was absent or not read."""

    wmem_default: int | None = None
    wmem_max: int | None = None
    rmem_default: int | None = None
    rmem_max: int | None = None
    somaxconn: int | None = None
    netdev_max_backlog: int | None = None
    netdev_budget: int | None = None
    netdev_budget_usecs: int | None = None
    tcp_max_syn_backlog: int | None = None
    tcp_mem: tuple[int, int, int] | None = None
    udp_mem: tuple[int, int, int] | None = None
    tcp_syncookies: int | None = None
    max_dgram_qlen: int | None = None
    file_max: int | None = None
    nr_open: int | None = None
    file_nr: tuple[int, int, int] | None = None
    nf_conntrack_count: int | None = None
    nf_conntrack_max: int | None = None

    @classmethod
    def from_texts(cls, texts: Mapping[str, str | None], root: str = "/proc/sys") -> Sysctls:
        """Parse the text of each file, by sysctl name; a None text or a missing name is absent.

        Names not in :data:`SYSCTLS` are ignored; a value with the wrong count of numbers is a
        ParseError naming ``root/path``.
        """
        changes: dict[str, Any] = {}
        for name, text in texts.items():
            if text is None or name not in SYSCTLS:
                continue
            field, count = SYSCTLS[name]
            source = f"{root}/{sysctl_path(name)}"
            value = parse_value(text, source)
            got = len(value) if isinstance(value, tuple) else 1
            if got != count:
                line = text.split("\n", 1)[0]
                raise ParseError(source, 1, line, f"{got} numbers, {count} expected")
            changes[field] = value
        return replace(cls(), **changes)
