"""PowerDNS wordings: the Authoritative Server (``pdns_server``, 3.0 to 5.1), the Recursor
(``pdns_recursor`` / ``pdns-recursor``, 4.0 to 5.4) and dnsdist (1.0 to 2.1).

All three print the C library's strerror() text for a failed system call. Each has two log
styles: the classic one (``g_log << ...`` / ``infolog("...%s")``) and, through ``SLOG()``, the
structured one, ``msg="..." error="..." subsystem="..." ... key="value"`` with the keys after
``ts`` sorted by name. Structured logging is the Recursor's default since 4.8 (the only style
since 5.4), optional in the Authoritative Server (``logging-structured``, 5.1+) and in dnsdist
2.1. Addresses are ``ADDR:PORT`` (IPv6 in brackets); in some classic lines port 53 is omitted.

Covered: UDP answers (and dnsdist's queries to backends) refused by the kernel, split by reason
into a full send buffer (EAGAIN, ENOBUFS), a firewall (EPERM, EACCES) and anything else; the
Authoritative Server's TCP connection limits and its fatal descriptor exhaustion; the Recursor's
``max-mthreads`` drop and its start-up descriptor check; dnsdist's TCP limits, accept() running
out of descriptors and its start-up descriptor warning. dnsdist logs send errors only in verbose
mode, the Recursor only with ``log-common-errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "pdns"
AUTH = ("pdns_server", "pdns")
RECURSOR = ("pdns_recursor", "pdns-recursor", "pdns")
DNSDIST = ("dnsdist",)

_SRC_AUTH_SEND = (
    "pdns pdns/nameserver.cc @ auth-3.0.1..auth-5.1.0: UDPNameserver::send() "
    "('sendto' 3.0-3.2, 'sendmsg (socket=N)' 3.3, ', dest=' 3.4+); pdns/dnsproxy.cc "
    "@ auth-5.1.0: DNSProxy::mainloop(); pdns/auth-main.cc @ auth-5.1.0: loggerBackend()"
)
_SRC_REC_SEND = (
    "pdns pdns/pdns_recursor.cc @ rec-4.0.0..rec-4.8.9, pdns/recursordist/pdns_recursor.cc "
    "@ rec-4.9.0..rec-5.4.0: 'Sending UDP reply to client'; pdns/iputils.cc sendOnNBSocket(); "
    "rec-main.cc loggerBackend()"
)
_SRC_DNSDIST_SEND = (
    "pdns pdns/dnsdist.cc @ dnsdist-1.1.0..dnsdist-1.9.0 ('Error sending response to', "
    "sendmmsg 1.3+), pdns/dnsdistdist/dnsdist-udp.cc @ dnsdist-2.1.0 ('Error sending UDP "
    "response', 1.9.5+); dnsdist-logging.cc @ dnsdist-2.1.0"
)
_SRC_DNSDIST_BACKEND = (
    "pdns pdns/dnsdist.cc @ dnsdist-1.2.0..dnsdist-1.9.0 (errno number until 1.7, strerror "
    "from 1.8), pdns/dnsdistdist/dnsdist.cc @ dnsdist-2.1.0"
)

# ComboAddress::toStringWithPort(): "192.0.2.1:53", "[2001:db8::1]:53"; toLogString() leaves
# out ":53". IPv4 is tried first; an unbracketed IPv6 address then needs its trailing context.
_IP = r"[0-9.]+|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*"


def _addr(ip: str = "client_ip", port: str = "client_port") -> str:
    return rf"\[?(?P<{ip}>{_IP})\]?(?::(?P<{port}>\d+))?"


_UPSTREAM = r"(?P<upstream>\[[0-9A-Fa-f:.]+\]:\d+|[0-9.]+:\d+)"

# --- checks -----------------------------------------------------------------------------------

_SNDBUF_PDNS: tuple[Check, ...] = (
    Check(
        "What send buffer does the daemon's UDP socket have (dnsdist raises it to wmem_max by "
        "default)?",
        "ss -uampn 'sport = :53' (skmem tb); dnsdist: setUDPSocketBufferSizes() in the config",
    ),
    Check(
        "Do the daemon's own metrics show the kernel's send-buffer errors rising?",
        "pdns_control show udp-sndbuf-errors; rec_control get udp-sndbuf-errors; "
        "dnsdist console: dumpStats() (udp-sndbuf-errors, udp6-sndbuf-errors)",
    ),
)

_FIREWALL_PDNS: tuple[Check, ...] = (
    Check(
        "Does a local rule drop the daemon's packets on the way out (EPERM)?",
        "nft list ruleset | grep -E 'sport 53|dport 53'; iptables -L OUTPUT -v -n",
    ),
)

_ROUTE_PDNS: tuple[Check, ...] = (
    Check(
        "Does the error name no buffer and no firewall (routing, EMSGSIZE, EINVAL)?",
        "ip route get ADDR for the address in the line",
    ),
)

_FD_PDNS: tuple[Check, ...] = (
    Check(
        "What descriptor limit does the daemon run with, and how many does it hold?",
        "for p in $(pidof pdns_server pdns_recursor dnsdist); do grep 'open files' "
        "/proc/$p/limits; ls /proc/$p/fd | wc -l; done",
    ),
    Check(
        "What does the daemon report as its own descriptor use?",
        "rec_control get fd-usage; pdns_control show fd-usage; dnsdist: fd-usage metric",
    ),
)


# --- per-reason families ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Reason:
    slug: str
    text: str  # alternation of strerror() texts
    numbers: str  # the same as errno numbers (dnsdist 1.2-1.7 printed the number)
    cause: Cause
    confidence: Confidence
    priority: int
    meaning: str  # completed with the family's own sentence
    checks: tuple[Check, ...]


_REASONS: tuple[_Reason, ...] = (
    _Reason(
        "eagain",
        "Resource temporarily unavailable|Operation would block|No buffer space available",
        "11|105",
        Cause.SEND_BUFFER_FULL,
        Confidence.HIGH,
        50,
        "The kernel refused the datagram because the socket's send buffer (or the queue "
        "behind it) was full (EAGAIN, ENOBUFS); the socket is non-blocking, so the packet was "
        "dropped at once.",
        _SNDBUF_PDNS,
    ),
    _Reason(
        "eperm",
        "Operation not permitted|Permission denied",
        "1|13",
        Cause.FIREWALL_BLOCKED,
        Confidence.HIGH,
        50,
        "A local packet filter refused the datagram (EPERM from netfilter, EACCES from a "
        "prohibit route or BSD pf), or a full conntrack table dropped it.",
        _FIREWALL_PDNS,
    ),
    _Reason(
        "other",
        r"[^\"]+?",
        r"\d+",
        Cause.SEND_ERROR,
        Confidence.LOW,
        20,
        "The send failed for a reason that names no buffer or firewall; read the reason (no "
        "route, message too long, ...).",
        _ROUTE_PDNS,
    ),
)


@dataclass(frozen=True)
class _Family:
    stem: str
    anchors: tuple[str, ...]
    before: str  # regex up to the reason
    after: str  # regex after the reason
    what: str  # what was being sent, for the meaning
    severity: Severity
    source: str
    versions: str
    programs: tuple[str, ...]
    numbered: bool = False  # dnsdist 1.2-1.7 printed the errno number instead of the text


_FAMILIES: tuple[_Family, ...] = (
    # nameserver.cc: "Error sending reply with sendmsg (socket=N, dest=ADDR): strerror";
    # dnsproxy.cc: "dnsproxy.cc: Error sending reply with sendmsg (socket=N): strerror".
    _Family(
        "auth-send-reply",
        ("Error sending reply with sendmsg (", "Error sending reply with sendto ("),
        r"Error sending reply with (?:sendmsg|sendto) \(socket=(?P<socket>\d+)"
        r"(?:, dest=" + _addr() + r")?\): ",
        r"\s*$",
        "The Authoritative Server could not send a UDP answer.",
        Severity.ERROR,
        _SRC_AUTH_SEND,
        "auth 3.0+",
        AUTH,
    ),
    _Family(
        "auth-send-reply-sl",
        (
            'msg="Error sending reply with sendmsg"',
            'msg="DNSProxy::mainloop: sendmsg() failed"',
        ),
        r'msg="(?:Error sending reply with sendmsg|DNSProxy::mainloop: sendmsg\(\) failed)" '
        r'error="',
        r'"(?:.*? remote="' + _addr() + r'")?(?:.*? socket="(?P<socket>\d+)")?',
        "The Authoritative Server could not send a UDP answer.",
        Severity.ERROR,
        _SRC_AUTH_SEND,
        "auth 5.1+ (logging-structured)",
        AUTH,
    ),
    # "Sending UDP reply to client ADDR[ (via ADDR)| (proxied by ADDR)] failed with: strerror".
    _Family(
        "rec-udp-reply",
        ("Sending UDP reply to client ",),
        r"Sending UDP reply to client "
        + _addr()
        + r"(?: \((?:via|proxied by) [^)]*\))? failed with: ",
        r"\s*$",
        "The Recursor could not send a UDP answer to a client.",
        Severity.WARNING,
        _SRC_REC_SEND,
        "rec 4.0-5.3 (classic log, log-common-errors)",
        RECURSOR,
    ),
    _Family(
        "rec-udp-reply-sl",
        ('msg="Sending UDP reply to client failed"',),
        r'msg="Sending UDP reply to client failed" error="',
        r'"(?:.*? remote="' + _addr() + r'")?',
        "The Recursor could not send a UDP answer to a client.",
        Severity.WARNING,
        _SRC_REC_SEND,
        "rec 4.8+ (structured log, log-common-errors)",
        RECURSOR,
    ),
    # "Error sending response to ADDR: %s" (1.1-1.9.4), "Error sending UDP response [from ADDR]
    # to ADDR: %s" (1.9.5+), "Error sending responses with sendmmsg() (SENT on N): %s" (1.3+).
    _Family(
        "dnsdist-udp-response",
        ("Error sending response to ", "Error sending UDP response ", "with sendmmsg() ("),
        r"(?:Error sending (?:UDP )?response(?: from \S+)? to "
        + _addr()
        + r"|Error sending responses with sendmmsg\(\) \(-?\d+ on (?P<count>\d+)\)): ",
        r"\s*$",
        "dnsdist could not send a UDP answer to a client.",
        Severity.INFO,
        _SRC_DNSDIST_SEND,
        "dnsdist 1.1+ (verbose mode)",
        DNSDIST,
    ),
    _Family(
        "dnsdist-udp-response-sl",
        ('msg="Error sending UDP response"', 'msg="Error sending responses with sendmmsg()"'),
        r'msg="Error sending (?:UDP response|responses with sendmmsg\(\))" error="',
        r'"(?:.*? client\.address="' + _addr() + r'")?',
        "dnsdist could not send a UDP answer to a client.",
        Severity.INFO,
        _SRC_DNSDIST_SEND,
        "dnsdist 2.1+ (structured log, verbose mode)",
        DNSDIST,
    ),
    _Family(
        "dnsdist-backend-send",
        ("Error sending request to backend ",),
        r"Error sending request to backend " + _UPSTREAM + r": ",
        r"\s*$",
        "dnsdist could not send a client's query on to a backend server.",
        Severity.INFO,
        _SRC_DNSDIST_BACKEND,
        "dnsdist 1.2+ (verbose mode; errno number until 1.7)",
        DNSDIST,
        numbered=True,
    ),
    _Family(
        "dnsdist-backend-send-sl",
        ('msg="Error sending request to the backend"',),
        r'msg="Error sending request to the backend" error="',
        r'"(?:.*? backend\.address="(?P<upstream>[^"]+)")?',
        "dnsdist could not send a client's query on to a backend server.",
        Severity.INFO,
        _SRC_DNSDIST_BACKEND,
        "dnsdist 2.1+ (structured log, verbose mode)",
        DNSDIST,
    ),
)


def _send_signature(fam: _Family, why: _Reason) -> Signature:
    reason = rf"(?P<reason>{why.text})"
    if fam.numbered:
        reason = rf"(?:(?P<errno>{why.numbers})|{reason})"
    return Signature(
        id=f"pdns.{fam.stem}.{why.slug}",
        daemon=DAEMON,
        cause=why.cause,
        anchors=fam.anchors,
        pattern=fam.before + reason + fam.after,
        severity=fam.severity,
        meaning=f"{fam.what} {why.meaning}",
        source=fam.source,
        checks=why.checks,
        versions=fam.versions,
        confidence=why.confidence,
        priority=why.priority,
        programs=fam.programs,
    )


_SEND: tuple[Signature, ...] = tuple(_send_signature(f, r) for f in _FAMILIES for r in _REASONS)

# --- limits -----------------------------------------------------------------------------------

_OTHER: tuple[Entry, ...] = (
    # tcpreceiver.cc: the connection semaphore is empty (max-tcp-connections).
    Signature(
        id="pdns.auth-tcp-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Limit of simultaneous TCP connections reached",),
        pattern=r"Limit of simultaneous TCP connections reached - raise max-tcp-connections",
        severity=Severity.WARNING,
        meaning="All max-tcp-connections TCP slots of the Authoritative Server are taken; the "
        "acceptor thread now blocks until one frees, so new TCP clients (AXFR, truncated "
        "answers) wait in the kernel's listen queue.",
        source="pdns pdns/tcpreceiver.cc @ auth-3.0.1..auth-5.1.0: TCPNameserver::thread()",
        checks=(
            Check(
                "What are the TCP limits and timeouts?",
                "pdns_server --config | grep -E 'max-tcp-connection|tcp-idle-timeout'",
            ),
            Check(
                "Is the listen queue overflowing while the acceptor waits?",
                "ss -lnt 'sport = :53'; nstat -az TcpExtListenOverflows",
            ),
        ),
        versions="auth 3.0+",
        programs=AUTH,
    ),
    Signature(
        id="pdns.auth-tcp-per-client-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Limit of simultaneous TCP connections per client reached",),
        pattern=r"Limit of simultaneous TCP connections per client reached"
        r'(?: for |, dropping".*? client=")' + _addr() + r'(?:, dropping|")',
        severity=Severity.INFO,
        meaning="One client address already had max-tcp-connections-per-client TCP connections "
        "open; the Authoritative Server closed the new one.",
        source="pdns pdns/tcpreceiver.cc @ auth-4.1.0..auth-5.1.0: TCPNameserver::thread()",
        checks=(
            Check(
                "What is the per-client limit?",
                "pdns_server --config | grep max-tcp-connections-per-client",
            ),
        ),
        versions="auth 4.1+",
        programs=AUTH,
    ),
    Signature(
        id="pdns.auth-tcp-accept-fd",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("TCP question accept error: ", 'msg="TCP question accept() error"'),
        pattern=r'(?:TCP question accept error: |msg="TCP question accept\(\) error" error=")'
        r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)",
        severity=Severity.CRITICAL,
        meaning="accept() on the TCP listener failed with EMFILE or ENFILE. On EMFILE the "
        "Authoritative Server's TCP handler exits the whole process right after this line "
        "('out of filedescriptors, exiting'); a supervisor restarts it.",
        source="pdns pdns/tcpreceiver.cc @ auth-3.0.1..auth-5.1.0: TCPNameserver::thread()",
        checks=_FD_PDNS,
        versions="auth 3.0+",
        programs=AUTH,
    ),
    Signature(
        id="pdns.auth-tcp-out-of-fds",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("TCP handler out of filedescriptors",),
        pattern=r"TCP handler out of filedescriptors, exiting",
        severity=Severity.CRITICAL,
        meaning="The Authoritative Server ran out of file descriptors (EMFILE) while accepting "
        "TCP and terminated itself on purpose; every query fails until it is restarted.",
        source="pdns pdns/tcpreceiver.cc @ auth-3.0.1..auth-5.1.0: TCPNameserver::thread()",
        checks=_FD_PDNS,
        versions="auth 3.0+",
        programs=AUTH,
    ),
    # pdns_recursor.cc: numProcesses() >= g_maxMThreads. Classic "TID [MT/N] DROPPED question
    # from ADDR[ (via ADDR)], over capacity"; structured "Dropped question, over capacity".
    Signature(
        id="pdns.rec-over-capacity",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("DROPPED question from ", 'msg="Dropped question, over capacity"'),
        pattern=r"(?:\[\d+/(?P<count>\d+)\] )?"
        r'(?:DROPPED question from (?=[^,]*, over capacity)|msg="Dropped question, over '
        r'capacity".*? source=")' + _addr(),
        severity=Severity.INFO,
        meaning="All max-mthreads query threads (mthreads) of a Recursor worker were busy, so "
        "the new question was dropped without an answer. Slow authoritative servers keep "
        "mthreads busy longer; the number after the slash is the mthreads in use.",
        source="pdns pdns/pdns_recursor.cc @ rec-4.0.0..rec-4.8.9, "
        "pdns/recursordist/pdns_recursor.cc @ rec-4.9.0..rec-5.4.0",
        checks=(
            Check(
                "How often does it happen?",
                "rec_control get over-capacity-drops",
            ),
            Check(
                "What is the per-thread limit, and is the descriptor limit holding it down?",
                "rec_control get-parameter max-mthreads threads; grep 'Insufficient number of "
                "filedescriptors' the recursor log",
            ),
        ),
        versions="rec 3.7, 4.0+ (not with 'quiet=yes')",
        programs=RECURSOR,
    ),
    # rec-main.cc checkOrFixFDS(): classic "(HARD < WANT), reducing max-mthreads to N";
    # structured keys hardlimit=, max-mthreads=, want=.
    Signature(
        id="pdns.rec-fd-insufficient",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Insufficient number of filedescriptors available",),
        pattern=r"Insufficient number of filedescriptors available for max-mthreads\*threads "
        r'setting! (?:\(|Reducing max-mthreads".*? hardlimit=")(?P<limit>\d+)'
        r'(?: < |".*? want=")(?P<required>\d+)',
        severity=Severity.WARNING,
        meaning="At start-up the Recursor's hard descriptor limit was below what max-mthreads "
        "times the worker threads need, so it lowered max-mthreads. Fewer concurrent "
        "recursions means more 'over capacity' drops under load.",
        source="pdns pdns/pdns_recursor.cc @ rec-4.0.0, pdns/recursordist/rec-main.cc "
        "@ rec-4.8.0..rec-5.4.0: checkOrFixFDS()",
        checks=_FD_PDNS,
        versions="rec 4.0+",
        programs=RECURSOR,
    ),
    NotThis(
        id="pdns.not-this.rec-raised-fd-limit",
        daemon=DAEMON,
        anchors=("Raised soft limit on number of filedescriptors",),
        pattern=r"Raised soft limit on number of filedescriptors",
        hint="The Recursor raised its own soft descriptor limit to what max-mthreads and threads "
        "need; the hard limit allowed it, so nothing overflowed.",
        source="pdns pdns/recursordist/rec-main.cc @ rec-5.3.0: checkOrFixFDS()",
        programs=RECURSOR,
    ),
    # dnsdist.cc: warnlog at start-up when RLIMIT_NOFILE <= the descriptors the config may use.
    Signature(
        id="pdns.dnsdist-fd-warning",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("file descriptors, web server and console connections not included",),
        pattern=r"this configuration can use more than (?P<required>\d+) file descriptors, web "
        r"server and console connections not included, and the current limit is "
        r"(?P<limit>\d+)",
        severity=Severity.WARNING,
        meaning="dnsdist's configuration (frontends, backends, TCP workers) may need more "
        "descriptors than its open-files limit; under load accept() and new backend "
        "connections will fail with EMFILE.",
        source="pdns pdns/dnsdist.cc @ dnsdist-1.1.0..dnsdist-1.9.0: checkFileDescriptorsLimits()",
        checks=_FD_PDNS,
        versions="dnsdist 1.1+",
        programs=DNSDIST,
    ),
    Signature(
        id="pdns.dnsdist-fd-warning-sl",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=('msg="Warning, this configuration can use more file descriptors',),
        pattern=r'msg="Warning, this configuration can use more file descriptors[^"]*"'
        r'.*? system\.file_descriptors_limit="(?P<limit>\d+)"'
        r'.*? system\.required_file_descriptors="(?P<required>\d+)"',
        severity=Severity.WARNING,
        meaning="dnsdist's configuration may need more descriptors than its open-files limit; "
        "under load accept() and new backend connections will fail with EMFILE.",
        source="pdns pdns/dnsdistdist/dnsdist.cc @ dnsdist-2.1.0",
        checks=_FD_PDNS,
        versions="dnsdist 2.1+ (structured log)",
        programs=DNSDIST,
    ),
    # dnsdist-tcp.cc: accept() failure is thrown as "accepting new connection on socket: %s" and
    # logged by the acceptor as "While reading a TCP question: %s".
    Signature(
        id="pdns.dnsdist-tcp-accept-fd",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("accepting new connection on socket: ",),
        pattern=r"accepting new connection on socket: "
        r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)",
        severity=Severity.ERROR,
        meaning="dnsdist's TCP acceptor got EMFILE or ENFILE from accept(): no descriptor "
        "left, so TCP, DoT and DoH clients wait in the listen queue or time out.",
        source="pdns pdns/dnsdist-tcp.cc @ dnsdist-1.0.0..dnsdist-1.9.0: tcpAcceptorThread()",
        checks=_FD_PDNS,
        versions="dnsdist 1.0+",
        programs=DNSDIST,
    ),
    Signature(
        id="pdns.dnsdist-tcp-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=(
            "because of concurrent connections limit",
            "because we have too many queued already",
            "because we have too many from this client already",
        ),
        pattern=r"(?:Dropped|Dropping) TCP connection from " + _addr() + r" because "
        r"(?:of concurrent connections limit|we have too many (?:queued|from this client) "
        r"already)",
        severity=Severity.INFO,
        meaning="dnsdist refused a TCP connection because a TCP limit was reached: the "
        "frontend's concurrent-connection limit, the queue of connections waiting for a TCP "
        "worker (maxTCPQueuedConnections), or the per-client limit "
        "(setMaxTCPConnectionsPerClient).",
        source="pdns pdns/dnsdist-tcp.cc @ dnsdist-1.0.0..dnsdist-1.9.0, "
        "pdns/dnsdistdist/dnsdist-tcp.cc @ dnsdist-2.1.0",
        checks=(
            Check(
                "Which TCP limit applies, and how many connections are queued?",
                "dnsdist console: showTCPStats(); grep -E 'setMaxTCP|tcpListenQueueSize' "
                "dnsdist.conf",
            ),
        ),
        versions="dnsdist 1.0+ (verbose mode)",
        programs=DNSDIST,
    ),
)

SIGNATURES: tuple[Entry, ...] = (*_SEND, *_OTHER)
