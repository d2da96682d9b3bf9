"""The names of the evidence: each source's key in a :class:`~sockdoc.collect.root.Root` and a
bundle, and where it lives on a live host. Collectors and the facts builder both use these, so
a key is spelled once.

Keys that start with ``s0/`` and ``s1/`` are read once per sample (the first and second
moment of ``--interval``); ``host/`` keys are read in the host's namespace before entering
another one; the others are read once.
"""

from __future__ import annotations

from sockdoc.parsers.sysctl import SYSCTLS, sysctl_path

SAMPLES = ("s0", "s1")

# per-sample kernel counters (per network namespace, except softnet_stat)
PROC_NET = ("snmp", "netstat", "snmp6", "sockstat", "sockstat6", "dev", "softnet_stat")
CONNTRACK_STAT = "/proc/net/stat/nf_conntrack"

# sysctls that exist only in the initial network namespace (net/core/sysctl_net_core.c
# registers netdev_* for init_net only; tcp_mem/udp_mem are global): read before setns
HOST_ONLY_SYSCTLS = frozenset(
    {
        "net.core.netdev_max_backlog",
        "net.core.netdev_budget",
        "net.core.netdev_budget_usecs",
        "net.ipv4.tcp_mem",
        "net.ipv4.udp_mem",
        "fs.file-max",
        "fs.nr_open",
        "fs.file-nr",
    }
)


def proc_net(sample: str, name: str) -> str:
    return f"{sample}/proc/net/{name}"


def conntrack_stat(sample: str) -> str:
    return f"{sample}/proc/net/stat/nf_conntrack"


def conntrack_count(sample: str) -> str:
    return f"{sample}/proc/sys/net/netfilter/nf_conntrack_count"


def sysctl_key(name: str) -> str:
    prefix = "host/" if name in HOST_ONLY_SYSCTLS else ""
    return f"{prefix}proc/sys/{sysctl_path(name)}"


SYSCTL_NAMES: tuple[str, ...] = tuple(SYSCTLS)


def qdisc(sample: str) -> str:
    return f"{sample}/cmd/tc-qdisc"


def sock_diag(sample: str, what: str) -> str:
    """``what``: tcp_listen, unix_listen or udp."""
    return f"{sample}/sock_diag/{what}"


SOCK_DIAG_KINDS = ("tcp_listen", "unix_listen", "udp")


def link(ifname: str, attr: str) -> str:
    return f"host/sys/class/net/{ifname}/{attr}"


LINK_ATTRS = ("speed", "duplex", "operstate")
NETNS_LINKS = "host/sys/class/net"  # a status only: links not read in another namespace
OWNERS = "owners"
ATTRIBUTION = "attribution"
PROCESSES = "processes"
LOGS = "logs/scan"
HOST = "meta/host.json"
TIMES = "times"


def proc_pid(pid: int, name: str, sample: str | None = None) -> str:
    return f"{sample}/proc/{pid}/{name}" if sample else f"proc/{pid}/{name}"


def fdcount(pid: int) -> str:
    return f"proc/{pid}/fdcount"


def daemon_command(name: str) -> str:
    return f"cmd/{name}"


def bind_stats(sample: str) -> str:
    return f"{sample}/bind/stats"


def phpfpm_pool(index: int) -> str:
    return f"conf/php-fpm/pool{index}"
