"""conntrack-table-full on real captures: a namespace filling the connection-tracking table to
the host-wide nf_conntrack_max (262,144 entries, 7,919 evictions; fires) and holding 4,999
entries (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.facts.host import Conntrack, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding, NotChecked
from sockdoc.rules.conntrack_table_full import target_max

ID = "conntrack-table-full"


def test_full_table_with_evictions_is_an_error() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("table", "nf_conntrack")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["entries in use"] == 262144
    assert ev["nf_conntrack_max"] == 262144
    assert ev["in use"] == 100.0
    assert ev["flows evicted to make room (interval)"] == 7919
    assert ev["packets dropped, table full (interval)"] == 0
    assert ev["network namespace"] == "sdqa"
    # a power of two at least twice the entries, with as many buckets
    assert f.fix.sysctls == (
        ("net.netfilter.nf_conntrack_max", 524288),
        ("net.netfilter.nf_conntrack_buckets", 524288),
    )
    assert "hashsize=524288" in f.fix.commands[2]
    assert "initial namespace" in f.fix.summary
    assert not f.fix.config  # no DNS service here: no notrack rules


def test_quiet_table_at_two_percent() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "connection tracking: 4,999 of 262,144 entries (1.9%), no drops or evictions in 2.0 s"
    )


def test_dns_server_gets_the_notrack_rules() -> None:
    facts = facts_for(f"{ID}/fires")
    dns = UdpSocket("10.0.0.53:53", 1, 212992, 212992, 0, 0, 0, 0, None)
    (f,) = list(rule(ID).check(replace(facts, udp=(dns,))))
    assert isinstance(f, Finding)
    (conf,) = f.fix.config
    assert "udp dport 53 notrack" in conf.text and "udp sport 53 notrack" in conf.text
    assert "priority raw" in conf.text
    assert "ct state untracked" in f.fix.summary


def test_ninety_percent_without_drops_is_a_warning() -> None:
    facts = facts_for(f"{ID}/quiet")
    ct = Conntrack(count=235930, max=262144, drop=0, early_drop=0, insert_failed=0, drop_total=0)
    (f,) = list(rule(ID).check(replace(facts, conntrack=ct)))
    assert isinstance(f, Finding)
    assert f.severity is Severity.WARNING
    assert target_max(235930, 262144) == 524288


def test_not_loaded_is_not_a_finding() -> None:
    facts = replace(facts_for(), conntrack=None)
    assert list(rule(ID).check(facts)) == []


def test_count_denied() -> None:
    facts = facts_for(f"{ID}/fires")
    facts = replace(
        facts,
        conntrack=None,
        sources=tuple(
            replace(s, status="denied", reason="Permission denied") if "conntrack" in s.key else s
            for s in facts.sources
        ),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert "denied" in n.reason
