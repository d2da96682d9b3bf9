"""Values ``sockdoc tune`` refuses to write, and why; each refusal names its bound.

* A socket buffer setting (``net.core.{w,r}mem_{max,default}``) above 1/64 of RAM: any
  program may ask for a buffer up to the ceiling, and the kernel doubles what it asks for
  (socket(7)); a default applies to every new socket. A few sockets filled to such a size
  would take the memory the host runs on. When RAM is not known, the bound is 64 MiB, the
  largest buffer the rules ever propose.
* ``net.ipv4.tcp_mem`` / ``udp_mem`` whose maximum is above half of RAM (the kernel's own
  defaults are about 3/32 and 3/16 of it, net/ipv4/tcp.c ``tcp_init()``, udp.c
  ``udp_init()``): socket buffers alone could then starve the processes.
* ``nf_conntrack_max`` / ``nf_conntrack_buckets`` whose full table (about 320 bytes per entry)
  would take more than 1/8 of RAM.
* ``net.core.somaxconn`` above the kernel's maximum: 65,535 before Linux 4.1 (a listener's
  backlog was a 16-bit number there, and a larger value wraps around to a tiny queue), else
  2,147,483,647. Any other integer sysctl above 2,147,483,647 (``proc_dointvec``) is refused
  as well; ``fs.file-max`` is a long and exempt.
* ``LimitNOFILE`` (soft or hard) above ``fs.nr_open``: no process may have more, systemd
  cannot set it, and the unit would fail to start.
* A Dovecot ``process_min_avail`` above the service's ``process_limit``: Dovecot refuses to
  start with "process_min_avail is higher than process_limit" (seen with doveconf 2.3.19).

RAM comes from ``/proc/meminfo`` when tune runs on the host it changes; for a bundle from
elsewhere it is estimated from ``net.ipv4.tcp_mem``, which the kernel sizes at boot to 1/16
of the free memory (its middle value, in pages); the estimate errs low, so the bound is
stricter, unless ``tcp_mem`` was raised by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sockdoc.facts.host import HostFacts
from sockdoc.rules._common import MAX_BUFFER
from sockdoc.rules.conntrack_table_full import ENTRY_BYTES
from sockdoc.rules.daemon_fd_limit import DEFAULT_NR_OPEN
from sockdoc.tune.proposals import Plan, Setting, Skipped, Value

INT_MAX = 2**31 - 1
MIB = 1 << 20
GIB = 1 << 30
PAGE = 4096
BUFFER_SYSCTLS = frozenset(
    {"net.core.wmem_max", "net.core.wmem_default", "net.core.rmem_max", "net.core.rmem_default"}
)
BUFFER_SHARE = 64  # a socket buffer setting at most 1/64 of RAM
MEM_SYSCTLS = frozenset({"net.ipv4.tcp_mem", "net.ipv4.udp_mem"})
MEM_SHARE = 2  # tcp_mem / udp_mem max at most half of RAM
CONNTRACK_SYSCTLS = frozenset(
    {"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets"}
)
CONNTRACK_SHARE = 8
LONG_SYSCTLS = frozenset({"fs.file-max"})
SOMAXCONN_32BIT = (4, 1)  # the first Linux with a 32-bit listen backlog
U16_MAX = 65535
TCP_MEM_SHARE = 16  # tcp_mem's middle value is 1/16 of the free pages at boot


@dataclass(frozen=True)
class Bounds:
    """What the bounds are computed from: RAM in bytes (None: unknown) and where it was read,
    the kernel release as numbers, and ``fs.nr_open``."""

    ram: int | None
    ram_source: str
    kernel: tuple[int, ...] | None
    nr_open: int


def mem_total(meminfo: str) -> int | None:
    """MemTotal in bytes from the text of ``/proc/meminfo``.

    >>> mem_total("MemTotal:       24684092 kB\\nMemFree:        22449488 kB\\n")
    25276510208
    >>> mem_total("nothing") is None
    True
    """
    m = re.search(r"^MemTotal:\s+(\d+) kB$", meminfo, re.MULTILINE)
    return int(m[1]) * 1024 if m else None


def kernel_version(release: str) -> tuple[int, ...] | None:
    """``(6, 18, 44)`` from ``6.18.44-fc-v657``; None when unreadable.

    >>> kernel_version("6.18.44-fc-v657"), kernel_version("3.10.0-1160.el7.x86_64")
    ((6, 18, 44), (3, 10, 0))
    """
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release.strip())
    if m is None:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def bounds(facts: HostFacts, meminfo: str | None = None) -> Bounds:
    """The bounds for the host the diagnosis describes; ``meminfo`` is the text of
    ``/proc/meminfo`` when tune runs on that host."""
    ram = mem_total(meminfo) if meminfo else None
    source = "/proc/meminfo MemTotal"
    if ram is None and facts.sysctls.tcp_mem is not None:
        ram = facts.sysctls.tcp_mem[1] * TCP_MEM_SHARE * PAGE
        source = "estimated from net.ipv4.tcp_mem (1/16 of free memory at boot)"
    elif ram is None:
        source = "unknown"
    return Bounds(
        ram, source, kernel_version(facts.kernel), facts.sysctls.nr_open or DEFAULT_NR_OPEN
    )


def somaxconn_max(kernel: tuple[int, ...] | None) -> int:
    """The largest useful ``net.core.somaxconn`` for this kernel.

    >>> somaxconn_max((3, 10, 0)), somaxconn_max((6, 1)), somaxconn_max(None)
    (65535, 2147483647, 2147483647)
    """
    if kernel is not None and kernel[:2] < SOMAXCONN_32BIT:
        return U16_MAX
    return INT_MAX


def _size(n: int) -> str:
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / MIB:.0f} MiB" if n >= MIB else f"{n:,} bytes"


def _ram(b: Bounds) -> str:
    return f"RAM {_size(b.ram)}, {b.ram_source}" if b.ram is not None else "RAM unknown"


def _parts(v: Value) -> tuple[int, ...]:
    return (v,) if isinstance(v, int) else v


def refusal(s: Setting, b: Bounds) -> str | None:
    """Why ``s`` must not be written, with the bound and its reason; None when it is safe."""
    parts = _parts(s.value)
    if s.kind == "systemd":
        if max(parts) > b.nr_open:
            return (
                f"{s.label} = {max(parts):,} is above fs.nr_open {b.nr_open:,}, the kernel's "
                "ceiling for any process's open-files limit: systemd cannot set it and the "
                f"unit would fail to start. Raise fs.nr_open first, or keep {s.name} at most "
                f"{b.nr_open:,}."
            )
        return None
    if s.kind != "sysctl":
        return None
    name, value = s.name, max(parts)
    if name in BUFFER_SYSCTLS:
        bound = b.ram // BUFFER_SHARE if b.ram is not None else MAX_BUFFER
        if value > bound:
            what = f"1/{BUFFER_SHARE} of RAM ({_ram(b)})" if b.ram is not None else "64 MiB"
            return (
                f"{name} = {value:,} ({_size(value)}) is above {_size(bound)}, {what}. Any "
                "program may ask for a socket buffer up to this and the kernel doubles what it "
                "asks (socket(7)); a few sockets filled to that size would take the memory the "
                "host runs on."
            )
    if name in MEM_SYSCTLS and b.ram is not None:
        most = parts[-1] * PAGE
        if most > b.ram // MEM_SHARE:
            return (
                f"{name} max {parts[-1]:,} pages ({_size(most)}) is above half of RAM "
                f"({_ram(b)}): socket buffers alone could starve the processes (the kernel's "
                "default is about 3/32 of RAM for TCP, 3/16 for UDP)."
            )
    if name in CONNTRACK_SYSCTLS and b.ram is not None:
        full = value * ENTRY_BYTES
        if full > b.ram // CONNTRACK_SHARE:
            return (
                f"{name} = {value:,}: a full table would take about {_size(full)} "
                f"({ENTRY_BYTES} bytes an entry), above 1/{CONNTRACK_SHARE} of RAM ({_ram(b)})."
            )
    if name == "net.core.somaxconn":
        top = somaxconn_max(b.kernel)
        if value > top:
            why = (
                "before Linux 4.1 a listener's backlog is a 16-bit number and a larger value "
                "wraps around to a tiny queue"
                if top == U16_MAX
                else "the setting is a C int"
            )
            return f"{name} = {value:,} is above the kernel's maximum {top:,}: {why}."
    if name not in LONG_SYSCTLS and value > INT_MAX:
        return f"{name} = {value:,} is above {INT_MAX:,}, the largest value the kernel takes."
    return None


def _dovecot_min_avail(plan: Plan) -> dict[tuple[str, str, str], str]:
    """process_min_avail above the service's process_limit (proposed, else current)."""
    by_key = {s.key: s for s in plan.changes}
    out: dict[tuple[str, str, str], str] = {}
    for s in plan.changes:
        if s.kind != "dovecot" or s.name != "process_min_avail":
            continue
        limit_setting = by_key.get(("dovecot", s.scope, "process_limit"))
        limit = limit_setting.value if limit_setting is not None else None
        if limit is None:
            limit = next(
                (k.current for k in plan.kept if k.key == ("dovecot", s.scope, "process_limit")),
                None,
            )
        if limit is None:
            continue
        avail, top = _parts(s.value)[0], _parts(limit)[0]
        if avail > top:
            out[s.key] = (
                f"service {s.scope}: process_min_avail {avail:,} is above its process_limit "
                f"{top:,}; Dovecot refuses to start with such a configuration."
            )
    return out


def screen(plan: Plan, b: Bounds) -> Plan:
    """``plan`` with every unsafe change moved to ``skipped`` (refused), with its reason."""
    cross = _dovecot_min_avail(plan)
    changes: list[Setting] = []
    refused: list[Skipped] = []
    for s in plan.changes:
        why = refusal(s, b) or cross.get(s.key)
        if why is None:
            changes.append(s)
        else:
            refused.append(Skipped(s, why, refused=True))
    return replace(plan, changes=tuple(changes), skipped=(*plan.skipped, *refused))
