"""daemon-fd-limit on real nginx captures: 62 of 64 descriptors (fires), 62 of 1024 (quiet)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from overlaykit import text_of, variant
from rulekit import facts_for, findings, outcomes

from sockdoc.matchers.base import Severity
from sockdoc.rules.daemon_fd_limit import unit_for

ID = "daemon-fd-limit"
FIRES = f"{ID}/fires"


def test_fires_on_the_worker_with_the_highest_share() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.ERROR  # 62 / 64 = 97%
    assert (f.subject.kind, f.subject.name, f.subject.pid, f.subject.program) == (
        "daemon",
        "nginx",
        11679,
        "nginx",
    )
    ev = {e.name: e.value for e in f.evidence}
    assert ev["open descriptors"] == 62
    assert ev["soft limit (Max open files)"] == 64
    assert ev["in use"] == 96.9
    assert ev["processes of nginx at 80% or more of their limit"] == 2


def test_fix_is_a_drop_in_and_worker_rlimit_nofile() -> None:
    (f,) = findings(ID, FIRES)
    unit, worker = f.fix.config
    # pow2 >= 2 x 62 is 128, below systemd's default soft limit: 1024 is proposed
    assert unit.file == "/etc/systemd/system/nginx.service.d/limits.conf"
    assert unit.text == "[Service]\nLimitNOFILE=1024\n"
    assert unit.reload == "systemctl daemon-reload && systemctl restart nginx.service"
    assert f.fix.commands == ()
    assert worker.text == "worker_rlimit_nofile 1024;\n"


def test_warning_between_80_and_95_percent(tmp_path: Path) -> None:
    limits = text_of(FIRES, "proc/11677/limits").replace(
        "64                   64", "4000                 4000"
    )
    warm = variant(
        tmp_path,
        FIRES,
        remove=("proc/11679/fdcount", "proc/11679/limits"),
        replace={"proc/11677/fdcount": "3500\n", "proc/11677/limits": limits},
    )
    (f,) = findings(ID, warm)
    assert f.severity is Severity.WARNING  # 3500 / 4000 = 87.5%
    assert f.subject.pid == 11677
    (unit,) = f.fix.config  # the master: no worker_rlimit_nofile
    assert unit.text == "[Service]\nLimitNOFILE=8192\n"
    assert any(
        e.name == "fs.nr_open (ceiling for LimitNOFILE)" and e.value == 1048576 for e in f.evidence
    )


def test_quiet_reports_the_highest_use() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    (o,) = ok
    assert "62 of 1,024" in o.summary and "2 processes of 1 daemons" in o.summary


def test_denied_limits_are_not_checked(tmp_path: Path) -> None:
    keys = ("proc/11677/limits", "proc/11679/limits")
    found, ok, nots = outcomes(ID, variant(tmp_path, FIRES, denied=keys))
    assert not found and not ok
    (n,) = nots
    assert n.needs_root
    assert "proc/11679/limits" in n.sources


def test_no_daemons_no_outcome() -> None:
    assert outcomes(ID) == ([], [], [])


def test_units_of_daemons() -> None:
    facts = facts_for(FIRES)
    nginx = facts.daemon("nginx")
    assert nginx is not None and unit_for(nginx) == "nginx.service"
    assert nginx.main is not None
    fpm = replace(nginx, name="php-fpm", main=replace(nginx.main, comm="php-fpm8.2"))
    assert unit_for(fpm) == "php8.2-fpm.service"
    rec = replace(nginx, name="pdns", main=replace(nginx.main, comm="pdns_recursor"))
    assert unit_for(rec) == "pdns-recursor.service"
    assert unit_for(replace(nginx, name="bind")) == "named.service"
