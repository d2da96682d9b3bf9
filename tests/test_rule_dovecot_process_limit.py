"""dovecot-process-limit on real Dovecot 2.3 captures (see the fixtures' lab README)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from overlaykit import text_of, variant
from rulekit import RULES_DIR, findings, outcomes

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.matchers.catalogue import default
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
    # 1 running + 5 queued (backlog 4) + 15 failed: the failed ones found the queue full
    assert ev["clients wanting the service at once (running + queued + failed)"] == 21
    assert ev["listen backlog of service imap's sockets"] == (
        "4 asked (max(process_limit 1 x client_limit 1, 4)), 4 granted, net.core.somaxconn 4096"
    )


def test_fix_is_computed_from_the_demand() -> None:
    (f,) = findings(ID, FIRES)
    (change,) = f.fix.config
    assert change.file == "/tmp/dvlab/bad/dovecot.conf"
    assert change.text == "service imap {\n  process_limit = 30\n  process_min_avail = 5\n}\n"
    assert change.reload == "doveadm -c /tmp/dvlab/bad/dovecot.conf reload"
    assert "vsz_limit = 256 M" in f.fix.summary  # the memory caveat
    assert (
        "listen backlog of 30 (process_limit x client_limit), within net.core.somaxconn 4,096"
        in f.fix.summary
    )
    assert f.fix.sysctls == ()
    assert new_limits(1, 21) == (30, 5)  # 21 busy + 5 kept ready fit in 30
    assert new_limits(100, 30) == (200, 7)  # at least twice the old limit


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
    calm = variant(
        tmp_path / "calm",
        "dovecot-client-limit/fires",
        remove=("attribution",),
        replace={"logs/scan": NO_LOGS},
    )
    found, ok, _ = outcomes(ID, calm)
    assert not found and ok


def test_client_limit_wording_of_a_single_process_service(tmp_path: Path) -> None:
    # process_limit 1 and service_count 100: the master logs "client_limit (5) reached"; with
    # the socket not sampled, that line alone shows the one process was full
    logged = variant(tmp_path, "dovecot-client-limit/fires", remove=("attribution",))
    (f,) = findings(ID, logged)
    assert f.severity is Severity.ERROR
    ev = {e.name: e.value for e in f.evidence}
    assert ev["'reached, client connections are being dropped' lines"] == 1


def test_quiet_counts_processes() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "5 Dovecot services checked against process_limit (imap 21/1024); "
        "no 'reached' warnings in the logs"
    )


def test_no_dovecot_no_outcome() -> None:
    assert outcomes(ID) == ([], [], [])


# --- captures of the end-to-end runs (tests/e2e, in a namespace of their own) -----------------

E2E_LIMIT2 = f"{ID}/e2e-limit2"  # imap process_limit = 2, both sessions held, a burst
E2E_FIXED = f"{ID}/e2e-fixed"  # the settings sockdoc recommended for it, the same load


def test_e2e_process_limit_wording_and_demand() -> None:
    (f,) = findings(ID, E2E_LIMIT2)
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.name, f.subject.pid) == ("dovecot imap", 29623)
    ev = {e.name: e.value for e in f.evidence}
    assert (ev["process_limit"], ev["client_limit"], ev["imap processes running"]) == (2, 1, 2)
    # "service(imap): process_limit (2) reached, client connections are being dropped"
    assert ev["'reached, client connections are being dropped' lines"] == 1
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] == 15
    sock = "/tmp/sockdoc-e2e-dovecot-feyxahfz/run/login/imap"
    assert ev[f"{sock}: longest queue / backlog"] == "5 / 4"
    assert ev["listen backlog of service imap's sockets"] == (
        "4 asked (max(process_limit 2 x client_limit 1, 4)), 4 granted, net.core.somaxconn 4096"
    )
    assert ev["clients wanting the service at once (running + queued + failed)"] == 22
    (change,) = f.fix.config
    assert change.text == "service imap {\n  process_limit = 30\n  process_min_avail = 5\n}\n"
    assert change.file == "/tmp/sockdoc-e2e-dovecot-feyxahfz/dovecot.conf"


def test_e2e_recommended_settings_are_quiet_under_the_same_load() -> None:
    # process_limit 30 and process_min_avail 5: 22 sessions busy plus 5 kept ready = 27
    found, ok, _ = outcomes(ID, E2E_FIXED)
    assert not found
    assert "imap 27/30" in ok[0].summary


def test_e2e_whole_log_of_the_run() -> None:
    # the log of the whole run (the bundle's scan saw only its first burst); the 5 "Remote
    # closed" lines are the hand-offs still queued when the master was stopped
    log = RULES_DIR / E2E_LIMIT2 / "dovecot.log"
    cat = default()
    counts: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        sig = cat.classify(line).signature
        if sig is not None:
            counts[sig.id] += 1
    assert counts["dovecot.net-connect-unix.eagain"] == 35
    assert counts["dovecot.service.process-limit-reached"] == 1
    assert counts["dovecot.master-auth.remote-closed"] == 5
