"""qdisc-drops on real captures: a UDP sender behind `tbf rate 1mbit limit 4000` (fires) and
behind `tbf rate 100mbit` (quiet), both in a namespace (see the fixtures' READMEs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from overlaykit import text_of, variant
from rulekit import facts_for, findings, outcomes, rule

from sockdoc.facts.host import QdiscRate
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding, NotChecked
from sockdoc.rules.qdisc_drops import target_limit

ID = "qdisc-drops"


def test_tbf_drops_are_an_error_with_numbers_and_limit() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("interface", "vqa")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["qdisc"] == "tbf 8003: (root)"
    assert ev["drops in the interval"] == 2769
    assert ev["drops since the qdisc was made"] == 3569
    assert ev["backlog now"] == 3126
    assert ev["packets queued now"] == 3
    assert ev["overlimits in the interval"] == 3491
    # the kernel counts each datagram the qdisc dropped as a send-buffer error
    assert ev["Udp.SndbufErrors in the interval"] == 2764
    assert "Udp.SndbufErrors" in f.fix.summary
    # 2,769 drops in 2.0 s: 139 packets of 1,042 bytes in 100 ms on top of 3 queued + 1
    assert "524,288 bytes" in f.fix.summary
    assert f.fix.commands[1].startswith(
        "tc qdisc change dev vqa root tbf rate RATE burst BURST limit 524288"
    )
    assert f.fix.commands[2].startswith("tc qdisc del dev vqa root")


def test_quiet_shaper_with_room() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == ("1 qdisc on 1 interface: no drops in 2.0 s, largest backlog 0 bytes")


def test_base_host_is_quiet() -> None:
    found, ok, _ = outcomes(ID)
    assert not found and ok


def test_standing_queue_while_udp_sends_fail_is_a_warning(tmp_path: Path) -> None:
    s1 = (
        text_of(f"{ID}/fires", "s1/cmd/tc-qdisc")
        .replace('"drops":3569', '"drops":800')
        .replace('"backlog":3126,"qlen":3', '"backlog":1130220,"qlen":910')
    )
    case = variant(tmp_path, f"{ID}/fires", replace={"s1/cmd/tc-qdisc": s1})
    (f,) = findings(ID, case)
    assert f.severity is Severity.WARNING  # Udp.SndbufErrors rose in the same interval
    assert "standing queue of 1,130,220 bytes" in f.title
    # a longer queue would only add delay: the rate is the fix
    assert "limit LIMIT" in f.fix.commands[1] and "RATE above" in f.fix.commands[1]


def test_aqm_drops_without_udp_loss_are_advice() -> None:
    facts = facts_for(f"{ID}/fires")
    fq = QdiscRate("eth0", "fq_codel", "0:", True, 40, 0, 0, 40, 0, 0)
    facts = replace(
        facts,
        qdiscs=(fq,),
        counters={k: v for k, v in facts.counters.items() if "SndbufErrors" not in k},
    )
    (f,) = list(rule(ID).check(facts))
    assert isinstance(f, Finding)
    assert f.severity is Severity.INFO
    # 20 drops/s: 2 packets in 100 ms on top of fq_codel's default 10,240, doubled
    assert f.fix.commands[-1] == "tc qdisc change dev eth0 root fq_codel limit 32768"


def test_pfifo_fast_limit_is_txqueuelen() -> None:
    q = QdiscRate("eth0", "pfifo_fast", "0:", True, 500, 0, 0, 500, 0, 0)
    assert target_limit(q, 2.0) == 4096


def test_tc_not_read() -> None:
    facts = replace(facts_for(f"{ID}/fires"), qdiscs=())
    facts = replace(
        facts,
        sources=tuple(
            replace(s, status="error", reason="tc: not found") if "tc-qdisc" in s.key else s
            for s in facts.sources
        ),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert "tc: not found" in n.reason
