"""nic-tx-errors on real captures: a veth dropping 229 datagrams larger than its peer's MTU
(fires) and the same sender with equal MTUs (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding, NotChecked

ID = "nic-tx-errors"


def test_veth_tx_drops_with_their_count() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("interface", "vqa")
    assert f.title == "vqa: 229 transmit drops in 2.0 s"
    ev = {e.name: e.value for e in f.evidence}
    assert ev["transmit drops in the interval"] == 229
    assert ev["transmit errors in the interval"] == 0
    # every datagram the veth dropped is also a Udp send-buffer error
    assert ev["Udp.SndbufErrors in the interval"] == 229
    assert "ethtool -S vqa | grep -iE 'drop|err|fifo|full'" in f.fix.commands
    assert any("mtu" in c for c in f.fix.commands)


def test_quiet_same_traffic_equal_mtu() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == "2 interfaces (lo, vqa): no transmit errors or drops in 2.0 s"


def test_a_few_drops_are_a_warning() -> None:
    facts = facts_for(f"{ID}/fires")
    links = tuple(replace(x, tx_drop=3) if x.name == "vqa" else x for x in facts.links)
    (f,) = list(rule(ID).check(replace(facts, links=links)))
    assert isinstance(f, Finding)
    assert f.severity is Severity.WARNING


def test_dev_not_read() -> None:
    facts = facts_for(f"{ID}/fires")
    facts = replace(
        facts,
        links=(),
        sources=tuple(
            replace(s, status="denied", reason="Permission denied")
            if s.key.endswith("proc/net/dev")
            else s
            for s in facts.sources
        ),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert "denied" in n.reason
