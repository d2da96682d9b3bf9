"""Find which of many literal anchors occur in a text, in one pass.

Hyperscan (Intel's multi-literal/regex engine, the ``hyperscan`` wheel) is used when it imports;
otherwise a pure-Python scanner gives the same answers, more slowly, and says so once
(:data:`FALLBACK_REASON`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

_hs: Any
FALLBACK_REASON: str | None
try:
    import hyperscan as _hs
except ImportError as exc:  # no wheel for this platform: fall back, and say why once
    _hs = None
    FALLBACK_REASON = f"hyperscan unavailable ({exc}); using the slower pure-Python matcher"
else:
    FALLBACK_REASON = None


class Prefilter(Protocol):
    name: str

    def hits(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        """(anchor index, end offset) of every anchor occurrence in ``data``."""
        ...


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, anchors: Sequence[bytes]) -> None:
        assert _hs is not None
        self._db: Any = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        self._db.compile(
            expressions=list(anchors),
            ids=list(range(len(anchors))),
            elements=len(anchors),
            flags=0,
            literal=True,
        )

    def hits(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []

        def on_match(anchor: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            out.append((anchor, end))

        self._db.scan(data, match_event_handler=on_match)
        return out


class PythonPrefilter:
    """One regex alternation tried at every position (a lookahead, so overlapping anchors are
    all seen); an anchor contained in a longer one that matched at the same place is added by
    the ``_contained`` closure."""

    name = "python"

    def __init__(self, anchors: Sequence[bytes]) -> None:
        order = sorted(range(len(anchors)), key=lambda i: -len(anchors[i]))
        self._index = {anchors[i]: i for i in order}
        alternation = b"|".join(re.escape(anchors[i]) for i in order)
        self._re = re.compile(b"(?=(" + alternation + b"))")
        self._contained: dict[int, list[tuple[int, int]]] = {
            i: [
                (j, len(anchors[i]) - anchors[i].find(anchors[j]) - len(anchors[j]))
                for j in range(len(anchors))
                if j != i and anchors[j] in anchors[i]
            ]
            for i in range(len(anchors))
        }

    def hits(self, data: bytes | memoryview) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        if not self._index:
            return out
        for m in self._re.finditer(data):
            anchor = self._index[m.group(1)]
            end = m.start() + len(m.group(1))
            out.append((anchor, end))
            out.extend((j, end - tail) for j, tail in self._contained[anchor])
        return out


def build(anchors: Sequence[bytes], *, prefer: str = "auto") -> Prefilter:
    """The fastest prefilter available (``prefer="python"`` forces the fallback)."""
    if _hs is not None and prefer != "python" and anchors:
        return HyperscanPrefilter(anchors)
    return PythonPrefilter(anchors)
