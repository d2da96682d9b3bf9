"""The cause vocabulary: every recognised log line, and every finding, names exactly one cause.

The ids are a public contract (JSON output, Prometheus labels): they are never renamed and
never reused for another meaning. Each cause carries a one-line summary and the generic checks
that tell its candidate root causes apart, in the order an operator should run them. Matchers
put their daemon-specific checks in front of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Cause(str, Enum):
    """One kernel queue or limit that overflowed (or an unexplained send error)."""

    SEND_BUFFER_FULL = "send-buffer-full"
    SEND_ERROR = "send-error"
    SEND_REFUSED = "send-refused"
    FIREWALL_BLOCKED = "firewall-blocked"
    BUFFER_SIZE_CAPPED = "buffer-size-capped"
    RECEIVE_BUFFER_FULL = "receive-buffer-full"
    UNIX_LISTEN_QUEUE_FULL = "unix-listen-queue-full"
    TCP_LISTEN_QUEUE_FULL = "tcp-listen-queue-full"
    LISTEN_BACKLOG_CAPPED = "listen-backlog-capped"
    PROCESS_LIMIT = "process-limit"
    CLIENT_LIMIT = "client-limit"
    FD_LIMIT = "fd-limit"
    CONNTRACK_FULL = "conntrack-full"
    SOCKET_MEMORY = "socket-memory"
    NEIGHBOUR_TABLE_FULL = "neighbour-table-full"
    LOG_SUPPRESSED = "log-suppressed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Check:
    """One thing to find out, and the command or setting that answers it."""

    question: str
    how: str


@dataclass(frozen=True)
class CauseInfo:
    summary: str
    checks: tuple[Check, ...]


_SEND_PATH: tuple[Check, ...] = (
    Check(
        "Is the kernel refusing UDP sends for lack of socket buffer, and is the rate rising?",
        "nstat -az UdpSndbufErrors Udp6SndbufErrors (run twice, compare)",
    ),
    Check(
        "How large are the daemon's send buffers compared with the defaults and the ceiling?",
        "ss -uampn 'sport = :53' (skmem tb = send buffer);"
        " sysctl net.core.wmem_default net.core.wmem_max",
    ),
    Check(
        "Is an egress queue (qdisc) backlogged or dropping?",
        "tc -s qdisc show dev IFACE (backlog, dropped, overlimits)",
    ),
    Check(
        "Is the NIC at full duplex and free of transmit errors?",
        "ethtool IFACE | grep -iE 'speed|duplex'; ip -s link show IFACE (TX errors, dropped)",
    ),
    Check(
        "Is the connection-tracking table full or dropping?",
        "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max; conntrack -S",
    ),
    Check(
        "Do firewall rules on the output path cost time or reject packets?",
        "nft list ruleset (or iptables -S OUTPUT) and its counters",
    ),
    Check(
        "Is the inbound side overflowing too (it competes for the same memory and CPU)?",
        "nstat -az UdpRcvbufErrors UdpInErrors; cat /proc/net/softnet_stat (2nd column = drops)",
    ),
    Check(
        "Is UDP socket memory near its system-wide limit?",
        "grep UDP /proc/net/sockstat (mem, in pages) vs sysctl net.ipv4.udp_mem",
    ),
)

_LISTEN_PATH: tuple[Check, ...] = (
    Check(
        "Which listener is at its backlog (Recv-Q = queued connections, Send-Q = backlog)?",
        "ss -lnxp (UNIX) / ss -lntp (TCP)",
    ),
    Check(
        "Was the application's backlog cut down by the kernel's ceiling?",
        "sysctl net.core.somaxconn (a listen() backlog above it is silently reduced to it)",
    ),
    Check(
        "Are the processes that should accept busy, blocked or at their limit?",
        "top -p PID; the daemon's process/client limits and its own 'limit reached' warnings",
    ),
    Check(
        "Is the accepting process out of file descriptors (it then stops accepting)?",
        "grep 'open files' /proc/PID/limits; ls /proc/PID/fd | wc -l",
    ),
)

_FD: tuple[Check, ...] = (
    Check(
        "Which process is at its per-process descriptor limit?",
        "grep 'open files' /proc/PID/limits; ls /proc/PID/fd | wc -l",
    ),
    Check(
        "Where does that limit come from (systemd unit, limits.conf, the daemon's own option)?",
        "systemctl show -p LimitNOFILE UNIT; the daemon's setting (e.g. worker_rlimit_nofile)",
    ),
    Check(
        "Is the whole system out of file handles?",
        "cat /proc/sys/fs/file-nr (allocated, free, max) vs sysctl fs.file-max",
    ),
)

CAUSES: dict[Cause, CauseInfo] = {
    Cause.SEND_BUFFER_FULL: CauseInfo(
        "The kernel would not take an outbound packet: the socket's send buffer (or the queue"
        " behind it) was full, so send returned EAGAIN/EWOULDBLOCK or ENOBUFS.",
        _SEND_PATH,
    ),
    Cause.SEND_ERROR: CauseInfo(
        "A send failed but the message does not say why; treat it as a send-path bottleneck"
        " until the counters say otherwise.",
        _SEND_PATH,
    ),
    Cause.SEND_REFUSED: CauseInfo(
        "The peer refused or reset while data was being sent (ECONNREFUSED, ECONNRESET, an"
        " ICMP error for an earlier datagram); usually the client went away, not a local limit.",
        (
            Check(
                "Are these few and spread over many clients (normal churn), or many from one?",
                "sockdoc scan LOG (top clients)",
            ),
            Check(
                "Is something on the path sending ICMP unreachables or resets?",
                "nstat -az IcmpInDestUnreachs TcpExtTCPAbortOnData TcpEstabResets",
            ),
        ),
    ),
    Cause.FIREWALL_BLOCKED: CauseInfo(
        "A local firewall rule rejected the outbound packet: send returned EPERM.",
        (
            Check(
                "Which output rule rejects it (look at the rule counters)?",
                "nft list ruleset; iptables -L OUTPUT -v -n",
            ),
            Check(
                "Is it the connection-tracking table dropping new flows rather than a rule?",
                "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max",
            ),
        ),
    ),
    Cause.BUFFER_SIZE_CAPPED: CauseInfo(
        "A program asked for a larger socket buffer than the kernel allows; it got the ceiling"
        " (net.core.wmem_max / rmem_max) instead.",
        (
            Check(
                "What are the ceilings?",
                "sysctl net.core.wmem_max net.core.rmem_max",
            ),
            Check(
                "What size does the program request (its own option)?",
                "the daemon's so-sndbuf / so-rcvbuf / udp-send-buffer setting",
            ),
        ),
    ),
    Cause.RECEIVE_BUFFER_FULL: CauseInfo(
        "Packets arrived faster than the program read them: the socket's receive buffer filled"
        " and the kernel dropped what did not fit.",
        (
            Check(
                "Are receive-buffer errors rising?",
                "nstat -az UdpRcvbufErrors Udp6RcvbufErrors UdpInErrors",
            ),
            Check(
                "Which socket drops (per-socket drop counter d in skmem)?",
                "ss -uampn (skmem: rb = receive buffer, d = drops)",
            ),
            Check(
                "Are the receive buffers small compared with the ceiling?",
                "sysctl net.core.rmem_default net.core.rmem_max",
            ),
            Check(
                "Is the CPU that handles packets saturated before the socket?",
                "cat /proc/net/softnet_stat (drops, time_squeeze);"
                " sysctl net.core.netdev_max_backlog",
            ),
        ),
    ),
    Cause.UNIX_LISTEN_QUEUE_FULL: CauseInfo(
        "connect() to a UNIX stream socket returned EAGAIN: the listener's queue of"
        " connections not yet accepted was full, because nothing accepted them fast enough.",
        _LISTEN_PATH,
    ),
    Cause.TCP_LISTEN_QUEUE_FULL: CauseInfo(
        "A TCP listener's accept queue (or SYN queue) overflowed: the kernel dropped handshakes"
        " or answered with SYN cookies.",
        (
            Check(
                "Are overflows rising?",
                "nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDoCookies",
            ),
            *_LISTEN_PATH,
            Check(
                "Is the SYN queue large enough?",
                "sysctl net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_syncookies",
            ),
        ),
    ),
    Cause.LISTEN_BACKLOG_CAPPED: CauseInfo(
        "A program asked listen() for a longer queue than net.core.somaxconn; the kernel"
        " silently used somaxconn instead.",
        (
            Check("What is the ceiling?", "sysctl net.core.somaxconn"),
            Check(
                "Which listeners run at it (Send-Q shows the effective backlog)?",
                "ss -lntp; ss -lnxp",
            ),
        ),
    ),
    Cause.PROCESS_LIMIT: CauseInfo(
        "A daemon reached its configured maximum number of worker processes; new clients wait"
        " in the listen queue or are turned away.",
        (
            Check(
                "Is the limit really reached (count the workers)?",
                "pgrep -c WORKER; the daemon's status page",
            ),
            Check(
                "Are the workers slow (disk, locks, a backend) rather than too few?",
                "top; the daemon's slow-request log",
            ),
            *_LISTEN_PATH[:2],
        ),
    ),
    Cause.CLIENT_LIMIT: CauseInfo(
        "A daemon reached its configured maximum number of concurrent clients or connections.",
        (
            Check(
                "Is this a burst or the steady state (how often is the warning logged)?",
                "sockdoc scan LOG (incidents)",
            ),
            Check(
                "Does the process have descriptors for the limit it is configured with?",
                "grep 'open files' /proc/PID/limits",
            ),
        ),
    ),
    Cause.FD_LIMIT: CauseInfo(
        "A process (EMFILE) or the whole system (ENFILE) ran out of file descriptors; sockets"
        " are descriptors, so accept(), socket() and connect() fail.",
        _FD,
    ),
    Cause.CONNTRACK_FULL: CauseInfo(
        "The netfilter connection-tracking table is full: new flows are dropped before any"
        " rule or socket sees them.",
        (
            Check(
                "How full is the table?",
                "sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max",
            ),
            Check(
                "Which flows fill it (UDP DNS traffic needs no tracking)?",
                "conntrack -L | awk '{print $1}' | sort | uniq -c; consider a notrack rule",
            ),
        ),
    ),
    Cause.SOCKET_MEMORY: CauseInfo(
        "Sockets as a whole use more memory than net.ipv4.tcp_mem / udp_mem allow, or too"
        " many orphaned sockets exist: the kernel starts refusing and killing sockets.",
        (
            Check(
                "How much socket memory is in use (pages)?",
                "cat /proc/net/sockstat vs sysctl net.ipv4.tcp_mem net.ipv4.udp_mem",
            ),
            Check(
                "How many orphaned sockets, against the limit?",
                "grep orphan /proc/net/sockstat vs sysctl net.ipv4.tcp_max_orphans",
            ),
        ),
    ),
    Cause.NEIGHBOUR_TABLE_FULL: CauseInfo(
        "The ARP/NDP neighbour table overflowed: packets to hosts without an entry are dropped.",
        (
            Check("How many entries exist?", "ip -4 neigh | wc -l; ip -6 neigh | wc -l"),
            Check(
                "What are the garbage-collection thresholds?",
                "sysctl net.ipv4.neigh.default.gc_thresh1 gc_thresh2 gc_thresh3",
            ),
        ),
    ),
    Cause.LOG_SUPPRESSED: CauseInfo(
        "The kernel rate-limited its own messages: the real number of events is higher than"
        " the lines in the log show.",
        (
            Check(
                "Which counters record the suppressed events exactly?",
                "nstat -az (counters do not rate-limit)",
            ),
            Check(
                "What was logged just before the suppression?",
                "journalctl -k --since '-10 min'",
            ),
        ),
    ),
}


def info(cause: Cause) -> CauseInfo:
    return CAUSES[cause]
