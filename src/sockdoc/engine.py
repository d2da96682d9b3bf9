"""Run the rules over the facts: rank what they find, keep what they checked, and isolate a
rule that crashes (it becomes an error line in the report; the other rules still run)."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from sockdoc.facts.host import HostFacts, SourceState
from sockdoc.rules import all_rules
from sockdoc.rules.base import Finding, NotChecked, Ok, Rule
from sockdoc.rules.correlation import correlate


@dataclass(frozen=True)
class RuleError:
    rule: str
    error: str


@dataclass(frozen=True)
class Diagnosis:
    facts: HostFacts
    findings: tuple[Finding, ...]
    ok: tuple[Ok, ...]
    not_checked: tuple[NotChecked, ...]
    errors: tuple[RuleError, ...]
    rules_run: int

    @property
    def unavailable(self) -> tuple[SourceState, ...]:
        return self.facts.unavailable


def run_rule(rule: Rule, facts: HostFacts) -> tuple[list[Finding], list[Ok], list[NotChecked]]:
    findings: list[Finding] = []
    oks: list[Ok] = []
    nots: list[NotChecked] = []
    for outcome in rule.check(facts):
        if isinstance(outcome, Finding):
            findings.append(outcome)
        elif isinstance(outcome, Ok):
            oks.append(outcome)
        else:
            nots.append(outcome)
    return findings, oks, nots


def diagnose(facts: HostFacts, rules: Sequence[Rule] | None = None) -> Diagnosis:
    chosen = all_rules() if rules is None else tuple(rules)
    findings: list[Finding] = []
    oks: list[Ok] = []
    nots: list[NotChecked] = []
    errors: list[RuleError] = []
    for rule in chosen:
        try:
            f, o, n = run_rule(rule, facts)
        except Exception as exc:  # one broken rule must not hide the others' findings
            where = traceback.extract_tb(exc.__traceback__)[-1]
            errors.append(
                RuleError(
                    rule.id,
                    f"{type(exc).__name__}: {exc} "
                    f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
                )
            )
            continue
        findings += f
        oks += o
        nots += n
    findings = correlate(facts, findings)
    findings.sort(key=lambda f: (-f.rank()[0], -f.rank()[1], f.rule, f.subject.name))
    return Diagnosis(facts, tuple(findings), tuple(oks), tuple(nots), tuple(errors), len(chosen))
