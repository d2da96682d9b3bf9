"""unix-listen-queue-full: a plain listener (tests/scenarios/overflow.py) and Dovecot's imap
socket from the end-to-end runs (tests/e2e), which the rule names after its service."""

from __future__ import annotations

from rulekit import findings, outcomes

from sockdoc.matchers.base import Severity

ID = "unix-listen-queue-full"
DOVECOT = "dovecot-process-limit/e2e-limit2"
SOCKET = "/tmp/sockdoc-e2e-dovecot-feyxahfz/run/login/imap"


def test_dovecot_socket_is_named_after_its_service() -> None:
    (f,) = findings(ID, DOVECOT)
    assert f.severity is Severity.ERROR
    assert (f.subject.kind, f.subject.name, f.subject.pid, f.subject.program) == (
        "socket",
        SOCKET,
        29623,
        "dovecot",
    )
    ev = {e.name: e.value for e in f.evidence}
    assert ev["Dovecot service"] == "imap"
    assert ev["queue now / backlog"] == "5 / 4"
    assert ev["samples with the queue full"] == "51 of 51 samples over 2.0 s (25 Hz)"
    assert ev["listen backlog of service imap's sockets"] == (
        "4 asked (max(process_limit 2 x client_limit 1, 4)), 4 granted, net.core.somaxconn 4096"
    )
    assert "Dovecot service imap, listening in dovecot[29623]" in f.explanation


def test_dovecot_fix_is_the_service_limits_not_a_backlog_setting() -> None:
    (f,) = findings(ID, DOVECOT)
    assert "backlog of process_limit 2 x client_limit 1 (at least 4)" in f.fix.summary
    assert "dovecot-process-limit" in f.fix.summary
    assert "ask for a listen backlog" not in f.fix.summary  # Dovecot has no such setting
    assert f.fix.sysctls == () and f.fix.config == ()


def test_plain_listener_keeps_the_backlog_advice() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert "ask for a listen backlog of at least 128" in f.fix.summary


def test_quiet_after_the_recommended_dovecot_settings() -> None:
    found, ok, _ = outcomes(ID, "dovecot-process-limit/e2e-fixed")
    assert not found and ok
