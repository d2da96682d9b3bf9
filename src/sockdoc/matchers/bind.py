"""BIND 9 ``named`` wordings (9.9 to 9.20).

Every per-client line goes through ``ns_client_logv()``, which prefixes the message with the
client: ``client ADDR#PORT[/key NAME][ (QNAME)][: view NAME]: `` in 9.9/9.10 and
``client @0xPTR ADDR#PORT...`` from 9.11 on (``(no-peer)`` when the address is unknown).

A failed response send is printed two ways, depending on the socket layer:

- 9.9 to 9.14 (``lib/isc/unix/socket.c``): ``error sending response: REASON`` in category
  ``client`` at severity ``warning``. REASON is ``isc_result_totext()`` of what the socket code
  made of the kernel's errno: EAGAIN "would block" (9.9.9+, 9.10.4+; "unset" before), ENOBUFS
  "not enough free resources" (on unconnected UDP sockets "unset" from 9.11.5 / 9.12.3),
  EACCES "permission denied", EPERM and EHOSTUNREACH "host unreachable", ENETUNREACH "network
  unreachable", ECONNRESET "connection reset", EPIPE "socket is not connected"; a send that is
  dropped without a result (repeated EINTR, a soft error on UDP) stays "unset".
- 9.16 to 9.20 (``lib/isc/netmgr``, libuv): ``send failed: REASON`` in category ``security`` at
  ``debug 3`` (invisible with default logging). EAGAIN is libuv's UV_EAGAIN, mapped to
  "no pending connections" (9.16.1+; 9.16.0 printed "unexpected error"); EPERM and EACCES are
  "permission denied". From 9.18.31 / 9.20.3, when libuv's queue of unsent UDP datagrams on a
  socket exceeds 64 KiB, named tries one non-blocking send and, failing, drops the response and
  logs ``Sending UDP messages failed: REASON`` (category general/default, error, once a second).

Also covered: the recursive-clients and tcp-clients quotas, the descriptor limits of the old
socket manager and of netmgr's accept(), the TCP "other side is not reading" throttle, and the
socket code's own ``internal_send:`` complaint. False friends: gz-transport's "error sending
response", and ``send failed: shutting down`` while named stops.
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

DAEMON = "bind"
PROGRAMS = ("named",)

_SRC_SENDDONE_OLD = (
    "bind9 bin/named/client.c @ v9.9.0..v9.11.37 and lib/ns/client.c @ v9.12.0..v9.14.12: "
    "client_senddone(); lib/isc/unix/socket.c doio_send() (errno -> isc_result); "
    "lib/isc/result.c (texts)"
)
_SRC_SENDDONE_NEW = (
    "bind9 lib/ns/client.c @ v9.16.0..v9.20.27: client_senddone(); "
    "lib/isc/netmgr/uverr2result.c @ v9.16.1..v9.18.50, lib/isc/uv.c @ v9.20.27 (UV_EAGAIN -> "
    "ISC_R_NOCONN)"
)
_SRC_UDP_QUEUE = (
    "bind9 lib/isc/netmgr/udp.c @ v9.18.31..v9.18.50: udp_send_direct(), @ v9.20.3..v9.20.27: "
    "isc__nm_udp_send() (uv_udp_try_send() once the libuv send queue exceeds "
    "ISC_NETMGR_UDP_SENDBUF_SIZE = UINT16_MAX)"
)
_SRC_CLIENT_LOG = "bind9 ns_client_logv() @ v9.9.0 (no @PTR), v9.11.0..v9.20.27 ('client @%p')"

# ns_client_logv(): "client [@0xPTR ]PEER[/key NAME][ (QNAME)][: view NAME]: ". PEER is
# isc_sockaddr_format() "ADDR#PORT" (IPv6 with %zone), "(no-peer)" (9.11+) or "@0xPTR" (9.9).
_CLIENT = (
    r"client (?:@0x[0-9a-fA-F]+ )?"
    r"(?:(?P<client_ip>[0-9A-Fa-f:.]+(?:%[\w.-]+)?)#(?P<client_port>\d+)|\(no-peer\)|@0x[0-9a-fA-F]+)"
    r"(?:/key [^\s:()]+)?"
    r"(?: \((?P<qname>(?:[^)\\]|\\.)*)\))?"
    r"(?:: view [^:]+)?: "
)

_ESR = "error sending response"
_SF = "send failed: "

# --- checks -----------------------------------------------------------------------------------

_STATS_SEND: tuple[Check, ...] = (
    Check(
        "Is named's own send-error counter rising, and for which transport?",
        "rndc stats; grep -E '(UDP|TCP)/IPv[46] send errors' named.stats "
        "(9.18+: statistics-channels counters UDP4SendErr / UDP6SendErr)",
    ),
    Check(
        "Are the answers large (DNSSEC, ANY, big EDNS buffers), which fill the buffer sooner?",
        "named-checkconf -p | grep -E 'max-udp-size|edns-udp-size'; statistics-channels "
        "traffic histogram (sizes of UDP responses sent)",
    ),
)

_SNDBUF_BIND: tuple[Check, ...] = (
    Check(
        "Does named ask for a specific UDP send buffer (9.18+), or take the kernel default?",
        "named-checkconf -p | grep -E 'udp-send-buffer|udp-receive-buffer'",
    ),
    *_STATS_SEND,
)

_PEER_GONE: tuple[Check, ...] = (
    Check(
        "Is it TCP (DoT/DoH/zone transfers) from a few clients that disconnect early?",
        "rndc stats; grep -E 'TCP/IPv[46] (send errors|connections accepted)' named.stats",
    ),
)

_FIREWALL_BIND: tuple[Check, ...] = (
    Check(
        "Does the local firewall drop or reject named's answers on the way out (EPERM)?",
        "nft list ruleset | grep -B2 -A2 -E 'sport 53|udp sport domain'; "
        "iptables -L OUTPUT -v -n | grep -E 'spt:53|DROP|REJECT'",
    ),
    Check(
        "Or is the route to that client an unreachable / prohibit route?",
        "ip route get CLIENT_IP (look for 'unreachable' or 'prohibit')",
    ),
)

_ROUTE_BIND: tuple[Check, ...] = (
    Check(
        "Does the kernel have a route back to that client at all?",
        "ip route get CLIENT_IP; ip -6 route get CLIENT_IP",
    ),
    Check(
        "Do the failing clients share a prefix (an asymmetric or withdrawn route)?",
        "sockdoc scan LOG (top clients)",
    ),
)

_RECURSION_CHECKS: tuple[Check, ...] = (
    Check(
        "How close is the recursive-clients quota right now (used/soft/max)?",
        "rndc status | grep 'recursive clients'",
    ),
    Check(
        "Are recursions slow because upstream servers do not answer (queries pile up)?",
        "rndc recursing; less named.recursing (many queries for one domain = an attack "
        "or a broken zone)",
    ),
    Check(
        "What are the configured limits?",
        "named-checkconf -p | grep -E 'recursive-clients|clients-per-query|fetches-per-zone'",
    ),
)

_TCP_QUOTA_CHECKS: tuple[Check, ...] = (
    Check(
        "How many TCP clients are in use against the quota?",
        "rndc status | grep 'tcp clients'",
    ),
    Check(
        "What is tcp-clients set to, and do idle connections hold slots (keepalive/idle)?",
        "named-checkconf -p | grep -E 'tcp-clients|tcp-idle-timeout|tcp-keepalive-timeout'",
    ),
    Check(
        "Who holds the TCP connections?",
        "ss -tn state established '( sport = :53 or sport = :853 )' | awk '{print $4}' | "
        "cut -d: -f1 | sort | uniq -c | sort -rn | head",
    ),
)

_FD_BIND: tuple[Check, ...] = (
    Check(
        "What descriptor limit does named run with, and how many does it hold?",
        "grep 'open files' /proc/$(pidof named)/limits; ls /proc/$(pidof named)/fd | wc -l",
    ),
    Check(
        "How many sockets does named think it may use (9.9-9.16: -S option, reserved-sockets)?",
        "grep 'using up to' named log; named-checkconf -p | grep reserved-sockets",
    ),
)


# --- builders ---------------------------------------------------------------------------------


# 9.9-9.14 ``client ...: error sending response: REASON``.
_esr = ReasonFamily(
    id_prefix="bind.error-sending-response",
    daemon=DAEMON,
    anchors=(_ESR,),
    prefix=_CLIENT + r"error sending response: ",
    source=_SRC_SENDDONE_OLD,
    programs=PROGRAMS,
)


# 9.16-9.20 ``client @0x... ADDR#PORT (QNAME): send failed: REASON`` (security, debug 3).
_sf = ReasonFamily(
    id_prefix="bind.send-failed",
    daemon=DAEMON,
    anchors=(_SF,),
    prefix=_CLIENT + r"send failed: ",
    source=_SRC_SENDDONE_NEW,
    programs=PROGRAMS,
)


# --- 9.9-9.14: error sending response --------------------------------------------------------

_ERROR_SENDING_RESPONSE: tuple[Signature, ...] = (
    # doio_send(): EAGAIN/EWOULDBLOCK on a UDP send with ISC_SOCKFLAG_NORETRY sets
    # ISC_R_WOULDBLOCK (change 4219, 9.9.9 / 9.10.4); the ISC KB article AA-00717 shows the line.
    _esr(
        "would-block",
        "would block",
        Cause.SEND_BUFFER_FULL,
        "The kernel refused to queue named's answer because the UDP socket's send buffer was "
        "full (EAGAIN). named does not retry a UDP answer, so the client got nothing and will "
        "retry or give up. Answers are leaving faster than the interface, qdisc or a firewall "
        "on the way out can take them.",
        _SNDBUF_BIND,
        "9.9.9-9.9.13, 9.10.4-9.10.8, 9.11-9.14",
    ),
    # doio_send(): ENOBUFS -> ISC_R_NORESOURCES (ALWAYS_HARD until 9.11.4/9.12.2; afterwards only
    # on connected sockets, i.e. TCP). Linux hides ENOBUFS on UDP unless IP_RECVERR is set, so
    # this is mostly seen on BSDs (http://apocryph.org/tag/named/, OpenBSD).
    _esr(
        "not-enough-free-resources",
        "not enough free resources",
        Cause.SEND_BUFFER_FULL,
        "The kernel had no buffer space for the outgoing packet (ENOBUFS): an interface queue or "
        "the kernel's packet memory was exhausted, so the answer was dropped. On Linux this "
        "comes from TCP or a full device queue; on the BSDs it is the usual form of a send "
        "path that cannot keep up (mbuf clusters).",
        (
            Check(
                "Are device or qdisc queues dropping (Linux)?",
                "tc -s qdisc show; ip -s link",
            ),
            Check(
                "Are mbufs/clusters exhausted (BSD)?",
                "netstat -m (requests for memory denied/delayed); sysctl kern.ipc.nmbclusters",
            ),
            *_STATS_SEND,
        ),
        "9.9-9.14 (UDP only until 9.11.4 / 9.12.2)",
    ),
    # "unset" is ISC_R_UNSET, the initial event result: doio_send() returned DOIO_SOFT without a
    # result (EAGAIN before 9.9.9/9.10.4, repeated EINTR, ECONNREFUSED or, from 9.11.5, ENOBUFS
    # on an unconnected UDP socket) and NORETRY posted the event as is. "unexpected error" is
    # ISC_R_UNEXPECTED from isc__errno2result() for an errno it does not know (ISC KB AA-00717).
    _esr(
        "unset",
        "unset|unexpected error",
        Cause.SEND_ERROR,
        "named's answer was not sent and the socket code kept no specific error for it. In "
        "9.9.0-9.9.8 and 9.10.0-9.10.3 this is how a full send buffer (EAGAIN) shows; later it "
        "covers ENOBUFS on UDP (9.11.5+), a send interrupted too often (EINTR), or an errno the "
        "socket code does not translate. Treat it as an outbound bottleneck until the kernel "
        "counters say otherwise.",
        _SNDBUF_BIND,
        "9.9-9.14",
        Confidence.MEDIUM,
    ),
    # ECONNREFUSED (connected sockets: SOFT_OR_HARD), ECONNRESET -> ISC_R_CONNECTIONRESET,
    # EPIPE -> ISC_R_NOTCONNECTED ("socket is not connected"): the peer side went away.
    _esr(
        "peer-gone",
        "connection refused|connection reset|socket is not connected",
        Cause.SEND_REFUSED,
        "The other end refused or tore down the connection while named was writing the answer "
        "(ECONNREFUSED, ECONNRESET, EPIPE). This is almost always TCP (zone transfers, large "
        "answers) with a client that closed early, not a local queue or limit.",
        _PEER_GONE,
        "9.9-9.14",
    ),
    # ALWAYS_HARD(EACCES, ISC_R_NOPERM).
    _esr(
        "permission-denied",
        "permission denied",
        Cause.FIREWALL_BLOCKED,
        "sendmsg() returned EACCES: a packet filter or a 'prohibit' route refused the outgoing "
        "answer. On Linux, netfilter drops usually come back as EPERM, which this BIND version "
        "prints as 'host unreachable'; EACCES is typical of BSD pf and of prohibit routes.",
        _FIREWALL_BIND,
        "9.9-9.14",
    ),
    # ALWAYS_HARD(EPERM, ISC_R_HOSTUNREACH) and ALWAYS_HARD(EHOSTUNREACH/EHOSTDOWN, same): the
    # socket code folds EPERM into "host unreachable". On Linux a netfilter DROP/REJECT in OUTPUT
    # makes sendmsg() return EPERM, so that is the common source (confirmed by a public kernel
    # module comment: returning NF_DROP made BIND log "error sending response: host unreachable").
    _esr(
        "host-unreachable",
        "host unreachable",
        Cause.FIREWALL_BLOCKED,
        "The send was refused locally with EPERM, EHOSTUNREACH or EHOSTDOWN; BIND 9.9-9.14 "
        "print all three as 'host unreachable'. On Linux the usual one is EPERM: a netfilter "
        "rule (or a full conntrack table) dropped named's answer in the OUTPUT path. The less "
        "common alternative is an 'unreachable' route or a failed neighbour lookup for the "
        "client.",
        _FIREWALL_BIND,
        "9.9-9.14",
        Confidence.MEDIUM,
    ),
    # ALWAYS_HARD(ENETUNREACH, ISC_R_NETUNREACH): no route at all.
    _esr(
        "network-unreachable",
        "network unreachable",
        Cause.SEND_ERROR,
        "The kernel found no route back to the client's network (ENETUNREACH), so the answer "
        "could not leave. This is a routing problem (missing default route, often IPv6, or a "
        "withdrawn route), not a full queue; it is counted as a send error because no socket "
        "limit is involved.",
        _ROUTE_BIND,
        "9.9-9.14",
        Confidence.MEDIUM,
    ),
    # Any other isc_result text (address not available, invalid file, ...): generic fallback.
    _esr(
        "other",
        r"[^:]+?",
        Cause.SEND_ERROR,
        "named could not send an answer and gave a reason that names no queue or limit. Read the "
        "reason; if it repeats under load, check the outbound path as for a full send buffer.",
        _STATS_SEND,
        "9.9-9.14",
        Confidence.LOW,
        priority=20,
    ),
)

# --- 9.16-9.20: send failed ------------------------------------------------------------------

_SEND_FAILED: tuple[Signature, ...] = (
    # isc___nm_uverr2result(): UV_EAGAIN -> ISC_R_NOCONN (9.16.1+). It reaches client_senddone()
    # when uv_udp_try_send() fails in the queue-limit path (9.18.31+, 9.20.3+); FACTS.md measured
    # the line on 9.18.49.
    _sf(
        "no-pending-connections",
        "no pending connections",
        Cause.SEND_BUFFER_FULL,
        "The kernel refused the answer with EAGAIN because the UDP socket's send buffer was full; "
        "libuv's EAGAIN is printed by BIND as 'no pending connections'. From 9.18.31/9.20.3 "
        "named drops an answer this way once more than 64 KiB of answers wait unsent on one "
        "socket. Answers leave faster than the send path takes them.",
        _SNDBUF_BIND,
        "9.16.1-9.20 (in practice 9.18.31+, 9.20.3+)",
    ),
    _sf(
        "not-enough-free-resources",
        "not enough free resources",
        Cause.SEND_BUFFER_FULL,
        "The kernel had no buffer space for the packet (ENOBUFS, via libuv): a device queue or "
        "the kernel's packet memory was exhausted and the answer was dropped.",
        _SNDBUF_BIND,
        "9.16-9.20",
    ),
    # 9.16.0's converter had no UV_EAGAIN case: EAGAIN (and any unknown libuv code) became
    # ISC_R_UNEXPECTED.
    _sf(
        "unexpected-error",
        "unexpected error",
        Cause.SEND_ERROR,
        "The send failed with an error BIND does not translate. In 9.16.0 this is how EAGAIN (a "
        "full send buffer) was printed; named also logs 'unable to convert libuv error code' "
        "with the raw errno just before.",
        _SNDBUF_BIND,
        "9.16-9.20",
        Confidence.MEDIUM,
    ),
    _sf(
        "peer-gone",
        "connection reset|connection refused|socket is not connected",
        Cause.SEND_REFUSED,
        "The client reset or closed its connection (ECONNRESET, EPIPE, ECONNREFUSED) before "
        "named finished writing the answer; this is TCP, DoT or DoH churn, not a local limit.",
        _PEER_GONE,
        "9.16-9.20",
    ),
    # ISC_R_CANCELED: the netmgr socket was already closing (client closed the TCP connection, a
    # write time-out reset it, or the listener is being torn down).
    _sf(
        "canceled",
        "operation canceled",
        Cause.SEND_REFUSED,
        "The connection the answer belonged to was already being closed when named tried to "
        "send, usually because the client hung up or named's write time-out reset a client that "
        "stopped reading. Occasional lines are normal churn.",
        _PEER_GONE,
        "9.16-9.20",
        Confidence.MEDIUM,
    ),
    # uverr2result: UV_EPERM and UV_EACCES -> ISC_R_NOPERM.
    _sf(
        "permission-denied",
        "permission denied",
        Cause.FIREWALL_BLOCKED,
        "sendmsg() returned EPERM or EACCES: a local packet filter (or a full conntrack table) "
        "dropped named's answer in the output path, or a 'prohibit' route matched the client.",
        _FIREWALL_BIND,
        "9.16-9.20",
    ),
    # uverr2result: UV_EHOSTUNREACH -> "host unreachable", UV_ENETUNREACH -> "network
    # unreachable" (EPERM is no longer folded into these in the netmgr code).
    _sf(
        "unreachable",
        "host unreachable|network unreachable|host down|network down",
        Cause.SEND_ERROR,
        "The kernel has no usable route to the client (EHOSTUNREACH, ENETUNREACH): a routing gap "
        "such as a missing IPv6 default route or an 'unreachable' route. No queue overflowed; it "
        "is a send error of the routing layer.",
        _ROUTE_BIND,
        "9.16-9.20",
        Confidence.MEDIUM,
    ),
    _sf(
        "other",
        r"[^:]+?",
        Cause.SEND_ERROR,
        "named could not send an answer and gave a reason that names no queue or limit (for "
        "example 'timed out' for a TCP client that stopped reading). Read the reason; if it "
        "repeats under load, check the outbound path.",
        _STATS_SEND,
        "9.16-9.20",
        Confidence.LOW,
        priority=20,
    ),
)

# --- other signatures ------------------------------------------------------------------------

_OTHER: tuple[Entry, ...] = (
    # udp.c: "Sending UDP messages failed: %s" with isc_result_totext(uverr2result(r)), logged at
    # most once per second; 9.20 prefixes "netmgr 0xPTR: " (isc__netmgr_log()).
    Signature(
        id="bind.udp-send-queue.no-pending-connections",
        daemon=DAEMON,
        cause=Cause.SEND_BUFFER_FULL,
        anchors=("Sending UDP messages failed: no pending connections",),
        pattern=r"Sending UDP messages failed: (?P<reason>no pending connections)",
        severity=Severity.ERROR,
        meaning="More than 64 KiB of answers were already waiting in libuv's queue for one UDP "
        "socket because the kernel's send buffer was full, and one more non-blocking send also "
        "got EAGAIN, so named dropped that answer. It is logged at most once a second: each "
        "line may stand for many dropped answers (count them with the UDP send-error counter).",
        source=_SRC_UDP_QUEUE,
        checks=_SNDBUF_BIND,
        versions="9.18.31-9.18.x, 9.20.3+",
        programs=PROGRAMS,
    ),
    Signature(
        id="bind.udp-send-queue.other",
        daemon=DAEMON,
        cause=Cause.SEND_ERROR,
        anchors=("Sending UDP messages failed: ",),
        pattern=r"Sending UDP messages failed: (?P<reason>.+?)\s*$",
        severity=Severity.ERROR,
        meaning="named's UDP send queue for a socket was over 64 KiB and the direct send it tried "
        "failed for a reason other than a full buffer; the answer was dropped. Lines are "
        "rate-limited to one a second.",
        source=_SRC_UDP_QUEUE,
        checks=_STATS_SEND,
        versions="9.18.31-9.18.x, 9.20.3+",
        confidence=Confidence.MEDIUM,
        priority=20,
        programs=PROGRAMS,
    ),
    # tcp.c / tcpdns.c / tlsdns.c (9.18.28+), tcp.c (9.20): debug 3, either "throttling TCP
    # connection, the other side is not reading the data (N)" when the write queue reaches
    # ISC_NETMGR_TCP_SENDBUF_SIZE, or "... switching to uv_write()" after a partial write.
    Signature(
        id="bind.tcp-peer-not-reading",
        daemon=DAEMON,
        cause=Cause.SEND_BUFFER_FULL,
        anchors=("the other side is not reading the data",),
        pattern=r"the other side is not reading the data(?: \((?P<count>\d+)\))?",
        severity=Severity.INFO,
        meaning="A TCP client (DNS over TCP/TLS) is not reading its answers: the socket's send "
        "buffer is full and named has answers queued behind it (the number is the bytes "
        "waiting), so it stops reading further queries from that client. This is a slow or "
        "stuck client filling the send path, not a server-wide limit.",
        source="bind9 lib/isc/netmgr/tcp.c, tcpdns.c @ v9.18.28..v9.18.50; "
        "tcp.c @ v9.20.0..v9.20.27",
        checks=(
            Check(
                "Which clients have large unsent queues (Send-Q) on port 53/853?",
                "ss -tn '( sport = :53 or sport = :853 )' | sort -k3 -n | tail",
            ),
        ),
        versions="9.18.28+, 9.20",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # query.c / lib/ns/query.c: "no more recursive clients: %s" (9.6 and older), "(%d/%d/%d): %s"
    # (9.7-9.18), "(%u/%u/%u)" without the result text (9.20). Rate-limited to once a second.
    Signature(
        id="bind.recursive-clients-quota",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("no more recursive clients",),
        pattern=r"(?:" + _CLIENT + r")?no more recursive clients"
        r"(?: \((?P<count>\d+)/\d+/(?P<limit>\d+)\))?(?:: (?P<reason>quota reached))?",
        severity=Severity.WARNING,
        meaning="named already had recursive-clients recursions in flight and refused another: "
        "the new query got SERVFAIL and the oldest waiting one was dropped. The numbers are "
        "used/soft/max. Usually recursions are slow (unresponsive authoritative servers, "
        "random-subdomain attacks) rather than the limit being too small; logged once a second.",
        source="bind9 bin/named/query.c @ v9.9.0..v9.11.37 (query_recurse(), log_quota()); "
        "lib/ns/query.c @ v9.14.0..v9.20.27",
        checks=_RECURSION_CHECKS,
        versions="9.x (counts 9.7+, no ': quota reached' in 9.20)",
        programs=PROGRAMS,
    ),
    Signature(
        id="bind.recursive-clients-soft-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("recursive-clients soft limit exceeded",),
        pattern=r"(?:" + _CLIENT + r")?recursive-clients soft limit exceeded"
        r"(?: \((?P<count>\d+)/\d+/(?P<limit>\d+)\))?,? aborting oldest query",
        severity=Severity.WARNING,
        meaning="named passed the soft recursive-clients mark (a little below the maximum) and "
        "made room by dropping its oldest waiting recursion, whose client gets no answer. The "
        "numbers are used/soft/max; the hard limit is close.",
        source="bind9 bin/named/query.c @ v9.9.0..v9.11.37; lib/ns/query.c @ v9.14.0..v9.20.27",
        checks=_RECURSION_CHECKS,
        versions="9.x",
        programs=PROGRAMS,
    ),
    # client.c: "no more TCP clients: %s" (9.9-9.10), "no more TCP clients(read|accept): %s"
    # (9.11.0-9.11.6, 9.12.0-9.14.0), "TCP client quota reached: %s" (9.11.7+, 9.14.1+).
    Signature(
        id="bind.tcp-clients-quota",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("no more TCP clients", "TCP client quota reached"),
        pattern=r"(?:" + _CLIENT + r")?"
        r"(?:no more TCP clients(?:\((?:read|accept)\))?|TCP client quota reached): "
        r"(?P<reason>(?:soft )?quota reached)",
        severity=Severity.WARNING,
        meaning="named had tcp-clients TCP connections open and refused another one. New TCP "
        "clients (truncated answers retried over TCP, zone transfers, DoT) are turned away "
        "until connections close; idle connections held open count against the quota.",
        source="bind9 bin/named/client.c @ v9.9.0..v9.11.37 (client_newconn(), client_accept()); "
        "lib/ns/client.c @ v9.12.0..v9.14.12",
        checks=_TCP_QUOTA_CHECKS,
        versions="9.9-9.14",
        programs=PROGRAMS,
    ),
    # netmgr tcp.c: "TCP connection failed: %s" (9.16.0-9.16.23), "Accepting TCP connection
    # failed: %s" (9.16.4+); quota results are logged at most once a second (info in 9.18+).
    Signature(
        id="bind.tcp-accept-quota",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("TCP connection failed: ",),
        pattern=r"(?:Accepting )?TCP connection failed: (?P<reason>(?:soft )?quota reached)",
        severity=Severity.WARNING,
        meaning="A new TCP connection arrived while tcp-clients connections were open; named "
        "did not take it. Clients that fall back to TCP for large answers fail until "
        "connections close.",
        source="bind9 lib/isc/netmgr/tcp.c @ v9.16.0..v9.16.50, netmgr.c "
        "isc__nm_accept_connection_log() @ v9.18.0..v9.20.27",
        checks=_TCP_QUOTA_CHECKS,
        versions="9.16-9.20",
        programs=PROGRAMS,
    ),
    Signature(
        id="bind.tcp-accept-fd",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("TCP connection failed: too many open files",),
        pattern=r"(?:Accepting )?TCP connection failed: (?P<reason>too many open files)",
        severity=Severity.ERROR,
        meaning="accept() failed with EMFILE or ENFILE: named (or the whole system) is out of "
        "file descriptors, so the pending TCP connection stays in the listen queue or is "
        "dropped. New outgoing queries need descriptors too and fail the same way.",
        source="bind9 lib/isc/netmgr/uverr2result.c (UV_EMFILE/UV_ENFILE -> "
        "ISC_R_TOOMANYOPENFILES) and tcp.c/netmgr.c @ v9.16.4..v9.20.27",
        checks=_FD_BIND,
        versions="9.16-9.20",
        programs=PROGRAMS,
    ),
    # socket.c (9.9-9.16): socket() failing with EMFILE/ENFILE logs "%s: %s" with err = "socket"
    # or "isc_socket_create: fcntl[/reserved]" and strerror().
    Signature(
        id="bind.socket-fd-exhausted",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=(
            "socket: Too many open files",
            "fcntl: Too many open files",
            "fcntl/reserved: Too many open files",
        ),
        pattern=r"(?:isc_socket_create: fcntl(?:/reserved)?|socket): "
        r"(?P<reason>Too many open files(?: in system)?)",
        severity=Severity.ERROR,
        meaning="named could not open a new socket because the process (EMFILE) or the system "
        "(ENFILE) has no free file descriptors. Outgoing queries of the resolver need a socket "
        "each, so recursion fails while this lasts.",
        source="bind9 lib/isc/unix/socket.c @ v9.9.0..v9.16.50: opensocket()",
        checks=_FD_BIND,
        versions="9.9-9.16",
        programs=PROGRAMS,
    ),
    Signature(
        id="bind.accept-fd-exhausted",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("too many open file descriptors",),
        pattern=r"(?:accept|accept/fcntl): too many open file descriptors",
        severity=Severity.ERROR,
        meaning="accept() on a TCP listener failed with EMFILE or ENFILE: named is out of file "
        "descriptors, so TCP clients wait in the listen queue until some close.",
        source="bind9 lib/isc/unix/socket.c @ v9.9.0..v9.16.50: internal_accept()",
        checks=_FD_BIND,
        versions="9.9-9.16",
        programs=PROGRAMS,
    ),
    # socket.c: a descriptor at or above the socket manager's maxsocks is closed again.
    Signature(
        id="bind.fd-exceeds-maxsocks",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("file descriptor exceeds limit (",),
        pattern=r"(?:socket|accept): file descriptor exceeds limit "
        r"\((?P<count>\d+)/(?P<limit>\d+)\)",
        severity=Severity.ERROR,
        meaning="named got a descriptor numbered above its own socket-manager ceiling (the "
        "second number, set by 'named -S' or the build's default) and closed it again; the "
        "socket or TCP connection is lost. The ceiling is BIND's, independent of ulimit -n.",
        source="bind9 lib/isc/unix/socket.c @ v9.9.0..v9.16.50: opensocket(), internal_accept()",
        checks=_FD_BIND,
        versions="9.9-9.16",
        programs=PROGRAMS,
    ),
    Signature(
        id="bind.maxsocks-above-nofile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("is smaller than max sockets",),
        pattern=r"max open files \((?P<limit>\d+)\) is smaller than max sockets "
        r"\((?P<required>\d+)\)",
        severity=Severity.WARNING,
        meaning="At start-up named found its open-files limit below the number of sockets its "
        "socket manager is sized for; under load it will hit EMFILE before its own ceiling.",
        source="bind9 bin/named/server.c @ v9.9.0..v9.16.50: load_configuration()",
        checks=_FD_BIND,
        versions="9.9-9.16",
        programs=PROGRAMS,
    ),
    # socket.c doio_send(): an errno none of the SOFT_OR_HARD/ALWAYS_HARD cases knows goes to
    # UNEXPECTED_ERROR("internal_send: %s: %s", address, strerror), logged by named as a
    # separate line after "socket.c:N: unexpected error:".
    Signature(
        id="bind.internal-send",
        daemon=DAEMON,
        cause=Cause.SEND_ERROR,
        anchors=("internal_send: ",),
        pattern=r"internal_send: (?P<client_ip>[0-9A-Fa-f:.]+(?:%[\w.-]+)?)#(?P<client_port>\d+): "
        r"(?P<reason>.+?)\s*$",
        severity=Severity.ERROR,
        meaning="sendmsg() failed with an errno BIND's socket code has no case for (for example "
        "EINVAL from a blackhole route or EMSGSIZE); the address is the destination, a client or "
        "an upstream server. The matching 'error sending response' line then reads 'unexpected "
        "error' or 'unset'.",
        source="bind9 lib/isc/unix/socket.c @ v9.9.0..v9.16.50: doio_send()",
        checks=_ROUTE_BIND,
        versions="9.9-9.16",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # False friend: gz-transport (Gazebo) logs "NodeShared::RecvSrvRequest() error sending
    # response: Host unreachable" (gazebosim/gz-transport issue 564).
    NotThis(
        id="bind.not-this.gz-transport",
        daemon=DAEMON,
        anchors=("error sending response",),
        pattern=r"RecvSrvRequest\(\) error sending response",
        hint="This is Gazebo's gz-transport library failing to return a service reply to a "
        "short-lived node (a ZeroMQ/TCP routing issue), not BIND and not a socket queue.",
        source="https://github.com/gazebosim/gz-transport/issues/564",
    ),
    # ISC_R_SHUTTINGDOWN: the network manager is stopping (rndc stop/reload of listeners).
    NotThis(
        id="bind.not-this.send-failed-shutting-down",
        daemon=DAEMON,
        anchors=(_SF,),
        pattern=_CLIENT + r"send failed: shutting down",
        hint="named was stopping or reconfiguring its listeners when this answer was due; "
        "answers in flight are discarded. Not a send-path problem.",
        source="bind9 lib/isc/netmgr/tcpdns.c @ v9.18.49 (ISC_R_SHUTTINGDOWN on closing)",
        programs=PROGRAMS,
    ),
)

SIGNATURES: tuple[Entry, ...] = (*_ERROR_SENDING_RESPONSE, *_SEND_FAILED, *_OTHER)
