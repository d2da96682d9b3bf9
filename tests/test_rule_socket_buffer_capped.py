"""socket-buffer-capped on real captures of named 9.18.49: udp-send-buffer 16777216 under
net.core.wmem_max 4194304 (fires: sockets got 8,388,608) and udp-send-buffer 131072 (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.facts.host import Rate, UdpSocket
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Finding

ID = "socket-buffer-capped"


def test_capped_option_is_advice_while_nothing_overflows() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.INFO and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("daemon", "named")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["udp-send-buffer"] == 16777216
    assert ev["net.core.wmem_max"] == 4194304
    assert ev["buffer named gets (twice the ceiling)"] == 8388608
    assert ev["their largest SO_SNDBUF"] == 8388608  # seen on the sockets: twice the ceiling
    assert f.fix.sysctls == (("net.core.wmem_max", 16777216),)
    assert "restart named" in f.fix.summary


def test_capped_while_sends_fail_is_a_warning() -> None:
    facts = facts_for(f"{ID}/fires")
    counters = dict(facts.counters)
    counters["Udp.SndbufErrors"] = Rate("Udp.SndbufErrors", 100, 400, facts.seconds)
    (f,) = list(rule(ID).check(replace(facts, counters=counters)))
    assert isinstance(f, Finding)
    assert f.severity is Severity.WARNING
    assert "300 send overflows" in f.explanation


def test_quiet_request_below_the_ceiling() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "socket buffers: udp-send-buffer 131,072 <= net.core.wmem_max 4,194,304; 2 UDP "
        "sockets, none at the kernel's ceiling while overflowing"
    )


def test_other_socket_at_the_ceiling_while_dropping() -> None:
    facts = facts_for()
    rmem = facts.sysctls.rmem_max or 0
    u = UdpSocket("0.0.0.0:514", 7, 2 * rmem, 212992, 0, 0, 90, 12, None)
    (f,) = [o for o in rule(ID).check(replace(facts, udp=(u,))) if isinstance(o, Finding)]
    assert f.subject.name == "0.0.0.0:514"
    assert f.fix.sysctls == (("net.core.rmem_max", 2 * rmem),)
