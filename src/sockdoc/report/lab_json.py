"""The JSON document of a lab run (``sockdoc lab NAME --json``) and of a sweep.

Run: ``scenario``, ``knobs``, ``setup`` (what was made), ``rows`` (each event with
``application``, ``kernel``, ``kernel_source``, ``cross``, ``cross_source``, ``agree``),
``agree`` (all rows), ``timeline`` (``step_ms`` and one list per series), ``metric``,
``check`` (``expected``, ``proved``, ``top`` as in ``sockdoc check --json``, ``also``, or
``error``; null with --no-check), ``seconds``. Sweep: ``scenario``, ``knob``, ``metric``,
``points`` (``value``, ``metric``, ``agree``), and ``plot`` when one was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sockdoc.lab.runner import LabResult
from sockdoc.lab.scenario import Spec
from sockdoc.lab.sweep import Point
from sockdoc.report.check_json import finding_json


def to_json(r: LabResult) -> dict[str, Any]:
    check: dict[str, Any] | None = None
    if r.check_error is not None:
        check = {"error": r.check_error}
    elif r.proof is not None:
        p = r.proof
        check = {
            "expected": {"rule": p.expect.rule, "subject": p.expect.subject, "pid": p.expect.pid},
            "proved": p.proved,
            "top": finding_json(p.top) if p.top else None,
            "also": [f.rule for f in p.diagnosis.findings[1:]],
            "bundle": p.bundle,
        }
    return {
        "scenario": r.spec.name,
        "summary": r.spec.summary,
        "knobs": dict(r.knobs),
        "setup": dict(r.facts),
        "rows": [
            {
                "event": row.event,
                "application": row.app,
                "kernel": row.kernel,
                "kernel_source": row.kernel_source,
                "cross": row.cross,
                "cross_source": row.cross_source,
                "agree": row.agree,
            }
            for row in r.report.rows
        ],
        "agree": r.agree,
        "notes": list(r.report.notes),
        "timeline": {
            "step_ms": 100,
            "series": {c.name: list(c.values) for c in r.report.columns},
        },
        "metric": {"name": r.spec.metric, "value": r.report.metric},
        "check": check,
        "seconds": round(r.seconds, 3),
    }


def sweep_json(spec: Spec, knob: str, points: Sequence[Point], plot: str | None) -> dict[str, Any]:
    return {
        "scenario": spec.name,
        "knob": knob,
        "metric": spec.metric,
        "points": [
            {"value": p.value, "metric": p.result.report.metric, "agree": p.result.agree}
            for p in points
        ],
        "runs": [to_json(p.result) for p in points],
        "plot": plot,
    }
