"""dovecot-client-limit on real Dovecot 2.3 captures (imap client_limit 5 under load)."""

from __future__ import annotations

from pathlib import Path

from overlaykit import text_of, variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Confidence, Severity

ID = "dovecot-client-limit"
FIRES = f"{ID}/fires"
NO_LOGS = text_of(f"{ID}/quiet", "logs/scan")


def test_fires_as_error_with_the_full_socket_and_logs() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name, f.subject.pid) == ("service", "dovecot imap", 17872)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["client_limit (effective)"] == 5
    assert ev["process_limit"] == 1
    assert ev["service_count"] == 100
    assert ev["sessions it can hold (client_limit x process_limit)"] == 5
    assert ev["/tmp/dvlab/clients/run/login/imap: samples with the queue full"] == 41
    assert ev["/tmp/dvlab/clients/run/login/imap: longest queue / backlog"] == "6 / 5"
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] == 9


def test_fix_gives_a_process_to_every_session_wanted() -> None:
    # logins failed: 5 sessions held + 6 queued + 9 failed (EAGAIN) = 20 processes
    (f,) = findings(ID, FIRES)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["sessions wanted at once (capacity + queued + failed)"] == 20
    (change,) = f.fix.config
    assert change.text == "service imap {\n  client_limit = 1\n  process_limit = 20\n}\n"
    assert change.file == "/tmp/dvlab/clients/dovecot.conf"
    assert change.reload == "doveadm -c /tmp/dvlab/clients/dovecot.conf reload"
    assert f.fix.sysctls == ()  # a backlog of 20 is within net.core.somaxconn 4096
    assert ev["listen backlog of service imap's sockets"] == (
        "5 asked (max(process_limit 1 x client_limit 5, 4)), 5 granted, net.core.somaxconn 4096"
    )


def test_without_overflow_it_is_a_warning(tmp_path: Path) -> None:
    calm = ("attribution", "s0/sock_diag/unix_listen", "s1/sock_diag/unix_listen")
    case = variant(tmp_path, FIRES, remove=calm, replace={"logs/scan": NO_LOGS})
    (f,) = findings(ID, case)
    assert f.severity is Severity.WARNING and f.confidence is Confidence.MEDIUM
    # nothing failed: the same capacity, one process per session
    (change,) = f.fix.config
    assert change.text == "service imap {\n  client_limit = 1\n  process_limit = 5\n}\n"


def test_service_count_1_caps_client_limit(tmp_path: Path) -> None:
    # client_limit = 5 with imap's built-in service_count = 1: the master uses 1
    text = text_of(f"{ID}/quiet", "cmd/doveconf-a")
    start = text.index("service imap {")
    edited = text[:start] + text[start:].replace("client_limit = 1", "client_limit = 5", 1)
    case = variant(tmp_path, f"{ID}/quiet", replace={"cmd/doveconf-a": edited})
    found, ok, _ = outcomes(ID, case)
    assert not found
    assert ok[0].summary == "Dovecot mail services' effective client_limit: imap 1"


def test_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found and ok


E2E_COUNT0 = f"{ID}/e2e-count0"  # imap process_limit 1, client_limit 2, service_count 0


def test_e2e_client_limit_2_with_service_count_0() -> None:
    # the end-to-end run: both sessions of the one imap process held, then a burst of 20
    (f,) = findings(ID, E2E_COUNT0)
    assert f.severity is Severity.ERROR
    ev = {e.name: e.value for e in f.evidence}
    assert (ev["client_limit (effective)"], ev["process_limit"], ev["service_count"]) == (2, 1, 0)
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] == 15
    assert ev["sessions wanted at once (capacity + queued + failed)"] == 22
    (change,) = f.fix.config
    assert change.text == "service imap {\n  client_limit = 1\n  process_limit = 30\n}\n"


def test_e2e_the_master_words_it_client_limit_reached() -> None:
    # process_limit 1 and service_count 0: "service(imap): client_limit (2) reached"; the
    # process-limit rule counts it for imap (its one process was full)
    (f,) = findings("dovecot-process-limit", E2E_COUNT0)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["'reached, client connections are being dropped' lines"] == 1
    assert ev["clients wanting the service at once (running + queued + failed)"] == 22
    (change,) = f.fix.config
    # 22 sessions at 2 per process: 11 processes, 2 kept ready
    assert change.text == "service imap {\n  process_limit = 20\n  process_min_avail = 2\n}\n"
