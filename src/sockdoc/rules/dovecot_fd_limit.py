"""Dovecot runs with an open-files limit below what its own configuration needs.

The master and every process it forks inherit one ``RLIMIT_NOFILE``. A process serving
``client_limit`` clients needs at least that many descriptors; when it runs out, the kernel
stops giving it new connections (``accept()`` fails with EMFILE), its socket's queue fills and
logins fail with ``net_connect_unix(...) failed: Resource temporarily unavailable`` (the
Dovecot wiki page SocketUnavailable). Dovecot 2.3 checks this at start-up
(src/master/master-settings.c ``master_settings_verify()``): it takes the largest of
``default_client_limit`` and the ``client_limit`` of every service it will run (those of
disabled protocols skipped) and warns ``fd limit (ulimit -n) is lower than required under
max. load (SOFT < NEEDED), because of SETTING`` when the soft limit is smaller. Dovecot does
not use the ``dovecot`` user's PAM limits: the limit comes from whatever starts the master
(systemd's ``LimitNOFILE=``; Debian's unit sets 65535, a shell's ``ulimit -n`` often 1024).

Proof: the master's soft ``Max open files`` (``/proc/PID/limits``) below that same number:
a warning; an error when the logs also hold Dovecot's "Too many open files" errors. Fix: a
systemd drop-in with ``LimitNOFILE`` at a power of two at least twice the number Dovecot
requires, and a restart.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers import doveconf
from sockdoc.parsers.errors import ParseError
from sockdoc.rules import _dovecot
from sockdoc.rules._dovecot import Dovecot
from sockdoc.rules.base import Evidence, Finding, NotChecked, Ok, Outcome, Rule, pow2_at_least
from sockdoc.rules.daemon_fd_limit import DEFAULT_NR_OPEN, MIN_PROPOSED, nofile_fix, unit_for

ID = "dovecot-fd-limit"
FD_EXHAUSTED = "dovecot.fd-exhausted"


def required(dc: Dovecot) -> tuple[int, str]:
    """The descriptor count Dovecot's start-up check requires, and the setting it comes from
    (Dovecot's own wording: ``default_client_limit`` or ``service imap { client_limit }``)."""
    cfg = dc.config
    try:
        need = int(cfg.settings.get("default_client_limit", doveconf.DEFAULT_CLIENT_LIMIT))
    except ValueError:
        need = doveconf.DEFAULT_CLIENT_LIMIT
    source = "default_client_limit"
    names = {s.name for s in cfg.services} | set(doveconf.BUILTIN_SERVICES)
    for name in sorted(names):
        parsed = cfg.service(name)
        builtin = doveconf.BUILTIN_SERVICES.get(name)
        try:
            effective = doveconf.effective_service(cfg, name)
        except (KeyError, ValueError, ParseError):
            continue
        if not dc.enabled(effective):
            continue
        # the check reads the value as configured: 0 ("use the default") never wins
        raw = parsed.client_limit if parsed is not None else None
        if raw is None and builtin is not None:
            raw = builtin.client_limit
        if raw and raw > need:
            need, source = raw, f"service {name} {{ client_limit }}"
    return need, source


def check(f: HostFacts) -> Iterator[Outcome]:
    dc = _dovecot.find(f)
    if dc is None or dc.daemon is None:
        return
    master = dc.master
    if master is None or master.nofile_soft is None:
        pid = master.pid if master is not None else None
        key = f"proc/{pid}/limits" if pid is not None else "processes"
        state = f.source(key)
        yield NotChecked(
            ID,
            "the Dovecot master's limits (/proc/PID/limits) were not read",
            (key,),
            bool(state and state.needs_root),
        )
        return
    need, source = required(dc)
    soft = master.nofile_soft
    if soft >= need:
        yield Ok(
            ID,
            f"Dovecot master's open-files limit {soft:,} covers the {need:,} its "
            f"configuration needs ({source})",
        )
        return
    emfile = _dovecot.log_count(f, FD_EXHAUSTED)
    warned = _dovecot.log_count(f, "dovecot.config.fd-limit-too-low")
    nr_open = f.sysctls.nr_open or DEFAULT_NR_OPEN
    want = min(max(pow2_at_least(2 * need), MIN_PROPOSED), nr_open)
    evidence = [
        Evidence("soft limit (Max open files)", soft, "", f"/proc/{master.pid}/limits"),
        Evidence("required under max. load", need, "", f"{source} (doveconf -a)"),
    ]
    if master.nofile_hard is not None:
        evidence.append(
            Evidence("hard limit", master.nofile_hard, "", f"/proc/{master.pid}/limits")
        )
    if master.open_fds is not None:
        evidence.append(
            Evidence(
                "descriptors the master holds now", master.open_fds, "", f"/proc/{master.pid}/fd"
            )
        )
    if warned:
        evidence.append(
            Evidence("Dovecot's own 'fd limit (ulimit -n) is lower' warnings", warned, "", "logs")
        )
    if emfile:
        evidence.append(Evidence("'Too many open files' errors", emfile, "", "logs"))
    yield Finding(
        rule=ID,
        title=f"Dovecot's open-files limit {soft:,} is below the {need:,} it needs",
        cause=Cause.FD_LIMIT,
        severity=Severity.ERROR if emfile else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=dc.subject("dovecot"),
        explanation=(
            f"The Dovecot master (pid {master.pid}) and the processes it forks may open "
            f"{soft:,} files each, but {source} lets one process take {need:,} clients: "
            "under full load it runs out of descriptors, stops accepting, and logins fail "
            "with EAGAIN. Dovecot makes the same check at start-up."
        ),
        evidence=tuple(evidence),
        fix=nofile_fix(unit_for(dc.daemon), want, f"at least twice the {need:,} required"),
    )


RULE = Rule(
    ID,
    "Dovecot open-files limit below its client_limit",
    Cause.FD_LIMIT,
    check,
    needs=("cmd/doveconf-a", "processes"),
)
