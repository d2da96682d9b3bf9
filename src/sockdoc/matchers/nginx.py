"""nginx error-log wordings (nginx 0.7.7 to 1.31; OpenResty and other forks share them).

nginx writes ``YYYY/MM/DD HH:MM:SS [level] PID#TID: *CONN message (ERRNO: strerror)`` and then
context such as ``while connecting to upstream, client: ..., upstream: "..."``. The strerror()
text comes from the C library at start-up, so glibc and musl (Alpine images) differ for EMFILE:
glibc "Too many open files", musl (0.9.10+) "No file descriptors available". Both print
"Resource temporarily unavailable" for EAGAIN and "Too many open files in system" for ENFILE.

Covered: a UNIX upstream socket whose accept queue is full (EAGAIN from connect()), descriptor
limits (EMFILE/ENFILE from accept(), socket() and any other call; a refused
``worker_rlimit_nofile``), the per-worker connection table (``worker_connections``) and UDP
sends refused by the kernel (resolver, syslog, QUIC). False friends: ENOENT and ECONNREFUSED
from connect(), EAGAIN/EADDRNOTAVAIL from an IP connect() (no free local port), upstream
time-outs, EAGAIN on a read, listen() failures and the start-up worker_connections check.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "nginx"
PROGRAMS = ("nginx",)

_TAG = "release-1.31.4"
_SRC_CONNECT = f"nginx src/event/ngx_event_connect.c @ {_TAG}: ngx_event_connect_peer()"
_SRC_ACCEPT = f"nginx src/event/ngx_event_accept.c @ {_TAG}: ngx_event_accept()"
_SRC_CONN = f"nginx src/core/ngx_connection.c @ {_TAG}"
_SRC_LOG = f"nginx src/core/ngx_log.c @ {_TAG}: ngx_log_errno() appends ' (%d: strerror)'"
_SRC_MUSL = "musl src/errno/__strerror.h @ v1.2.5 (EMFILE/ENFILE texts since v0.9.10)"
_SRC_RESOLVER = f"nginx src/core/ngx_resolver.c @ {_TAG}: ngx_resolver_send_udp_query()"

# Context nginx appends after the message (ngx_http_log_error(), ngx_stream_log_error()).
_CLIENT = r"(?:.*?, client: (?P<client_ip>[^,\s]+))?"
_UPSTREAM = r'(?:.*?, upstream: "(?P<upstream>[^"]*)")?'
_CONTEXT = _CLIENT + _UPSTREAM

# errno as "(N: text)"; glibc and musl texts (musl before 0.9.10 in the last alternative).
_EAGAIN = r"\((?P<errno>11): (?P<reason>Resource temporarily unavailable|Operation would block)\)"
_EMFILE = r"\((?P<errno>24): (?P<reason>Too many open files|No file descriptors available)\)"
_ENFILE = r"\((?P<errno>23): (?P<reason>Too many open files in system|File table overflow)\)"
_EMFILE_ANCHORS = ("(24: Too many open files)", "(24: No file descriptors available)")
_ENFILE_ANCHORS = ("(23: Too many open files in system)", "(23: File table overflow)")

_WORKER_FD_CHECKS: tuple[Check, ...] = (
    Check(
        "What descriptor limit do the nginx workers actually run with?",
        "grep 'open files' /proc/$(pgrep -f 'nginx: worker' | head -1)/limits",
    ),
    Check(
        "Does nginx raise the limit itself, and does worker_connections fit inside it (a "
        "proxied request holds two descriptors, cached files one more)?",
        "nginx -T 2>/dev/null | grep -E 'worker_rlimit_nofile|worker_connections|open_file_cache'",
    ),
    Check(
        "How many descriptors does each worker hold now?",
        "for p in $(pgrep -f 'nginx: worker'); do ls /proc/$p/fd | wc -l; done",
    ),
)

_UNIX_QUEUE_CHECKS: tuple[Check, ...] = (
    Check(
        "Is the backend's accept queue on that socket full (Recv-Q reaching Send-Q)?",
        "ss -lxp | grep SOCKET_PATH",
    ),
    Check(
        "Is the backend at its worker limit (php-fpm: max_children reached)?",
        "grep -E 'max_children|seems busy' /var/log/php*-fpm.log; the FPM status page "
        "(listen queue, max listen queue, max children reached)",
    ),
    Check(
        "What backlog does the backend ask for on that socket?",
        "php-fpm: listen.backlog (php-fpm -tt 2>&1 | grep backlog); uWSGI: --listen; "
        "gunicorn: --backlog",
    ),
    Check(
        "Are requests slow in the backend, so that its workers stay busy?",
        "php-fpm slowlog (request_slowlog_timeout); $upstream_response_time in the access log",
    ),
)

_WORKER_CONNECTION_CHECKS: tuple[Check, ...] = (
    Check(
        "Is the number 512? Then the cache manager or loader wrote it (they always run with "
        "512 connections), not a worker.",
        "ps -o pid,cmd -p PID_FROM_THE_LINE",
    ),
    Check(
        "How many connections are open per worker (the limit applies to each worker)?",
        "stub_status (Active, Reading, Writing, Waiting); ss -tanp | grep -c nginx",
    ),
    Check(
        "What are worker_connections and worker_processes? A proxied request needs two "
        "connections (client side and upstream side).",
        "nginx -T 2>/dev/null | grep -E 'worker_(connections|processes|rlimit_nofile)'",
    ),
    Check(
        "Do idle keep-alive connections hold the slots?",
        "nginx -T 2>/dev/null | grep -E 'keepalive_(timeout|requests)'",
    ),
)

_UDP_PEER_CHECKS: tuple[Check, ...] = (
    Check(
        "Which UDP peer was it: a resolver, a syslog server, a QUIC client?",
        "the 'resolver:' / 'server:' / 'client:' part of the line; "
        "nginx -T 2>/dev/null | grep -E 'resolver|syslog:|quic'",
    ),
)


def _fd_meaning(call: str, system_wide: bool) -> str:
    which = (
        "the kernel's system-wide table of open files is exhausted (ENFILE, fs.file-max)"
        if system_wide
        else "the worker already holds as many descriptors as its RLIMIT_NOFILE allows (EMFILE)"
    )
    effect = {
        "accept": "A connection the kernel had already completed could not be handed to the "
        "worker: it stays in the listen queue (and is dropped once that overflows) while "
        "this worker pauses accepting for accept_mutex_delay.",
        "socket": "nginx could not create a socket, usually for an upstream connection, so "
        "the request fails with 500/502; at start-up or reload it cannot open a listener.",
        "other": "The call named at the start of the message (open(), pipe(), eventfd(), "
        "epoll_create() ...) could not get a descriptor, so that operation failed.",
    }[call]
    return f"{call}() failed because {which}. {effect}"


# call, what nginx prints before "failed", severity, confidence, priority, versions
_FD_CALLS: tuple[tuple[str, str, Severity, Confidence, int, str], ...] = (
    (
        "accept",
        r"\baccept4?\(\) failed ",
        Severity.CRITICAL,
        Confidence.HIGH,
        50,
        "all (accept4() on Linux since 0.9.2)",
    ),
    (
        "socket",
        r"\bsocket\(\)(?: \[?(?P<local_ip>[^\s\]]+?)\]?:(?P<local_port>\d+)| \S+)? failed ",
        Severity.CRITICAL,
        Confidence.HIGH,
        50,
        "all",
    ),
    (
        "other",
        r"\b[a-z_0-9]+\(\)(?: \"[^\"]*\"| \S+)? failed ",
        Severity.ERROR,
        Confidence.MEDIUM,
        20,
        "all",
    ),
)


def _fd_signatures() -> tuple[Signature, ...]:
    """accept(), socket() and any other call, each with EMFILE and ENFILE."""
    out: list[Signature] = []
    for call, head, severity, confidence, priority, versions in _FD_CALLS:
        for suffix, errno_rx, anchors, system_wide in (
            ("emfile", _EMFILE, _EMFILE_ANCHORS, False),
            ("enfile", _ENFILE, _ENFILE_ANCHORS, True),
        ):
            where = _SRC_ACCEPT if call == "accept" else _SRC_CONNECT
            out.append(
                Signature(
                    id=f"nginx.{call}-{suffix}",
                    daemon=DAEMON,
                    cause=Cause.FD_LIMIT,
                    anchors=anchors,
                    pattern=head + errno_rx + _CONTEXT,
                    severity=severity,
                    meaning=_fd_meaning(call, system_wide),
                    source=f"{where}; {_SRC_LOG}; {_SRC_MUSL}",
                    checks=_WORKER_FD_CHECKS,
                    versions=versions,
                    confidence=confidence,
                    priority=priority,
                    programs=PROGRAMS,
                )
            )
    return tuple(out)


SIGNATURES: tuple[Entry, ...] = (
    # ngx_event_connect_peer(): "connect() to %V failed" with pc->name "unix:PATH"; since
    # 0.7.7 EAGAIN is logged at [error] because Linux returns it (instead of ECONNREFUSED) for a
    # non-blocking connect to a UNIX stream socket whose listen queue is full.
    Signature(
        id="nginx.unix-connect-eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("connect() to unix:",),
        pattern=r"\bconnect\(\) to unix:(?P<socket>\S+) failed " + _EAGAIN + _CONTEXT,
        severity=Severity.ERROR,
        meaning=(
            "nginx's non-blocking connect() to the backend's UNIX socket (php-fpm, uWSGI, "
            "gunicorn ...) was refused with EAGAIN: the socket exists and is listened on, but "
            "its queue of connections waiting for accept() is at the backlog. The backend "
            "accepts too slowly, usually because all its workers are busy; nginx tries the "
            "next upstream server or answers 502."
        ),
        source=f"{_SRC_CONNECT}; {_SRC_LOG}",
        checks=_UNIX_QUEUE_CHECKS,
        versions="0.7.7+ at [error] ([crit] before, same wording)",
        programs=PROGRAMS,
    ),
    *_fd_signatures(),
    # ngx_worker_process_init() in src/os/unix/ngx_process_cycle.c: worker_rlimit_nofile is
    # applied with setrlimit(); EPERM when it exceeds the hard limit the master inherited.
    Signature(
        id="nginx.setrlimit-nofile-failed",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("setrlimit(RLIMIT_NOFILE, ",),
        pattern=r"setrlimit\(RLIMIT_NOFILE, (?P<required>\d+)\) failed "
        r"\((?P<errno>\d+): (?P<reason>[^)]*)\)",
        severity=Severity.CRITICAL,
        meaning=(
            "A worker could not apply worker_rlimit_nofile: the kernel refused to raise the "
            "descriptor limit to that value (EPERM: above the hard limit nginx was started "
            "with, or above fs.nr_open). The worker keeps the inherited, lower limit, so "
            "EMFILE errors follow under load."
        ),
        source=f"nginx src/os/unix/ngx_process_cycle.c @ {_TAG}: ngx_worker_process_init()",
        checks=(
            Check(
                "What hard limit does the master run with?",
                "grep 'open files' /proc/$(pgrep -f 'nginx: master')/limits",
            ),
            Check(
                "What is worker_rlimit_nofile set to?",
                "nginx -T 2>/dev/null | grep worker_rlimit_nofile; sysctl fs.nr_open",
            ),
        ),
        versions="0.2.0+",
        programs=PROGRAMS,
    ),
    # ngx_get_connection(): the worker's free connection list is empty.
    Signature(
        id="nginx.worker-connections-not-enough",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("worker_connections are not enough",),
        pattern=r"(?P<limit>\d+) worker_connections are not enough(?!,| for )" + _CONTEXT,
        severity=Severity.CRITICAL,
        meaning=(
            "The worker's table of connection slots (worker_connections, counting client and "
            "upstream connections alike) was empty when it needed one more. A new client "
            "connection is closed at once, or a request cannot open its upstream connection "
            "and fails."
        ),
        source=f"{_SRC_CONN}: ngx_get_connection()",
        checks=_WORKER_CONNECTION_CHECKS,
        versions="all",
        programs=PROGRAMS,
    ),
    # ngx_drain_connections(): fewer than 1/16 of the slots free; idle keep-alive connections
    # are closed to make room (at most one warning per second).
    Signature(
        id="nginx.worker-connections-reusing",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("worker_connections are not enough, reusing connections",),
        pattern=r"(?P<limit>\d+) worker_connections are not enough, reusing connections",
        severity=Severity.WARNING,
        meaning=(
            "Fewer than one in sixteen of the worker's connection slots was free, so nginx "
            "closed idle keep-alive connections to make room. Nothing failed yet, but the "
            "worker is running at its worker_connections limit."
        ),
        source=f"{_SRC_CONN}: ngx_drain_connections()",
        checks=_WORKER_CONNECTION_CHECKS,
        versions="1.19.2+",
        programs=PROGRAMS,
    ),
    # ngx_udp_send() (sendto, 1.9.13+), ngx_sendmsg() (UDP/QUIC, 1.11.5+), ngx_unix_send():
    # EAGAIN is only debug-logged; other errors go through ngx_connection_error() at [alert].
    Signature(
        id="nginx.udp-send-enobufs",
        daemon=DAEMON,
        cause=Cause.SEND_BUFFER_FULL,
        anchors=("(105: No buffer space available)",),
        pattern=r"\b(?:sendmsg|sendto|send)\(\) failed \((?P<errno>105): "
        r"(?P<reason>No buffer space available)\)"
        + _CLIENT
        + r"(?:.*?(?:, resolver: |logging to syslog, server: )(?P<upstream>[^,\s]+))?",
        severity=Severity.CRITICAL,
        meaning=(
            "The kernel refused an outgoing datagram with ENOBUFS: the packet could not be "
            "queued for transmission (the device or qdisc queue was full, or socket memory "
            "was short). nginx drops that datagram: a resolver query, a syslog message or a "
            "QUIC packet."
        ),
        source=(
            f"nginx src/os/unix/ngx_udp_send.c, ngx_udp_sendmsg_chain.c, ngx_send.c @ {_TAG}; "
            f"{_SRC_CONN}: ngx_connection_error()"
        ),
        checks=_UDP_PEER_CHECKS,
        versions="all (sendto() 1.9.13+, sendmsg() 1.11.5+)",
        programs=PROGRAMS,
    ),
    # ngx_resolver_send_udp_query(): ngx_send() returns NGX_AGAIN on EAGAIN, which differs from
    # the query length and is reported as "send() incomplete" (no errno printed).
    Signature(
        id="nginx.resolver-send-incomplete",
        daemon=DAEMON,
        cause=Cause.SEND_BUFFER_FULL,
        anchors=("send() incomplete",),
        pattern=r"\bsend\(\) incomplete while resolving(?:, resolver: (?P<upstream>\S+))?",
        severity=Severity.CRITICAL,
        meaning=(
            "A DNS query to the resolver could not be handed to the kernel. The resolver's "
            "UDP socket is non-blocking and send() returned EAGAIN (its send buffer was full), "
            "which nginx reports as an incomplete send; the query is lost and retried after "
            "resolver_timeout."
        ),
        source=f"{_SRC_RESOLVER}; nginx src/os/unix/ngx_send.c @ {_TAG}: ngx_unix_send()",
        checks=_UDP_PEER_CHECKS,
        versions="0.6.18+",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # ngx_syslog_send()/resolver via ngx_connection_error(): on a connected UDP socket Linux
    # reports an earlier ICMP port-unreachable as ECONNREFUSED on the next send.
    Signature(
        id="nginx.udp-send-refused",
        daemon=DAEMON,
        cause=Cause.SEND_REFUSED,
        anchors=(
            "failed (111: Connection refused) while resolving",
            "failed (111: Connection refused) while logging to syslog",
        ),
        pattern=r"\bsend\(\) failed \((?P<errno>111): (?P<reason>Connection refused)\) "
        r"while (?:resolving, resolver|logging to syslog, server): (?P<upstream>\S+)",
        severity=Severity.ERROR,
        meaning=(
            "nginx sends to its resolver or syslog server over a connected UDP socket; an "
            "earlier datagram drew an ICMP 'port unreachable', which the kernel reports as "
            "ECONNREFUSED on the next send. Nothing listens on that address and port."
        ),
        source=f"{_SRC_RESOLVER}; nginx src/core/ngx_syslog.c @ {_TAG}: ngx_syslog_send()",
        checks=_UDP_PEER_CHECKS,
        versions="all (syslog logging 1.7.1+)",
        programs=PROGRAMS,
    ),
    # False friends --------------------------------------------------------------------------
    # ENOENT: the socket file does not exist (backend stopped, wrong path, private /tmp).
    NotThis(
        id="nginx.not-this.unix-enoent",
        daemon=DAEMON,
        anchors=("connect() to unix:",),
        pattern=r"\bconnect\(\) to unix:\S+ failed \(2: No such file or directory\)",
        hint=(
            "The UNIX socket file does not exist: the backend is not running, listens on "
            "another path, or nginx sees a different /tmp (systemd PrivateTmp). No queue "
            "overflowed."
        ),
        source=_SRC_CONNECT,
        programs=PROGRAMS,
    ),
    # ECONNREFUSED: UNIX socket file exists but nothing listens on it; TCP: RST from the peer.
    NotThis(
        id="nginx.not-this.connect-refused",
        daemon=DAEMON,
        anchors=("failed (111: Connection refused)",),
        pattern=r"\bconnect\(\)(?: to \S+)? failed \(111: Connection refused\)",
        hint=(
            "Nothing is listening: a UNIX socket file left behind by a stopped backend, or a "
            "TCP port with no listener (the peer answered RST). A full TCP accept queue drops "
            "the SYN instead (time-out), unless net.ipv4.tcp_abort_on_overflow=1."
        ),
        source=f"{_SRC_CONNECT}; Linux net/unix/af_unix.c unix_stream_connect()",
        programs=PROGRAMS,
    ),
    # EAGAIN/EADDRNOTAVAIL from connect() on an IP socket: no free local port.
    NotThis(
        id="nginx.not-this.local-port-exhaustion",
        daemon=DAEMON,
        anchors=(
            "failed (11: Resource temporarily unavailable)",
            "failed (99: Cannot assign requested address)",
            "failed (99: Address not available)",
        ),
        pattern=r"\bconnect\(\) to (?!unix:)\S+ failed \((?:11: Resource temporarily "
        r"unavailable|99: Cannot assign requested address|99: Address not available)\)",
        hint=(
            "On an IP socket this is not a listen queue: the kernel found no free local "
            "port for the connection (ephemeral ports used up, often by TIME_WAIT), or "
            "proxy_bind names an address that is not local. Check "
            "sysctl net.ipv4.ip_local_port_range and ss -s; use upstream keepalive."
        ),
        source=f"{_SRC_CONNECT}; connect(2), Linux net/ipv4/inet_hashtables.c",
        programs=PROGRAMS,
    ),
    NotThis(
        id="nginx.not-this.upstream-timeout",
        daemon=DAEMON,
        anchors=("upstream timed out (110: ",),
        pattern=r"upstream timed out \(110: (?:Connection|Operation) timed out\)",
        hint=(
            "The upstream did not answer within proxy/fastcgi_*_timeout. While reading a "
            "response it is simply slow; while connecting to a TCP upstream it can mean the "
            "backend's accept queue overflowed and its kernel dropped the SYN, so check "
            "nstat -az TcpExtListenOverflows on the backend host."
        ),
        source=f"nginx src/http/ngx_http_upstream.c @ {_TAG}: ngx_http_upstream_next()",
        programs=PROGRAMS,
    ),
    NotThis(
        id="nginx.not-this.recv-eagain",
        daemon=DAEMON,
        anchors=("() failed (11: Resource temporarily unavailable)",),
        pattern=r"\b(?:recv|readv|read|recvfrom|recvmsg|SSL_read)\(\) failed \(11: ",
        hint=(
            "EAGAIN on a receive only means there was nothing to read yet (nginx core does "
            "not log it; a third-party module or Lua code did). It is not a queue overflow."
        ),
        source=f"nginx src/os/unix/ngx_recv.c @ {_TAG}: ngx_unix_recv() (EAGAIN is debug only)",
        programs=PROGRAMS,
    ),
    NotThis(
        id="nginx.not-this.listen-failed",
        daemon=DAEMON,
        anchors=("listen() to ",),
        pattern=r"\blisten\(\) to \S+, backlog -?\d+ failed",
        hint=(
            "listen() itself failed at start-up or reload (EADDRINUSE from another process, "
            "EINVAL ...). The backlog number is what nginx asked for; Linux never fails "
            "listen() over a large backlog, it silently caps it at net.core.somaxconn."
        ),
        source=f"{_SRC_CONN}: ngx_open_listening_sockets()",
        programs=PROGRAMS,
    ),
    NotThis(
        id="nginx.not-this.worker-connections-config",
        daemon=DAEMON,
        anchors=("worker_connections are not enough for ",),
        pattern=r"worker_connections are not enough for \d+ listening sockets",
        hint=(
            "A configuration check at start-up or reload: worker_connections is smaller "
            "than the number of listening sockets, so the configuration is rejected. Raise "
            "worker_connections; no connections were refused at run time."
        ),
        source=f"nginx src/event/ngx_event.c @ {_TAG}: ngx_event_init_conf() (1.15.2+)",
        programs=PROGRAMS,
    ),
)
