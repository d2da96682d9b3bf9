"""What ``sockdoc explain`` says about one line: a pure function of the catalogue's verdict.

The JSON form (one object per input line) is a public contract: ``matched``, ``cause``,
``signature``, ``daemon``, ``fields``, ``meaning`` and ``checks`` are always present (null or
empty when the line is not recognised), plus ``hint`` for unrecognised lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sockdoc.causes import Check, info
from sockdoc.matchers.catalogue import FieldValue, Result


@dataclass(frozen=True)
class Explanation:
    line: str
    matched: bool
    signature: str | None
    daemon: str | None
    cause: str | None
    cause_summary: str | None
    severity: str | None
    confidence: str | None
    versions: str | None
    fields: dict[str, FieldValue]
    meaning: str | None
    checks: tuple[Check, ...]
    source: str | None
    hint: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "matched": self.matched,
            "signature": self.signature,
            "daemon": self.daemon,
            "cause": self.cause,
            "severity": self.severity,
            "confidence": self.confidence,
            "versions": self.versions,
            "fields": dict(self.fields),
            "meaning": self.meaning,
            "cause_summary": self.cause_summary,
            "checks": [{"question": c.question, "how": c.how} for c in self.checks],
            "source": self.source,
            "hint": self.hint,
        }


def _merge_checks(first: tuple[Check, ...], then: tuple[Check, ...]) -> tuple[Check, ...]:
    seen = {c.question for c in first}
    return first + tuple(c for c in then if c.question not in seen)


def explain(result: Result, known: int) -> Explanation:
    """Turn a verdict into an explanation; ``known`` is the catalogue size (for the hint)."""
    sig = result.signature
    if sig is not None:
        cause = info(sig.cause)
        return Explanation(
            line=result.line,
            matched=True,
            signature=sig.id,
            daemon=sig.daemon,
            cause=sig.cause.value,
            cause_summary=cause.summary,
            severity=sig.severity.value,
            confidence=sig.confidence.value,
            versions=sig.versions or None,
            fields=dict(result.fields),
            meaning=sig.meaning,
            checks=_merge_checks(sig.checks, cause.checks),
            source=sig.source,
            hint=None,
        )
    if result.not_this is not None:
        hint = f"Not a socket-pressure error: {result.not_this.hint}"
        sig_id: str | None = result.not_this.id
        daemon: str | None = result.not_this.daemon
    elif result.near:
        hint = (
            "It contains words sockdoc knows (from "
            + ", ".join(result.near[:3])
            + "), but not in a form it recognises; if it comes from a daemon under load,"
            " please report the line."
        )
        sig_id = daemon = None
    else:
        hint = (
            f"No known socket-pressure wording ({known} signatures checked). Paste the daemon's"
            " error line itself, or scan a whole log with 'sockdoc scan'."
        )
        sig_id = daemon = None
    return Explanation(
        line=result.line,
        matched=False,
        signature=sig_id,
        daemon=daemon,
        cause=None,
        cause_summary=None,
        severity=None,
        confidence=None,
        versions=None,
        fields={},
        meaning=None,
        checks=(),
        source=None,
        hint=hint,
    )
