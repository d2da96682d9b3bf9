"""Dovecot (IMAP/POP3/LMTP/submission server): signatures for Dovecot 2.0 - 2.4.

Covers the lines Dovecot writes when a UNIX socket between its processes has a full listen
queue (``net_connect_unix(...) failed: Resource temporarily unavailable``, and the near miss
``... succeeded only after retrying``), when the master process hits a service's
``process_limit`` / ``client_limit``, when a login process evicts clients because its service is
full, when the per-user+IP connection limit is hit, when auth requests wait for auth workers, the
start-up warnings about too small ``client_limit`` / ``ulimit -n``, and descriptor exhaustion.

Dovecot prints these through its own log prefix (``imap-login: Error: ...`` in ``log_path``,
``dovecot: imap-login: Error: ...`` or ``dovecot[123]: imap-login: ...`` via syslog/journald);
the patterns pick up the process name (and the user in ``imap(user)``) when the prefix is still
in the message. Wordings were read in the dovecot/core repository at the tags named in each
signature's ``source``.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "dovecot"

# Syslog tags (or, for Dovecot's own log_path file, the process prefix the envelope parser takes
# as the program). Matching is by prefix: "imap" covers imap-login, imap-urlauth, imap(user)...
PROGRAMS: tuple[str, ...] = (
    "dovecot",
    "imap",
    "pop3",
    "submission",
    "managesieve",
    "lmtp",
    "lda",
    "deliver",
    "auth",
    "master",
    "doveconf",
    "doveadm",
    "dict",
    "anvil",
    "stats",
    "old-stats",
    "indexer",
    "config",
    "log",
    "director",
    "replicator",
    "aggregator",
    "quota-status",
)

# Dovecot's per-process log prefix, optional: "imap-login: Error: ", "imap(alice)<123><sess>:
# Warning: ", "auth-worker(998224): Error: ", then any context prefixes ("master(imap): ",
# "userdb lookup(alice): ", "dict(...): Failed to lookup ...: ") up to the failing call.
# A number in parentheses is a pid (auth-worker(998224)), anything else is the user.
_PROCESS = (
    r"(?<![\w-])(?P<process>[a-z][a-z0-9-]*)(?:\((?:\d+|(?P<user>[^()\s]+))\))?"
    r"(?:<[^<>\s]*>)*: "
)
_PREFIX = r"(?:" + _PROCESS + r"(?:Error|Warning|Fatal|Panic): (?:.*?: )?)?"
# The same with the level label required: Dovecot always writes "Error: " (capitalised) before
# the message, which tells its generic-looking "socket() failed: ..." lines from other programs'.
_LEVEL_PREFIX = r"(?:" + _PROCESS + r")?(?:Error|Warning|Fatal|Panic): (?:.*?: )?"
# Informational lines carry no level label; the login process writes "<reason>" (2.0-2.3),
# "Disconnected: <reason>" (2.3.15+, and literally in some reasons since 2.2) or
# "Login aborted: <reason>" (2.4) right after its name. Login processes have no user in their
# prefix (the user is in the "user=<...>" tail), so no user group here.
_INFO_PREFIX = (
    r"(?:(?<![\w-])(?P<process>[a-z][a-z0-9-]*)(?:\([^()\s]*\))?(?:<[^<>\s]*>)*: "
    r"(?:Info: )?)?(?:Disconnected: |Login aborted: )?"
)
# The login process appends the request's context; only rip (the client) maps to a field.
_RIP_AFTER = r".*?\brip=(?P<client_ip>[0-9A-Fa-f.:]+)"
_RIP_TAIL = r"(?:" + _RIP_AFTER + r")?"
# The login process's "user=<...>, method=..., rip=..., lip=..." tail of informational lines.
_USER_RIP_TAIL = r"(?:.*?\buser=<(?P<user>[^<>\s]+)>)?" + _RIP_TAIL
_EAGAIN = r"(?P<reason>Resource temporarily unavailable)"
_EMFILE = r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)"

_SRC_NET_CONNECT_UNIX = (
    "dovecot/core src/lib/net.c (net_connect_unix: non-blocking connect; "
    "net_connect_unix_with_retries retries EAGAIN/ECONNREFUSED) and its callers "
    "src/lib-master/master-auth.c (2.0-2.3), src/lib-login/login-client.c (2.4), "
    "src/lib-master/master-login.c, anvil-client.c, src/auth/auth-worker-server.c, "
    "src/lib-dict/dict-client.c @ 2.0.0, 2.2.6 (SocketUnavailable URL), 2.2.36/2.3.2 "
    "(master(...) prefix, client-pid/rip suffix), 2.3.21, 2.4.0, 2.4.4; "
    "https://doc.dovecot.org/2.3/admin_manual/errors/socket_unavailable"
)

_CHECK_SERVICE_LIMITS = Check(
    "Which Dovecot service listens on that socket, and what are its limits?",
    "doveconf -a | sed -n '/^service imap {/,/^}/p' (process_limit, client_limit, "
    "service_count / 2.4: restart_request_count; the socket named in the line is one of its "
    "unix_listener entries)",
)
_CHECK_DROP_WARNINGS = Check(
    "Did the master log that the service behind the socket hit a limit at the same time?",
    "grep -E 'service\\([a-z0-9-]+\\): .*reached, client connections are being dropped' "
    "/var/log/mail.log",
)
_CHECK_SOCKET_QUEUE = Check(
    "Is the socket's accept queue full right now (Recv-Q at Send-Q)?",
    'ss -xlp | grep "$(doveconf -h base_dir)/" (Recv-Q = connections waiting, '
    "Send-Q = backlog, which Dovecot sets to process_limit x client_limit)",
)
_CHECK_MASTER_CPU = Check(
    "Is the dovecot master too busy forking new processes (100% CPU, fork bursts)?",
    'top -p "$(pidof -s dovecot)"; consider service_count > 1 (2.4: restart_request_count), '
    "process_min_avail, and high-performance login mode",
)
_CHECK_MASTER_FDS = Check(
    "Does the master (and its children) have descriptors for the largest client_limit?",
    "grep 'open files' /proc/\"$(pidof -s dovecot)\"/limits; "
    "doveconf default_client_limit; doveconf -a | grep -E '^ *client_limit'",
)
_CHECK_PROCESS_COUNT = Check(
    "How many processes of the service run, against its process_limit?",
    "pgrep -c -f '^dovecot/imap( |$)' (use the service name from the line); "
    "doveadm who (sessions per user)",
)


def _net_connect_unix_eagain() -> Signature:
    # dovecot/core src/lib-master/master-auth.c @ 2.2.36, 2.3.21 and src/lib-login/login-client.c
    # @ 2.4.0: "net_connect_unix(%s) failed: %m%s" (+ " - <doc URL>" when errno == EAGAIN), wrapped
    # in "master(%s): %s (client-pid=%u, client-id=%u, rip=%s, created %u msecs ago, received
    # %u/%zu bytes)". 2.0-2.2.35 print the bare "net_connect_unix(%s) failed: %m".
    return Signature(
        id="dovecot.net-connect-unix.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("net_connect_unix(",),
        pattern=_PREFIX
        + r"net_connect_unix\((?P<socket>[^()\s]+)\) failed: "
        + _EAGAIN
        + _RIP_TAIL,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        versions="2.0-2.4 (SocketUnavailable link 2.2.6+; master(...) prefix and client-pid/rip "
        "suffix 2.2.36, 2.3.2+)",
        programs=PROGRAMS,
        meaning=(
            "A Dovecot process tried to connect to another Dovecot process over a UNIX socket"
            " (a login process handing a logged-in client to imap/pop3, a client of auth,"
            " anvil, dict or stats) and the kernel refused at once with EAGAIN: the listener's"
            " backlog of not-yet-accepted connections was full, and Dovecot's own half-second of"
            " retries did not get through. The process behind the socket is not accepting fast"
            " enough, usually because its service is at process_limit or client_limit, the"
            " master cannot fork quickly enough, or the accepting process is out of"
            " descriptors. The client whose login or lookup needed the connection failed."
        ),
        checks=(
            _CHECK_DROP_WARNINGS,
            _CHECK_SERVICE_LIMITS,
            _CHECK_SOCKET_QUEUE,
            _CHECK_MASTER_FDS,
            _CHECK_MASTER_CPU,
        ),
        source=_SRC_NET_CONNECT_UNIX,
    )


def _net_connect_unix_retried() -> Signature:
    # dovecot/core src/lib-master/master-auth.c @ 2.2.36, 2.3.2-2.3.21 (i_warning) and
    # src/lib-login/login-client.c @ 2.4.0 (e_warning, with the master(...) prefix and the
    # client-pid/rip suffix): "net_connect_unix(%s) succeeded only after retrying - took %lld us",
    # logged at most once per SOCKET_CONNECT_RETRY_WARNING_INTERVAL_SECS.
    return Signature(
        id="dovecot.net-connect-unix.retried",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("succeeded only after retrying",),
        pattern=_PREFIX + r"net_connect_unix\((?P<socket>[^()\s]+)\) succeeded only after "
        r"retrying - took (?P<duration_us>\d+) us" + _RIP_TAIL,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.2.36, 2.3.2+",
        programs=PROGRAMS,
        meaning=(
            "A near miss of the full-queue failure: the first non-blocking connect() to the"
            " UNIX socket got EAGAIN because the listener's backlog was full, and the login"
            " process got in only after retrying for the number of microseconds shown, during"
            " which the whole process (and all its clients) stalled. The same listener is"
            " close to its limit; once the retries run out the connect fails outright."
        ),
        checks=(
            _CHECK_DROP_WARNINGS,
            _CHECK_SERVICE_LIMITS,
            _CHECK_SOCKET_QUEUE,
            _CHECK_MASTER_CPU,
        ),
        source=_SRC_NET_CONNECT_UNIX,
    )


def _master_closed_process_limit() -> Signature:
    # dovecot/core src/lib-master/master-auth.c @ 2.2.19-2.3.21, master_auth_connection_input():
    # read() from the service returned 0 or ECONNRESET, logged through conn_error() as
    # "master(%s): read() failed: Remote closed connection (destination service { process_limit }
    # reached?) (client-pid=..., rip=...)"; gone from 2.4.0 (lib-login/login-client.c).
    return Signature(
        id="dovecot.master-auth.remote-closed",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("(destination service { process_limit } reached?)",),
        pattern=_LEVEL_PREFIX
        + r"master\((?P<socket>[^()\s]+)\): read\(\) failed: Remote closed connection "
        r"\(destination service \{ process_limit \} reached\?\)" + _RIP_TAIL,
        severity=Severity.ERROR,
        confidence=Confidence.MEDIUM,
        versions="2.2.19-2.3.21",
        programs=PROGRAMS,
        meaning=(
            "A login process handed a logged-in client to the service named in master(...)"
            " (imap, pop3) and the connection was closed before the service answered: the"
            " master dropped it because the service had no free process, or the service died."
            ' In a burst this comes with the master\'s "process_limit reached" warning and'
            " with net_connect_unix EAGAIN lines; the client's login failed."
        ),
        checks=(_CHECK_DROP_WARNINGS, _CHECK_PROCESS_COUNT, _CHECK_SERVICE_LIMITS),
        source="dovecot/core src/lib-master/master-auth.c @ 2.2.19, 2.2.36, 2.3.19.1, 2.3.21",
    )


def _connect_eagain() -> Signature:
    # dovecot/core src/lib-auth/auth-master.c @ 2.0.0-2.3.6 ("userdb lookup: connect(%s) failed:
    # %m"), src/lib-auth/auth-server-connection.c @ 2.0.0-2.3.6 ("auth: connect(%s) failed: %m"),
    # src/lib-auth/auth-master.c, auth-client-connection.c, src/lib-master/master-login-auth.c @
    # 2.3.7-2.3.21 and src/lib-auth-client/ @ 2.4.4 ("connect(%s) failed: %m" after
    # connection_client_connect(), which uses net_connect_unix[_with_retries] from src/lib/net.c).
    return Signature(
        id="dovecot.connect-unix.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=(") failed: Resource temporarily unavailable",),
        pattern=_LEVEL_PREFIX + r"(?<![\w])connect\((?P<socket>[^()\s:]+)\) failed: " + _EAGAIN,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        versions="2.0-2.4",
        programs=PROGRAMS,
        meaning=(
            "A Dovecot client of the auth service (lda/lmtp/imap doing a userdb lookup over"
            " auth-userdb, a login process on auth-client, or a login process on auth-master)"
            " could not connect to the auth UNIX socket: the kernel answered EAGAIN because"
            " the socket's backlog of unaccepted connections was full. The auth process (it"
            " runs as a single process per default) is not accepting fast enough or is at its"
            " client_limit; the lookup or login that needed it failed."
        ),
        checks=(
            Check(
                "Is the auth service's client_limit below what the start-up warning computed?",
                "doveconf -a | sed -n '/^service auth {/,/^}/p'; "
                "grep 'service auth { client_limit=' /var/log/mail.log",
            ),
            Check(
                "Are auth requests waiting for slow passdb/userdb backends (auth workers)?",
                "grep -E 'Auth request was queued|auth_worker_max_count|process_limit' "
                "/var/log/mail.log; doveadm auth test USER (time it)",
            ),
            _CHECK_SOCKET_QUEUE,
            _CHECK_MASTER_FDS,
        ),
        source=(
            "dovecot/core src/lib-auth/auth-master.c, src/lib-auth/auth-server-connection.c @ "
            "2.0.0, 2.3.0; src/lib-auth/auth-client-connection.c, "
            "src/lib-master/master-login-auth.c @ 2.3.7, 2.3.21; src/lib-auth-client/ @ 2.4.4; "
            "src/lib/connection.c, src/lib/net.c @ 2.3.21"
        ),
    )


_SRC_DROP = (
    "dovecot/core src/master/service-monitor.c @ 2.0.0 (service_drop_connections: "
    '"service(%s): process_limit reached, ..."), 2.0.3 ("%s reached"), 2.1.0 '
    '("%s (%u) reached"), 2.1.8-2.3.21 (service_log_drop_warning, client_limit/service_count '
    "when process_limit == 1 and service_count == 1), 2.4.0-2.4.4 (service(%s) event prefix, "
    "client_limit/restart_request_count; 2.4.4 adds the reuse_port per-process variant)"
)
_DROPPED = r", client connections are being dropped"


def _drop_process_limit() -> Signature:
    # dovecot/core src/master/service-monitor.c @ 2.0.0-2.4.4: "service(%s): %s (%u) reached,
    # client connections are being dropped" with %s = "process_limit" when process_limit > 1
    # (2.0.0-2.0.2 always say process_limit and print no number; 2.0.x prints no number).
    return Signature(
        id="dovecot.service.process-limit-reached",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("reached, client connections are being dropped",),
        pattern=_PREFIX + r"service\((?P<service>[^()\s]+)\): process_limit "
        r"(?:\((?P<limit>\d+)\) )?reached" + _DROPPED,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.0+ (number in parentheses since 2.1.0)",
        programs=PROGRAMS,
        meaning=(
            "The dovecot master has started the service's maximum number of processes and"
            " every one of them is busy, so it stops accepting on the service's sockets: new"
            " connections wait in the kernel's listen queue and, once that fills, fail"
            " (net_connect_unix EAGAIN for internal sockets, dropped or timed-out TCP"
            " connections for imap/pop3 ports). Logged at most once a second per service."
        ),
        checks=(
            _CHECK_PROCESS_COUNT,
            _CHECK_SERVICE_LIMITS,
            Check(
                "For a *-login service: is it in high-performance mode (service_count=0, "
                "client_limit > 1) or one process per connection?",
                "doveconf -a | sed -n '/^service imap-login {/,/^}/p'",
            ),
            Check(
                "Are the processes slow rather than too few (storage, locks, NFS, auth)?",
                "doveadm who; iostat -x 1 5; grep -E 'Timeout|Auth request was queued' "
                "/var/log/mail.log",
            ),
            _CHECK_MASTER_FDS,
        ),
        source=_SRC_DROP,
    )


def _drop_client_limit() -> Signature:
    # dovecot/core src/master/service-monitor.c @ 2.0.3-2.4.4: same format with %s =
    # "client_limit" when process_limit == 1 and service_count != 1 (one process serving up to
    # client_limit connections: auth, anvil, stats, dict, config, log); 2.4.4 also logs
    # "client_limit (%u) reached, client connections are being dropped (pid=%s, reuse_port=yes)"
    # for one process of a reuse_port service.
    return Signature(
        id="dovecot.service.client-limit-reached",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("reached, client connections are being dropped",),
        pattern=_PREFIX + r"service\((?P<service>[^()\s]+)\): client_limit "
        r"(?:\((?P<limit>\d+)\) )?reached" + _DROPPED,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.0.3+ (number since 2.1.0; reuse_port per-process form 2.4.4+)",
        programs=PROGRAMS,
        meaning=(
            "The service runs a single process (process_limit = 1) and that process already"
            " holds client_limit connections, so the master stops accepting on its sockets."
            " Further clients pile up in the UNIX listen queue of the service (typically auth,"
            " anvil, dict or stats) and fail with EAGAIN once it is full."
        ),
        checks=(
            _CHECK_SERVICE_LIMITS,
            Check(
                "What client_limit does Dovecot itself say this service needs under full load?",
                "grep -E 'client_limit=[0-9]+ } is lower than required' /var/log/mail.log; "
                "doveconf -n >/dev/null (prints the start-up warnings again)",
            ),
            Check(
                "Is the single process slow (a backend such as SQL/LDAP for auth or dict)?",
                "top -p \"$(pgrep -d, -f '^dovecot/auth( |$)')\"; doveadm auth test USER",
            ),
            _CHECK_MASTER_FDS,
        ),
        source=_SRC_DROP,
    )


def _drop_service_count() -> Signature:
    # dovecot/core src/master/service-monitor.c @ 2.1.8-2.3.21 ("client_limit/service_count")
    # and 2.4.0-2.4.4 ("client_limit/restart_request_count"): chosen when process_limit == 1 and
    # every process serves exactly one client (service_count == 1, client_limit asserted 1).
    # Cause: with one client per process, the only capacity knob is process_limit (it is 1),
    # so this is a process limit even though the text names client_limit.
    return Signature(
        id="dovecot.service.single-client-process-limit-reached",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("reached, client connections are being dropped",),
        pattern=_PREFIX + r"service\((?P<service>[^()\s]+)\): client_limit/"
        r"(?:service_count|restart_request_count) \((?P<limit>\d+)\) reached" + _DROPPED,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.1.8-2.3 (client_limit/service_count), 2.4+ "
        "(client_limit/restart_request_count)",
        programs=PROGRAMS,
        meaning=(
            "The service may run only one process (process_limit = 1) and each process serves"
            " exactly one client before exiting (service_count / restart_request_count = 1),"
            " so the whole service handles one connection at a time and that one is taken."
            " The master stops accepting and new clients queue on the service's sockets until"
            " they time out or the queue overflows. Raising process_limit is what adds"
            " capacity; client_limit cannot grow while each process is single-use."
        ),
        checks=(
            _CHECK_SERVICE_LIMITS,
            Check(
                "Was process_limit = 1 set on purpose (a service that must be a singleton)?",
                "doveconf -n | grep -B2 -A6 'process_limit = 1'",
            ),
            _CHECK_PROCESS_COUNT,
        ),
        source=_SRC_DROP,
    )


def _connection_queue_full() -> Signature:
    # dovecot/core src/login-common/client-common.c @ 2.0.0-2.4.4: client_destroy_oldest()
    # destroys a client with reason "Connection queue full"; it is called through
    # master_service_set_avail_overflow_callback() (src/login-common/main.c,
    # src/lib-master/master-service.c) when the master reports the login service as full.
    # Logged as "Disconnected: Connection queue full (no auth attempts in N secs): user=<>,
    # rip=..., lip=..., session=<...>" (2.2-2.3; 2.0/2.1 without "Disconnected: "; 2.4 through
    # login_aborted_event() as "Login aborted: Connection queue full (...) (...)").
    return Signature(
        id="dovecot.login.connection-queue-full",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Connection queue full",),
        pattern=_INFO_PREFIX + r"Connection queue full" + _USER_RIP_TAIL,
        severity=Severity.WARNING,
        confidence=Confidence.MEDIUM,
        versions="2.0+",
        programs=PROGRAMS,
        meaning=(
            "A login process (imap-login, pop3-login, ...) was told by the master that its"
            " service has no room for more connections (all login processes are at"
            " process_limit and each is at client_limit), so it disconnected its oldest client"
            " that had not yet logged in to make room for a new one. The login service as a"
            " whole is at its connection capacity."
        ),
        checks=(
            Check(
                "Did the master report the login service at a limit just before?",
                "grep -E 'service\\([a-z0-9-]+-login\\): .*reached' /var/log/mail.log",
            ),
            Check(
                "What is the login service's capacity (process_limit x client_limit)?",
                "doveconf -a | sed -n '/^service imap-login {/,/^}/p'",
            ),
            Check(
                "Are many unauthenticated connections coming from a few addresses (a scan)?",
                "grep 'Connection queue full' /var/log/mail.log | grep -o 'rip=[^,]*' "
                "| sort | uniq -c | sort -rn | head",
            ),
        ),
        source=(
            "dovecot/core src/login-common/client-common.c (client_destroy_oldest, "
            "client_disconnect) @ 2.0.15, 2.3.21, 2.4.4; src/lib-master/master-service.c "
            "(avail_overflow_callback) @ 2.3.21"
        ),
    )


def _userip_limit() -> Signature:
    # dovecot/core src/login-common/sasl-server.c @ 2.0.0-2.4.4: ERR_TOO_MANY_USERIP_CONNECTIONS
    # "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=%u)";
    # logged by the login process with the usual ": user=<...>, method=..., rip=..., lip=..."
    # tail; "Disconnected: " prefix from 2.3.15 (client_disconnect), "Login aborted: " in 2.4
    # (login_aborted_event, src/login-common/client-common.c @ 2.4.4).
    return Signature(
        id="dovecot.login.userip-limit-exceeded",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Maximum number of connections from user+IP exceeded",),
        pattern=_INFO_PREFIX + r"Maximum number of connections from user\+IP exceeded "
        r"\(mail_max_userip_connections=(?P<limit>\d+)\)" + _USER_RIP_TAIL,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.0+",
        programs=PROGRAMS,
        meaning=(
            "A per-user policy limit, not a kernel queue: anvil counted that this user already"
            " has mail_max_userip_connections sessions open from the same client address, so"
            " the login was refused. Mail clients open one connection per watched folder (IMAP"
            " IDLE), and several devices behind one NAT address share the count."
        ),
        checks=(
            Check(
                "How many sessions does the user hold, from which addresses?",
                "doveadm who -1 USER",
            ),
            Check(
                "What is the limit for this protocol (it is often set per protocol block)?",
                "doveconf -n | grep -B3 mail_max_userip_connections; "
                "doveconf mail_max_userip_connections",
            ),
            Check(
                "Is one client leaking connections (many from one rip) rather than many devices?",
                "grep 'user+IP exceeded' /var/log/mail.log | grep -o 'rip=[^,]*' | sort "
                "| uniq -c | sort -rn | head",
            ),
        ),
        source=(
            "dovecot/core src/login-common/sasl-server.c @ 2.0.0, 2.3.21, 2.4.4; "
            "https://beyondjapan.com/en/blog/2024/10/dovecot_maximum-number-of-connections-"
            "from-userip-exceeded (real log line, 2.3.16)"
        ),
    )


_SRC_AUTH_WORKER = (
    'dovecot/core src/auth/auth-worker-server.c @ 2.1.0 ("auth workers: Auth request was '
    'queued ..."), 2.2.3 (adds "Aborting auth request that was queued ..."), 2.3.21; '
    'src/auth/auth-worker-connection.c @ 2.4.4 ("(see service auth-worker { process_limit })")'
)


def _auth_worker_queued() -> Signature:
    # dovecot/core src/auth/auth-worker-server.c @ 2.1.0-2.3.21: "Auth request was queued for %d
    # seconds, %d left in queue (see auth_worker_max_count)"; src/auth/auth-worker-connection.c @
    # 2.4.0-2.4.4: "... (see service auth-worker { process_limit })".
    return Signature(
        id="dovecot.auth-worker.request-queued",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("Auth request was queued for ",),
        pattern=_PREFIX + r"Auth request was queued for \d+ seconds, (?P<count>\d+) left in "
        r"queue \(see (?:auth_worker_max_count|service auth-worker \{ process_limit \})\)",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.1+ (auth_worker_max_count wording up to 2.3, process_limit wording 2.4+)",
        programs=PROGRAMS,
        meaning=(
            "Blocking passdb/userdb lookups (SQL, LDAP, PAM, ...) run in auth-worker"
            " processes; all of them were busy, so requests waited in the auth process's"
            " internal queue for several seconds and the count shown is still waiting. The"
            " number of auth workers is the limit, or the backend they wait on is slow."
        ),
        checks=(
            Check(
                "What is the auth worker limit?",
                "doveconf auth_worker_max_count (2.3); "
                "doveconf -a | sed -n '/^service auth-worker {/,/^}/p' (2.4)",
            ),
            Check(
                "Is the passdb/userdb backend slow?",
                "time doveadm auth test USER; the SQL/LDAP server's slow-query log",
            ),
            Check(
                "How many auth workers run?",
                "pgrep -c -f '^dovecot/auth worker'",
            ),
        ),
        source=_SRC_AUTH_WORKER,
    )


def _auth_worker_aborted() -> Signature:
    # dovecot/core src/auth/auth-worker-server.c @ 2.2.3-2.3.21 and
    # src/auth/auth-worker-connection.c @ 2.4.4: "Aborting auth request that was queued for %d
    # secs, %d left in queue" (after AUTH_WORKER_ABORT_SECS).
    return Signature(
        id="dovecot.auth-worker.request-aborted",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("Aborting auth request that was queued for ",),
        pattern=_PREFIX + r"Aborting auth request that was queued for \d+ secs, "
        r"(?P<count>\d+) left in queue",
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        versions="2.2.3+",
        programs=PROGRAMS,
        meaning=(
            "An authentication request waited so long for a free auth-worker process that"
            " the auth process gave up and failed it with an internal error; the count is"
            " how many requests are still queued. The auth-worker pool is saturated, by its"
            " limit or by a slow passdb/userdb backend."
        ),
        checks=(
            Check(
                "What is the auth worker limit?",
                "doveconf auth_worker_max_count (2.3); "
                "doveconf -a | sed -n '/^service auth-worker {/,/^}/p' (2.4)",
            ),
            Check(
                "Is the passdb/userdb backend slow or down?",
                "time doveadm auth test USER; the SQL/LDAP server's logs",
            ),
        ),
        source=_SRC_AUTH_WORKER,
    )


def _config_client_limit() -> Signature:
    # dovecot/core src/master/master-settings.c @ 2.0.0-2.4.4: "service auth { client_limit=%u }
    # is lower than required under max. load (%u)" (anvil too since 2.0.7; ". Counted for
    # protocol services with service_count != 1: ..." / ". Counted with: ..." appended 2.3.16+,
    # restart_request_count in 2.4). Printed by the master at start-up and by doveconf.
    return Signature(
        id="dovecot.config.client-limit-too-low",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("is lower than required under max. load",),
        pattern=_PREFIX + r"service (?P<service>[\w-]+) \{ client_limit=(?P<limit>\d+) \} is "
        r"lower than required under max\. load \((?P<required>\d+)\)",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.0+ (auth), 2.0.7+ (anvil); 'Counted ...' explanation 2.3.16+",
        programs=PROGRAMS,
        meaning=(
            "A start-up check, not an overflow yet: every login and mail process can hold a"
            " connection to the single auth (or anvil) process, and adding up the process"
            " limits gives more possible connections than that service's client_limit. Under"
            " full load the service will stop accepting and its UNIX sockets will overflow"
            " (net_connect_unix ... Resource temporarily unavailable)."
        ),
        checks=(
            Check(
                "Which services were counted, and what client_limit would cover them?",
                "doveconf -n >/dev/null (repeats the warning with the 'Counted ...' list in "
                "2.3.16+); set service auth { client_limit } to at least the required value",
            ),
            _CHECK_SERVICE_LIMITS,
            _CHECK_MASTER_FDS,
        ),
        source=(
            "dovecot/core src/master/master-settings.c (master_settings_verify) @ 2.0.0, 2.0.7, "
            "2.3.16, 2.3.21, 2.4.0"
        ),
    )


def _config_fd_limit() -> Signature:
    # dovecot/core src/master/master-settings.c @ 2.1.0-2.4.4 (not built into doveconf):
    # "fd limit (ulimit -n) is lower than required under max. load (%u < %u), because of %s",
    # %s = "default_client_limit" or "service %s { client_limit }". To stderr only before 2.2.33.
    return Signature(
        id="dovecot.config.fd-limit-too-low",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("fd limit (ulimit -n) is lower than required",),
        pattern=_PREFIX + r"fd limit \(ulimit -n\) is lower than required under max\. load "
        r"\((?P<limit>\d+) < (?P<required>\d+)\)(?:, because of (?:service "
        r"(?P<service>[\w-]+) \{ client_limit \}|default_client_limit))?",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.1+ (in the log from 2.2.33; stderr only before)",
        programs=PROGRAMS,
        meaning=(
            "A start-up check: the master's descriptor limit (ulimit -n, inherited by its"
            " children) is smaller than the largest client_limit, so a process could be asked"
            " to hold more connections than it can open. When a process runs out, the kernel"
            " can no longer hand it new connections, its listen queues back up, and clients"
            " see 'Resource temporarily unavailable' or 'Too many open files'."
        ),
        checks=(
            Check(
                "What descriptor limit does the running master actually have?",
                "grep 'open files' /proc/\"$(pidof -s dovecot)\"/limits "
                "(Dovecot ignores the dovecot user's PAM/limits.conf limits)",
            ),
            Check(
                "Which client_limit drives the requirement?",
                "doveconf default_client_limit; doveconf -a | grep -E '^ *client_limit'",
            ),
        ),
        source=(
            "dovecot/core src/master/master-settings.c @ 2.1.0, 2.3.21, 2.4.4; "
            "https://doc.dovecot.org/2.3/admin_manual/errors/socket_unavailable "
            "('Out of file descriptors')"
        ),
    )


def _fd_exhausted() -> Signature:
    # dovecot/core src/lib-master/master-service.c @ 2.0.15-2.4.4 ("net_accept() failed: %m"),
    # src/master/master-client.c @ 2.2.36+, src/master/service-monitor.c @ 2.4.4,
    # src/lib/net.c ("socket() failed: %m", "socket(%s) failed: %m"), and every
    # "net_connect_unix(%s) failed: %m" / "connect(%s) failed: %m" caller when socket() or
    # accept() returns EMFILE/ENFILE.
    return Signature(
        id="dovecot.fd-exhausted",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Too many open files", "No file descriptors available"),
        pattern=_LEVEL_PREFIX + r"(?:(?:net_connect_unix|(?<![\w])connect|socket)\("
        r"(?P<socket>[^()\s]+)\)|[\w-]+\([^()]*\)) failed: " + _EMFILE,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        versions="2.0+",
        programs=PROGRAMS,
        meaning=(
            "A Dovecot process ran out of file descriptors (EMFILE for the process, ENFILE"
            " for the whole system): it could not accept a new connection, create a socket or"
            " connect to another Dovecot service. While a listening process cannot accept,"
            " its listen queue fills and other processes' connects to it fail with EAGAIN."
        ),
        checks=(
            Check(
                "Did the master warn at start-up that ulimit -n is below the client_limit?",
                "grep 'fd limit (ulimit -n) is lower than required' /var/log/mail.log",
            ),
            Check(
                "Which limit applies to Dovecot (it is set for the master, not per user)?",
                "grep 'open files' /proc/\"$(pidof -s dovecot)\"/limits; "
                "systemctl show -p LimitNOFILE dovecot",
            ),
            Check(
                "Does the process that logged it hold client_limit connections?",
                "doveconf -a | grep -E '^ *client_limit'; ls /proc/PID/fd | wc -l",
            ),
        ),
        source=(
            "dovecot/core src/lib-master/master-service.c, src/master/master-client.c, "
            "src/lib/net.c @ 2.0.15, 2.2.36, 2.3.21, 2.4.4"
        ),
    )


# False friends: the same calls failing for reasons that have nothing to do with a full queue.
_CONNECT_CALL = r"(?:net_connect_unix|(?<![\w])connect)\([^()\s]+\) failed: "
_SRC_NOT_THIS = (
    "dovecot/core src/lib/net.c (net_connect_unix) and callers @ 2.3.21, 2.4.4; "
    "src/lib/eacces-error.c (EACCES detail); connect(2) on Linux: ENOENT (no socket file), "
    "ECONNREFUSED (socket file without a listener), EACCES (no write permission)"
)


def _not_this_connect(slug: str, reason: str, hint: str) -> NotThis:
    return NotThis(
        id=f"dovecot.not-this.connect-unix-{slug}",
        daemon=DAEMON,
        anchors=(f") failed: {reason}",),
        pattern=_CONNECT_CALL + reason,
        hint=hint,
        source=_SRC_NOT_THIS,
        programs=PROGRAMS,
    )


_NOT_THIS_CONNECT: tuple[tuple[str, str, str], ...] = (
    (
        "enoent",
        "No such file or directory",
        "The UNIX socket does not exist: the service is not configured (no unix_listener for"
        " it), Dovecot is not running, or the path is wrong (base_dir, a plugin's socket"
        " setting). Nothing overflowed; check doveconf -n and that the socket file exists.",
    ),
    (
        "econnrefused",
        "Connection refused",
        "The socket file exists but no process listens on it (Dovecot or the external"
        " service was stopped or crashed and left the file behind). On Linux a full queue"
        " gives EAGAIN, not ECONNREFUSED; restart or fix the listening service.",
    ),
    (
        "eacces",
        "Permission denied",
        "The connecting process may not write to the socket: a unix_listener's user, group"
        " or mode (e.g. stats-writer, auth-userdb) does not allow it. A permissions problem,"
        " not a full queue; fix the listener's mode/user/group in the service block.",
    ),
)


def _not_this_fork() -> NotThis:
    # dovecot/core src/master/service-process.c @ 2.3.21: service_error(service, "fork() failed:
    # %m%s") with " (ulimit -u %llu reached?)" when errno == EAGAIN.
    return NotThis(
        id="dovecot.not-this.fork-eagain",
        daemon=DAEMON,
        anchors=("fork() failed: Resource temporarily unavailable",),
        pattern=r"service\([^()\s]+\): fork\(\) failed: Resource temporarily unavailable",
        hint=(
            "The master could not create a process: the kernel refused fork() because the"
            " user's process count (ulimit -u / RLIMIT_NPROC, or a cgroup pids limit) is"
            " reached. It is not a socket queue, although clients then wait; check"
            " 'systemctl show -p TasksMax,LimitNPROC dovecot' and the process count."
        ),
        source="dovecot/core src/master/service-process.c @ 2.3.21 (service_process_create)",
        programs=PROGRAMS,
    )


SIGNATURES: tuple[Entry, ...] = (
    _net_connect_unix_eagain(),
    _net_connect_unix_retried(),
    _master_closed_process_limit(),
    _connect_eagain(),
    _drop_process_limit(),
    _drop_client_limit(),
    _drop_service_count(),
    _connection_queue_full(),
    _userip_limit(),
    _auth_worker_queued(),
    _auth_worker_aborted(),
    _config_client_limit(),
    _config_fd_limit(),
    _fd_exhausted(),
    *(_not_this_connect(slug, reason, hint) for slug, reason, hint in _NOT_THIS_CONNECT),
    _not_this_fork(),
)
