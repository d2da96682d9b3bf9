"""``--sweep KNOB=v1,v2,...``: run a scenario once per value and measure its failures.

Each point is a full run with its own fresh namespaces, so runs do not share counters or queued
packets. ``sockdoc check`` is skipped in a sweep (the single run proves the diagnosis; a sweep
measures a curve). :func:`plot_png` draws the curve with matplotlib's Agg backend, which
needs no display.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sockdoc.lab.runner import LabResult, run
from sockdoc.lab.sandbox import LabError
from sockdoc.lab.scenario import Spec


@dataclass(frozen=True)
class Point:
    value: float
    result: LabResult


def parse_sweep(spec: Spec, text: str) -> tuple[str, tuple[float, ...]]:
    """``"sndbuf=65536,262144"`` -> ``("sndbuf", (65536.0, 262144.0))``."""
    name, sep, values = text.partition("=")
    if not sep or not values.strip():
        raise LabError(f"--sweep takes KNOB=v1,v2,... (got {text!r})")
    try:
        knob = spec.knob(name.strip())
    except KeyError as exc:
        raise LabError(str(exc.args[0])) from None
    try:
        numbers = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        raise LabError(f"--sweep {knob.name}: values must be numbers (got {values!r})") from None
    if len(numbers) < 2:
        raise LabError(f"--sweep {knob.name}: give at least two values")
    return knob.name, numbers


def sweep(
    spec: Spec,
    knob: str,
    values: Sequence[float],
    base: Mapping[str, float],
    progress: Callable[[float, LabResult], None] | None = None,
) -> list[Point]:
    points = []
    for v in values:
        result = run(spec, {**base, knob: v}, check=False, label=f"-{knob}-{v:g}")
        points.append(Point(v, result))
        if progress is not None:
            progress(v, result)
    return points


def plot_png(spec: Spec, knob: str, points: Sequence[Point]) -> bytes:
    """The sweep as a PNG: the scenario's metric against the knob."""
    try:
        import matplotlib  # noqa: PLC0415 (optional: only a plot needs it)

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt  # noqa: PLC0415
        from matplotlib.ticker import FuncFormatter  # noqa: PLC0415
    except ImportError:
        raise LabError("--plot needs matplotlib: pip install 'sockdoc[plot]'") from None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        xs = [p.value for p in points]
        ys = [p.result.report.metric for p in points]
        ax.plot(xs, ys, marker="o", color="#c0392b")
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(
                f"{y:.3g}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=8,
            )
        if min(xs) > 0 and max(xs) / min(xs) >= 16:
            ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_xlabel(f"{knob} ({spec.knob(knob).help})", fontsize=8)
        ax.set_ylabel(spec.metric)
        ax.set_ylim(bottom=0)
        ax.set_title(f"sockdoc lab {spec.name}: {spec.metric} vs {knob}", fontsize=10)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
