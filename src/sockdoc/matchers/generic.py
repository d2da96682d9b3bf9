"""Fallbacks for lines no daemon module knows: the C library's error text next to a socket call.

Any program may log ``connect(...) failed (11: Resource temporarily unavailable)``,
``sendto: No buffer space available`` or ``Too many open files``; this module reads such lines by
the system call and the errno alone (glibc and musl strerror() texts, Go's lower-case versions,
the ``(N: text)`` and ``[Errno N]`` forms). They are low-confidence (priority 10): a daemon module's
own wording always wins. Versions do not apply; the texts are those of glibc 2.x and musl 1.x.

Fallbacks: EAGAIN from connect() on a UNIX socket (listen queue full), EAGAIN/ENOBUFS/EPERM
from a send, ENOBUFS from connect() (neighbour table), EMFILE/ENFILE anywhere, and two programs'
exact "the kernel capped my buffer" warnings (syslog-ng, quic-go). False friends (priority 79:
above every signature, below the daemon modules' own false friends): EAGAIN from a read/accept
or its time-out, from fork()/thread creation, from a file lock, from a write to a non-blocking
terminal, from a TCP connect (no free local port); ENOENT on a UNIX socket; EAI_AGAIN (DNS);
EMFILE from inotify.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, NotThis, Severity, Signature

DAEMON = "generic"
PRIORITY = 10

_SRC_GLIBC = (
    "glibc sysdeps/gnu/errlist.h (strerror texts for EAGAIN 11, EMFILE 24, ENFILE 23, "
    "ENOBUFS 105, EPERM 1)"
)
_SRC_MUSL = "musl src/errno/__strerror.h @ v1.2.5 (EMFILE 'No file descriptors available')"
_SRC_GO = (
    "Go syscall/zerrors_linux_amd64.go (lower-case errno texts: 'resource temporarily unavailable')"
)
_SRC_CONNECT = "man 2 connect (Linux man-pages 6.x): EAGAIN for a non-blocking UNIX socket"
_SRC_SEND = "man 2 send (Linux man-pages 6.x): EAGAIN/EWOULDBLOCK, ENOBUFS, EPERM"
_SRC_UNIX_KERNEL = (
    "linux net/unix/af_unix.c @ v6.1: unix_stream_connect() returns -EAGAIN when "
    "unix_recvq_full_lockless() and the socket is non-blocking (unix_dgram_sendmsg() likewise "
    "for a full receiver queue)"
)

# The EAGAIN / EWOULDBLOCK wordings (glibc, musl, Go, the errno name itself).
_EAGAIN_TEXT = (
    r"(?P<reason>[Rr]esource temporarily unavailable|[Oo]peration would block|EAGAIN|EWOULDBLOCK)"
)
# An errno number before the text: "(11: ", "(11:", "[Errno 11] ", "errno 11, ", "error 11: ".
_NUM = r"(?:(?:\(|\[Errno |errno[ =]|error )(?P<errno>\d+)\]?[:,]?\s*)?"

# A socket path: 'unix:/run/x.sock', 'unix /run/x.sock' (Go), 'unix:///x' (PHP streams), or a
# bare absolute path that is not part of a URL. (Postfix's relative 'private/NAME' is left to the
# postfix module.)
_SOCKET = (
    r"(?:unix:(?://)?|\bunix |(?<![\w:/.\-]))(?P<socket>/[^\s:()'\",\[\]]+)(?![^\s:()'\",\[\]])"
)

# Text between the call and the error that holds no other socket call (a tempered token): so a
# line with 'recv' between a 'send' and the error is not read as a send failure.
_GAP = r"(?:(?!\brecv|\bread|\baccept|\bfork|\bdial\b|connect)[^\n]){0,300}?"
_GAP_SHORT = r"(?:(?!\brecv|\bread|\baccept|\bfork|\bsend)[^\n]){0,80}?"
_UNIX_GAP = r"(?:(?!\brecv|\bread|\baccept|\bfork)[^\n]){0,300}?"

# A send call as programs name it: the syscall names (not 'sendmail'), 'sending', a write()/
# writev() call, or a write on a named socket type ("write UDPv4" in OpenVPN, Go's "write udp",
# "write unixgram").
_SEND = (
    r"(?:(?:\b|_)(?:send(?:to|msg|mmsg|file(?:64)?)?|sending)\b(?:\(\))?"
    r"|\bwritev?\(\)|\bwrite (?=(?:UDP|TCP|udp|tcp|unix)))"
)
# connect as a call: connect(), net_connect_unix(, "connect #1 to", Go's "dial unix".
_CONNECT = r"(?:(?:\b|_)connect\w*|\bdial unix\b)"

_UNIX_CHECKS: tuple[Check, ...] = (
    Check(
        "Which program listens on that socket, and is its accept queue full right now "
        "(Recv-Q reaching Send-Q)?",
        "ss -lxp | grep SOCKET_PATH",
    ),
    Check(
        "Is that program at its own worker/process limit or stuck (slow backend, locks)?",
        "the listener's status page or log; top -p $(pgrep -d, -f LISTENER)",
    ),
)

_SEND_CHECKS: tuple[Check, ...] = (
    Check(
        "Which socket fails (protocol, destination), and does the program retry or drop?",
        "ss -uampn / ss -tmpn for the program's pid (skmem: t = bytes queued, tb = send buffer)",
    ),
)

_ENOBUFS_CHECKS: tuple[Check, ...] = (
    Check(
        "Did the neighbour (ARP/NDP) table overflow at the same time (sends then fail with "
        "ENOBUFS)?",
        "journalctl -k | grep -iE 'neighbou?r table overflow'; ip -s ntable show name arp_cache",
    ),
    Check(
        "Is the egress queue dropping?",
        "tc -s qdisc show dev IFACE; ip -s link show IFACE (TX dropped)",
    ),
)

_FD_CHECKS: tuple[Check, ...] = (
    Check(
        "What are those descriptors (sockets that are never closed point at a leak)?",
        "ls -l /proc/PID/fd | awk '{print $NF}' | sed 's/:.*//' | sort | uniq -c | sort -rn",
    ),
)

_BUFSIZE_CHECKS: tuple[Check, ...] = (
    Check(
        "What did the program ask for, and what did it get (the kernel doubles the request and "
        "caps it at twice the ceiling)?",
        "the two numbers in the line; ss -uampn for its socket (rb/tb in skmem)",
    ),
)


def _sig(
    slug: str,
    cause: Cause,
    anchors: tuple[str, ...],
    pattern: str,
    severity: Severity,
    meaning: str,
    source: str,
    checks: tuple[Check, ...] = (),
    fixed: Mapping[str, str] | None = None,
    confidence: Confidence = Confidence.LOW,
) -> Signature:
    return Signature(
        id=f"generic.{slug}",
        daemon=DAEMON,
        cause=cause,
        anchors=anchors,
        pattern=pattern,
        severity=severity,
        meaning=meaning,
        source=source,
        checks=checks,
        versions="any (glibc/musl/Go error texts)",
        confidence=confidence,
        priority=PRIORITY,
        fixed=MappingProxyType(dict(fixed or {})),
    )


# Generic false friends sit just below the daemon modules' own (80): they still beat every
# signature (so a loose daemon pattern cannot claim a fork or lock EAGAIN), but when a daemon
# module has a false friend for the same line, its more precise hint is the one shown.
NOT_THIS_PRIORITY = 79


def _not(slug: str, anchors: tuple[str, ...], pattern: str, hint: str, source: str) -> NotThis:
    return NotThis(
        id=f"generic.not-this.{slug}",
        daemon=DAEMON,
        anchors=anchors,
        pattern=pattern,
        hint=hint,
        source=source,
        priority=NOT_THIS_PRIORITY,
    )


_EAGAIN_ANCHORS = (
    "Resource temporarily unavailable",
    "resource temporarily unavailable",
    "Operation would block",
    "EAGAIN",
    "EWOULDBLOCK",
)

SIGNATURES: tuple[Entry, ...] = (
    # man 2 connect; linux net/unix/af_unix.c unix_stream_connect() @ v6.1: a non-blocking
    # connect() to a UNIX stream socket whose backlog is full fails with EAGAIN at once.
    _sig(
        "connect-unix-eagain",
        Cause.UNIX_LISTEN_QUEUE_FULL,
        _EAGAIN_ANCHORS,
        _CONNECT + r"(?:\(\))?[^\n/]{0,120}?" + _SOCKET + _UNIX_GAP + _NUM + _EAGAIN_TEXT,
        Severity.ERROR,
        "A program's connect() to a UNIX stream socket failed with EAGAIN: the listener on "
        "that socket already had its full backlog of connections waiting to be accepted. The "
        "listener is too slow, stuck or at its own worker limit, or its backlog is small.",
        f"{_SRC_CONNECT}; {_SRC_UNIX_KERNEL}; {_SRC_GLIBC}; {_SRC_GO}",
        _UNIX_CHECKS,
        {"errno": "EAGAIN"},
    ),
    # The same event where the program names the socket before the call (cockpit-bridge:
    # "/var/run/docker.sock: couldn't connect: Resource temporarily unavailable").
    _sig(
        "unix-socket-connect-eagain",
        Cause.UNIX_LISTEN_QUEUE_FULL,
        _EAGAIN_ANCHORS,
        _SOCKET + r"[^\n/]{0,40}?\bconnect\w*(?:\(\))?" + _GAP_SHORT + _NUM + _EAGAIN_TEXT,
        Severity.ERROR,
        "A program's connect() to the named UNIX stream socket failed with EAGAIN: the "
        "listener's queue of connections not yet accepted was full, so the kernel refused "
        "one more without waiting.",
        f"{_SRC_CONNECT}; {_SRC_UNIX_KERNEL}; {_SRC_GLIBC}",
        _UNIX_CHECKS,
        {"errno": "EAGAIN"},
    ),
    # man 2 send: EAGAIN/EWOULDBLOCK when a non-blocking socket's send buffer is full.
    _sig(
        "send-eagain",
        Cause.SEND_BUFFER_FULL,
        _EAGAIN_ANCHORS,
        _SEND + _GAP + _NUM + _EAGAIN_TEXT,
        Severity.WARNING,
        "A send on a non-blocking socket failed with EAGAIN: the socket's send buffer was full "
        "(for UDP, earlier datagrams were still queued in the host; for a UNIX datagram socket, "
        "the receiver's queue was full). The program decides whether the data is retried or "
        "lost.",
        f"{_SRC_SEND}; {_SRC_GLIBC}; {_SRC_GO}",
        _SEND_CHECKS,
        {"errno": "EAGAIN"},
    ),
    # man 2 send: ENOBUFS when an interface or neighbour queue is full (Linux drops silently
    # for UDP in most cases; raw sockets and ping see it).
    _sig(
        "send-enobufs",
        Cause.SEND_BUFFER_FULL,
        ("No buffer space available", "no buffer space available", "ENOBUFS"),
        _SEND
        + _GAP
        + r"(?:(?:\(|\[Errno |errno[ =]|error )(?P<errno>105)\]?[:,]?\s*)?"
        + r"(?P<reason>[Nn]o buffer space available|ENOBUFS)",
        Severity.WARNING,
        "A send failed with ENOBUFS: the kernel had no room to queue the packet, usually "
        "because the interface's transmit queue was full or packets were waiting for an "
        "ARP/NDP answer that the neighbour table could not hold.",
        f"{_SRC_SEND}; {_SRC_GLIBC}",
        _ENOBUFS_CHECKS,
        {"errno": "ENOBUFS"},
    ),
    # Neighbour creation failing under __neigh_create() returns -ENOBUFS to the route lookup
    # of a connect() (linux net/core/neighbour.c @ v6.1); "connect: No buffer space available"
    # next to "Neighbour table overflow." is the classic report (lkml 2004, Ubuntu forums).
    _sig(
        "connect-enobufs",
        Cause.NEIGHBOUR_TABLE_FULL,
        ("No buffer space available", "no buffer space available"),
        _CONNECT
        + r"(?:\(\))?"
        + _GAP_SHORT
        + r"(?:(?:\(|\[Errno )(?P<errno>105)\]?[:,]?\s*)?"
        + r"(?P<reason>[Nn]o buffer space available)",
        Severity.ERROR,
        "connect() failed with ENOBUFS. No socket buffer is involved in a connect; on Linux "
        "this comes from the route to the peer needing a neighbour (ARP/NDP) entry that the "
        "full neighbour table could not store.",
        "man 2 connect; linux net/core/neighbour.c @ v6.1: neigh_alloc() -> -ENOBUFS; "
        + _SRC_GLIBC,
        _ENOBUFS_CHECKS,
        {"errno": "ENOBUFS"},
    ),
    # glibc EMFILE "Too many open files", musl "No file descriptors available", Go lower case.
    _sig(
        "emfile",
        Cause.FD_LIMIT,
        ("Too many open files", "too many open files", "No file descriptors available", "EMFILE"),
        r"(?:(?:\(|\[Errno |errno[ =]|error )(?P<errno>24)\]?[:,]?\s*)?"
        r"(?P<reason>[Tt]oo many open files(?! in system)|No file descriptors available|"
        r"\bEMFILE\b)",
        Severity.ERROR,
        "A process hit its own limit on open descriptors (RLIMIT_NOFILE, EMFILE). Sockets are "
        "descriptors, so it can no longer accept connections or open new ones until some are "
        "closed; a count that only grows means a leak.",
        f"{_SRC_GLIBC}; {_SRC_MUSL}; {_SRC_GO}; man 2 accept, man 2 socket (EMFILE)",
        _FD_CHECKS,
        {"errno": "EMFILE"},
    ),
    # glibc ENFILE "Too many open files in system" (musl before 0.9.10, old libc: "File table
    # overflow").
    _sig(
        "enfile",
        Cause.FD_LIMIT,
        (
            "Too many open files in system",
            "too many open files in system",
            "File table overflow",
            "ENFILE",
        ),
        r"(?:(?:\(|\[Errno |errno[ =]|error )(?P<errno>23)\]?[:,]?\s*)?"
        r"(?P<reason>[Tt]oo many open files in system|File table overflow|\bENFILE\b)",
        Severity.CRITICAL,
        "The whole system ran out of open-file structures (fs.file-max, ENFILE): every "
        "process's open(), socket() and accept() fail, not only this one's. The kernel log "
        "usually shows 'VFS: file-max limit N reached' at the same time.",
        f"{_SRC_GLIBC}; {_SRC_MUSL}; man 2 open (ENFILE)",
        _FD_CHECKS,
        {"errno": "ENFILE"},
    ),
    # man 2 send: EPERM when a local firewall rule (or a full conntrack table, whose drop on
    # the output path is reported as EPERM) refuses the packet.
    _sig(
        "send-eperm",
        Cause.FIREWALL_BLOCKED,
        ("Operation not permitted", "operation not permitted", "EPERM"),
        _SEND
        + _GAP
        + r"(?:(?:\(|\[Errno |errno[ =]|error )(?P<errno>1)\]?[:,]?\s*)?"
        + r"(?P<reason>[Oo]peration not permitted|\bEPERM\b)",
        Severity.ERROR,
        "A send failed with EPERM: a netfilter rule on this host dropped or rejected the "
        "outgoing packet, or the connection-tracking table was full (its drop is reported to "
        "the sender the same way). Inside a container or sandbox, a policy forbidding the "
        "socket type gives the same error.",
        f"{_SRC_SEND}; {_SRC_GLIBC}",
        (),
        {"errno": "EPERM"},
    ),
    # syslog-ng modules/afsocket/afsocket.c (afsocket_sd_setup_socket): its exact warning when
    # getsockopt() returns less than the SO_RCVBUF/SO_SNDBUF it asked for.
    _sig(
        "syslog-ng-sockbuf-refused",
        Cause.BUFFER_SIZE_CAPPED,
        ("The kernel refused to set the",),
        r"The kernel refused to set the (?:receive|send) buffer \(SO_(?:RCV|SND)BUF\) to the "
        r"requested size(?:[^\n]*?so_(?:rcv|snd)buf='(?P<required>\d+)', "
        r"so_(?:rcv|snd)buf_set='(?P<limit>\d+)')?",
        Severity.WARNING,
        "syslog-ng asked for a larger socket buffer than net.core.rmem_max/wmem_max allow and "
        "got the ceiling instead. Bursts of log traffic beyond that buffer are dropped by the "
        "kernel (UDP receive errors).",
        "syslog-ng modules/afsocket/afsocket.c (msg_warning 'The kernel refused to set the "
        "receive buffer (SO_RCVBUF) ...', tags so_rcvbuf/so_rcvbuf_set)",
        _BUFSIZE_CHECKS,
        confidence=Confidence.MEDIUM,
    ),
    # quic-go sys_conn.go (setReceiveBuffer/setSendBuffer) as logged by Caddy, cloudflared,
    # kubo ...; the wiki page 'UDP-Buffer-Sizes' names net.core.rmem_max/wmem_max.
    _sig(
        "quic-go-buffer-capped",
        Cause.BUFFER_SIZE_CAPPED,
        ("failed to sufficiently increase",),
        r"failed to sufficiently increase (?:receive|send) buffer size",
        Severity.WARNING,
        "A QUIC library (quic-go) asked for a larger UDP socket buffer than the kernel's "
        "ceiling allows and got less; at high rates QUIC packets are then dropped in the "
        "kernel before the program reads them.",
        "quic-go sys_conn.go: 'failed to sufficiently increase receive buffer size (was: %d kiB, "
        "wanted: %d kiB, got: %d kiB)'; https://github.com/quic-go/quic-go/wiki/UDP-Buffer-Sizes",
        _BUFSIZE_CHECKS,
        confidence=Confidence.MEDIUM,
    ),
    # --- false friends (priority 80) ----------------------------------------------------------
    # man 2 recv / read / accept: EAGAIN means nothing arrived (non-blocking) or SO_RCVTIMEO
    # expired; no queue overflowed.
    _not(
        "receive-eagain",
        _EAGAIN_ANCHORS,
        r"(?:(?:\b|_)(?:recv(?:from|msg|mmsg)?|receiv\w*|readv?|pread(?:64|v)?|accept4?)\b(?:\(\))?"
        r"(?:(?!\bsend|connect|\bwrite)[^\n]){0,80}?"
        r"(?:[Rr]esource temporarily unavailable|[Oo]peration would block|EAGAIN|EWOULDBLOCK)"
        r"|^(?:(?!\bsend|connect)[^\n])*?[Rr]esource temporarily unavailable \(timeout\))",
        "EAGAIN from a receive, read or accept means there was nothing to take yet: the socket "
        "is non-blocking, or its receive time-out (SO_RCVTIMEO) expired. The peer was slow or "
        "silent; no kernel queue overflowed.",
        "man 2 recv, man 2 read, man 2 accept (EAGAIN/EWOULDBLOCK); man 7 socket (SO_RCVTIMEO)",
    ),
    # bash: fork: retry: Resource temporarily unavailable; pthread_create(), clone(): the
    # process/thread limit (RLIMIT_NPROC, the pids cgroup / systemd TasksMax), not sockets.
    # Only the shells' and runtimes' wordings: a daemon's own "fork() failed" line is left to
    # its module, which may read it as that daemon's process limit.
    _not(
        "fork-eagain",
        ("Resource temporarily unavailable", "resource temporarily unavailable", "EAGAIN"),
        r"(?:\bv?fork: (?:retry: )?|\bclone3?: |pthread_create(?:\(\))? failed|posix_spawnp?: |"
        r"[Cc]annot create thread|[Tt]hread creation failed|can't fork|[Cc]annot fork|"
        r"unable to fork|fork/exec )"
        r"[^\n]{0,80}?(?:[Rr]esource temporarily unavailable|EAGAIN)",
        "fork(), clone() or thread creation failed with EAGAIN: the user or cgroup reached its "
        "process/thread limit (ulimit -u / RLIMIT_NPROC, the pids cgroup, systemd TasksMax). "
        "Count the user's tasks: ps -eLf -u USER | wc -l; systemctl show -p TasksMax UNIT.",
        "man 2 fork, man 3 pthread_create (EAGAIN: RLIMIT_NPROC, pids cgroup); bash "
        "jobs.c 'fork: retry'",
    ),
    # connect() to a UNIX socket path that does not exist: the daemon is not running or the
    # path is wrong (man 7 unix, ENOENT).
    _not(
        "unix-enoent",
        ("No such file or directory", "no such file or directory", "ENOENT"),
        _CONNECT + r"(?:\(\))?[^\n/]{0,120}?(?:unix:(?://)?|\bunix |(?<![\w:/.\-]))"
        r"/[^\s:()'\",\[\]]+(?![^\s:()'\",\[\]])[^\n]{0,160}?"
        r"(?:[Nn]o such file or directory|ENOENT)",
        "The UNIX socket file does not exist: the listening daemon is not running (or has not "
        "created it yet) or the path is wrong. Nothing overflowed.",
        "man 7 unix (ENOENT on connect); man 2 connect",
    ),
    # getaddrinfo() EAI_AGAIN, gai_strerror() "Temporary failure in name resolution".
    _not(
        "eai-again",
        ("Temporary failure in name resolution", "EAI_AGAIN", "getaddrinfo"),
        r"Temporary failure in name resolution|\bEAI_AGAIN\b|getaddrinfo[^\n]{0,80}?"
        r"[Tt]emporary failure",
        "A DNS lookup failed temporarily (EAI_AGAIN): the resolver in /etc/resolv.conf did not "
        "answer in time or answered SERVFAIL. It is a name-resolution problem, not a socket "
        "limit; check the resolver (resolvectl status; dig @SERVER NAME).",
        "glibc resolv/gai_strerror (EAI_AGAIN 'Temporary failure in name resolution'); "
        "man 3 getaddrinfo",
    ),
    # flock(LOCK_NB) / fcntl(F_SETLK) on a lock another process holds: EWOULDBLOCK/EAGAIN.
    _not(
        "lock-eagain",
        ("Resource temporarily unavailable", "resource temporarily unavailable"),
        r"(?:\bflock\b|\bfcntl\b|\blockf\b|F_SETLKW?|F_OFD_SETLKW?|[Cc]ould not get lock|"
        r"\block(?:ing|ed|file)?\b)"
        r"(?:(?!\bsend|connect)[^\n]){0,100}?[Rr]esource temporarily unavailable",
        "A non-blocking file lock (flock/fcntl) is held by another process, e.g. apt/dpkg "
        "running elsewhere; EAGAIN here means 'locked', not a full socket queue. Find the "
        "holder: fuser -v LOCKFILE or lslocks.",
        "man 2 flock (EWOULDBLOCK), man 2 fcntl (F_SETLK: EACCES or EAGAIN)",
    ),
    # bash/coreutils writing to a terminal or pipe left in non-blocking mode by another program.
    _not(
        "write-error-eagain",
        ("Resource temporarily unavailable", "resource temporarily unavailable"),
        r"write error(?: on stdout)?: [Rr]esource temporarily unavailable",
        "A shell or tool wrote to its standard output, which another program had set to "
        "non-blocking, and the terminal or pipe was momentarily full. Nothing network related.",
        "man 2 write (EAGAIN on a non-blocking file descriptor); bash builtins 'write error'",
    ),
    # Go net.Dial over TCP/UDP: EAGAIN from connect() means no free local port or route
    # entry (man 2 connect), not a listen queue.
    _not(
        "ip-connect-eagain",
        ("resource temporarily unavailable", "Resource temporarily unavailable"),
        r"\bdial (?:tcp|udp)[46]? [^\n]{0,120}?: connect: [Rr]esource temporarily unavailable",
        "connect() on a TCP/UDP socket returned EAGAIN: the host found no free local port (or "
        "routing entry) for the new connection. Look at ephemeral ports and TIME_WAIT: "
        "sysctl net.ipv4.ip_local_port_range; ss -s.",
        "man 2 connect (EAGAIN for non-UNIX sockets: insufficient local ports/route entries)",
    ),
    # inotify_init() returns EMFILE when fs.inotify.max_user_instances is reached.
    _not(
        "inotify-emfile",
        ("Too many open files", "too many open files"),
        r"(?:inotify|fsnotify|directory watch)[^\n]{0,120}?[Tt]oo many open files"
        r"|[Tt]oo many open files[^\n]{0,80}?inotify",
        "inotify reports EMFILE when the user has as many inotify instances as "
        "fs.inotify.max_user_instances allows; descriptors are not the limit. Check: sysctl "
        "fs.inotify.max_user_instances; ls -l /proc/*/fd 2>/dev/null | grep -c inotify.",
        "man 7 inotify (inotify_init: EMFILE when max_user_instances is reached)",
    ),
)
