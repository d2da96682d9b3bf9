"""The diagnosis rules, one module each (``RULE``), found by scanning this package."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from sockdoc.rules.base import Rule

_NOT_RULES = {"base", "correlation"}


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """Every rule, by id. Two modules claiming one id is a programming error."""
    found: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_RULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            continue
        if rule.id in found:
            raise RuntimeError(f"rule id {rule.id} defined twice")
        if not rule.doc:
            rule = Rule(
                rule.id,
                rule.title,
                rule.cause,
                rule.check,
                (module.__doc__ or "").strip(),
                rule.needs,
            )
        found[rule.id] = rule
    return tuple(found[k] for k in sorted(found))
