"""Healthy control: Dovecot 2.3 (Debian's dovecot-imapd) with its built-in service limits under
the same load as the failing runs (a session held, two bursts of 20 concurrent IMAP logins,
``sockdoc check`` during the second) handles every login, logs none of the failure lines, and
``sockdoc check --netns NS --logs LOG --json`` reports no finding above info while its Dovecot
rules did run (a false alarm here is a failed test)."""

from __future__ import annotations

import json

import dovecotkit as dk
import pytest
from netnskit import namespace

pytestmark = pytest.mark.e2e

DOVECOT_RULES = (
    "dovecot-process-limit",
    "dovecot-client-limit",
    "dovecot-fd-limit",
    "dovecot-master-busy",
    "unix-listen-queue-full",
    "listen-backlog-capped",
    "daemon-fd-limit",
)


def test_builtin_limits_under_a_burst_give_nothing_above_info() -> None:
    print(f"\nDovecot {dk.version()}, built-in service limits")
    with namespace("sddove") as ns:
        run = dk.drive(ns, {}, held=1)
    dk.assert_clean(ns)
    print(json.dumps(run.summary(), indent=1))
    assert run.failed == 0, run.summary()
    assert run.log_lines == {}, run.log_lines
    assert not run.above_info(), run.above_info()
    for rule in DOVECOT_RULES:
        found = run.outcome(rule)
        assert found is not None and found[0] in ("ok", "findings"), (rule, found)
    section, ok = run.outcome("dovecot-process-limit") or ("", {})
    assert section == "ok" and "imap" in ok["summary"], ok
