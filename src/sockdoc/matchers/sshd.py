"""OpenSSH sshd wordings (OpenSSH 7.4 to 10.x): MaxStartups and descriptor limits.

sshd logs through syslog (tag ``sshd``; the per-connection ``sshd-session`` of 9.8+ does not log
these). Messages at level error carry an ``error: `` prefix. MaxStartups counts connections that
have not finished authenticating; when the count reaches ``start`` sshd drops new connections
with rising probability, and all of them at ``full`` (default 10:30:100). Since 8.5 the same
path also enforces PerSourceMaxStartups, and since 9.8 PerSourcePenalties (a false friend here:
a policy decision, not a capacity limit).

Log lines by version: ``drop connection #N from [A]:P on [A]:P past MaxStartups`` (7.4-9.7,
verbose level except at the start of an episode), ``... past Maxstartups`` (9.8-9.9),
``... Maxstartups`` (10.0+); ``beginning MaxStartups throttling`` / ``in MaxStartups throttling
for T, N connections dropped`` / ``exited MaxStartups throttling after T, N connections
dropped`` (8.4-9.9); ``Maxstartups logging rate-limited: additional N connections dropped``
(10.0+). ``accept: strerror`` when accept() fails.
"""

from __future__ import annotations

from sockdoc.causes import Cause, Check
from sockdoc.matchers.base import Entry, NotThis, Severity, Signature

DAEMON = "sshd"
PROGRAMS = ("sshd",)

_SRC_DROP = (
    "openssh-portable sshd.c @ V_10_5_P1: drop_connection() (wording checked at V_7_4_P1, "
    "V_8_4_P1, V_9_7_P1, V_9_8_P1, V_10_0_P1)"
)
_SRC_ACCEPT = 'openssh-portable sshd.c @ V_10_5_P1: server_accept_loop() error("accept: %.100s")'
_SRC_PENALTY = "openssh-portable srclimit.c @ V_10_5_P1: srclimit_penalty_check_allow()"

_MAXSTARTUPS_CHECKS: tuple[Check, ...] = (
    Check(
        "What are MaxStartups, PerSourceMaxStartups and LoginGraceTime?",
        "sshd -T | grep -E 'maxstartups|persourcemaxstartups|logingracetime'",
    ),
    Check(
        "How many connections are waiting to authenticate right now (8.2+ shows it in the "
        "listener's process title)?",
        "ps -eo args | grep '[l]istener' (e.g. '[listener] 12 of 10-100 startups'); "
        "ss -tn state established '( sport = :22 )' | wc -l",
    ),
    Check(
        "Who opens them: a scanner hammering the port, or your own automation in parallel?",
        "journalctl -u ssh -u sshd --since -1h | grep -oE 'from \\[[^]]+\\]' | sort | uniq -c "
        "| sort -rn | head",
    ),
    Check(
        "Is authentication slow (DNS lookups, PAM, LDAP), so that slots stay taken longer?",
        "sshd -T | grep -E 'usedns|gssapiauthentication'; time ssh -v localhost true",
    ),
)

_FD_CHECKS: tuple[Check, ...] = (
    Check(
        "What descriptor limit does the listening sshd have, and how many does it use?",
        "grep 'open files' /proc/$(pgrep -o sshd)/limits; ls /proc/$(pgrep -o sshd)/fd | wc -l",
    ),
)

_EMFILE = r"(?P<reason>Too many open files|No file descriptors available)(?! in system)"
_ENFILE = r"(?P<reason>Too many open files in system|File table overflow)"
_DROP = (
    r"drop connection #(?P<count>\d+) from \[(?P<client_ip>[^\]]*)\]:(?P<client_port>\d+) "
    r"on \[(?P<local_ip>[^\]]*)\]:(?P<local_port>\d+) "
)


SIGNATURES: tuple[Entry, ...] = (
    # drop_connection(): one line per refused connection (rate-limited since 10.0).
    Signature(
        id="sshd.maxstartups-drop",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("drop connection #",),
        pattern=_DROP + r"(?:past )?Max[Ss]tartups",
        severity=Severity.INFO,
        meaning=(
            "sshd closed a new TCP connection right after accepting it because too many "
            "connections were still unauthenticated (MaxStartups, random early drop between "
            "start and full) or too many came from this source (PerSourceMaxStartups, 8.5+). "
            "count is the number of unauthenticated connections at that moment (0 when the "
            "per-source limit fired). The client sees 'kex_exchange_identification: "
            "Connection closed by remote host' or a reset."
        ),
        source=_SRC_DROP,
        checks=_MAXSTARTUPS_CHECKS,
        versions="7.4+ ('past MaxStartups' -9.7, 'past Maxstartups' 9.8-9.9, 'Maxstartups' 10.0+)",
        programs=PROGRAMS,
    ),
    Signature(
        id="sshd.maxstartups-throttling-begin",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("beginning MaxStartups throttling",),
        pattern=r"beginning MaxStartups throttling",
        severity=Severity.ERROR,
        meaning=(
            "The first connection of an episode was dropped under MaxStartups: from now on "
            "sshd refuses some or all new connections until unauthenticated ones finish or "
            "reach LoginGraceTime."
        ),
        source=_SRC_DROP,
        checks=_MAXSTARTUPS_CHECKS,
        versions="8.4-9.9",
        programs=PROGRAMS,
    ),
    Signature(
        id="sshd.maxstartups-throttling-ongoing",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("in MaxStartups throttling for ",),
        pattern=r"in MaxStartups throttling for \S+, (?P<count>\d+) connections dropped",
        severity=Severity.ERROR,
        meaning=(
            "A MaxStartups episode is still going on (logged every five minutes of it); "
            "count connections have been dropped since it began."
        ),
        source=_SRC_DROP,
        checks=_MAXSTARTUPS_CHECKS,
        versions="8.4-9.9",
        programs=PROGRAMS,
    ),
    Signature(
        id="sshd.maxstartups-throttling-exit",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("exited MaxStartups throttling after ",),
        pattern=r"exited MaxStartups throttling after \S+, (?P<count>\d+) connections dropped",
        severity=Severity.INFO,
        meaning=(
            "A MaxStartups episode ended (the number of unauthenticated connections fell "
            "below start); count connections were refused while it lasted, given as a time "
            "span in the line."
        ),
        source=_SRC_DROP,
        checks=_MAXSTARTUPS_CHECKS,
        versions="8.4-9.9",
        programs=PROGRAMS,
    ),
    # 10.0+: drop lines beyond the rate limit are demoted to debug3 and summarised.
    Signature(
        id="sshd.maxstartups-ratelimited",
        daemon=DAEMON,
        cause=Cause.CLIENT_LIMIT,
        anchors=("Maxstartups logging rate-limited",),
        pattern=r"Maxstartups logging rate-limited: additional (?P<count>\d+) connections "
        r"dropped",
        severity=Severity.INFO,
        meaning=(
            "So many connections were dropped under MaxStartups that sshd stopped logging "
            "each one; count more were refused without their own line."
        ),
        source=_SRC_DROP,
        checks=_MAXSTARTUPS_CHECKS,
        versions="10.0+",
        programs=PROGRAMS,
    ),
    # server_accept_loop(): accept() failed; sshd sleeps 100 ms on EMFILE/ENFILE and retries.
    Signature(
        id="sshd.accept-emfile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("accept: Too many open files", "accept: No file descriptors available"),
        pattern=r"\baccept: " + _EMFILE,
        severity=Severity.ERROR,
        meaning=(
            "The listening sshd could not accept a connection because it holds as many "
            "descriptors as its RLIMIT_NOFILE allows (each unauthenticated connection costs "
            "the listener a few). Connections wait in the kernel's accept queue meanwhile."
        ),
        source=_SRC_ACCEPT,
        checks=_FD_CHECKS,
        versions="all",
        programs=PROGRAMS,
    ),
    Signature(
        id="sshd.accept-enfile",
        daemon=DAEMON,
        cause=Cause.FD_LIMIT,
        anchors=("accept: Too many open files in system", "accept: File table overflow"),
        pattern=r"\baccept: " + _ENFILE,
        severity=Severity.ERROR,
        meaning=(
            "The listening sshd could not accept a connection because the whole system has no "
            "free file handles (fs.file-max); logins fail for everyone until handles are freed."
        ),
        source=_SRC_ACCEPT,
        checks=_FD_CHECKS,
        versions="all",
        programs=PROGRAMS,
    ),
    # PerSourcePenalties (9.8+): the source address is penalised; not a capacity limit.
    NotThis(
        id="sshd.not-this.penalty",
        daemon=DAEMON,
        anchors=("drop connection #", "PerSourcePenalties logging rate-limited"),
        pattern=r"drop connection #\d+ from \S+ on \S+ (?:penalty: |too many penalised)"
        r"|PerSourcePenalties logging rate-limited",
        hint=(
            "PerSourcePenalties (OpenSSH 9.8+) refused this address because of its earlier "
            "behaviour (failed or no authentication, crashes, LoginGraceTime exceeded). It is "
            "a policy, not a full queue: see sshd -T | grep -i persourcepenalt (and "
            "PerSourcePenaltyExemptList for your own automation)."
        ),
        source=_SRC_PENALTY,
        programs=PROGRAMS,
    ),
)
