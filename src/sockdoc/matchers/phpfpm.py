"""PHP-FPM master-process log wordings (PHP 5.3 to 8.4, sapi/fpm/fpm).

FPM's log (``error_log`` in php-fpm.conf, default /var/log/php*-fpm.log) prefixes each line with
``[21-Nov-2026 03:12:44] WARNING: `` (with ``.micros`` and ``pid N, function(), line N:`` when
log_level = debug); with ``error_log = syslog`` the message is ``[WARNING] ...`` after the tag
(syslog.ident, default ``php-fpm``; Debian's binaries and journal identifiers are
``php-fpm8.2`` and the like, Alpine's ``php-fpm83``). Messages with an errno end in
``: strerror (N)``.

Covered: a pool at pm.max_children, a pool spawning as fast as it may (``seems busy``), the
global ``process.max``, fork() refused with EAGAIN, and rlimit_files that could not be applied.
FPM writes nothing when its listen queue fills: that shows up as EAGAIN in the web server's log
(see nginx.unix-connect-eagain) and in the status page's ``listen queue`` fields.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Confidence, Entry, Severity, Signature

DAEMON = "php-fpm"
# Syslog tags / journal identifiers: "php-fpm", "php-fpm8.2", "php-fpm83", and Debian's old
# "php5-fpm". Matching is by prefix.
PROGRAMS = ("php-fpm", "php5-fpm")

_SRC_PCTL = (
    "php-src sapi/fpm/fpm/fpm_process_ctl.c (PHP-8.1+ tree, with pm.max_spawn_rate): "
    "fpm_pctl_perform_idle_server_maintenance(), fpm_pctl_on_socket_accept()"
)
_SRC_CHILDREN = "php-src sapi/fpm/fpm/fpm_children.c: fpm_children_make()"
_SRC_UNIX = "php-src sapi/fpm/fpm/fpm_unix.c: fpm_unix_init_child(), fpm_unix_init_main()"
_SRC_ZLOG = "php-src sapi/fpm/fpm/zlog.c: vzlog() appends ': strerror (errno)' for SYSERROR"

_POOL = r"\[pool (?P<service>[^\]]+)\] "

_STATUS = (
    "SCRIPT_NAME=/status SCRIPT_FILENAME=/status REQUEST_METHOD=GET QUERY_STRING=full "
    "cgi-fcgi -bind -connect /run/php/php-fpm.sock (needs pm.status_path = /status)"
)

_POOL_CHECKS: tuple[Check, ...] = (
    Check(
        "Do requests wait, and how often was the limit hit (listen queue, max listen queue, "
        "max children reached, active processes)?",
        _STATUS,
    ),
    Check(
        "What are pm, pm.max_children and the spare-server settings of this pool?",
        "php-fpm8.2 -tt 2>&1 | grep -E 'pm\\.|\\[pool' (use your binary's name)",
    ),
    Check(
        "Why are the children busy: slow scripts, a slow database or API?",
        "set request_slowlog_timeout and slowlog; grep -c 'executing too slow' "
        "/var/log/php*-fpm.log",
    ),
    Check(
        "How much memory does a child use, i.e. how many more fit?",
        "ps -C php-fpm8.2 -o rss= | sort -n | tail -3; free -m",
    ),
)


SIGNATURES: tuple[Entry, ...] = (
    # fpm_pctl_perform_idle_server_maintenance() (pm = dynamic: "pm.max_children") and
    # fpm_pctl_on_socket_accept() (pm = ondemand: "max_children"); PHP 5.3 wrote
    # "max_children" for dynamic pools too. Logged once until the pool drops below the limit.
    Signature(
        id="php-fpm.max-children-reached",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("max_children setting (",),
        pattern=_POOL
        + r"server reached (?:pm\.)?max_children setting \((?P<limit>\d+)\), consider raising it",
        severity=Severity.WARNING,
        meaning=(
            "Every child of the pool was busy and the pool already had pm.max_children "
            "processes, so FPM could not start another. New requests wait in the pool's "
            "listen queue (listen.backlog, capped by net.core.somaxconn); when that fills, "
            "the web server's connect() fails with EAGAIN (UNIX socket) or times out (TCP). "
            "FPM logs this once per episode, so one line can stand for a long overload."
        ),
        source=_SRC_PCTL,
        checks=_POOL_CHECKS,
        versions="5.3+ ('pm.max_children' for pm = dynamic, 'max_children' for ondemand)",
        programs=PROGRAMS,
    ),
    # fpm_pctl_perform_idle_server_maintenance(): idle < pm.min_spare_servers and the spawn
    # rate has doubled to 8 or more (up to pm.max_spawn_rate, 32 before 8.1).
    Signature(
        id="php-fpm.seems-busy",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("seems busy (you may need to increase pm.start_servers",),
        pattern=_POOL + r"seems busy \(you may need to increase pm\.start_servers, or "
        r"pm\.min/max_spare_servers\), spawning \d+ children, there are \d+ idle, and "
        r"(?P<count>\d+) total children",
        severity=Severity.WARNING,
        meaning=(
            "A dynamic pool had fewer idle children than pm.min_spare_servers for several "
            "seconds in a row, so FPM is forking children at an accelerating rate. Requests "
            "arrive faster than spare children appear and queue on the pool's socket "
            "meanwhile; if the total keeps growing it ends at pm.max_children. count is the "
            "total number of children at that moment."
        ),
        source=_SRC_PCTL,
        checks=_POOL_CHECKS,
        versions="5.3+",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # fpm_children_make(): the global process.max (all pools together) stops forking.
    Signature(
        id="php-fpm.process-max-reached",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("consider raising 'process.max'",),
        pattern=r"The maximum number of processes has been reached\. Please review your "
        r"configuration and consider raising 'process\.max'",
        severity=Severity.WARNING,
        meaning=(
            "All pools together reached the global process.max from php-fpm.conf, so FPM "
            "did not fork a child a pool asked for, even though that pool was below its own "
            "pm.max_children. Requests for that pool queue on its socket."
        ),
        source=_SRC_CHILDREN,
        checks=(
            Check(
                "What is process.max, and how many children run in all pools?",
                "php-fpm8.2 -tt 2>&1 | grep process.max; pgrep -c -f 'php-fpm: pool'",
            ),
            *_POOL_CHECKS[:2],
        ),
        versions="PHP 7.x/8.x sources (first release with this wording not verified)",
        programs=PROGRAMS,
    ),
    # fpm_children_make(): fork() failed; zlog(ZLOG_SYSERROR, "fork() failed") adds
    # ": strerror (errno)". EAGAIN means a kernel task limit, not FPM's own.
    Signature(
        id="php-fpm.fork-eagain",
        daemon=DAEMON,
        cause=Cause.PROCESS_LIMIT,
        anchors=("fork() failed: Resource temporarily unavailable (11)",),
        pattern=r"\bfork\(\) failed: (?P<reason>Resource temporarily unavailable) "
        r"\((?P<errno>11)\)",
        severity=Severity.ERROR,
        meaning=(
            "The master tried to start a child and fork() returned EAGAIN: the kernel would "
            "not create another task for this user or control group (RLIMIT_NPROC, the "
            "cgroup pids.max / systemd TasksMax, or kernel.threads-max). The pool cannot grow "
            "although it is below pm.max_children, so requests queue on its socket."
        ),
        source=f"{_SRC_CHILDREN}; {_SRC_ZLOG}; fork(2)",
        checks=(
            Check(
                "Is the service at its systemd task limit?",
                "systemctl show -p TasksMax -p TasksCurrent php8.2-fpm",
            ),
            Check(
                "What process limit does the master have, and how many tasks run as that user?",
                "grep 'processes' /proc/$(pgrep -o php-fpm)/limits; ps -L -u www-data | wc -l",
            ),
            Check("Is the system-wide task table near its end?", "sysctl kernel.threads-max"),
        ),
        versions="5.3+",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
    # fpm_unix_init_child() (per pool, non-fatal) and fpm_unix_init_main() (global
    # rlimit_files, fatal; its text says "rlimit_core for this pool" by a copy-and-paste slip).
    Signature(
        id="php-fpm.rlimit-files-failed",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("decrease rlimit_files. setrlimit(RLIMIT_NOFILE, ",),
        pattern=r"(?:" + _POOL + r")?failed to set rlimit_(?:files|core) for this pool\. "
        r"Please check your system limits or decrease rlimit_files\. "
        r"setrlimit\(RLIMIT_NOFILE, (?P<required>\d+)\)"
        r"(?:: (?P<reason>[^(]+?) \((?P<errno>\d+)\))?",
        severity=Severity.ERROR,
        meaning=(
            "FPM could not raise the descriptor limit to rlimit_files: the value is above the "
            "hard limit FPM was started with (or above fs.nr_open), so setrlimit() failed. A "
            "pool's children keep the inherited lower limit and may run out of descriptors; "
            "for the global setting FPM refuses to start."
        ),
        source=f"{_SRC_UNIX}; {_SRC_ZLOG}",
        checks=(
            Check(
                "What hard limit does the FPM master have?",
                "grep 'open files' /proc/$(pgrep -o php-fpm)/limits",
            ),
            Check(
                "What do the pool and the service ask for?",
                "grep -r rlimit_files /etc/php/*/fpm/; systemctl show -p LimitNOFILE php8.2-fpm",
            ),
        ),
        versions="5.4-8.4 (seen in 7.x/8.x; exact first release not pinned); 5.3: -legacy",
        programs=PROGRAMS,
    ),
    # PHP 5.3 fpm_unix_init_child(): "[pool %s] setrlimit(RLIMIT_NOFILE, %d) failed (%d)"
    # logged as ZLOG_SYSERROR, so ": strerror (errno)" follows.
    Signature(
        id="php-fpm.rlimit-files-failed-legacy",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("] setrlimit(RLIMIT_NOFILE, ",),
        pattern=_POOL + r"setrlimit\(RLIMIT_NOFILE, (?P<required>\d+)\) failed \((?P<errno>\d+)\)"
        r"(?:: (?P<reason>[^(]+?) \(\d+\))?",
        severity=Severity.ERROR,
        meaning=(
            "A pool's children could not raise their descriptor limit to rlimit_files because "
            "it exceeds the hard limit FPM inherited; they run with the lower limit and may "
            "hit EMFILE under load."
        ),
        source="php-src sapi/fpm/fpm/fpm_unix.c (PHP 5.3, zlog with ZLOG_STUFF)",
        checks=(
            Check(
                "What hard limit does the FPM master have?",
                "grep 'open files' /proc/$(pgrep -o php-fpm)/limits",
            ),
        ),
        versions="5.3 (ZLOG_STUFF-era code; last release with it not pinned)",
        confidence=Confidence.MEDIUM,
        programs=PROGRAMS,
    ),
)
