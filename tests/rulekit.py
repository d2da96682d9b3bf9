"""Rule fixtures: a real captured base bundle plus a small overlay per case.

``tests/fixtures/rules/base/`` is an unpacked bundle that ``sockdoc collect`` wrote on a quiet
host (see its README). Each rule has ``tests/fixtures/rules/<rule-id>/fires/`` and
``quiet/``: bundle directories laid over the base (``data/<key>`` files replace the base's,
an optional ``manifest.json`` adds source statuses). :func:`facts_for` runs the same gather
and facts code as ``check --bundle``.
"""

from __future__ import annotations

from pathlib import Path

from sockdoc.collect.gather import GatherOptions, gather
from sockdoc.collect.root import BundleRoot
from sockdoc.engine import run_rule
from sockdoc.facts.host import HostFacts, build
from sockdoc.rules import all_rules
from sockdoc.rules.base import Finding, NotChecked, Ok, Rule

RULES_DIR = Path(__file__).parent / "fixtures" / "rules"
BASE = RULES_DIR / "base"


def facts_for(*overlays: Path | str) -> HostFacts:
    layers = [
        str(BASE),
        *(str(RULES_DIR / o) if not Path(o).is_absolute() else str(o) for o in overlays),
    ]
    return build(gather(BundleRoot(layers), GatherOptions()))


def rule(rule_id: str) -> Rule:
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)


def outcomes(
    rule_id: str, *overlays: Path | str
) -> tuple[list[Finding], list[Ok], list[NotChecked]]:
    return run_rule(rule(rule_id), facts_for(*overlays))


def findings(rule_id: str, *overlays: Path | str) -> list[Finding]:
    return outcomes(rule_id, *overlays)[0]
