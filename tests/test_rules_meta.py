"""Every rule has a fixture that fires it and one that does not, and both behave."""

from __future__ import annotations

import re

import pytest
from rulekit import RULES_DIR, outcomes

from sockdoc.causes import Cause
from sockdoc.rules import all_rules
from sockdoc.rules.correlation import UNEXPLAINED

RULE_IDS = [r.id for r in all_rules()]


def test_ids_are_stable_shape_and_unique() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS))
    for r in all_rules():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", r.id), r.id
        assert isinstance(r.cause, Cause)
        assert r.doc, f"{r.id} has no module docstring (its documentation)"
        assert r.id != UNEXPLAINED


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_fires(rule_id: str) -> None:
    case = RULES_DIR / rule_id / "fires"
    assert case.is_dir(), f"{rule_id}: no fixture that fires it ({case})"
    found, _ok, _not = outcomes(rule_id, case)
    assert found, f"{rule_id} did not fire on {case}"
    for f in found:
        assert f.rule == rule_id
        assert f.evidence, f"{rule_id}: a finding without evidence"
        assert f.fix.summary
        assert any(isinstance(e.value, int | float) for e in f.evidence), (
            f"{rule_id}: evidence has no numbers"
        )


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_quiet(rule_id: str) -> None:
    case = RULES_DIR / rule_id / "quiet"
    assert case.is_dir(), f"{rule_id}: no fixture that leaves it quiet ({case})"
    found, _ok, _not = outcomes(rule_id, case)
    assert not found, f"{rule_id} fired on its quiet fixture: {found[0].title}"
