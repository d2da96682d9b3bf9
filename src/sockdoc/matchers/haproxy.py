"""HAProxy wordings (1.5 to 3.4): start-up limit warnings and run-time "Proxy X reached" alerts.

Start-up messages go to stderr (and so to the journal) as ``[WARNING] 324/031244 (1234) : ...``
(1.x-2.3: day-of-year/time) or ``[WARNING]  (1234) : ...`` (2.4+), and start with
``[haproxy.main()]`` or ``[/usr/sbin/haproxy.main()]`` (argv[0]). Run-time alerts are sent to
the configured log targets at level emerg, e.g. ``haproxy[1234]: Proxy www reached process FD
limit (maxsock=4096). Please check 'ulimit-n' and restart.``

Covered: the FD limit HAProxy could not raise or found too low for maxconn, accept()/socket()
failing with EMFILE, ENFILE or ENOBUFS/ENOMEM, and a descriptor beyond maxsock. False friend: the
fdtab allocation failure caused by a huge (not a small) descriptor limit.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "haproxy"
PROGRAMS = ("haproxy",)

_TAG = "v3.4.0"
_SRC_LIMITS = (
    f"haproxy src/limits.c @ {_TAG}: apply_nofile_limit(), check_nofile_lim_and_prealloc_fd() "
    "(src/haproxy.c main() before 3.1; wording checked at v1.5.0, v1.7.0, v2.2.0, v2.4.0)"
)
_SRC_ACCEPT = (
    f"haproxy src/sock.c @ {_TAG}: sock_accept_conn(), sock_handle_system_err() "
    "(src/listener.c, src/proto_tcp.c before 2.4)"
)

_MAIN = r"(?:\[\S*?\.main\(\)\] )?"

_LIMIT_CHECKS: tuple[Check, ...] = (
    Check(
        "What descriptor limits does HAProxy get, and what did it compute (maxsock)?",
        "grep 'open files' /proc/$(pidof -s haproxy)/limits; "
        "echo 'show info' | socat stdio /run/haproxy/admin.sock "
        "| grep -E 'Ulimit-n|Maxsock|Maxconn'",
    ),
    Check(
        "Which of maxconn / ulimit-n / fd-hard-limit in the global section drives it?",
        "grep -nE 'maxconn|ulimit-n|fd-hard-limit|strict-limits' /etc/haproxy/haproxy.cfg",
    ),
    Check(
        "What does the unit or container allow?",
        "systemctl show -p LimitNOFILE haproxy; docker run --ulimit nofile=N:N",
    ),
)

_RUNTIME_CHECKS: tuple[Check, ...] = (
    Check(
        "How many connections are open against maxconn, maxsock and ulimit-n?",
        "echo 'show info' | socat stdio /run/haproxy/admin.sock "
        "| grep -E 'CurrConns|Maxconn|Maxsock|Ulimit-n'",
    ),
    Check(
        "What limit does the running process really have, and how many descriptors are open?",
        "grep 'open files' /proc/$(pidof -s haproxy)/limits; "
        "ls /proc/$(pidof -s haproxy)/fd | wc -l",
    ),
)


def _proxy_fd(kind: str) -> str:
    """Pattern for 'Proxy NAME reached KIND at N' (1.x), '(maxsock=N)' (2.0+), '(actconn=N)'."""
    return (
        r"Proxy (?P<service>\S+) reached "
        + kind
        + r" (?:at (?P<limit>\d+)(?: sockets)?|\(maxsock=(?P<required>\d+)\)"
        r"|\(actconn=(?P<count>\d+)\))"
    )


SIGNATURES: tuple[Entry, ...] = (
    # setrlimit(RLIMIT_NOFILE) refused: ", limit is %d" since 1.7; 3.3+ also logs a long form
    # "..., current limit is %d and hard limit is %d. You may prefer ...".
    Signature(
        id="haproxy.cannot-raise-fd-limit",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("Cannot raise FD limit to ",),
        pattern=_MAIN + r"Cannot raise FD limit to (?P<required>\d+)"
        r"(?:, (?:current )?limit is (?P<limit>\d+))?",
        severity=Severity.WARNING,
        meaning=(
            "HAProxy computed how many descriptors it needs (about twice maxconn plus "
            "listeners and checks) and setrlimit() refused that value: it is above the hard "
            "limit HAProxy was started with. HAProxy keeps the lower limit (warning) or, with "
            "strict-limits (the default since 2.3), exits (alert); with the lower limit, "
            "accept() fails with EMFILE under load. required is the wanted value, limit the "
            "current one."
        ),
        source=_SRC_LIMITS,
        checks=_LIMIT_CHECKS,
        versions="1.5+ (', limit is N' 1.7+, long form 3.3+)",
        programs=PROGRAMS,
    ),
    # Checked after setting limits: the soft limit is below maxsock.
    Signature(
        id="haproxy.fd-limit-too-low",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("too low for maxconn=",),
        pattern=_MAIN + r"FD limit \((?P<limit>\d+)\) too low for maxconn=\d+/maxsock=\d+\. "
        r"Please raise 'ulimit-n' to (?P<required>\d+) or more",
        severity=Severity.WARNING,
        meaning=(
            "The descriptor limit HAProxy ended up with (limit) is below maxsock (required), "
            "the number it needs for maxconn client and server connections. HAProxy runs, but "
            "accepting or connecting fails with EMFILE before maxconn is reached."
        ),
        source=_SRC_LIMITS,
        checks=_LIMIT_CHECKS,
        versions="1.5+ (alert instead of warning since 2.2)",
        programs=PROGRAMS,
    ),
    # EMFILE from accept() (frontend) or socket() (backend connection).
    Signature(
        id="haproxy.process-fd-limit",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("reached process FD limit",),
        pattern=_proxy_fd("process FD limit"),
        severity=Severity.CRITICAL,
        meaning=(
            "accept() on a frontend or socket() for a server connection returned EMFILE: the "
            "HAProxy process holds as many descriptors as its RLIMIT_NOFILE allows. The "
            "listener pauses, so new connections wait in the kernel's accept queue (and are "
            "dropped when it overflows). 1.x prints the highest descriptor in use as limit, "
            "2.0+ prints maxsock as required."
        ),
        source=_SRC_ACCEPT,
        checks=_RUNTIME_CHECKS + _LIMIT_CHECKS[1:],
        versions="1.5+ ('at N' 1.x, '(maxsock=N)' 2.0+)",
        programs=PROGRAMS,
    ),
    # ENFILE: the system-wide file table is full.
    Signature(
        id="haproxy.system-fd-limit",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("reached system FD limit",),
        pattern=_proxy_fd("system FD limit"),
        severity=Severity.CRITICAL,
        meaning=(
            "accept() or socket() returned ENFILE: the whole system has no free file handles "
            "(fs.file-max), so HAProxy cannot open sockets although its own limit is not "
            "reached. Every process on the host is affected."
        ),
        source=_SRC_ACCEPT,
        checks=_RUNTIME_CHECKS,
        versions="1.5+ ('(actconn=N)' on the accept path 3.4+)",
        programs=PROGRAMS,
    ),
    # ENOBUFS/ENOMEM from accept() or socket().
    Signature(
        id="haproxy.system-memory-limit",
        daemon=DAEMON,
        cause=Cause.SOCKET_MEMORY,
        anchors=("reached system memory limit",),
        pattern=_proxy_fd("system memory limit"),
        severity=Severity.CRITICAL,
        meaning=(
            "accept() or socket() returned ENOBUFS or ENOMEM: the kernel could not allocate "
            "memory for a new socket (socket memory pressure, a memory cgroup limit, or "
            "memory exhaustion). The listener pauses until memory is available."
        ),
        source=_SRC_ACCEPT,
        checks=(
            Check(
                "Is HAProxy's memory cgroup at its limit?",
                "systemctl show -p MemoryCurrent -p MemoryMax haproxy",
            ),
            *_RUNTIME_CHECKS[:1],
        ),
        versions="1.5+ ('at N sockets' 1.x, '(maxsock=N)' 2.0+, '(actconn=N)' 3.4+)",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # The accepted descriptor is >= global.maxsock (derived from maxconn).
    Signature(
        id="haproxy.maxconn-reached",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("reached the configured maximum connection limit",),
        pattern=r"Proxy (?P<service>\S+) reached the configured maximum connection limit",
        severity=Severity.CRITICAL,
        meaning=(
            "A connection was accepted but its descriptor number is at or above maxsock, the "
            "table HAProxy sized from the global maxconn, so it was closed at once. Other "
            "descriptors (checks, Lua, peers, logs) use up the room maxconn assumed for "
            "connections."
        ),
        source=f"{_SRC_ACCEPT}; haproxy src/quic_sock.c @ {_TAG}",
        checks=_RUNTIME_CHECKS,
        versions="1.5+",
        programs=PROGRAMS,
    ),
    # fdtab is allocated for the whole RLIMIT_NOFILE; a huge limit (containerd/Docker 23+
    # default 1073741816) makes it fail: the opposite of a low limit.
    NotThis(
        id="haproxy.not-this.fdtab-alloc",
        daemon=DAEMON,
        anchors=("entries for fdtab",),
        pattern=r"Not enough memory to allocate \d+ entries for fdtab",
        hint=(
            "The descriptor limit is huge (for example 1073741816 under recent container "
            "runtimes) and HAProxy sized its tables from it. Set a global maxconn or "
            "fd-hard-limit, or lower the container's nofile limit; nothing ran out."
        ),
        source="haproxy src/fd.c: init_pollers() (seen with 2.5 in docker-library/haproxy#180)",
        programs=PROGRAMS,
    ),
)
