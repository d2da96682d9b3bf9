"""Dovecot 2.3 (Debian's dovecot-imapd) with its imap service too small for a burst of logins.

Proves, against the real daemon in a namespace the test makes, that with ``service imap {
process_limit = 1  client_limit = 1 }`` (and the variants ``process_limit = 2``, and
``client_limit = 2`` with ``service_count = 0``) and its sessions taken, a burst of IMAP
logins fails; that Dovecot logs ``net_connect_unix(imap) failed: Resource temporarily
unavailable`` and the master's ``... reached, client connections are being dropped``; that
``sockdoc check --netns NS --logs LOG --json`` recognises those lines, reads the limits from
doveconf, computes the listen backlog they give and compares it with ``net.core.somaxconn``,
names Dovecot's imap socket as the full UNIX listener, and checks Dovecot's open-files limit;
and that the settings its fixes recommend, written into the test's configuration for a second
run under the same load, make the failed logins and the log lines disappear. Both runs'
numbers are printed (``pytest -s``).
"""

from __future__ import annotations

import json
from typing import Any

import dovecotkit as dk
import pytest
from netnskit import namespace

pytestmark = pytest.mark.e2e

EAGAIN = "dovecot.net-connect-unix.eagain"

# (services, sessions held so that the limit is reached, the master's "reached" wording)
CASES: dict[str, tuple[dk.Services, int, str]] = {
    "process_limit=1,client_limit=1": (
        {"imap": {"process_limit": "1", "client_limit": "1"}},
        1,
        "dovecot.service.single-client-process-limit-reached",
    ),
    "process_limit=2": (
        {"imap": {"process_limit": "2"}},
        2,
        "dovecot.service.process-limit-reached",
    ),
    "client_limit=2,service_count=0": (
        {"imap": {"process_limit": "1", "client_limit": "2", "service_count": "0"}},
        2,
        "dovecot.service.client-limit-reached",
    ),
}


def _show(label: str, run: dk.Run) -> None:
    print(f"\n{label}: {json.dumps(run.summary(), indent=1)}")


def _limits(services: dk.Services) -> tuple[int, int]:
    """(process_limit, client_limit) of imap as the master uses them."""
    imap = services["imap"]
    process_limit = int(imap.get("process_limit", 1024))
    client_limit = int(imap.get("client_limit", 1))
    if imap.get("service_count", "1") == "1":
        client_limit = 1  # the master caps client_limit at service_count
    return process_limit, client_limit


def _check_diagnosis(run: dk.Run, services: dk.Services, reached: str, somax: int) -> None:
    process_limit, client_limit = _limits(services)
    socket = f"{run.base_dir}/login/imap"

    # the cause ranked first is the service's limit
    first = run.findings()[0]["rule"]
    assert first in ("dovecot-process-limit", "dovecot-client-limit"), run.summary()

    # the log lines are recognised (scanned by the check, linked to its findings)
    top = run.finding("dovecot-process-limit")
    assert top["severity"] == "error"
    ev = dk.evidence(top)
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] >= 1
    assert ev["'reached, client connections are being dropped' lines"] >= 1
    assert run.log_lines.get(reached, 0) >= 1 and run.log_lines.get(EAGAIN, 0) >= 1

    # the limits come from doveconf; the backlog they give is compared with somaxconn
    assert ev["process_limit"] == process_limit
    assert ev["client_limit"] == client_limit
    backlog = max(process_limit * client_limit, 4)
    assert ev["listen backlog of service imap's sockets"] == (
        f"{backlog} asked (max(process_limit {process_limit} x client_limit {client_limit}, 4)), "
        f"{backlog} granted, net.core.somaxconn {somax}"
    )
    assert ev[f"{socket}: longest queue / backlog"] == f"{backlog + 1} / {backlog}"
    assert top["subject"]["pid"] == run.master_pid

    # the full UNIX listener is Dovecot's imap socket, owned by the master
    (full,) = run.findings("unix-listen-queue-full")
    assert full["subject"] == {
        "kind": "socket",
        "name": socket,
        "pid": run.master_pid,
        "program": "dovecot",
    }
    assert dk.evidence(full)["Dovecot service"] == "imap"
    assert "log lines: unix-listen-queue-full" in [e["name"] for e in full["logs"]]

    # Dovecot's ulimit -n is checked (the kit starts the master with 4096)
    section, fd = run.outcome("dovecot-fd-limit") or ("", {})
    assert section == "ok", fd
    assert f"open-files limit {dk.NOFILE:,} covers the 1,000" in fd["summary"]
    assert run.outcome("daemon-fd-limit") is not None

    # with client_limit above 1 the client-limit rule names the cause as well
    if client_limit > 1:
        assert run.finding("dovecot-client-limit")["severity"] == "error"


@pytest.mark.parametrize("case", list(CASES))
def test_login_burst_fails_and_the_recommended_limits_fix_it(case: str) -> None:
    services, held, reached = CASES[case]
    print(f"\nDovecot {dk.version()}, case {case}")
    with namespace("sddove") as ns:
        somax = dk.somaxconn(ns)
        before = dk.drive(ns, services, held=held)
        _show("before", before)
        assert before.failed >= before.logins // 2, before.summary()
        _check_diagnosis(before, services, reached, somax)

        fix = dk.recommended(before.report, before.conf)
        new = fix.apply(services)
        print(f"recommended: {fix.services}, sysctls {fix.sysctls}")
        if fix.conflicts:
            print(f"rules disagreeing (the larger value kept): {fix.conflicts}")
        imap_limit = int(new["imap"]["process_limit"])
        assert imap_limit > _limits(services)[0]
        dk.set_sysctls(ns, fix.sysctls)

        after = dk.drive(ns, new, held=held)
        _show("after", after)
        assert after.failed == 0, after.summary()
        assert EAGAIN not in after.log_lines and reached not in after.log_lines
        assert not after.above_info(), after.above_info()
        _print_numbers(case, before, after)
    dk.assert_clean(ns)


def _print_numbers(case: str, before: dk.Run, after: dk.Run) -> None:
    row: dict[str, Any] = {"case": case}
    for label, run in (("before", before), ("after", after)):
        row[label] = {
            "failed logins": f"{run.failed}/{run.logins}",
            "log lines": run.log_lines,
            "config": dk.render(run.services).replace("\n", " ").strip(),
        }
    print(f"NUMBERS {json.dumps(row)}")
