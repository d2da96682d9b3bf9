"""listen-backlog-capped on real captures: nginx and php-fpm asking for 8192 in a namespace
with net.core.somaxconn 128 (fires), 64 (quiet); Dovecot asking 5000 with somaxconn 4096."""

from __future__ import annotations

from pathlib import Path

from overlaykit import variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Confidence, Severity

ID = "listen-backlog-capped"


def test_full_nginx_listener_is_an_error_with_its_numbers() -> None:
    (f,) = [f for f in findings(ID, f"{ID}/fires") if f.subject.name == "127.0.0.1:18080"]
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.pid, f.subject.program) == (13376, "nginx")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["backlog asked for"] == 8192
    assert ev["backlog granted (ss -l Send-Q)"] == 128
    assert ev["net.core.somaxconn"] == 128
    assert ev["longest queue seen"] == 129
    assert ev["samples with the queue full"] == 51
    assert ev["connections dropped"] == 142
    assert f.fix.sysctls == (("net.core.somaxconn", 8192),)
    assert f.fix.commands == ("systemctl restart nginx.service",)
    assert "network namespace" in f.fix.summary


def test_explicit_settings_cut_but_idle_are_warnings() -> None:
    got = {f.subject.name: f for f in findings(ID, f"{ID}/fires")}
    assert set(got) == {"127.0.0.1:18080", "127.0.0.1:18081", "127.0.0.1:19000"}
    nginx, fpm = got["127.0.0.1:18081"], got["127.0.0.1:19000"]
    assert nginx.severity is Severity.WARNING and fpm.severity is Severity.WARNING
    assert fpm.subject.program == "php-fpm8.2"
    assert fpm.fix.sysctls == (("net.core.somaxconn", 8192),)
    assert fpm.fix.commands == ("systemctl restart php8.2-fpm.service",)
    origin = [e.source for e in fpm.evidence if e.name == "backlog asked for"]
    assert origin == ["[lab] listen.backlog = 8192 (/tmp/fpmlab/pool.d/lab.conf)"]


def test_quiet_when_nothing_asks_for_more() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary.startswith("3 listeners checked against net.core.somaxconn 128")


def test_dovecot_mail_service_cut_is_info_and_capped_proposal() -> None:
    found = findings(ID, f"{ID}/dovecot-info")
    names = sorted(f.subject.name for f in found)
    assert names == ["/tmp/dvlab/imap5000/run/imap-master", "/tmp/dvlab/imap5000/run/login/imap"]
    for f in found:
        assert f.severity is Severity.INFO
        ev = {e.name: e.value for e in f.evidence}
        assert ev["backlog asked for"] == 5000  # process_limit 5000 x client_limit 1
        assert ev["backlog granted (ss -l Send-Q)"] == 4096
        assert f.fix.sysctls == (("net.core.somaxconn", 8192),)
        assert f.fix.commands == ("systemctl restart dovecot.service",)


def test_dovecot_internal_services_are_only_counted() -> None:
    # built-in limits: config, imap-hibernate... ask 100 x 1000 and get 4096, never full
    found, ok, _ = outcomes(ID, "dovecot-process-limit/quiet")
    assert not found
    assert "4 more got less than a derived backlog" in ok[0].summary


def test_full_at_somaxconn_without_a_known_request(tmp_path: Path) -> None:
    # without nginx's configuration the full listener at the ceiling is still reported
    case = variant(tmp_path, f"{ID}/fires", remove=("cmd/nginx-T",))
    got = {f.subject.name: f for f in findings(ID, case)}
    assert set(got) == {"127.0.0.1:18080", "127.0.0.1:19000"}  # 18081: idle, no request
    f = got["127.0.0.1:18080"]
    assert f.severity is Severity.ERROR and f.confidence is Confidence.MEDIUM
    assert not any(e.name == "backlog asked for" for e in f.evidence)
    assert f.fix.sysctls == (("net.core.somaxconn", 256),)  # twice the ceiling
    assert f.fix.commands == ("systemctl restart nginx.service",)  # from the socket's owner
