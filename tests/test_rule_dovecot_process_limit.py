"""dovecot-process-limit on real Dovecot 2.3 captures (see the fixtures' lab README)."""

from __future__ import annotations

from pathlib import Path

from overlaykit import text_of, variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.dovecot_process_limit import new_limits

ID = "dovecot-process-limit"
FIRES = f"{ID}/fires"
NO_LOGS = text_of(f"{ID}/quiet", "logs/scan")


def test_fires_with_counts_logs_and_queue() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name, f.subject.pid) == ("service", "dovecot imap", 22164)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["process_limit"] == 1
    assert ev["imap processes running"] == 1
    assert ev["'reached, client connections are being dropped' lines"] == 1
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] == 15
    assert ev["/tmp/dvlab/bad/run/login/imap: longest queue / backlog"] == "5 / 4"
    assert ev["/tmp/dvlab/bad/run/login/imap: samples full"] == 76
    assert ev["clients wanting the service at once (estimate)"] == 16  # 1 running + 15 failed


def test_fix_is_computed_from_the_demand() -> None:
    (f,) = findings(ID, FIRES)
    (change,) = f.fix.config
    assert change.file == "/tmp/dvlab/bad/dovecot.conf"
    assert change.text == "service imap {\n  process_limit = 20\n  process_min_avail = 5\n}\n"
    assert change.reload == "doveadm -c /tmp/dvlab/bad/dovecot.conf reload"
    assert "vsz_limit = 256 M" in f.fix.summary  # the memory caveat
    assert new_limits(1, 16) == (20, 5)
    assert new_limits(100, 30) == (200, 30)  # at least twice the old limit


def test_at_the_limit_without_logs_or_full_queue_is_a_warning(tmp_path: Path) -> None:
    quiet_sockets = ("attribution", "s0/sock_diag/unix_listen", "s1/sock_diag/unix_listen")
    case = variant(tmp_path, FIRES, remove=quiet_sockets, replace={"logs/scan": NO_LOGS})
    (f,) = findings(ID, case)
    assert f.severity is Severity.WARNING and f.confidence is Confidence.MEDIUM


def test_logs_fire_after_the_burst_is_over(tmp_path: Path) -> None:
    # the same capture as if the imap process had exited before the first sample
    rows = [r for r in text_of(FIRES, "processes").splitlines(True) if "\timap\t" not in r]
    case = variant(tmp_path, FIRES, replace={"processes": "".join(rows)})
    (f,) = findings(ID, case)
    assert f.severity is Severity.ERROR
    ev = {e.name: e.value for e in f.evidence}
    assert ev["imap processes running"] == 0
    assert ev["'reached, client connections are being dropped' lines"] == 1


def test_several_clients_per_process_need_a_full_socket(tmp_path: Path) -> None:
    # client_limit 5, process_limit 1: one imap process is "at the limit" but may have room
    full = findings(ID, "dovecot-client-limit/fires")
    assert [f.severity for f in full] == [Severity.ERROR]  # its socket was seen full
    calm = variant(tmp_path, "dovecot-client-limit/fires", remove=("attribution",))
    found, ok, _ = outcomes(ID, calm)
    assert not found and ok


def test_quiet_counts_processes() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "5 Dovecot services checked against process_limit (imap 21/1024); "
        "no 'reached' warnings in the logs"
    )


def test_no_dovecot_no_outcome() -> None:
    assert outcomes(ID) == ([], [], [])
