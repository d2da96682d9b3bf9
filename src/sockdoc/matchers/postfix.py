"""Postfix (MTA): signatures for Postfix 2.2 - 3.x.

Covers the master's "has reached its process limit" warning (2.3+) and its advice lines, the
non-blocking connects over Postfix's UNIX sockets that fail with EAGAIN because the listening
service's accept queue is full (qmgr to a delivery agent, postscreen to smtpd, postscreen to
dnsblog/tlsproxy, clients of anvil/scache/verify, the Dovecot SASL client), per-client
connection limits enforced by smtpd (via anvil) and postscreen, postscreen's
``postscreen_post_queue_limit``, and descriptor exhaustion. Every Postfix program logs under
a ``postfix/<name>`` tag (``postfix-<instance>/<name>`` for extra instances); the severity word
(``warning:``, ``error:``, ``fatal:``) is part of the message.

Wordings were read in github.com/vdukhovni/postfix (a mirror of the official releases) at the
tags named in each signature's ``source``.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "postfix"
# Matching is by prefix: covers postfix/master, postfix/qmgr, postfix/smtps/smtpd,
# postfix-out/postscreen, ...
PROGRAMS: tuple[str, ...] = ("postfix",)

_EAGAIN = r"(?P<reason>Resource temporarily unavailable)"
_EMFILE = r"(?P<reason>Too many open files(?: in system)?|No file descriptors available)"
# A Postfix socket name relative to the queue directory: private/smtp, public/cleanup.
_QSOCK = r"(?:unix:)?(?:private|public)/[\w.-]+"
# Lookahead that names the service behind "private/<service>" without consuming it.
_SERVICE_OF = r"(?=(?:unix:)?(?:(?:private|public)/)?(?P<service>[\w.-]+)[:' ])"

_CHECK_SOCKET_QUEUE = Check(
    "Is the service's UNIX socket at its backlog (Recv-Q at Send-Q) right now?",
    "ss -xlp | grep -E ' (private|public)/' (the master binds them relative to the queue "
    "directory; backlog = max(maxproc, default_process_limit), capped by net.core.somaxconn)",
)
_CHECK_MASTER_CF = Check(
    "What is the service's process limit (maxproc column; '-' means default_process_limit)?",
    "postconf -M SERVICE/unix (or SERVICE/inet, SERVICE/pass); postconf default_process_limit",
)
_CHECK_MASTER_WARNINGS = Check(
    "Did the master report the service at its process limit?",
    "grep 'has reached its process limit' /var/log/mail.log",
)


def _process_limit() -> Signature:
    # postfix src/master/master_avail.c (master_avail_listen) @ v2.3.0-v3.10: msg_warn("service
    # \"%s\" (%s) has reached its process limit \"%d\": new clients may experience noticeable
    # delays", serv->ext_name, serv->name, serv->max_proc). serv->name is the canonical endpoint
    # from master_ent.c: "25" or "[192.0.2.1]:25" for inet services. Only for non-loopback inet
    # services with maxproc > 1 (MASTER_FLAG_LOCAL_ONLY / stress_param_val), at most every 1000 s.
    return Signature(
        id="postfix.master.process-limit-reached",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("has reached its process limit",),
        pattern=r"service \"(?P<service>[^\"]+)\" \((?:\[(?P<local_ip>[^\]]+)\]:)?"
        r"(?:(?P<local_port>\d+)|(?P<socket>[^()\s]+))\) has reached its process limit "
        r"\"(?P<limit>\d+)\"",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.3+",
        programs=PROGRAMS,
        meaning=(
            "Every process the master may run for this network service (the maxproc column of"
            " master.cf) is busy, so the master stopped handing it new connections: further"
            " SMTP clients wait in the kernel's TCP accept queue of the port until a process"
            " frees up, and once that queue is full the kernel drops their handshakes. The"
            " master logs this at most once every 1000 seconds, so one line can stand for a"
            " long episode; smtpd/postscreen switch to their stress settings meanwhile."
        ),
        checks=(
            _CHECK_MASTER_CF,
            Check(
                "How many of the service's processes run now?",
                "ps -C smtpd --no-headers | wc -l (use the command of the service)",
            ),
            Check(
                "Is the port's accept queue overflowing while the limit holds?",
                "ss -lnt 'sport = :25'; nstat -az TcpExtListenOverflows TcpExtListenDrops",
            ),
            Check(
                "Are sessions slow (DNS, policy services, milters, pre-greeting waits) "
                "rather than too many?",
                "grep -E 'lost connection after|timeout after|milter|policy' "
                "/var/log/mail.log | tail; postconf smtpd_timeout smtpd_policy_service_timeout",
            ),
            Check(
                "Is a flood from a few clients taking the processes (postscreen, anvil limits)?",
                "grep 'connect from' /var/log/mail.log | grep -o '\\[[^]]*\\]' | sort "
                "| uniq -c | sort -rn | head; postconf smtpd_client_connection_count_limit",
            ),
        ),
        source=(
            "postfix src/master/master_avail.c @ v2.3.0, v2.5.0, v3.0.0, v3.10.0 "
            "(master_avail_listen); src/master/master_ent.c (serv->name, stress, "
            "MASTER_FLAG_LOCAL_ONLY) and src/master/master_listen.c (listen backlog) @ HEAD "
            "postfix-3.12-20260821; https://www.postfix.org/STRESS_README.html"
        ),
    )


def _process_limit_advice() -> Signature:
    # postfix src/master/master_avail.c @ v2.3.0+: two follow-up msg_warn() lines printed right
    # after the process-limit warning; the STRESS_README pointer since v2.5.0 (http://, https://
    # since v3.10.0).
    return Signature(
        id="postfix.master.process-limit-advice",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=(
            "to avoid this condition, increase the process count",
            "STRESS_README.html for examples of stress-adapting",
        ),
        pattern=r"to avoid this condition, increase the process count in master\.cf or reduce "
        r"the service time per client|see https?://www\.postfix\.org/STRESS_README\.html for "
        r"examples of stress-adapting configuration settings",
        severity=Severity.INFO,
        confidence=Confidence.HIGH,
        versions="2.3+ (STRESS_README line 2.5+)",
        programs=PROGRAMS,
        meaning=(
            "A companion line the master prints right after 'has reached its process limit':"
            " it carries no new information but marks the same event, a network service whose"
            " processes are all busy while new clients queue in the kernel."
        ),
        checks=(_CHECK_MASTER_WARNINGS, _CHECK_MASTER_CF),
        source="postfix src/master/master_avail.c @ v2.3.0, v2.5.0, v3.10.0",
    )


def _connect_transport() -> Signature:
    # postfix src/qmgr/qmgr_transport.c and src/oqmgr/qmgr_transport.c @ v2.6.0-HEAD:
    # mail_connect(MAIL_CLASS_PRIVATE, transport->name, NON_BLOCKING) failing ->
    # msg_warn("connect to transport %s/%s: %m", ...); before v2.6 "connect to transport %s: %m".
    # mail_connect() -> unix_connect() (src/util/unix_connect.c): non-blocking connect(2), which
    # Linux fails with EAGAIN when the listener's backlog is full.
    return Signature(
        id="postfix.qmgr.connect-transport.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("connect to transport ",),
        pattern=r"connect to transport " + _SERVICE_OF + r"(?P<socket>[^\s:]+): " + _EAGAIN,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.6+ (private/<transport>); 2.5 and older print the bare transport name",
        programs=PROGRAMS,
        meaning=(
            "The queue manager wanted another delivery process for this transport and"
            " connected, without blocking, to the transport's UNIX socket in the queue"
            " directory; the kernel refused with EAGAIN because that socket's queue of"
            " connections not yet accepted (max(maxproc, default_process_limit), capped by"
            " somaxconn) was full. The delivery agents are not taking work fast enough or the"
            " master cannot start more; the queue manager backs off and defers the mail."
        ),
        checks=(
            _CHECK_MASTER_CF,
            Check(
                "How many delivery agents for the transport run, and are they stuck?",
                "ps -C smtp --no-headers | wc -l (the transport's command); "
                "grep -E 'status=deferred .*(timed out|lost connection)' /var/log/mail.log | tail",
            ),
            _CHECK_SOCKET_QUEUE,
            Check(
                "Is the concurrency the queue manager aims for above the process limit?",
                "postconf default_destination_concurrency_limit "
                "TRANSPORT_destination_concurrency_limit qmgr_message_active_limit",
            ),
        ),
        source=(
            "postfix src/qmgr/qmgr_transport.c @ v2.5.0, v2.6.0, HEAD postfix-3.12-20260821; "
            "src/global/mail_connect.c, src/util/unix_connect.c, src/master/master_listen.c "
            "@ HEAD"
        ),
    )


def _postscreen_pass() -> Signature:
    # postfix src/postscreen/postscreen_send.c @ v2.8.0-HEAD: LOCAL_CONNECT(psc_smtpd_service_name,
    # NON_BLOCKING, PSC_SEND_SOCK_CONNECT_TIMEOUT) failing -> msg_warn("cannot connect to service
    # %s: %m", ...), with psc_smtpd_service_name = "private/<smtpd_service>" (postscreen.c); the
    # client then gets "421 4.3.2 All server ports are busy".
    return Signature(
        id="postfix.postscreen.connect-smtpd.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("cannot connect to service ",),
        pattern=r"cannot connect to service " + _SERVICE_OF + r"(?P<socket>[^\s:]+): " + _EAGAIN,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.8+",
        programs=PROGRAMS,
        meaning=(
            "postscreen had vetted an SMTP client and tried to hand the connection to an smtpd"
            " process over the smtpd 'pass' UNIX socket; the non-blocking connect got EAGAIN"
            " because that socket's accept queue was full, i.e. all smtpd processes were busy"
            " and enough hand-overs were already waiting. The client was told 'All server"
            " ports are busy' and disconnected."
        ),
        checks=(
            Check(
                "What is smtpd's process limit (the smtpd pass service in master.cf)?",
                "postconf -M smtpd/pass; postconf default_process_limit",
            ),
            _CHECK_MASTER_WARNINGS,
            _CHECK_SOCKET_QUEUE,
            Check(
                "How many connections may postscreen hand over at once?",
                "postconf postscreen_post_queue_limit postscreen_pre_queue_limit",
            ),
        ),
        source=(
            "postfix src/postscreen/postscreen_send.c, src/postscreen/postscreen.c @ v2.8.0, "
            "v2.9.0, HEAD postfix-3.12-20260821"
        ),
    )


def _connect_named_service() -> Signature:
    # postfix src/postscreen/postscreen_dnsbl.c @ v2.8.0-HEAD: msg_warn("%s: connect to %s service:
    # %m", myname, psc_dnsbl_service) (private/dnsblog, NON_BLOCKING, timeout 1);
    # src/postscreen/postscreen_starttls.c and src/tls/tls_proxy_clnt.c: msg_warn("connect to %s
    # service: %m", ...) for private/tlsproxy.
    return Signature(
        id="postfix.connect-service.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=(" service: Resource temporarily unavailable",),
        pattern=r"(?<![\w])connect to "
        + _SERVICE_OF
        + r"(?P<socket>"
        + _QSOCK
        + r") service: "
        + _EAGAIN,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.8+",
        programs=PROGRAMS,
        meaning=(
            "postscreen (or smtpd/smtp using the TLS proxy) connected without blocking to a"
            " helper service's UNIX socket, dnsblog for DNSBL lookups or tlsproxy for STARTTLS,"
            " and got EAGAIN: the helper's accept queue was full because all its processes"
            " were busy. The DNSBL query is skipped or the client is told TLS is unavailable."
        ),
        checks=(
            Check(
                "What are the helper's process limits?",
                "postconf -M dnsblog/unix tlsproxy/unix; postconf default_process_limit",
            ),
            Check(
                "Are DNSBL lookups slow (each dnsblog process waits on DNS)?",
                "postconf postscreen_dnsbl_sites; time host 2.0.0.127.zen.spamhaus.org",
            ),
            _CHECK_SOCKET_QUEUE,
        ),
        source=(
            "postfix src/postscreen/postscreen_dnsbl.c, src/postscreen/postscreen_starttls.c, "
            "src/tls/tls_proxy_clnt.c @ v2.8.0, HEAD postfix-3.12-20260821"
        ),
    )


def _connect_endpoint() -> Signature:
    # postfix src/util/auto_clnt.c (auto_clnt_open) @ HEAD: msg_warn("connect to %s: %m",
    # endpoint) for anvil, scache, verify, tlsmgr, postscreen's cache...: a timed connect, i.e.
    # non-blocking connect(2) + wait (src/util/timed_connect.c), so a full backlog gives EAGAIN.
    # Also src/global/mail_command_client.c, post_mail.c ("connect to %s/%s: %m") and
    # src/global/mail_connect.c ("connect #%d to subsystem %s/%s: %m").
    return Signature(
        id="postfix.connect-endpoint.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("connect to private/", "connect to public/", " to subsystem "),
        pattern=r"(?<![\w])connect (?:to |#\d+ to subsystem )"
        + _SERVICE_OF
        + r"(?P<socket>"
        + _QSOCK
        + r"): "
        + _EAGAIN,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.2+",
        programs=PROGRAMS,
        meaning=(
            "A Postfix program connected to one of Postfix's internal services (anvil,"
            " scache, verify, tlsmgr, ...) through its UNIX socket in the queue directory and"
            " got EAGAIN: the service's accept queue was full because its processes were all"
            " busy or could not be started. The caller skips the lookup or retries later."
        ),
        checks=(_CHECK_MASTER_CF, _CHECK_MASTER_WARNINGS, _CHECK_SOCKET_QUEUE),
        source=(
            "postfix src/util/auto_clnt.c, src/util/timed_connect.c, src/util/unix_connect.c, "
            "src/global/mail_connect.c, src/global/mail_command_client.c @ HEAD "
            "postfix-3.12-20260821"
        ),
    )


def _sasl_dovecot() -> Signature:
    # postfix src/xsasl/xsasl_dovecot_server.c @ v2.3.0-v3.6: msg_warn("SASL: Connect to %s
    # failed: %m", xp->socket_path); v3.7.0+: "SASL: Connect to Dovecot auth socket '%s' failed:
    # %m". unix_connect(path, BLOCKING, AUTH_TIMEOUT) is a timed (non-blocking) connect.
    return Signature(
        id="postfix.sasl.connect-dovecot-auth.eagain",
        daemon=DAEMON,
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
        anchors=("SASL: Connect to ",),
        pattern=r"SASL: Connect to (?:Dovecot auth socket ')?(?P<socket>[^\s']+)'? failed: "
        + _EAGAIN,
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.3-3.6 ('Connect to PATH failed'), 3.7+ ('Connect to Dovecot auth socket')",
        programs=PROGRAMS,
        meaning=(
            "smtpd tried to reach Dovecot's authentication service over the UNIX socket"
            " configured as smtpd_sasl_path and the kernel refused with EAGAIN: Dovecot's auth"
            " listener had a full accept queue, so the auth process was not accepting fast"
            " enough or was at its client_limit. The SMTP AUTH attempt failed."
        ),
        checks=(
            Check(
                "Is Dovecot's auth service at its client_limit?",
                "grep -E 'service\\(auth\\): client_limit|service auth \\{ client_limit' "
                "/var/log/mail.log; doveconf -a | sed -n '/^service auth {/,/^}/p'",
            ),
            Check(
                "Which socket is it, and is its accept queue full?",
                "postconf smtpd_sasl_path; ss -xlp | grep 'private/auth'",
            ),
            Check(
                "How many smtpd processes can hold an auth connection at once?",
                "postconf -M smtp/inet submission/inet smtps/inet",
            ),
        ),
        source=(
            "postfix src/xsasl/xsasl_dovecot_server.c @ v2.3.0, v3.6.0, v3.7.0; "
            "src/util/unix_connect.c, src/util/timed_connect.c @ HEAD"
        ),
    )


def _smtpd_concurrency() -> Signature:
    # postfix src/smtpd/smtpd.c @ v2.2.0-HEAD: msg_warn("Connection concurrency limit exceeded:
    # %d from %s for service %s", conn_count, namaddr, service) when the anvil count is above
    # smtpd_client_connection_count_limit; namaddr is "name[addr]" (":port" appended with
    # smtpd_client_port_logging).
    return Signature(
        id="postfix.smtpd.connection-concurrency-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Connection concurrency limit exceeded: ",),
        pattern=r"Connection concurrency limit exceeded: (?P<count>\d+) from [^\s\[]*\["
        r"(?P<client_ip>[^\]\s]+)\](?::(?P<client_port>\d+))? for service (?P<service>\S+)",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.2+",
        programs=PROGRAMS,
        meaning=(
            "A per-client policy limit, not a kernel queue: the anvil service counted more"
            " simultaneous connections from this client address to this smtpd service than"
            " smtpd_client_connection_count_limit allows, so smtpd answered 421 and hung up."
            " It protects the smtpd process pool from being taken by one client."
        ),
        checks=(
            Check(
                "What are the per-client limits, and who is exempt?",
                "postconf smtpd_client_connection_count_limit smtpd_client_event_limit_exceptions",
            ),
            Check(
                "Which clients hit it, and how often (anvil also logs its peaks)?",
                "grep -E 'Connection concurrency limit exceeded|max connection count' "
                "/var/log/mail.log | tail",
            ),
        ),
        source="postfix src/smtpd/smtpd.c @ v2.2.0, v2.3.0, HEAD postfix-3.12-20260821",
    )


def _smtpd_rate() -> Signature:
    # postfix src/smtpd/smtpd.c @ v2.2.0-HEAD: msg_warn("Connection rate limit exceeded: %d from
    # %s for service %s", conn_rate, namaddr, service) above smtpd_client_connection_rate_limit.
    return Signature(
        id="postfix.smtpd.connection-rate-limit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Connection rate limit exceeded: ",),
        pattern=r"Connection rate limit exceeded: (?P<count>\d+) from [^\s\[]*\["
        r"(?P<client_ip>[^\]\s]+)\](?::(?P<client_port>\d+))? for service (?P<service>\S+)",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.2+",
        programs=PROGRAMS,
        meaning=(
            "A per-client policy limit, not a kernel queue: anvil counted more new connections"
            " from this client address within anvil_rate_time_unit than"
            " smtpd_client_connection_rate_limit allows, so smtpd refused this one with 421."
        ),
        checks=(
            Check(
                "What are the rate limit and its time unit?",
                "postconf smtpd_client_connection_rate_limit anvil_rate_time_unit "
                "smtpd_client_event_limit_exceptions",
            ),
            Check(
                "Which clients hit it?",
                "grep 'Connection rate limit exceeded' /var/log/mail.log | grep -o "
                "'\\[[^]]*\\]' | sort | uniq -c | sort -rn | head",
            ),
        ),
        source="postfix src/smtpd/smtpd.c @ v2.2.0, v2.3.0, HEAD postfix-3.12-20260821",
    )


def _postscreen_too_many() -> Signature:
    # postfix src/postscreen/postscreen.c @ v2.8.0-HEAD: msg_info("NOQUEUE: reject: CONNECT from
    # [%s]:%s: too many connections", ...) when the client's concurrency is above
    # postscreen_client_connection_count_limit.
    return Signature(
        id="postfix.postscreen.too-many-connections",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=(": too many connections",),
        pattern=r"NOQUEUE: reject: CONNECT from \[(?P<client_ip>[^\]\s]+)\]:"
        r"(?P<client_port>\d+): too many connections",
        severity=Severity.WARNING,
        confidence=Confidence.HIGH,
        versions="2.8+",
        programs=PROGRAMS,
        meaning=(
            "A per-client policy limit: postscreen already had"
            " postscreen_client_connection_count_limit connections open from this address, so"
            " it answered 421 without further tests. Not a kernel queue; it stops one client"
            " from filling postscreen's and smtpd's capacity."
        ),
        checks=(
            Check(
                "What is the per-client limit?",
                "postconf postscreen_client_connection_count_limit",
            ),
            Check(
                "Which addresses hit it?",
                "grep ': too many connections' /var/log/mail.log | grep -o 'from \\[[^]]*\\]' "
                "| sort | uniq -c | sort -rn | head",
            ),
        ),
        source="postfix src/postscreen/postscreen.c @ v2.8.0, HEAD postfix-3.12-20260821",
    )


def _postscreen_ports_busy() -> Signature:
    # postfix src/postscreen/postscreen.c @ v2.8.0-HEAD: msg_info("NOQUEUE: reject: CONNECT from
    # [%s]:%s: all server ports busy", ...) when psc_post_queue_length >=
    # postscreen_post_queue_limit (clients already handed to smtpd and waiting for a process).
    return Signature(
        id="postfix.postscreen.all-server-ports-busy",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=(": all server ports busy",),
        pattern=r"NOQUEUE: reject: CONNECT from \[(?P<client_ip>[^\]\s]+)\]:"
        r"(?P<client_port>\d+): all server ports busy",
        severity=Severity.WARNING,
        confidence=Confidence.MEDIUM,
        versions="2.8+",
        programs=PROGRAMS,
        meaning=(
            "postscreen refused a new client with 421 because the number of connections it"
            " had passed on to smtpd and that were still waiting for an smtpd process reached"
            " postscreen_post_queue_limit. The smtpd processes are all busy: the smtpd process"
            " limit (or slow smtpd sessions) is the bottleneck behind postscreen."
        ),
        checks=(
            Check(
                "What are smtpd's process limit and postscreen's hand-over limit?",
                "postconf -M smtpd/pass; postconf default_process_limit "
                "postscreen_post_queue_limit",
            ),
            _CHECK_MASTER_WARNINGS,
            Check(
                "Are smtpd sessions slow (DNS, milters, policy services)?",
                "grep -E 'timeout after|lost connection after' /var/log/mail.log | tail",
            ),
        ),
        source="postfix src/postscreen/postscreen.c @ v2.8.0, HEAD postfix-3.12-20260821",
    )


def _fd_exhausted() -> Signature:
    # postfix src/master/single_server.c, multi_server.c, event_server.c, trigger_server.c @
    # v2.3.9-HEAD: msg_error("accept connection: %m") ("fatal:" via msg_fatal up to 2.3.x);
    # src/smtp/smtp_connect.c: msg_fatal("%s: socket: %m"); and the "connect to ...: %m" callers
    # above when socket(2) fails with EMFILE/ENFILE.
    return Signature(
        id="postfix.fd-exhausted",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Too many open files", "No file descriptors available"),
        pattern=r"(?:(?<![\w])accept connection|(?<![\w])socket|(?:(?<![\w])connect to "
        r"(?:transport )?|cannot connect to service |connect #\d+ to subsystem )"
        r"(?P<socket>[^\s:]+)(?: service)?): " + _EMFILE,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        versions="2.2+ ('error: accept connection' 2.3.9+, 'fatal:' before)",
        programs=PROGRAMS,
        meaning=(
            "A Postfix process ran out of file descriptors (EMFILE for the process, ENFILE for"
            " the system): it could not accept a connection handed to it by the master, open a"
            " socket for an outgoing or internal connection, or open a file. While an accepting"
            " process cannot accept, connections back up in its listen queue."
        ),
        checks=(
            Check(
                "Which Postfix process is it (the tag of the line), and how many fds does it hold?",
                'ls /proc/"$(pgrep -o -x qmgr)"/fd | wc -l (use the program from the tag); '
                "grep 'open files' /proc/\"$(pgrep -o -x qmgr)\"/limits",
            ),
            Check(
                "Does the queue manager or the master need more descriptors for its limits?",
                "postconf default_process_limit qmgr_message_active_limit; "
                "systemctl show -p LimitNOFILE postfix",
            ),
        ),
        source=(
            "postfix src/master/single_server.c, multi_server.c @ v1.1.0, v2.3.9, HEAD "
            "postfix-3.12-20260821; src/smtp/smtp_connect.c, src/util/unix_connect.c @ HEAD"
        ),
    )


# False friends: the same connects failing for reasons that are not a full queue.
# Any of the connect wordings above, then the socket name, then the error text.
_CONNECT_ANY = (
    r"(?:(?<![\w])connect to (?:transport )?|cannot connect to service |connect #\d+ to "
    r"subsystem |SASL: Connect to (?:Dovecot auth socket )?'?)[^\s:']+'?(?: service)?"
    r"(?: failed)?: "
)
_NOT_THIS_ANCHORS = (
    "connect to transport ",
    "cannot connect to service ",
    "connect to private/",
    "connect to public/",
    " to subsystem ",
    "SASL: Connect to ",
)
_SRC_NOT_THIS = (
    "postfix src/qmgr/qmgr_transport.c, src/postscreen/postscreen_send.c, "
    "src/util/auto_clnt.c, src/xsasl/xsasl_dovecot_server.c @ HEAD postfix-3.12-20260821; "
    "connect(2) on Linux: ENOENT (no socket file), ECONNREFUSED (no listener)"
)


def _not_this_connect(slug: str, reason: str, hint: str) -> NotThis:
    return NotThis(
        id=f"postfix.not-this.connect-{slug}",
        daemon=DAEMON,
        anchors=_NOT_THIS_ANCHORS,
        pattern=_CONNECT_ANY + reason,
        hint=hint,
        source=_SRC_NOT_THIS,
        programs=PROGRAMS,
    )


_NOT_THIS_CONNECT: tuple[tuple[str, str, str], ...] = (
    (
        "enoent",
        "No such file or directory",
        "The socket does not exist: the transport or service is not defined in master.cf"
        " (often a typo in transport_maps/content_filter), or for SASL the Dovecot auth"
        " listener is not created inside Postfix's queue directory. A configuration"
        " problem, not a full queue.",
    ),
    (
        "econnrefused",
        "Connection refused",
        "The socket file exists but nothing listens on it: the Postfix master (or, for SASL,"
        " Dovecot) is not running or was restarted and left a stale socket. On Linux a full"
        " queue gives 'Resource temporarily unavailable', not this.",
    ),
)


def _not_this_fork() -> NotThis:
    # postfix src/master/master_spawn.c @ HEAD: msg_warn("%s: fork: %m -- throttling", myname).
    return NotThis(
        id="postfix.not-this.fork-eagain",
        daemon=DAEMON,
        anchors=("fork: Resource temporarily unavailable",),
        pattern=r"fork: Resource temporarily unavailable",
        hint=(
            "The master could not start a process: fork() failed because the process count"
            " limit (RLIMIT_NPROC for the postfix user, a cgroup pids limit) or memory is"
            " exhausted, and the master throttles the service. Not a socket queue; check"
            " 'systemctl show -p TasksMax postfix' and the number of Postfix processes."
        ),
        source="postfix src/master/master_spawn.c @ HEAD postfix-3.12-20260821",
        programs=PROGRAMS,
    )


SIGNATURES: tuple[Entry, ...] = (
    _process_limit(),
    _process_limit_advice(),
    _connect_transport(),
    _postscreen_pass(),
    _connect_named_service(),
    _connect_endpoint(),
    _sasl_dovecot(),
    _smtpd_concurrency(),
    _smtpd_rate(),
    _postscreen_too_many(),
    _postscreen_ports_busy(),
    _fd_exhausted(),
    *(_not_this_connect(slug, reason, hint) for slug, reason, hint in _NOT_THIS_CONNECT),
    _not_this_fork(),
)
