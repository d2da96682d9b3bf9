"""The Linux kernel's own messages about socket queues and limits (2.6.x to 6.12).

Kernel lines reach a log as ``kernel: [12345.678901] MESSAGE`` (syslog reading /proc/kmsg), as
``kernel: MESSAGE`` (journald, which drops the stamp), or as dmesg's ``[12345.678901] MESSAGE``.
Most of these messages go through ``net_ratelimit()`` (at most 10 per 5 s by default), and the
SYN-flood one is printed only once per listening socket, so the number of lines says little
about the number of events: the counters named in the checks do.

Covered: SYN queue overflow on a TCP listener (every wording from 2.6 to the address:port form of
6.2+), a full connection-tracking table (and its expectation table), TCP memory and orphan
limits, the TIME_WAIT bucket cap (2.6 only), neighbour (ARP/NDP) table overflow in its two
wordings, the system-wide file-handle limit, and rate-limit suppression notices. False friend:
the /dev/kmsg notice about user-space lines suppressed.

Wordings were read in the kernel sources listed in each ``source`` (Debian's linux-source-6.1 and
-6.12 packages, and single-release trees of 2.6.32, 3.10, 3.14, 3.19, 4.4, 4.19 and 5.10).
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "kernel"
PROGRAMS = ("kernel",)

# Where each wording was read. 6.1/6.12: Debian bookworm linux-source-6.1 (6.1.192) and
# linux-source-6.12 (6.12.117); older releases: single-release source trees of that version.
_SRC_SYN = (
    "linux net/ipv4/tcp_input.c @ v6.12: tcp_syn_flood_action() (ADDR:PORT form, since v6.2: "
    "netdev patch 'tcp: Add listening address to SYN flood message', J. Bainbridge, 2022-11-14); "
    "@ v6.1, v5.10, v4.19, v4.4: '%s: Possible SYN flooding on port %d. %s.  Check SNMP "
    "counters.' with rsk_ops->slab_name; net/ipv4/tcp_ipv4.c @ v3.10, v3.14, v3.19: same format, "
    "proto 'TCP'/'TCPv6'; @ v2.6.32: syn_flood_warning() 'possible SYN flooding on port %d. "
    "Sending cookies.' and net/ipv6/tcp_ipv6.c 'TCPv6: Possible SYN flooding ...'"
)
_SRC_CONNTRACK = (
    "linux net/netfilter/nf_conntrack_core.c @ v6.12, v6.1, v5.10, v4.19 (pr_fmt KBUILD_MODNAME "
    "doubles the prefix), @ v4.4, v3.10 (no pr_fmt): __nf_conntrack_alloc() 'nf_conntrack: table "
    "full, dropping packet'; @ v2.6.32: same text with a final '.'"
)
_SRC_EXPECT = (
    "linux net/netfilter/nf_conntrack_expect.c @ v6.12, v6.1, v4.4, v3.10, v2.6.32: "
    "nf_ct_expect_related_report() 'nf_conntrack: expectation table full'"
)
_SRC_TCP_OOM = (
    "linux net/ipv4/tcp.c @ v6.12, v6.1, v5.10, v4.19, v4.4, v3.10: tcp_check_oom() (pr_fmt "
    "'TCP: ')"
)
_SRC_OLD_SOCKMEM = (
    "linux net/ipv4/tcp_timer.c @ v2.6.32: tcp_out_of_resources() 'Out of socket memory'"
)
_SRC_TW = (
    "linux net/ipv4/tcp_minisocks.c @ v2.6.32: tcp_time_wait() 'TCP: time wait bucket table "
    "overflow' (only the TCPTimeWaitOverflow counter remains @ v3.10); net/dccp/minisocks.c @ "
    "v6.12 (DCCP)"
)
_SRC_NEIGH = (
    "linux net/core/neighbour.c @ v6.12, v6.1, v5.10, v4.19, v4.4: neigh_alloc() '%s: neighbor "
    "table overflow!' with tbl->id (pr_fmt KBUILD_MODNAME 'neighbour'); absent @ v4.2, v4.0, "
    "v3.19, v3.10"
)
_SRC_NEIGH_OLD = (
    "linux net/ipv4/route.c @ v2.6.32: rt_intern_hash() 'Neighbour table overflow.' (later "
    "2.6.x/3.0-3.5 trees print 'ipv4: Neighbour table overflow.'), net/ipv6/route.c @ v2.6.32 "
    "the same; both gone with the IPv4 route cache (absent @ v3.10)"
)
_SRC_FILE_MAX = (
    "linux fs/file_table.c @ v6.12, v6.1, v5.10, v4.19, v4.4, v3.10, v2.6.32: "
    "alloc_empty_file()/get_empty_filp() 'VFS: file-max limit %lu reached'"
)
_SRC_RATELIMIT = (
    "linux lib/ratelimit.c @ v6.12, v6.1, v4.4, v3.10: ___ratelimit() '%s: %d callbacks "
    "suppressed' with the caller's name (net_ratelimit() in net/core/utils.c); @ v2.6.32 the "
    "name is always '__ratelimit'; 2.4/early 2.6 net/core/utils.c net_ratelimit() 'NET: %d "
    "messages suppressed.' and kernel/printk.c 'printk: %d messages suppressed.'"
)
_SRC_DEVKMSG = (
    "linux include/linux/ratelimit.h @ v6.1: ratelimit_state_exit() '%s: %d output lines "
    "suppressed due to ratelimiting', printed from kernel/printk/printk.c (pr_fmt 'printk: ')"
)

# --- SYN queue -------------------------------------------------------------------------------

# An optional protocol prefix ('TCP', 'TCPv6' in 3.x; the request-socket slab name from 4.x on:
# request_sock_TCP, request_sock_TCPv6, request_sock_subflow_v4/v6 for MPTCP), then the port,
# which 6.2+ prints as ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6). The lazy address stops at the
# last ':' before digits that are followed by '. ' and the action, which only the port is.
_SYN_HEAD = (
    r"(?:(?:TCP|TCPv6|request_sock_[A-Za-z0-9_]+): )?[Pp]ossible SYN flooding on port "
    r"(?:\[?(?P<local_ip>[0-9A-Fa-f:.]+?)\]?:)?(?P<local_port>\d+)\. "
)

_SYN_CHECKS: tuple[Check, ...] = (
    Check(
        "Is the SYN queue still overflowing? The line is printed once per listening socket, so "
        "the counters are the only running record.",
        "nstat -az TcpExtTCPReqQFullDoCookies TcpExtTCPReqQFullDrop (run twice, compare)",
    ),
    Check(
        "Which listener is it, and what backlog did it get (the SYN queue is bounded by it)?",
        "ss -lnt 'sport = :PORT' (Send-Q = backlog, Recv-Q = connections waiting for accept)",
    ),
    Check(
        "Is it a real flood (many sources, few completed handshakes) or a slow accept() loop?",
        "ss -tn state syn-recv 'sport = :PORT' | awk 'NR>1 {print $4}' | sort | uniq -c | "
        "sort -rn | head",
    ),
)

_SYN_DROP_CHECKS: tuple[Check, ...] = (
    Check(
        "Are SYN cookies disabled, so that the kernel drops instead of answering with cookies?",
        "sysctl net.ipv4.tcp_syncookies (0 = drop; 1 = cookies when the queue is full)",
    ),
    *_SYN_CHECKS,
)

# --- connection tracking ---------------------------------------------------------------------

_CONNTRACK_CHECKS: tuple[Check, ...] = (
    Check(
        "Is it still dropping, and on which CPU?",
        "conntrack -S (drop, early_drop, insert_failed per CPU)",
    ),
    Check(
        "Do long timeouts keep dead flows in the table?",
        "sysctl net.netfilter.nf_conntrack_tcp_timeout_established "
        "net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream",
    ),
    Check(
        "Does the hash table size match nf_conntrack_max?",
        "sysctl net.netfilter.nf_conntrack_buckets net.netfilter.nf_conntrack_max",
    ),
)

_EXPECT_CHECKS: tuple[Check, ...] = (
    Check(
        "How many expectations exist against the limit?",
        "wc -l < /proc/net/nf_conntrack_expect; sysctl net.netfilter.nf_conntrack_expect_max",
    ),
    Check(
        "Which helper creates them (FTP, SIP, H.323, ...), and is it needed?",
        "conntrack -L expect; lsmod | grep -E 'nf_conntrack_(ftp|sip|h323|pptp|tftp)'; "
        "nft list ruleset | grep -i helper",
    ),
)

# --- TCP memory ------------------------------------------------------------------------------

_TCP_MEM_CHECKS: tuple[Check, ...] = (
    Check(
        "Is the kernel aborting connections for lack of memory, and how often was it under "
        "pressure?",
        "nstat -az TcpExtTCPAbortOnMemory TcpExtTCPMemoryPressures TcpExtTCPMemoryPressuresChrono",
    ),
    Check(
        "Which sockets hold the memory (large unread receive queues or unsent send queues)?",
        "ss -tnmp | sort -t: -k2 (look at Recv-Q/Send-Q and skmem r/t)",
    ),
)

_ORPHAN_CHECKS: tuple[Check, ...] = (
    Check(
        "Which states do the orphans sit in (a peer that never reads keeps FIN_WAIT1/CLOSING)?",
        "ss -tan state fin-wait-1 state fin-wait-2 state closing state last-ack | "
        "awk 'NR>1 {print $1}' | sort | uniq -c",
    ),
    Check(
        "Is the kernel killing orphans for lack of memory?",
        "nstat -az TcpExtTCPAbortOnMemory TcpExtTCPOrphanCount",
    ),
    Check(
        "How long may an orphan retry before it is dropped?",
        "sysctl net.ipv4.tcp_orphan_retries net.ipv4.tcp_fin_timeout",
    ),
)

_TW_CHECKS: tuple[Check, ...] = (
    Check(
        "How many sockets are in TIME_WAIT against the cap?",
        "ss -s (timewait) vs sysctl net.ipv4.tcp_max_tw_buckets",
    ),
    Check(
        "Is the cap still being hit?",
        "nstat -az TcpExtTCPTimeWaitOverflow (run twice, compare)",
    ),
    Check(
        "Who closes first and so owns the TIME_WAIT sockets (short-lived outgoing connections)?",
        "ss -tan state time-wait | awk 'NR>1 {print $4}' | sort | uniq -c | sort -rn | head",
    ),
)

# --- neighbour table -------------------------------------------------------------------------

_NEIGH_CHECKS: tuple[Check, ...] = (
    Check(
        "How often has the table refused an entry (table_fulls counter)?",
        "ip -s ntable show name arp_cache | grep -i full (ndisc_cache for IPv6)",
    ),
    Check(
        "Which interface holds the entries, and how many are failed/incomplete ones?",
        "ip neigh show | awk '{print $3}' | sort | uniq -c; ip neigh show nud failed | wc -l",
    ),
    Check(
        "Is a large directly connected subnet (or a scan across it) creating the entries?",
        "ip route show scope link (on-link prefixes wider than gc_thresh3 hosts)",
    ),
)

# --- file handles ----------------------------------------------------------------------------

_FILE_MAX_CHECKS: tuple[Check, ...] = (
    Check(
        "Which processes hold the most descriptors (a leak grows between two runs)?",
        'for p in /proc/[0-9]*; do echo "$(ls $p/fd 2>/dev/null | wc -l) $(cat $p/comm '
        '2>/dev/null)"; done | sort -rn | head',
    ),
)

# --- rate limiting ---------------------------------------------------------------------------

_NET_RATELIMIT_CHECKS: tuple[Check, ...] = (
    Check(
        "What rate limit applies to network messages?",
        "sysctl net.core.message_cost net.core.message_burst (default: 10 messages per 5 s)",
    ),
)


def _syn(action: str, slug: str, severity: Severity, checks: tuple[Check, ...]) -> Signature:
    if action == "Sending cookies":
        what = (
            "so it answered further SYNs with SYN cookies instead of queueing them: clients "
            "still connect, but TCP options such as window scaling may be lost"
        )
    else:
        what = (
            "and SYN cookies are off, so it threw away further SYNs; clients retry after a "
            "second or more, or fail"
        )
    return Signature(
        id=f"kernel.syn-flood.{slug}",
        daemon=DAEMON,
        cause=Cause.TCP_LISTEN_QUEUE_FULL,
        anchors=("SYN flooding on port",),
        pattern=_SYN_HEAD + action,
        severity=severity,
        meaning=(
            "A TCP listener had as many half-open connections (SYN received, handshake not "
            f"finished) as its listen backlog allows, {what}. The backlog is the one the "
            "program passed to listen(), cut to net.core.somaxconn. Usually the program accepts "
            "too slowly or asked for a small backlog; a real SYN flood is the other possibility."
        ),
        source=_SRC_SYN,
        checks=checks,
        versions=(
            "2.6.x ('possible SYN flooding on port N. Sending cookies.'), 3.x ('TCP: "
            "Possible ...  Check SNMP counters.'), 4.x-6.1 (request_sock_TCP/TCPv6 prefix), "
            "6.2+ (ADDR:PORT, no 'Check SNMP counters')"
        ),
        programs=PROGRAMS,
    )


SIGNATURES: tuple[Entry, ...] = (
    # linux net/ipv4/tcp_input.c tcp_syn_flood_action() @ v6.12 / v6.1 / v4.4, tcp_ipv4.c @ v3.10,
    # v2.6.32: the listener's request (SYN) queue reached its backlog; cookies were sent.
    _syn("Sending cookies", "cookies", Severity.WARNING, _SYN_CHECKS),
    # Same function: the same overflow with net.ipv4.tcp_syncookies=0, so the SYN was dropped.
    _syn("Dropping request", "drop", Severity.ERROR, _SYN_DROP_CHECKS),
    # linux net/netfilter/nf_conntrack_core.c __nf_conntrack_alloc() @ v6.12 ... v2.6.32; the
    # older ip_conntrack module (2.6.1x, before nf_conntrack) used the same sentence with its name.
    Signature(
        id="kernel.conntrack-table-full",
        daemon=DAEMON,
        cause=Cause.CONNTRACK_FULL,
        anchors=("table full, dropping packet",),
        pattern=r"(?P<table>nf_conntrack|ip_conntrack): table full, dropping packet",
        severity=Severity.ERROR,
        meaning=(
            "A packet that would start a new tracked flow arrived while the connection-tracking "
            "table held nf_conntrack_max entries and no entry could be evicted early, so the "
            "kernel discarded the packet before any firewall rule or socket saw it. Every new "
            "connection through this host (in or out) fails until entries expire."
        ),
        source=_SRC_CONNTRACK,
        checks=_CONNTRACK_CHECKS,
        versions=(
            "2.6.x ('... dropping packet.'), 3.x-4.x ('nf_conntrack: table full, dropping "
            "packet'), from the 4.x release that added pr_fmt (after 4.4, by 4.19) "
            "'nf_conntrack: nf_conntrack: ...'; ip_conntrack in the old 2.6.1x module"
        ),
        programs=PROGRAMS,
    ),
    # linux net/netfilter/nf_conntrack_expect.c nf_ct_expect_related_report() @ v6.12 ... v2.6.32.
    Signature(
        id="kernel.conntrack-expect-full",
        daemon=DAEMON,
        cause=Cause.CONNTRACK_FULL,
        anchors=("expectation table full",),
        pattern=r"nf_conntrack: expectation table full",
        severity=Severity.WARNING,
        meaning=(
            "A conntrack helper (FTP, SIP, H.323 ...) wanted to register an expected related "
            "flow, but the expectation table already held nf_conntrack_expect_max entries. The "
            "related data or media connection will not be recognised as RELATED and is likely "
            "dropped by a stateful firewall."
        ),
        source=_SRC_EXPECT,
        checks=_EXPECT_CHECKS,
        versions="2.6.x-6.12",
        programs=PROGRAMS,
        fixed={"table": "nf_conntrack_expect"},
    ),
    # linux net/ipv4/tcp.c tcp_check_oom() @ v6.12 ... v3.10: TCP memory above tcp_mem[2].
    Signature(
        id="kernel.tcp-out-of-memory",
        daemon=DAEMON,
        cause=Cause.SOCKET_MEMORY,
        anchors=("consider tuning tcp_mem",),
        pattern=r"out of memory -- consider tuning tcp_mem",
        severity=Severity.ERROR,
        meaning=(
            "The memory charged to all TCP sockets together went past the hard limit (third "
            "value of net.ipv4.tcp_mem), so the kernel reset a socket it was closing or timing "
            "out instead of keeping it. While over the limit, every TCP socket gets less buffer "
            "than it asks for. It is host-wide, not one program's fault."
        ),
        source=_SRC_TCP_OOM,
        checks=_TCP_MEM_CHECKS,
        versions="3.x-6.12 (2.6.x: 'Out of socket memory')",
        programs=PROGRAMS,
    ),
    # linux net/ipv4/tcp.c tcp_check_oom() @ v6.12 ... v3.10 (and tcp_close() in 2.4/2.6).
    Signature(
        id="kernel.tcp-too-many-orphans",
        daemon=DAEMON,
        cause=Cause.SOCKET_MEMORY,
        anchors=("too many orphaned sockets",),
        pattern=r"too many orphaned sockets",
        severity=Severity.WARNING,
        meaning=(
            "More TCP sockets were closed by their programs but still finishing their shutdown "
            "(orphans) than net.ipv4.tcp_max_orphans allows, so the kernel reset one of them "
            "instead of finishing it gracefully. Peers that stop reading, or a burst of closes, "
            "pile orphans up; each one holds kernel memory."
        ),
        source=_SRC_TCP_OOM,
        checks=_ORPHAN_CHECKS,
        versions="2.4-6.12",
        programs=PROGRAMS,
    ),
    # linux net/ipv4/tcp_timer.c tcp_out_of_resources() @ v2.6.32: orphans or tcp_mem exceeded.
    Signature(
        id="kernel.out-of-socket-memory",
        daemon=DAEMON,
        cause=Cause.SOCKET_MEMORY,
        anchors=("Out of socket memory",),
        pattern=r"Out of socket memory",
        severity=Severity.ERROR,
        meaning=(
            "Older kernels' single message for the two TCP resource limits: either too many "
            "orphaned sockets (net.ipv4.tcp_max_orphans) or TCP memory above the third value of "
            "net.ipv4.tcp_mem. A socket the kernel was retransmitting on was reset and freed."
        ),
        source=_SRC_OLD_SOCKMEM,
        checks=_ORPHAN_CHECKS,
        versions="2.4-2.6.x (split into the two TCP messages in 3.x)",
        programs=PROGRAMS,
    ),
    # linux net/ipv4/tcp_minisocks.c tcp_time_wait() @ v2.6.32; DCCP keeps the text @ v6.12.
    # Mapped to socket-memory: tcp_max_tw_buckets is the kernel's cap on memory held by closed
    # connections, the same family as tcp_max_orphans; no closer cause exists.
    Signature(
        id="kernel.tw-bucket-overflow",
        daemon=DAEMON,
        cause=Cause.SOCKET_MEMORY,
        anchors=("time wait bucket table overflow",),
        pattern=r"time wait bucket table overflow",
        severity=Severity.WARNING,
        meaning=(
            "A connection closed while net.ipv4.tcp_max_tw_buckets sockets were already in "
            "TIME_WAIT, so the kernel destroyed it at once instead of keeping the TIME_WAIT "
            "state. Harmless for the closing side, but a sign of very many short connections; "
            "late duplicates of that connection are no longer caught."
        ),
        source=_SRC_TW,
        checks=_TW_CHECKS,
        versions="2.6.x for TCP (later only the TCPTimeWaitOverflow counter); DCCP to 6.12",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # linux net/core/neighbour.c neigh_alloc() @ v6.12 ... v4.4 (tbl->id: arp_cache, ndisc_cache).
    Signature(
        id="kernel.neighbour-table-overflow",
        daemon=DAEMON,
        cause=Cause.NEIGHBOUR_TABLE_FULL,
        anchors=("neighbor table overflow",),
        pattern=r"(?<![a-z0-9_])(?P<table>[a-z0-9_]+): neighbor table overflow!",
        severity=Severity.ERROR,
        meaning=(
            "The kernel needed a new ARP (arp_cache) or NDP (ndisc_cache) entry, the table was "
            "at gc_thresh3 and garbage collection could free nothing, so the entry was refused. "
            "Packets to that neighbour are dropped and sends fail with ENOBUFS until entries "
            "age out."
        ),
        source=_SRC_NEIGH,
        checks=_NEIGH_CHECKS,
        versions="4.3/4.4+ (absent in 4.2)",
        programs=PROGRAMS,
    ),
    # linux net/ipv4/route.c and net/ipv6/route.c @ v2.6.32: the old wording of the same event.
    Signature(
        id="kernel.neighbour-table-overflow-old",
        daemon=DAEMON,
        cause=Cause.NEIGHBOUR_TABLE_FULL,
        anchors=("Neighbour table overflow",),
        pattern=r"(?:ipv4: |IPv4: )?Neighbour table overflow",
        severity=Severity.ERROR,
        meaning=(
            "Older kernels' wording of the same event: binding a route to its next hop needed a "
            "new ARP/NDP entry and the neighbour table was full even after garbage collection. "
            "The send failed with ENOBUFS ('No buffer space available')."
        ),
        source=_SRC_NEIGH_OLD,
        checks=_NEIGH_CHECKS,
        versions="2.4-3.5",
        programs=PROGRAMS,
    ),
    # linux fs/file_table.c alloc_empty_file() @ v6.12 ... get_empty_filp() @ v2.6.32.
    Signature(
        id="kernel.file-max",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("VFS: file-max limit",),
        pattern=r"VFS: file-max limit (?P<limit>\d+) reached",
        severity=Severity.CRITICAL,
        meaning=(
            "The whole system ran out of open-file structures: fs.file-max is reached, so every "
            "process's open(), socket() and accept() fails with ENFILE, not only the one that "
            "leaks. The kernel prints this only when the count passes its previous peak."
        ),
        source=_SRC_FILE_MAX,
        checks=_FILE_MAX_CHECKS,
        versions="2.4-6.12",
        programs=PROGRAMS,
        fixed={"errno": "ENFILE"},
    ),
    # linux lib/ratelimit.c ___ratelimit() @ v6.12 ... v3.10 called by net_ratelimit()
    # (net/core/utils.c); 2.4/early 2.6 net_ratelimit() printed 'NET: N messages suppressed.'.
    Signature(
        id="kernel.net-ratelimit-suppressed",
        daemon=DAEMON,
        cause=Cause.LOG_SUPPRESSED,
        anchors=("net_ratelimit: ", "NET: "),
        pattern=r"(?:net_ratelimit|NET): (?P<count>\d+) (?:callbacks|messages) suppressed",
        severity=Severity.INFO,
        meaning=(
            "The networking code's shared rate limit swallowed this many messages since the last "
            "one printed: every SYN-flood, conntrack, neighbour and TCP-memory warning competes "
            "for the same 10 lines per 5 seconds. The lines around it undercount the events."
        ),
        source=_SRC_RATELIMIT,
        checks=_NET_RATELIMIT_CHECKS,
        versions="2.6.2x-6.12 ('NET: N messages suppressed.' in 2.4/early 2.6)",
        programs=PROGRAMS,
    ),
    # linux lib/ratelimit.c __ratelimit() @ v2.6.32 always names itself, so the line does not
    # say which subsystem was limited; kernel/printk.c (2.6.x) printk_ratelimit() likewise.
    Signature(
        id="kernel.ratelimit-suppressed",
        daemon=DAEMON,
        cause=Cause.LOG_SUPPRESSED,
        anchors=("__ratelimit: ", "printk: "),
        pattern=r"(?:__ratelimit|printk): (?P<count>\d+) (?:callbacks|messages) suppressed",
        severity=Severity.INFO,
        meaning=(
            "A kernel rate limit swallowed this many messages; this older wording does not say "
            "whose, so they may be network warnings or anything else the kernel printed with "
            "printk_ratelimit()."
        ),
        source=_SRC_RATELIMIT,
        checks=_NET_RATELIMIT_CHECKS,
        versions="2.6.x",
        confidence=Confidence.LOW,
        programs=PROGRAMS,
    ),
    # linux include/linux/ratelimit.h ratelimit_state_exit() @ v6.1: user space writing to
    # /dev/kmsg (systemd, udev) was rate-limited; nothing about kernel events.
    NotThis(
        id="kernel.not-this.devkmsg-suppressed",
        daemon=DAEMON,
        anchors=("output lines suppressed due to ratelimiting",),
        pattern=r"(?<!\d)\d+ output lines suppressed due to ratelimiting",
        hint=(
            "A user-space program wrote to /dev/kmsg faster than printk.devkmsg allows and some "
            "of its own lines were dropped; it says nothing about network queues or kernel events."
        ),
        source=_SRC_DEVKMSG,
        programs=PROGRAMS,
    ),
)
