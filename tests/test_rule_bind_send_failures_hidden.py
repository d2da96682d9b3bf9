"""bind-send-failures-hidden on real captures of named 9.18.49: no logging statement while
sends fail (fires: a warning with the logging snippet), and category security at debug 3 in a
file with a statistics channel (quiet)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.matchers.base import Severity
from sockdoc.parsers.named_conf import parse_named_conf
from sockdoc.rules.base import Finding, NotChecked
from sockdoc.rules.bind_send_failures_hidden import STATS_SNIPPET

ID = "bind-send-failures-hidden"


def test_hidden_while_failing_is_a_warning_with_the_snippet() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.WARNING
    assert (f.subject.kind, f.subject.name, f.subject.pid) == ("daemon", "named", 30319)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["category security reaches"] == (
        "default_debug (file, dynamic), default_syslog (syslog, info)"
    )
    assert ev["'send failed' lines (debug 3) written"] == "no"
    assert ev["'Sending UDP messages failed' (general, error) written"] == "yes"
    assert ev["statistics channel"] == "127.0.0.1:8053"
    assert ev["named's failed UDP sends in the interval"] == 9806
    (change,) = f.fix.config  # the statistics channel exists: only logging
    assert change.file == "named.conf (top level)"
    assert change.reload == "rndc reconfig"
    assert "severity debug 3;" in change.text
    assert "category security { send_failures; default_debug; default_syslog; };" in change.text
    # the snippet is valid named.conf and makes the lines visible
    conf = parse_named_conf(change.text)
    assert conf.categories["security"][0] == "send_failures"


def test_visible_and_counted_is_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "named logs each failed send (category security at debug 3 reaches security_file "
        "(file, debug 3)) and counts them in its statistics channel 127.0.0.1:8053"
    )


def test_nothing_failing_and_no_statistics_channel_is_advice() -> None:
    facts = facts_for(f"{ID}/quiet")
    conf = replace(
        facts.configs["bind"], statistics_channels=(), has_logging=False, channels=(), categories={}
    )
    (f,) = list(rule(ID).check(replace(facts, bind_stats={}, configs={"bind": conf})))
    assert isinstance(f, Finding)
    assert f.severity is Severity.INFO
    assert f.fix.config[0].text == STATS_SNIPPET
    assert f.fix.summary.startswith("Add a statistics channel")


def test_debug_level_on_the_command_line_makes_them_visible() -> None:
    facts = facts_for(f"{ID}/fires")
    named = facts.daemon("bind")
    assert named is not None and named.main is not None
    main = replace(named.main, cmdline=(named.main.cmdline or "") + " -d 3")
    facts = replace(facts, daemons=(replace(named, main=main),))
    found = [o for o in rule(ID).check(facts) if isinstance(o, Finding)]
    assert not found


def test_configuration_not_read() -> None:
    facts = replace(facts_for(f"{ID}/fires"), configs={})
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)


def test_stock_named_gets_both_snippets_and_no_false_zero() -> None:
    (f,) = findings(ID, f"{ID}/stock")
    assert f.severity is Severity.WARNING
    ev = {e.name: e.value for e in f.evidence}
    assert ev["statistics channel"] == "none"
    assert ev["named's failed UDP sends in the interval"] == (
        "not counted (statistics channel not read)"
    )
    assert ev["Udp.SndbufErrors in the interval"] == 39
    assert "counted by named" not in f.explanation
    stats, logging = f.fix.config
    assert stats.text == STATS_SNIPPET
    assert parse_named_conf(logging.text).categories["security"][0] == "send_failures"
    assert f.fix.summary.startswith("Add a statistics channel")
