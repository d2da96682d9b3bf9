"""udp-send-buffer-errors on real captures: a sender with its own SO_SNDBUF behind a 1 Mbit/s
shaper (fires), the same unshaped (quiet), and named 9.18.49 with no statistics channel and
udp-send-buffer 65536 behind a 10 Mbit/s shaper (named: from tests/e2e/bindkit.py)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, rule

from sockdoc.rules.base import Finding

ID = "udp-send-buffer-errors"


def test_named_without_its_own_counters_gets_the_udp_send_buffer() -> None:
    (f,) = findings(ID, f"{ID}/named")
    assert (f.subject.name, f.subject.program) == ("10.79.0.1:53", "named")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["send-buffer errors in the interval"] == 39
    assert (ev["its SO_SNDBUF"], ev["net.core.wmem_default"]) == (131072, 212992)
    assert ev["samples at its send limit"] == "5 of 49 samples over 2.0 s (24 Hz)"
    (change,) = f.fix.config
    assert change.text == "udp-send-buffer 524288;"
    # named sets its own size: wmem_default would not reach it, wmem_max already allows 1 MiB
    assert f.fix.sysctls == ()
    assert "sets its own SO_SNDBUF" in f.fix.summary


def test_named_with_its_counters_leaves_the_value_to_bind_send_errors() -> None:
    (f,) = findings(ID, "bind-send-errors/bursts")
    assert f.fix.config == ()
    ev = {e.name: e.value for e in f.evidence}
    assert ev["named's own send errors"] == "see rule bind-send-errors"


def test_a_socket_on_the_default_size_gets_wmem_default() -> None:
    facts = facts_for(f"{ID}/named")
    udp = tuple(replace(u, sndbuf=212992) for u in facts.udp)
    (f,) = list(rule(ID).check(replace(facts, udp=udp)))
    assert isinstance(f, Finding)
    assert f.fix.sysctls == (("net.core.wmem_default", 1048576),)
    assert "sets its own" not in f.fix.summary
