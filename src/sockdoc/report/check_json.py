"""JSON rendering of a diagnosis: one document (the ``check --json`` contract).

Each finding carries ``rule`` (stable id), ``cause`` (see ``sockdoc explain``'s vocabulary),
``severity``, ``confidence``, ``subject`` (kind, name, pid, program), ``evidence`` (named values
with numbers), ``fix`` (summary, sysctl lines, sysctl.d lines, config snippets, commands) and
``logs`` (the log lines it explains). ``ok`` lists what was checked and found fine,
``not_checked`` what a rule could not decide and why, ``unavailable`` every source that could
not be read (status and reason), ``errors`` rules that crashed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sockdoc import __version__
from sockdoc.engine import Diagnosis
from sockdoc.rules.base import Evidence, Finding


def _ev(e: Evidence) -> dict[str, Any]:
    return {"name": e.name, "value": e.value, "unit": e.unit, "source": e.source}


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "title": f.title,
        "cause": f.cause.value,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "subject": {
            "kind": f.subject.kind,
            "name": f.subject.name,
            "pid": f.subject.pid,
            "program": f.subject.program,
        },
        "explanation": f.explanation,
        "evidence": [_ev(e) for e in f.evidence],
        "fix": {
            "summary": f.fix.summary,
            "sysctl": list(f.fix.sysctl_lines()),
            "sysctl_d": list(f.fix.sysctl_d_lines()),
            "config": [{"file": c.file, "text": c.text, "reload": c.reload} for c in f.fix.config],
            "commands": list(f.fix.commands),
        },
        "logs": [_ev(e) for e in f.logs],
    }


def to_json(d: Diagnosis) -> dict[str, Any]:
    facts = d.facts
    taken = (
        datetime.fromtimestamp(facts.taken_at, timezone.utc).isoformat()
        if facts.taken_at is not None
        else None
    )
    return {
        "tool": f"sockdoc {__version__}",
        "source": facts.kind,
        "host": facts.host,
        "kernel": facts.kernel,
        "netns": facts.netns,
        "taken_at": taken,
        "interval": round(facts.seconds, 3),
        "summary": {
            "findings": len(d.findings),
            "by_severity": _count(f.severity.value for f in d.findings),
            "ok": len(d.ok),
            "not_checked": len(d.not_checked),
            "unavailable": len(d.unavailable),
            "rules": d.rules_run,
        },
        "findings": [finding_json(f) for f in d.findings],
        "ok": [{"rule": o.rule, "summary": o.summary} for o in d.ok],
        "not_checked": [
            {
                "rule": n.rule,
                "reason": n.reason,
                "sources": list(n.sources),
                "needs_root": n.needs_root,
            }
            for n in d.not_checked
        ],
        "unavailable": [
            {
                "source": s.key,
                "origin": s.origin,
                "status": s.status,
                "reason": s.reason,
                "needs_root": s.needs_root,
            }
            for s in d.unavailable
        ],
        "errors": [{"rule": e.rule, "error": e.error} for e in d.errors],
    }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
