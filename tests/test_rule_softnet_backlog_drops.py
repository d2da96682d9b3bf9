"""softnet-backlog-drops: the base bundle's softnet_stat edited to 503 drops and 53 time
squeezes on CPU 0 (fires; backlog drops cannot be produced here, see the README); the base
itself is quiet."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for, findings, outcomes, rule

from sockdoc.facts.host import SoftnetRate
from sockdoc.matchers.base import Severity
from sockdoc.rules.base import Finding, NotChecked

ID = "softnet-backlog-drops"


def test_drops_with_backlog_and_budget_fix() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.ERROR
    assert (f.subject.kind, f.subject.name) == ("host", "receive backlog (softnet)")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["packets dropped in the interval"] == 503
    assert ev["time squeezes in the interval"] == 53
    assert ev["CPUs"] == 2
    assert ev["net.core.netdev_max_backlog"] == 1000
    # backlog: a power of two at least twice 1,000; budgets doubled for the squeezes
    assert f.fix.sysctls == (
        ("net.core.netdev_max_backlog", 2048),
        ("net.core.netdev_budget", 600),
        ("net.core.netdev_budget_usecs", 16000),
    )
    assert "initial network namespace" in f.fix.summary


def test_base_is_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert (
        ok[0].summary
        == "softnet backlog: no drops in 2.0 s on 2 CPUs (0 since boot), 0 time squeezes"
    )


def test_squeezes_alone_are_advice_about_the_budget() -> None:
    facts = replace(
        facts_for(), softnet=SoftnetRate(dropped=0, time_squeeze=40, dropped_total=0, cpus=2)
    )
    (f,) = list(rule(ID).check(facts))
    assert isinstance(f, Finding)
    assert f.severity is Severity.INFO
    assert [k for k, _ in f.fix.sysctls] == [
        "net.core.netdev_budget",
        "net.core.netdev_budget_usecs",
    ]


def test_a_few_squeezes_are_fine() -> None:
    facts = replace(
        facts_for(), softnet=SoftnetRate(dropped=0, time_squeeze=5, dropped_total=9, cpus=2)
    )
    found = [o for o in rule(ID).check(facts) if isinstance(o, Finding)]
    assert not found


def test_not_read() -> None:
    facts = facts_for()
    facts = replace(
        facts,
        softnet=None,
        sources=tuple(
            replace(s, status="error", reason="unreadable") if "softnet" in s.key else s
            for s in facts.sources
        ),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert "softnet_stat" in " ".join(n.sources)
