"""firewall-blocks-output: the collector's log scan of a real BIND 9.18 security log with 10
"send failed: permission denied" lines (fires) and of a calm run's log (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.named_conf import parse_named_conf
from sockdoc.rules.base import Finding, NotChecked

ID = "firewall-blocks-output"


def test_eperm_lines_with_counts_example_and_fix() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("daemon", "bind")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["log lines: send refused by a firewall"] == 10
    assert ev["signature bind.send-failed.permission-denied"] == 10
    assert ev["peak per minute"] == 10
    assert ev["first / last minute"] == "2026-11-21 21:16:00 UTC / 2026-11-21 21:17:00 UTC"
    assert str(ev["example"]).endswith("send failed: permission denied")
    assert f.fix.commands[:3] == (
        "nft list ruleset  # look for drop/reject in chains with 'hook output'",
        "iptables -S OUTPUT",
        "iptables -L OUTPUT -v -n  # run twice: the DROP/REJECT rule whose packets rise",
    )
    assert "iptables -I OUTPUT -p udp --sport 53 -j ACCEPT" in f.fix.commands
    assert "source port 53" in f.fix.summary


def test_reply_port_comes_from_named_conf() -> None:
    facts = facts_for(f"{ID}/fires")
    conf = parse_named_conf("options {\n\tlisten-on port 5353 {\n\t\t127.0.0.1/32;\n\t};\n};\n")
    (f,) = list(rule(ID).check(replace(facts, configs={"bind": conf})))
    assert isinstance(f, Finding)
    assert "iptables -I OUTPUT -p udp --sport 5353 -j ACCEPT" in f.fix.commands


def test_quiet_log() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "no send refused by a firewall in the logs (1 inputs scanned, 0 lines of the failure "
        "family)"
    )


def test_logs_not_scanned() -> None:
    facts = facts_for(f"{ID}/fires")
    facts = replace(
        facts,
        logs=None,
        sources=tuple(
            replace(s, status="timeout", reason="log scan took over 60 s")
            if s.key == "logs/scan"
            else s
            for s in facts.sources
        ),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert n.sources == ("logs/scan",)
    assert "timeout" in n.reason
