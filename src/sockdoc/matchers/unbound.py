"""Unbound wordings (NLnet Labs Unbound 1.0 to 1.26).

Unbound prefixes its own messages with ``[PID:THREAD] LEVEL: `` when it logs to syslog
(``unbound[812]: [812:3] notice: ...``) and with ``[EPOCH] unbound[PID:THREAD] LEVEL: `` (or an
ASCII time with ``log-time-ascii``) when it writes its own log file. ``verbose(VERB_OPS, ...)``
messages come out as ``notice:`` and only with ``verbosity: 1`` or more; ``VERB_ALGO`` ones as
``debug:`` with ``verbosity: 4``. Error texts are the C library's strerror().

Covered: UDP sends refused by the kernel (``sendto failed`` for answers on unconnected sockets,
``send failed`` on connected upstream sockets since 1.13.1, ``sendmsg failed`` with
``interface-automatic``), the 1.17+ "send udp blocked for long" drop, socket buffers the kernel
did not grant (``so-sndbuf`` / ``so-rcvbuf``), descriptor exhaustion (accept, socket creation,
start-up rlimit), the request list (``num-queries-per-thread``) and per-IP wait limits, the TCP
connection limit, and TCP writes reset by clients. Since 1.5.8 Unbound waits and retries a UDP
send that gets EAGAIN or ENOBUFS before it logs anything; unreachable-route errors (1.4+) and
permission errors (EPERM from 1.13.2, EACCES from 1.14.0) show only with ``verbosity: 4``.
False friends: ENOTCONN for 0.0.0.0/:: targets, and the iterator's "exceeded the maximum
number of sends".
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import (
    Confidence,
    Entry,
    NotThis,
    ReasonFamily,
    Severity,
    Signature,
)

DAEMON = "unbound"
PROGRAMS = ("unbound",)

_SRC_SEND = (
    "unbound util/netevent.c @ release-1.26.0: comm_point_send_udp_msg(), "
    "comm_point_send_udp_msg_if(), udp_send_errno_needs_log() ('send failed' since "
    "release-1.13.1, retry loop since release-1.5.8)"
)
_SRC_BUF = "unbound services/listen_dnsport.c @ release-1.26.0: create_udp_sock()"
_SRC_ACCEPT = "unbound util/netevent.c @ release-1.26.0: comm_point_perform_accept()"
_SRC_MESH = "unbound services/mesh.c @ release-1.26.0: mesh_new_client()"

# log_addr(VERB_OPS, "remote address is", ...) prints the address on the NEXT line, so the
# failure line itself carries no address.
_SEND = r"(?:sendto|send|sendmsg) failed: "

_EAGAIN = r"Resource temporarily unavailable|Operation would block|No buffer space available"
_EPERM = r"Operation not permitted|Permission denied"
_UNREACH = (
    r"No route to host|Host is unreachable|Network is unreachable|Host is down|Network is down"
)

# --- checks -----------------------------------------------------------------------------------

_SNDBUF_UB: tuple[Check, ...] = (
    Check(
        "What send buffer does Unbound ask for, and was it granted at start-up?",
        "unbound-checkconf -o so-sndbuf; grep 'was not granted' the unbound log",
    ),
    Check(
        "How much does Unbound send: answers plus upstream queries (cache misses, prefetch)?",
        "unbound-control stats_noreset | grep -E 'total.num.(queries|cachemiss|prefetch)='",
    ),
)

_FIREWALL_UB: tuple[Check, ...] = (
    Check(
        "Which way does the refused packet go: an answer to a client (sendto) or a query to "
        "an upstream server (send on a connected socket)? The next line names the address.",
        "grep -A1 'failed: Op\\|failed: Perm' the unbound log ('remote address is ...')",
    ),
    Check(
        "Does a local rule drop Unbound's traffic on the way out?",
        "nft list ruleset | grep -E 'dport 53|sport 53|meta skuid'; pfctl -sr (BSD)",
    ),
)

_ROUTE_UB: tuple[Check, ...] = (
    Check(
        "Is there a route to the address on the next log line?",
        "ip route get ADDR (from 'remote address is ADDR port N')",
    ),
    Check(
        "Is Unbound trying IPv6 upstreams on a host without IPv6 connectivity?",
        "unbound-checkconf -o do-ip6; ip -6 route show default",
    ),
)

_FD_UB: tuple[Check, ...] = (
    Check(
        "What descriptor limit does Unbound run with, and how many does it use?",
        "grep 'open files' /proc/$(pidof unbound)/limits; ls /proc/$(pidof unbound)/fd | wc -l",
    ),
    Check(
        "How many descriptors does the configuration need (per thread: outgoing-range + "
        "incoming-num-tcp + outgoing-num-tcp)?",
        "unbound-checkconf -o num-threads; unbound-checkconf -o outgoing-range; "
        "unbound-checkconf -o incoming-num-tcp",
    ),
)

_REQUESTLIST_UB: tuple[Check, ...] = (
    Check(
        "How full is the request list, and how many queries were dropped or jostled out?",
        "unbound-control stats_noreset | grep -E 'requestlist\\.(max|exceeded|overwritten|"
        "current\\.all)'",
    ),
    Check(
        "What are the limits per thread?",
        "unbound-checkconf -o num-queries-per-thread; unbound-checkconf -o jostle-timeout",
    ),
    Check(
        "Are upstream servers slow or unreachable, so that queries stay in the list?",
        "unbound-control dump_requestlist; unbound-control dump_infra | sort -k4 -n | tail",
    ),
)


# ``sendto failed: REASON`` / ``send failed:`` / ``sendmsg failed:``, one signature per reason.
_send = ReasonFamily(
    id_prefix="unbound.send-failed",
    daemon=DAEMON,
    anchors=("sendto failed: ", "send failed: ", "sendmsg failed: "),
    prefix=_SEND,
    source=_SRC_SEND,
    programs=PROGRAMS,
)


_SEND_FAILED: tuple[Signature, ...] = (
    # EAGAIN/ENOBUFS: since 1.5.8 retried blocking (1.17+: poll up to SEND_BLOCKED_WAIT_TIMEOUT
    # and SEND_BLOCKED_MAX_RETRY times) before this is printed.
    _send(
        "eagain",
        _EAGAIN,
        Cause.SEND_BUFFER_FULL,
        "The kernel would not take a UDP packet because the socket's send buffer (or the "
        "device queue behind it) stayed full (EAGAIN, ENOBUFS), even after Unbound waited and "
        "retried; the answer or query was dropped. Traffic leaves faster than the send path "
        "drains.",
        _SNDBUF_UB,
        "1.0+ (retried first since 1.5.8)",
    ),
    _send(
        "eperm",
        _EPERM,
        Cause.FIREWALL_BLOCKED,
        "A local packet filter refused the packet (EPERM from netfilter, EACCES from BSD pf or "
        "a prohibit route). Unbound hides most of these: EPERM needs verbosity 2 in later "
        "1.4-1.13 releases and 4 from 1.13.2, EACCES verbosity 4 from 1.14.0, so each line may "
        "stand for many refused packets.",
        _FIREWALL_UB,
        "1.0+ (EPERM: verbosity 2, 4 since 1.13.2; EACCES: verbosity 4 since 1.14.0)",
    ),
    # Connected upstream sockets ('send failed', 1.13.1+) report an ICMP port unreachable for an
    # earlier query as ECONNREFUSED on the next send.
    _send(
        "refused",
        r"Connection refused",
        Cause.SEND_REFUSED,
        "The remote side answered an earlier datagram on this connected socket with an ICMP "
        "port unreachable, which the kernel reports on the next send (ECONNREFUSED): the "
        "upstream server is not listening, or something on the path rejects DNS.",
        (
            Check(
                "Which server refuses (the next log line)?",
                "grep -A1 'send failed: Connection refused' the unbound log",
            ),
        ),
        "1.13.1+",
    ),
    _send(
        "unreachable",
        _UNREACH,
        Cause.SEND_ERROR,
        "There was no usable route (ENETUNREACH, EHOSTUNREACH), or on a connected upstream "
        "socket an ICMP unreachable came back for an earlier query. A routing gap, not a full "
        "queue; Unbound hides these below verbosity 4, so they appear only when debugging.",
        _ROUTE_UB,
        "1.0+ (verbosity 4)",
        Confidence.MEDIUM,
    ),
    _send(
        "other",
        r"[^:]+?",
        Cause.SEND_ERROR,
        "A UDP send failed for a reason that names no queue or limit; the address is on the next "
        "line. If it repeats under load, check the outbound path.",
        _SNDBUF_UB,
        "1.0+",
        Confidence.LOW,
        priority=20,
    ),
)

_OTHER: tuple[Entry, ...] = (
    # "send udp blocked for long, dropping packet." (VERB_OPS, at most once per SLOW_LOG_TIME).
    Signature(
        id="unbound.send-udp-blocked",
        daemon=DAEMON,
        cause=Cause.SEND_BUFFER_FULL,
        anchors=("send udp blocked for long",),
        pattern=r"send udp blocked for long, dropping packet",
        severity=Severity.WARNING,
        meaning="A UDP send got EAGAIN or ENOBUFS and the socket did not become writable within "
        "Unbound's wait, so the packet was dropped: the send buffer stayed full. The line is "
        "rate-limited, so it stands for an unknown number of drops.",
        source=_SRC_SEND,
        checks=_SNDBUF_UB,
        versions="1.17.0+",
        programs=PROGRAMS,
    ),
    # log_warn("so-sndbuf %u was not granted. Got %u. ...") (1.4.8+), so-rcvbuf (1.4.0+).
    Signature(
        id="unbound.so-sndbuf-not-granted",
        daemon=DAEMON,
        cause=Cause.BUFFER_SIZE_CAPPED,
        anchors=("so-sndbuf ",),
        pattern=r"so-sndbuf (?P<required>\d+) was not granted\. Got (?P<limit>\d+)\.",
        severity=Severity.WARNING,
        meaning="Unbound asked for a larger UDP send buffer (so-sndbuf) than the kernel allows "
        "and got less than half of it; on Linux the figure is twice net.core.wmem_max. Bursts "
        "of answers overflow sooner than the configuration intends.",
        source=_SRC_BUF,
        checks=(
            Check(
                "Can Unbound override the ceiling (it tries SO_SNDBUFFORCE when run as root)?",
                "ps -o user= -p $(pidof unbound); sysctl net.core.wmem_max",
            ),
        ),
        versions="1.4.8+",
        programs=PROGRAMS,
    ),
    Signature(
        id="unbound.so-rcvbuf-not-granted",
        daemon=DAEMON,
        cause=Cause.BUFFER_SIZE_CAPPED,
        anchors=("so-rcvbuf ",),
        pattern=r"so-rcvbuf (?P<required>\d+) was not granted\. Got (?P<limit>\d+)\.",
        severity=Severity.WARNING,
        meaning="Unbound asked for a larger UDP receive buffer (so-rcvbuf) than the kernel "
        "allows and got less than half of it (on Linux twice net.core.rmem_max). Query bursts "
        "will be dropped by the kernel before Unbound reads them.",
        source=_SRC_BUF,
        checks=(
            Check(
                "Are queries already being dropped on receive?",
                "nstat -az UdpRcvbufErrors Udp6RcvbufErrors",
            ),
        ),
        versions="1.4.0+",
        programs=PROGRAMS,
    ),
    # "setsockopt(..., SO_SNDBUF, ...) was not granted: %s" (warning, ENOBUFS/ENOSYS) and the
    # SO_SNDBUFFORCE variant at VERB_ALGO.
    Signature(
        id="unbound.setsockopt-sndbuf-not-granted",
        daemon=DAEMON,
        cause=Cause.BUFFER_SIZE_CAPPED,
        anchors=("SO_SNDBUF, ...) was not granted", "SO_SNDBUFFORCE, ...) was not granted"),
        pattern=r"setsockopt\(\.\.\., SO_SNDBUF(?:FORCE)?, \.\.\.\) was not granted: "
        r"(?P<reason>.+?)\s*$",
        severity=Severity.WARNING,
        meaning="The kernel refused the send-buffer size Unbound configured (so-sndbuf) outright "
        "(ENOBUFS), so the socket keeps the system default.",
        source=_SRC_BUF,
        checks=(),
        versions="1.4.8+",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # accept4() EMFILE/ENFILE: "accept failed, slow down accept for %d msec: %s" (1.17+, VERB_OPS,
    # rate-limited), "accept, with no slow down, failed: %s" (1.17+), log_err_addr("accept
    # failed", strerror, addr) "accept failed: %s for ADDR port N" (1.5-1.16 when no stop_accept,
    # and 1.0-1.4 "accept failed: %s").
    Signature(
        id="unbound.accept-fd",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=(
            "accept failed, slow down accept for",
            "accept, with no slow down, failed",
            "accept failed: Too many open files",
            "accept failed: No file descriptors available",
        ),
        pattern=r"(?:accept failed, slow down accept for \d+ msec|"
        r"accept, with no slow down, failed|accept failed): "
        r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)"
        r"(?: for (?P<client_ip>[0-9A-Fa-f:.]+) port (?P<client_port>\d+))?",
        severity=Severity.ERROR,
        meaning="accept() failed with EMFILE or ENFILE: Unbound (or the system) is out of file "
        "descriptors. Unbound stops accepting TCP/TLS connections for a while, so they queue "
        "in the kernel or time out; outgoing queries need descriptors too.",
        source=_SRC_ACCEPT,
        checks=_FD_UB,
        versions="1.0+ (slow-down wording 1.17+)",
        programs=PROGRAMS,
    ),
    Signature(
        id="unbound.socket-fd",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("can't create socket: ",),
        pattern=r"can't create socket: "
        r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)",
        severity=Severity.ERROR,
        meaning="socket() failed with EMFILE or ENFILE: no descriptor was left for a new "
        "socket, so the outgoing query (or listener) could not be opened.",
        source="unbound services/listen_dnsport.c @ release-1.26.0: create_udp_sock(), "
        "create_tcp_accept_sock()",
        checks=_FD_UB,
        versions="1.0+",
        programs=PROGRAMS,
    ),
    # daemon/unbound.c checkrlimits(): "cannot increase max open fds from %u to %u".
    Signature(
        id="unbound.rlimit-nofile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("cannot increase max open fds from",),
        pattern=r"cannot increase max open fds from (?P<limit>\d+) to (?P<required>\d+)",
        severity=Severity.WARNING,
        meaning="At start-up the descriptor limit was below what the configuration needs and "
        "Unbound could not raise it; it continues with fewer outgoing UDP ports per thread, "
        "which lowers how many queries it can have in flight.",
        source="unbound daemon/unbound.c @ release-1.26.0: checkrlimits()",
        checks=_FD_UB,
        versions="1.0+",
        programs=PROGRAMS,
    ),
    # daemon/stats.c server_stats_log(): "... requestlist max %u avg %g exceeded %u jostled %u"
    # (1.4.11+; without "jostled" before). Only a non-zero "exceeded" is an overflow.
    Signature(
        id="unbound.requestlist-exceeded",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("requestlist max ",),
        pattern=r"requestlist max \d+ avg \S+ exceeded (?P<count>[1-9]\d*)",
        severity=Severity.WARNING,
        meaning="In the last statistics interval a thread's request list (num-queries-per-thread)"
        " was full and the given number of new queries were dropped without an answer. Slow "
        "or unreachable upstream servers keep entries in the list longer.",
        source="unbound daemon/stats.c @ release-1.26.0: server_stats_log()",
        checks=_REQUESTLIST_UB,
        versions="1.0+ ('jostled' field 1.4.11+)",
        programs=PROGRAMS,
    ),
    Signature(
        id="unbound.too-many-queries",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Too many queries. dropping", "Too many requests queued. dropping"),
        pattern=r"Too many (?:queries|requests queued)\. dropping incoming query",
        severity=Severity.INFO,
        meaning="The thread's request list (num-queries-per-thread) had no free slot and no "
        "entry old enough to jostle out, or too many clients wait on the same queries: the "
        "query was dropped without an answer.",
        source=_SRC_MESH,
        checks=_REQUESTLIST_UB,
        versions="1.1+ ('requests queued' 1.4.6+), verbosity 4",
        programs=PROGRAMS,
    ),
    Signature(
        id="unbound.wait-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Too many queries waiting from the IP",),
        pattern=r"Too many queries waiting from the IP",
        severity=Severity.INFO,
        meaning="One client address has more queries waiting for recursion than wait-limit "
        "allows; further queries from it get SERVFAIL. A per-client limit, typically hit by a "
        "busy forwarder or NAT address, or by an attack.",
        source=_SRC_MESH,
        checks=(
            Check(
                "What are the per-address limits, and is the client exempt?",
                "unbound-checkconf -o wait-limit; unbound-checkconf -o wait-limit-cookie; "
                "grep wait-limit-netblock unbound.conf; unbound-control stats_noreset | "
                "grep num.queries_wait_limit",
            ),
        ),
        versions="1.20.0+, verbosity 4",
        programs=PROGRAMS,
    ),
    # comm_point_perform_accept(): log_err_addr("accept rejected", "connection limit exceeded",
    # ...) with verbosity >= 3 (tcp-connection-limit, 1.8.0+).
    Signature(
        id="unbound.tcp-connection-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("accept rejected: connection limit exceeded",),
        pattern=r"accept rejected: connection limit exceeded for "
        r"(?P<client_ip>[0-9A-Fa-f:.]+) port (?P<client_port>\d+)",
        severity=Severity.INFO,
        meaning="A client netblock already had its tcp-connection-limit of TCP connections "
        "open, so Unbound closed the new one right after accepting it.",
        source=_SRC_ACCEPT,
        checks=(
            Check(
                "What limit applies to that client?",
                "grep tcp-connection-limit unbound.conf",
            ),
        ),
        versions="1.8.0+, verbosity 3",
        programs=PROGRAMS,
    ),
    # comm_point_tcp_handle_write(): log_err_addr("tcp writev" | "tcp send s", strerror, addr);
    # ECONNRESET and EPIPE only with verbosity >= 2.
    Signature(
        id="unbound.tcp-write-reset",
        daemon=DAEMON,
        cause=Cause.SEND_REFUSED,
        anchors=("tcp writev: ", "tcp send s: ", "tcp send r: "),
        pattern=r"tcp (?:writev|send s|send r): (?P<reason>Connection reset by peer|Broken pipe)"
        r" for (?P<client_ip>[0-9A-Fa-f:.]+) port (?P<client_port>\d+)",
        severity=Severity.WARNING,
        meaning="A TCP or TLS client closed or reset its connection while Unbound was writing "
        "the answer. Client churn, not a local limit.",
        source="unbound util/netevent.c @ release-1.26.0: comm_point_tcp_handle_write()",
        checks=(),
        versions="1.5.0+, verbosity 2",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # udp_send_errno_needs_log(): ENOTCONN for 0.0.0.0/:: targets (hidden from 1.23.0 below
    # verbosity 3). Reported in NLnetLabs/unbound issue 1254.
    NotThis(
        id="unbound.not-this.send-enotconn",
        daemon=DAEMON,
        anchors=("send failed: ", "sendto failed: "),
        pattern=_SEND + r"(?:Socket is not connected|Transport endpoint is not connected)",
        hint="Unbound tried to send to 0.0.0.0 or :: (an upstream address taken from a zone or "
        "configuration); the kernel answers ENOTCONN. A harmless address oddity, not a "
        "socket queue; the next line shows 'remote address is 0.0.0.0 port 53'.",
        source="https://github.com/NLnetLabs/unbound/issues/1254; unbound util/netevent.c "
        "@ release-1.23.0: udp_send_errno_needs_log()",
        programs=PROGRAMS,
    ),
    # iterator.c: SERVFAIL reason when a query used up its max-sent-count (upstreams failing).
    NotThis(
        id="unbound.not-this.max-sends",
        daemon=DAEMON,
        anchors=("exceeded the maximum number of sends",),
        pattern=r"exceeded the maximum number of sends",
        hint="The iterator gave up on one query after too many attempts (upstream servers not "
        "answering, often a network outage); it is a per-query limit, not a kernel queue.",
        source="unbound iterator/iterator.c @ release-1.26.0: processQueryTargets(); "
        "https://github.com/NLnetLabs/unbound/issues/362",
        programs=PROGRAMS,
    ),
)

SIGNATURES: tuple[Entry, ...] = (*_SEND_FAILED, *_OTHER)
