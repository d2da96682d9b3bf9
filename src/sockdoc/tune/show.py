"""A tune plan for people (a diff of settings, each with its reasons) and for programs (JSON).

The text shows, per file, ``- NAME = NOW`` and ``+ NAME = NEW`` for each setting, then every
finding that asked for it (rule, subject, the value it asked, its fix in one sentence, and
the evidence with numbers) and what must follow (a reload or restart, which tune never does).
Then what was kept (already large enough), skipped (host-wide in a namespace), refused
(unsafe, with the bound), left to the operator (a daemon's own files) and info advice.

The JSON (``tune --json``) carries the same: ``changes``, ``kept``, ``skipped`` (with
``refused``), ``manual``, ``advice``, ``notes``, the ``files`` with their text, and the
``bounds`` safety used. Values are numbers, or lists of numbers for a tuple setting.
"""

from __future__ import annotations

import textwrap
from typing import Any

from sockdoc import __version__
from sockdoc.facts.host import HostFacts
from sockdoc.rules.base import Evidence
from sockdoc.tune.files import TuneFile
from sockdoc.tune.proposals import Advice, Plan, Setting, Skipped, Value, shown
from sockdoc.tune.safety import Bounds, somaxconn_max

WIDTH = 100
EVIDENCE_SHOWN = 5


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _evidence(ev: tuple[Evidence, ...]) -> str:
    parts = [f"{e.name} {e.shown()}" for e in ev[:EVIDENCE_SHOWN]]
    more = len(ev) - EVIDENCE_SHOWN
    return "; ".join(parts) + (f"; {more} more (--json)" if more > 0 else "")


def _setting(
    s: Setting, seen: set[tuple[str, str, str]], activate: tuple[str, ...] = ()
) -> list[str]:
    name = s.name
    if s.kind == "dovecot":
        name = f"service {s.scope} {{ {s.name} }}"
    elif s.kind == "systemd":
        name = f"[Service] {s.name}"
    out = [
        f"- {name} = {shown(s.current, s.kind)}",
        f"+ {name} = {shown(s.value, s.kind)}" + ("   (lowered on purpose)" if s.lowers else ""),
    ]
    for r in s.reasons:
        head = f"    {r.rule} ({r.subject}) asks for {shown(r.asked, s.kind)}"
        if (r.rule, r.subject, r.why) in seen:
            out.append(head + " (its reason is above)")
            continue
        seen.add((r.rule, r.subject, r.why))
        out.append(head + ":")
        out += _wrap(r.why, "      ")
        if r.evidence:
            out += _wrap("evidence: " + _evidence(r.evidence), "      ")
    for t in s.then:
        if t not in activate:
            out += _wrap("then: " + t, "    ")
    return out


def _skipped(title: str, items: tuple[Skipped, ...]) -> list[str]:
    out = ["", title]
    for sk in items:
        value = shown(sk.setting.value, sk.setting.kind)
        out += _wrap(f"{sk.setting.label} = {value}: {sk.why}", "  ")
    return out


def _others(plan: Plan) -> list[str]:
    """Everything but the changes: kept, left to the operator, advice, notes."""
    out: list[str] = []
    if plan.kept:
        out += ["", "Kept (already at least what the findings ask for):"]
        for s in plan.kept:
            asked = ", ".join(f"{r.rule} {shown(r.asked, s.kind)}" for r in s.reasons)
            out += _wrap(f"{s.label} = {shown(s.current, s.kind)} ({asked})", "  ")
    if plan.manual:
        out += ["", "Changes tune does not make (a daemon's own files; make them by hand):"]
        for m in plan.manual:
            out += _wrap(f"{m.file} ({m.rule}, {m.subject}):", "  ")
            out += ["      " + line for line in m.text.rstrip("\n").splitlines()]
            if m.reload:
                out += _wrap("then: " + m.reload, "    ")
    if plan.elsewhere:
        out += ["", "Fixes that are not a setting tune can write:"]
        for a in plan.elsewhere:
            out += _wrap(f"{a.rule} ({a.subject}): {a.summary}", "  ")
    if plan.advice:
        out += ["", "Advice from info findings (not proposed):"]
        for a in plan.advice:
            out += _wrap(f"{a.rule} ({a.subject}): {a.summary}", "  ")
    for note in plan.notes:
        out += ["", *_wrap("note: " + note, "")]
    return out


def text(plan: Plan, where: str, files: tuple[TuneFile, ...] = ()) -> str:
    """The plan as a settings diff; ``where`` says what was diagnosed (one line)."""
    n = len(plan.changes)
    out = [
        f"sockdoc tune: {n} setting{'s' if n != 1 else ''} to change, from "
        f"{plan.findings} finding{'s' if plan.findings != 1 else ''} ({where})"
    ]
    if plan.netns:
        out.append(f"for network namespace {plan.netns}")
    activate = {f.path: f.activate for f in files}
    seen: set[tuple[str, str, str]] = set()
    for path in plan.files():
        out += ["", f"--- {path}"]
        out += [f"    takes effect with: {a}" for a in activate.get(path, ())]
        for s in plan.changes:
            if s.file == path:
                out += _setting(s, seen, activate.get(path, ()))
    if plan.refused:
        out += _skipped("Refused (unsafe; not written):", plan.refused)
    others = tuple(sk for sk in plan.skipped if not sk.refused)
    if others:
        out += _skipped("Skipped:", others)
    out += _others(plan)
    if not plan.changes and not plan.skipped and not plan.manual:
        out.insert(1 + bool(plan.netns), "")
        out.insert(2 + bool(plan.netns), "No setting to change.")
    return "\n".join(out) + "\n"


def _value(v: Value | None) -> int | list[int] | None:
    if v is None or isinstance(v, int):
        return v
    return list(v)


def _ev(e: Evidence) -> dict[str, Any]:
    return {"name": e.name, "value": e.value, "unit": e.unit, "source": e.source}


def _advice(a: Advice) -> dict[str, str]:
    return {"rule": a.rule, "subject": a.subject, "summary": a.summary}


def setting_json(s: Setting) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "scope": s.scope,
        "name": s.name,
        "label": s.label,
        "current": _value(s.current),
        "value": _value(s.value),
        "file": s.file,
        "lowers": s.lowers,
        "then": list(s.then),
        "reasons": [
            {
                "rule": r.rule,
                "subject": r.subject,
                "asked": _value(r.asked),
                "why": r.why,
                "evidence": [_ev(e) for e in r.evidence],
            }
            for r in s.reasons
        ],
    }


def to_json(plan: Plan, facts: HostFacts, files: tuple[TuneFile, ...], b: Bounds) -> dict[str, Any]:
    return {
        "tool": f"sockdoc {__version__}",
        "source": facts.kind,
        "host": facts.host,
        "kernel": facts.kernel,
        "netns": facts.netns,
        "target_netns": plan.netns,
        "findings": plan.findings,
        "changes": [setting_json(s) for s in plan.changes],
        "kept": [setting_json(s) for s in plan.kept],
        "skipped": [
            {"setting": setting_json(sk.setting), "why": sk.why, "refused": sk.refused}
            for sk in plan.skipped
        ],
        "manual": [
            {
                "rule": m.rule,
                "subject": m.subject,
                "file": m.file,
                "text": m.text,
                "reload": m.reload,
            }
            for m in plan.manual
        ],
        "advice": [
            {"rule": a.rule, "subject": a.subject, "summary": a.summary} for a in plan.advice
        ],
        "notes": list(plan.notes),
        "files": [
            {
                "path": f.path,
                "kind": f.kind,
                "activate": list(f.activate),
                "kept": list(f.kept),
                "text": f.data.decode(),
            }
            for f in files
        ],
        "bounds": {
            "ram": b.ram,
            "ram_source": b.ram_source,
            "nr_open": b.nr_open,
            "somaxconn_max": somaxconn_max(b.kernel),
        },
    }
