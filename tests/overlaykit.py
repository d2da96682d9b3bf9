"""Variants of a rule fixture for one test: a copy of an overlay with files removed, replaced
or marked unreadable, made in the test's tmp_path (the fixtures themselves stay real)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from rulekit import RULES_DIR


def variant(
    tmp: Path,
    overlay: str,
    *,
    remove: Sequence[str] = (),
    replace: Mapping[str, str] | None = None,
    denied: Sequence[str] = (),
) -> Path:
    """A copy of ``RULES_DIR/overlay`` without the keys in ``remove`` and ``denied``, with the
    texts in ``replace`` (by key), and a manifest that marks ``denied`` as permission denied."""
    out = tmp / overlay.replace("/", "-")
    shutil.copytree(RULES_DIR / overlay, out)
    for key in (*remove, *denied):
        (out / "data" / key).unlink(missing_ok=True)
    for key, text in (replace or {}).items():
        path = out / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if denied:
        sources = {
            k: {"status": "denied", "reason": "Permission denied", "needs_root": True}
            for k in denied
        }
        (out / "manifest.json").write_text(json.dumps({"format": 1, "sources": sources}))
    return out


def text_of(overlay: str, key: str) -> str:
    return (RULES_DIR / overlay / "data" / key).read_text()
