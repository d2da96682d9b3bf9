"""socket-memory-pressure: the base bundle's sockstat edited to 412,345 TCP pages (past the
tcp_mem pressure value 383,868) with one entry into pressure (fires; real pressure would
squeeze the whole host, see the README); the base itself is quiet."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Severity
from sockdoc.parsers.proc_sockstat import parse_sockstat
from sockdoc.rules.base import Finding, NotChecked
from sockdoc.rules.socket_memory_pressure import scaled

ID = "socket-memory-pressure"


def test_tcp_past_pressure_with_new_triple() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.WARNING
    assert (f.subject.kind, f.subject.name) == ("host", "TCP socket memory")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["TCP memory in use"] == 412345
    assert ev["net.ipv4.tcp_mem pressure"] == 383868
    assert ev["of pressure"] == 107.4
    assert ev["TcpExt.TCPMemoryPressures in the interval"] == 1
    # x4 puts pressure (1,535,472) at twice the 412,345 pages in use or more
    assert f.fix.sysctls == (("net.ipv4.tcp_mem", "1151604 1535472 2303208"),)
    assert "times 4" in f.fix.summary


def test_base_is_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "socket memory: TCP 172 pages of pressure 383,868 / max 575,802; UDP 0 pages of "
        "pressure 767,736 / max 1,151,604; no pressure or refusals in 2.0 s"
    )


def test_udp_past_max_is_an_error() -> None:
    facts = facts_for()
    ss = parse_sockstat(
        "sockets: used 9\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 10\nUDP: inuse 3 mem 1200000\n"
    )
    found = [o for o in rule(ID).check(replace(facts, sockstat=ss)) if isinstance(o, Finding)]
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.subject.name == "UDP socket memory"
    assert f.fix.sysctls == (("net.ipv4.udp_mem", "2303208 3070944 4606416"),)
    assert scaled((575802, 767736, 1151604), 1200000) == (2303208, 3070944, 4606416)


def test_not_read() -> None:
    facts = replace(facts_for(), sockstat=None)
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
