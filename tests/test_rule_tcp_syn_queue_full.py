"""tcp-syn-queue-full on real captures in a namespace: 27 half-open connects to a listener
with backlog 4, syncookies off (fires: 44 SYNs dropped) and on (cookies: 44 cookies sent), and
to a listener with backlog 64 (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding, NotChecked
from sockdoc.rules.tcp_syn_queue_full import target_backlog

ID = "tcp-syn-queue-full"


def test_dropped_syns_are_an_error_naming_the_listener() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name, f.subject.program) == (
        "socket",
        "10.77.0.1:8053",
        "python3",
    )
    ev = {e.name: e.value for e in f.evidence}
    assert ev["SYNs dropped in the interval"] == 44
    assert ev["SYN cookies sent in the interval"] == 0
    assert ev["net.ipv4.tcp_syncookies"] == 0
    assert ev["net.ipv4.tcp_max_syn_backlog"] == 2048
    assert ev["net.core.somaxconn"] == 4096
    assert [v for k, v in ev.items() if k.startswith("listener 10.77.0.1:8053")] == [4]
    # cookies on; the ceilings (4096, 2048) already exceed the proposed backlog of 128
    assert f.fix.sysctls == (("net.ipv4.tcp_syncookies", 1),)
    assert "a backlog of 128" in f.fix.summary


def test_cookies_are_a_warning() -> None:
    (f,) = findings(ID, f"{ID}/cookies")
    assert f.severity is Severity.WARNING
    ev = {e.name: e.value for e in f.evidence}
    assert (ev["SYN cookies sent in the interval"], ev["SYNs dropped in the interval"]) == (44, 0)
    assert f.fix.sysctls == ()


def test_quiet_large_backlog() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "TCP SYN queues: no SYN dropped or answered with a cookie in 2.0 s (154 since boot)"
    )


def test_low_ceilings_are_raised() -> None:
    facts = facts_for(f"{ID}/fires")
    facts = replace(facts, sysctls=replace(facts.sysctls, somaxconn=64, tcp_max_syn_backlog=64))
    (f,) = list(rule(ID).check(facts))
    assert isinstance(f, Finding)
    assert f.fix.sysctls == (
        ("net.ipv4.tcp_syncookies", 1),
        ("net.core.somaxconn", 128),
        ("net.ipv4.tcp_max_syn_backlog", 128),
    )
    assert target_backlog(100, 60) == 512


def test_netstat_not_read() -> None:
    facts = facts_for(f"{ID}/fires")
    counters = {k: v for k, v in facts.counters.items() if not k.startswith("TcpExt.")}
    (n,) = list(rule(ID).check(replace(facts, counters=counters)))
    assert isinstance(n, NotChecked)
