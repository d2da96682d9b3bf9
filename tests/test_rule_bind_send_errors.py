"""bind-send-errors on real captures of named 9.18.49 in a namespace, 20,000 queries at
5,000/s: behind a 1 Mbit/s shaper with udp-send-buffer 65536 (fires: UDP4SendErr +9,806 in
2 s) and unshaped (quiet: every query answered)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import NotChecked

ID = "bind-send-errors"


def test_failed_sends_with_counts_and_buffer_fix() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name, f.subject.program) == (
        "socket",
        "10.77.0.1:53",
        "named",
    )
    ev = {e.name: e.value for e in f.evidence}
    assert ev["UDP4SendErr in the interval"] == 9806
    assert ev["UDP4SendErr since named started"] == 14579
    assert "responses named tried to send" not in ev  # /json/v1/net has no nsstats
    # the kernel saw almost none of it: named waits for writability instead
    assert ev["Udp.SndbufErrors in the interval"] == 16
    assert ev["udp-send-buffer"] == 65536
    assert ev["their largest SO_SNDBUF"] == 131072
    assert ev["qdisc tbf on va backlog"] == 99705
    # 4,874 failures/s: 100 ms of them at ~2 kB on top of 131,072, doubled, power of two
    (change,) = f.fix.config
    assert change.text == "udp-send-buffer 2097152;"
    assert f.fix.sysctls == ()  # wmem_max 4,194,304 already lets named have it
    assert f.fix.commands == ("curl -s http://127.0.0.1:8053/json/v1/net | grep SendErr",)


def test_quiet_named_answers_everything() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "named: no UDP send errors in 2.0 s (0 since it started, UDP4SendErr + UDP6SendErr)"
    )


def test_not_a_bind_host() -> None:
    assert outcomes(ID) == ([], [], [])


def test_named_without_statistics_channel() -> None:
    facts = facts_for(f"{ID}/fires")
    conf = replace(facts.configs["bind"], statistics_channels=())
    (n,) = list(rule(ID).check(replace(facts, bind_stats={}, configs={"bind": conf})))
    assert isinstance(n, NotChecked)
    assert "statistics-channels" in n.reason
