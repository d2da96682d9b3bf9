"""Dovecot 2.2.0 to 2.2.6 looks up the host's domain name every time it creates a process.

Those versions meant to resolve ``host.domain`` once in the master and hand it to every
child, but in fact did the lookup at each process creation; where that lookup goes to a slow
DNS server, forking becomes slow, logins queue on the services' sockets, and they fail with
``net_connect_unix(...) failed: Resource temporarily unavailable`` (the Dovecot wiki page
SocketUnavailable, "Dovecot v2.2.[0-6] bug"). Fixed in 2.2.7 (dovecot/core commit 28482afc81,
"master: host.domain lookups weren't cached"). The workaround is to give the
name to Dovecot in its environment: ``import_environment = ... DOVECOT_HOSTDOMAIN=NAME``.

Proof: the version in ``doveconf``'s header (or ``dovecot --version``) is 2.2.0 to 2.2.6 and
``import_environment`` has no ``DOVECOT_HOSTDOMAIN``: a warning; an error when Dovecot's
listeners also overflowed (seen full, or the EAGAIN lines in the logs).
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules import _dovecot
from sockdoc.rules._dovecot import EAGAIN
from sockdoc.rules.base import ConfigChange, Evidence, Finding, Fix, Ok, Outcome, Rule

ID = "dovecot-hostdomain-lookup"
FIRST, LAST = (2, 2, 0), (2, 2, 6)
VARIABLE = "DOVECOT_HOSTDOMAIN"
# Dovecot 2.2.5's default import_environment (src/master/master-settings.c): "TZ", plus
# LISTEN_PID LISTEN_FDS in builds with systemd support
DEFAULT_IMPORT = "TZ"


def affected(version: tuple[int, ...]) -> bool:
    """Whether ``version`` has the lookup bug.

    >>> affected((2, 2, 5)), affected((2, 2, 7)), affected((2, 3, 19, 1)), affected((2, 2))
    (True, False, False, True)
    """
    padded = (*version, 0, 0, 0)[:3]
    return FIRST <= padded <= LAST


def check(f: HostFacts) -> Iterator[Outcome]:
    dc = _dovecot.find(f)
    if dc is None:
        return
    text = dc.version
    version = _dovecot.version_tuple(text)
    if version is None:
        return
    words = dc.config.import_environment
    has_var = any(w == VARIABLE or w.startswith(VARIABLE + "=") for w in words)
    if not affected(version) or has_var:
        why = "not affected (2.2.0-2.2.6 are)" if not affected(version) else f"{VARIABLE} is set"
        yield Ok(ID, f"Dovecot {text}: {why}")
        return
    pid = dc.master.pid if dc.master is not None else 0
    full = [
        s for s in f.listeners if s.owner is not None and s.owner.pid == pid and _dovecot.full(s)
    ]
    failed = _dovecot.log_count(f, EAGAIN)
    name = dc.config.settings.get("hostname") or f.host or "mail.example.com"
    current = " ".join(words) if words else DEFAULT_IMPORT
    evidence = [
        Evidence("Dovecot version", text or "", "", "doveconf / dovecot --version"),
        Evidence("versions with the bug", "2.2.0 - 2.2.6", "", "Dovecot wiki SocketUnavailable"),
        Evidence("import_environment", current, "", "doveconf -a"),
        Evidence("listeners seen full", len(full), "", "attribution sampler"),
    ]
    if failed:
        evidence.append(
            Evidence(
                "net_connect_unix ... Resource temporarily unavailable lines", failed, "", "logs"
            )
        )
    overflowed = bool(full or failed)
    yield Finding(
        rule=ID,
        title=f"Dovecot {text}: slow host.domain lookup at every process start",
        cause=Cause.PROCESS_LIMIT,
        severity=Severity.ERROR if overflowed else Severity.WARNING,
        confidence=Confidence.HIGH if overflowed else Confidence.MEDIUM,
        subject=dc.subject("dovecot"),
        explanation=(
            f"Dovecot {text} resolves the host's domain name each time the master creates a "
            "process (fixed in 2.2.7). With a slow resolver processes start late, and logins "
            "queue on the services' sockets until they overflow."
        ),
        evidence=tuple(evidence),
        fix=Fix(
            f"Upgrade Dovecot to 2.2.7 or later, or give it the name in its environment "
            f"(use the host's fully qualified name; '{name}' is what this host reported).",
            config=(
                ConfigChange(
                    _dovecot.DEBIAN_MAIN_CONF
                    if dc.config.config_path in (None, _dovecot.DEBIAN_MAIN_CONF)
                    else str(dc.config.config_path),
                    f"import_environment = {current} {VARIABLE}={name}\n",
                    "systemctl restart dovecot",
                ),
            ),
        ),
    )


RULE = Rule(
    ID,
    "Dovecot 2.2.0-2.2.6 host.domain lookup bug",
    Cause.PROCESS_LIMIT,
    check,
    needs=("cmd/doveconf-a",),
)
