"""The engine: a crashing rule becomes an error line; the other rules still report."""

from __future__ import annotations

from collections.abc import Iterator

from rulekit import facts_for, rule

from sockdoc.causes import Cause
from sockdoc.engine import diagnose
from sockdoc.facts.host import HostFacts
from sockdoc.rules.base import Outcome, Rule


def _broken(_facts: HostFacts) -> Iterator[Outcome]:
    yield from ()
    raise KeyError("no such counter")


def test_a_crashing_rule_is_isolated() -> None:
    broken = Rule("broken-rule", "broken", Cause.SEND_ERROR, _broken, "doc")
    d = diagnose(
        facts_for("unix-listen-queue-full/fires"), [broken, rule("unix-listen-queue-full")]
    )
    assert [e.rule for e in d.errors] == ["broken-rule"]
    assert "KeyError" in d.errors[0].error and "test_engine.py" in d.errors[0].error
    assert [f.rule for f in d.findings] == ["unix-listen-queue-full"]


def test_findings_are_ranked_by_severity_then_confidence() -> None:
    d = diagnose(facts_for("dovecot-process-limit/fires"))
    ranks = [f.rank() for f in d.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert d.findings[-1].severity.value == "info"
