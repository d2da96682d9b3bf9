"""bind-send-errors on real captures of named 9.18.49 in a namespace: 20,000 queries at
5,000/s behind a 1 Mbit/s shaper with udp-send-buffer 65536 (fires: UDP4SendErr +9,806 in
2 s) and unshaped (quiet: every query answered); from the e2e runs (tests/e2e/bindkit.py),
bursts of queries for a 3.6 kB answer behind a 10 Mbit/s shaper with udp-send-buffer 65536
(bursts) and with the 524288 proposed for it (fixed: every query answered), and bursts that
arrive at once, unshaped, where named's own queue overflows and the kernel refuses nothing
(own-queue)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding, NotChecked

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


def test_bursts_get_the_buffer_that_fixed_them_in_the_e2e_run() -> None:
    (f,) = findings(ID, f"{ID}/bursts")
    ev = {e.name: e.value for e in f.evidence}
    assert (ev["UDP4SendErr in the interval"], ev["responses named tried to send"]) == (142, 605)
    assert ev["Udp.SndbufErrors in the interval"] == 42
    assert (ev["udp-send-buffer"], ev["their largest SO_SNDBUF"]) == (65536, 131072)
    assert ev["samples with one at its send limit"] == "3 of 33 samples over 2.0 s (16 Hz)"
    assert ev["qdisc tbf on sdns0 backlog"] == 109936
    # 71 failures/s: 100 ms of them at ~2 kB is far below 1 MiB, the floor
    (change,) = f.fix.config
    assert change.text == "udp-send-buffer 524288;"
    assert change.reload.startswith("restart named")


def test_the_fixed_run_is_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/fixed")
    assert not found
    assert ok[0].summary.startswith("named: no UDP send errors in 2.0 s (0 since it started")


def test_own_queue_overflow_is_not_given_a_buffer() -> None:
    (f,) = findings(ID, f"{ID}/own-queue")
    assert f.severity is Severity.ERROR
    ev = {e.name: e.value for e in f.evidence}
    assert ev["UDP4SendErr in the interval"] == 380
    assert ev["Udp.SndbufErrors in the interval"] == 0
    assert ev["their peak send memory"] == 0
    assert ev["samples with one at its send limit"] == "0 of 48 samples over 2.0 s (24 Hz)"
    assert "dropped them itself" in f.explanation
    (change,) = f.fix.config
    assert (change.text, change.reload) == ("max-udp-size 1232;", "rndc reconfig")
    assert f.fix.sysctls == ()
    assert "would not help" in f.fix.summary and "named -n" in f.fix.summary


def test_without_kernel_counters_the_buffer_stays_the_advice() -> None:
    facts = facts_for(f"{ID}/own-queue")
    counters = {k: v for k, v in facts.counters.items() if not k.startswith(("Udp.", "Udp6."))}
    (f,) = list(rule(ID).check(replace(facts, counters=counters)))
    assert isinstance(f, Finding)
    assert [c.text for c in f.fix.config] == ["udp-send-buffer 524288;"]
