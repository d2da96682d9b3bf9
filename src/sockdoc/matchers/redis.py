"""Redis server log wordings (Redis 2.6 to 7.4) and the error reply clients log.

Redis's own log lines look like ``12345:M 21 Nov 2026 03:12:44.123 # message`` (role letter
since 3.0, year since 5.0; ``[12345] 21 Nov 03:12:44.123 # ...`` in 2.x); ``#`` marks warnings.
With ``syslog-enabled yes`` only the message goes to syslog under ``redis``/``redis-server``.
Error texts come from strerror(), so glibc and musl (Alpine images) differ for EMFILE.

Covered: the TCP backlog capped by somaxconn, the start-up descriptor negotiation (maxclients
versus ``ulimit -n``), accept() failing with EMFILE/ENFILE, a new client's descriptor beyond the
event loop's table, and the ``max number of clients reached`` reply (seen in client logs).
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "redis"
PROGRAMS = ("redis-server", "redis")

_TAG = "7.4.1"
_SRC_LIMITS = f"redis src/server.c @ {_TAG}: adjustOpenFilesLimit() (src/redis.c before 3.2)"
_SRC_BACKLOG = f"redis src/server.c @ {_TAG}: checkTcpBacklogSettings()"
_SRC_ACCEPT = (
    f"redis src/socket.c, src/unix.c @ {_TAG}: connSocketAcceptHandler(); "
    "src/anet.c anetGenericAccept() 'accept: %s' (src/networking.c before 6.0)"
)
_SRC_NET = f"redis src/networking.c @ {_TAG}: acceptCommonHandler()"
_SRC_MUSL = "musl src/errno/__strerror.h @ v1.2.5"

_FD_CHECKS: tuple[Check, ...] = (
    Check(
        "What are maxclients and the number of connected clients?",
        "redis-cli CONFIG GET maxclients; redis-cli INFO clients",
    ),
    Check(
        "What descriptor limit does redis-server run with, and how many does it hold?",
        "grep 'open files' /proc/$(pidof redis-server)/limits; "
        "ls /proc/$(pidof redis-server)/fd | wc -l",
    ),
    Check(
        "Does the unit or container give Redis enough (it needs maxclients + 32)?",
        "systemctl show -p LimitNOFILE redis-server; docker run --ulimit nofile=N:N",
    ),
)

_EMFILE = r"(?P<reason>Too many open files|No file descriptors available)"
_ENFILE = r"(?P<reason>Too many open files in system|File table overflow)"


SIGNATURES: tuple[Entry, ...] = (
    # checkTcpBacklogSettings(): reads /proc/sys/net/core/somaxconn at start-up (2.8.18+); the
    # BSD variants name kern.ipc.somaxconn / kern.somaxconn / SOMAXCONN.
    Signature(
        id="redis.tcp-backlog-capped",
        daemon=DAEMON,
        cause=Cause.LISTEN_BACKLOG_CAPPED,
        anchors=("cannot be enforced because ",),
        pattern=r"The TCP backlog setting of (?P<required>\d+) cannot be enforced because "
        r"(?:/proc/sys/net/core/somaxconn|kern\.ipc\.somaxconn|kern\.somaxconn|SOMAXCONN) "
        r"is set to the lower value of (?P<limit>\d+)",
        severity=Severity.WARNING,
        meaning=(
            "Redis asks listen() for a backlog of tcp-backlog (511 by default), but the kernel "
            "silently reduces it to net.core.somaxconn, which is lower. During a burst of new "
            "connections (reconnect storms, short-lived clients) the accept queue overflows at "
            "that smaller size. required is tcp-backlog, limit is somaxconn; in a container "
            "somaxconn belongs to the network namespace, not to the host."
        ),
        source=_SRC_BACKLOG,
        checks=(
            Check(
                "What backlog does Redis actually have (Send-Q of the listener)?",
                "ss -lnt 'sport = :6379'",
            ),
            Check(
                "Has the listener overflowed already?",
                "nstat -az TcpExtListenOverflows TcpExtListenDrops",
            ),
            Check(
                "Where is somaxconn set for Redis's network namespace?",
                "sysctl net.core.somaxconn (docker: --sysctl net.core.somaxconn=1024; "
                "Kubernetes: securityContext.sysctls)",
            ),
        ),
        versions="2.8.18+",
        programs=PROGRAMS,
    ),
    # adjustOpenFilesLimit() (2.8.8+): first of three warnings when setrlimit() fails.
    Signature(
        id="redis.maxclients-needs-fds",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("You requested maxclients of ",),
        pattern=r"You requested maxclients of (?P<count>\d+) requiring at least "
        r"(?P<required>\d+) max file descriptors",
        severity=Severity.WARNING,
        meaning=(
            "At start-up Redis needs maxclients plus 32 descriptors, found its RLIMIT_NOFILE "
            "lower and could not raise it. The lines that follow say why and to what maxclients "
            "was reduced. count is the requested maxclients, required the descriptors needed."
        ),
        source=_SRC_LIMITS,
        checks=_FD_CHECKS,
        versions="2.8.8+",
        programs=PROGRAMS,
    ),
    # adjustOpenFilesLimit(): "Redis can't" (2.8.8-3.0), "Server can't" (3.2+).
    Signature(
        id="redis.setrlimit-failed",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("can't set maximum open files to ",),
        pattern=r"(?:Redis|Server) can't set maximum open files to (?P<required>\d+) because "
        r"of OS error: (?P<reason>[^.]+)",
        severity=Severity.WARNING,
        meaning=(
            "setrlimit(RLIMIT_NOFILE) was refused, normally with EPERM because the wanted value "
            "is above the hard limit the service was started with. Redis keeps the highest "
            "limit it could get and lowers maxclients to fit."
        ),
        source=_SRC_LIMITS,
        checks=_FD_CHECKS,
        versions="2.8.8+ ('Redis can't' before 3.2)",
        programs=PROGRAMS,
    ),
    # adjustOpenFilesLimit(): the effective limit and the reduced maxclients.
    Signature(
        id="redis.maxclients-reduced",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("maxclients has been reduced to ",),
        pattern=r"Current maximum open files is (?P<limit>\d+)\. maxclients has been reduced "
        r"to (?P<count>\d+) to compensate for low ulimit",
        severity=Severity.WARNING,
        meaning=(
            "Redis runs with the descriptor limit shown (limit) and has lowered maxclients to "
            "that minus 32 (count). Once that many clients are connected, further clients get "
            "'-ERR max number of clients reached'."
        ),
        source=_SRC_LIMITS,
        checks=_FD_CHECKS,
        versions="2.8.8+",
        programs=PROGRAMS,
    ),
    # adjustOpenFilesLimit() before 2.8.8: one combined warning.
    Signature(
        id="redis.max-files-limit-unset",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Unable to set the max number of files limit to ",),
        pattern=r"Unable to set the max number of files limit to (?P<required>\d+) "
        r"\((?P<reason>[^)]*)\), setting the max clients configuration to (?P<count>\d+)",
        severity=Severity.WARNING,
        meaning=(
            "Redis could not raise its descriptor limit to maxclients plus 32 and lowered "
            "maxclients to what the current limit allows (count)."
        ),
        source="redis src/redis.c @ 2.6.0 and 2.8.0: adjustOpenFilesLimit()",
        checks=_FD_CHECKS,
        versions="2.6.0-2.8.7",
        programs=PROGRAMS,
    ),
    # adjustOpenFilesLimit(): the limit leaves no room for a single client; Redis exits.
    Signature(
        id="redis.ulimit-too-low-exit",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Please increase your open file limit to at least ",),
        pattern=r"Your current 'ulimit -n' of (?P<limit>\d+) is not enough for (?:Redis|the "
        r"server) to start\. Please increase your open file limit to at least (?P<required>\d+)",
        severity=Severity.CRITICAL,
        meaning=(
            "The descriptor limit is not even above the 32 descriptors Redis reserves for "
            "itself, so it refuses to start."
        ),
        source=_SRC_LIMITS,
        checks=_FD_CHECKS,
        versions="2.8.8+ ('for Redis to start' before 3.2)",
        programs=PROGRAMS,
    ),
    # connSocketAcceptHandler()/connUnixAcceptHandler(): anetTcpAccept() failed with anything
    # but EWOULDBLOCK; anet formats "accept: strerror".
    Signature(
        id="redis.accept-emfile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=(
            "Accepting client connection: accept: Too many open files",
            "Accepting client connection: accept: No file descriptors available",
        ),
        pattern=r"Accepting client connection: accept: " + _EMFILE + r"(?! in system)",
        severity=Severity.WARNING,
        meaning=(
            "accept() returned EMFILE: redis-server holds as many descriptors as its "
            "RLIMIT_NOFILE allows (clients, replicas, AOF/RDB files, Lua or module sockets). "
            "The pending connection stays in the listen queue and Redis retries on the next "
            "event-loop pass, logging this line each time; clients see connect timeouts."
        ),
        source=f"{_SRC_ACCEPT}; {_SRC_MUSL}",
        checks=_FD_CHECKS,
        versions="2.6+",
        programs=PROGRAMS,
    ),
    Signature(
        id="redis.accept-enfile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=(
            "Accepting client connection: accept: Too many open files in system",
            "Accepting client connection: accept: File table overflow",
        ),
        pattern=r"Accepting client connection: accept: " + _ENFILE,
        severity=Severity.WARNING,
        meaning=(
            "accept() returned ENFILE: the whole system ran out of file handles (fs.file-max), "
            "so Redis cannot take the pending connection; every process on the host is "
            "affected."
        ),
        source=f"{_SRC_ACCEPT}; {_SRC_MUSL}",
        checks=_FD_CHECKS,
        versions="2.6+",
        programs=PROGRAMS,
    ),
    # acceptCommonHandler()/createClient(): aeCreateFileEvent() fails with ERANGE when the new
    # descriptor is not below the event loop's setsize (maxclients + 128).
    Signature(
        id="redis.client-fd-event-failed",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Error registering fd event for the new client",),
        pattern=r"Error registering fd event for the new client(?: connection)?: "
        r"(?P<reason>[^(]+?) \((?:fd=\d+|conn: [^)]*|addr=\[?(?P<client_ip>[^\s\]]+?)\]?:"
        r"(?P<client_port>\d+) laddr=[^)]*)\)",
        severity=Severity.WARNING,
        meaning=(
            "The accepted connection's descriptor number is beyond the event loop's table, "
            "which Redis sizes from maxclients (plus 128): the process holds many more "
            "descriptors than clients, or maxclients was lowered at run time. The client is "
            "disconnected at once. The error text is ERANGE's up to 5.0 and usually a "
            "meaningless 'Success' from 6.0 on."
        ),
        source=f"{_SRC_NET}; redis src/ae.c aeCreateFileEvent() (ERANGE)",
        checks=_FD_CHECKS,
        versions="2.8+ ('(fd=N)' to 5.0, '(conn: fd=N)' 6.0-7.0, '(addr=.. laddr=..)' 7.2+)",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # acceptCommonHandler(): the reply written to a rejected client; the server logs nothing,
    # clients (redis-cli, application logs, exceptions) do.
    Signature(
        id="redis.max-clients-reached",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("max number of clients",),
        pattern=r"\bmax number of clients (?:\+ cluster connections )?reached",
        severity=Severity.ERROR,
        meaning=(
            "Redis refused a connection because maxclients clients (plus cluster bus links, "
            "7.0+) were already connected. Redis itself only counts it (INFO stats "
            "rejected_connections); this line comes from the client that received the "
            "error reply."
        ),
        source=_SRC_NET,
        checks=(
            Check(
                "How many clients are connected and how many were rejected?",
                "redis-cli INFO clients; redis-cli INFO stats | grep rejected_connections",
            ),
            Check(
                "Who holds the connections (leaking pools, idle clients)?",
                "redis-cli CLIENT LIST | awk '{print $2}' | cut -d= -f2 | cut -d: -f1 "
                "| sort | uniq -c | sort -rn | head",
            ),
            Check("Is an idle timeout set?", "redis-cli CONFIG GET timeout"),
        ),
        versions="2.6+ (cluster wording 7.0+)",
    ),
    # Connection-level failures after accept() (TLS handshake, reset): not a limit.
    NotThis(
        id="redis.not-this.accept-handshake",
        daemon=DAEMON,
        anchors=("Error accepting a client connection: ",),
        pattern=r"Error accepting a client connection: ",
        hint=(
            "accept() itself succeeded; the connection then failed (a TLS handshake error, "
            "a reset by the client, a plain-text client on a TLS port). Not a queue or "
            "descriptor limit."
        ),
        source=f"{_SRC_NET}; clientAcceptHandler()",
        programs=PROGRAMS,
    ),
)
