"""Log-line signatures, one module per daemon; :mod:`sockdoc.matchers.catalogue` compiles them.

A module is a matcher module when it exports ``SIGNATURES``; adding a daemon is adding a module
here and its annotated sample file under ``tests/samples/``.
"""

from __future__ import annotations

import importlib
import pkgutil

from sockdoc.matchers.base import Entry

# Modules of this package that hold machinery rather than signatures.
_NOT_DAEMONS = frozenset({"base", "catalogue", "errno_names", "prefilter", "scanner"})


def daemon_modules() -> list[str]:
    """Names of the matcher modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_DAEMONS)


def all_entries() -> tuple[Entry, ...]:
    """Every signature and false friend of every matcher module, in module order."""
    out: list[Entry] = []
    for name in daemon_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        out.extend(getattr(module, "SIGNATURES", ()))
    return tuple(out)
