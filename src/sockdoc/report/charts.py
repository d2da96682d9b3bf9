"""The report's charts, drawn on the server as SVG text to inline in the HTML page.

Why SVG from matplotlib, not a JavaScript charting library inlined in the page: the report
must open anywhere, offline, years later, in a mail client or ticket system that strips
scripts, and print as it shows. A chart drawn once, here, is plain markup inside the HTML: no
script to run, nothing fetched, sharp at any zoom, text that can be selected and searched (the
SVG keeps text as text), and the same picture in every browser. matplotlib is already
sockdoc's plotting dependency (the ``plot`` extra, used by the lab's sweeps, with Agg for its
PNGs); here a bare ``Figure`` is saved with the SVG backend: no pyplot, no display, nothing
rasterised. A JS library would add tens of kilobytes of someone else's code to every report,
a script for viewers to allow, and a second way to draw.

What each chart may show is decided by what was measured (see :mod:`sockdoc.report.model`):

- :func:`timeline_svg`: matched log lines per minute from the log scan, against the kernel
  pressure counters, on one wall-clock axis. The counters were read twice, at ``s0`` and
  ``s1``: each is drawn as its rate between those two moments, as a segment spanning exactly
  that interval, and nowhere else; the interval is shaded on both panels. A minute that had
  not ended when the logs were read is hatched (it holds only part of its lines). Rates far
  apart get a symmetric-log axis, so that a small one is not drawn as zero.
- :func:`fill_svg`: the queues and buffers nearest their limits, as a percentage of the
  limit: the attribution sampler's peak between ``s0`` and ``s1`` (a bar: the sampler keeps
  the peak and a count of full samples, not when they happened, so no time axis is drawn) and
  the value at ``s1`` (a marker).

matplotlib is optional (``pip install 'sockdoc[plot]'``): :func:`missing` says why charts
cannot be drawn, and the report says so in their place.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sockdoc.report.model import Fill, LogPoint, Report

COLORS = {
    "logs": "#b03a2e",
    "interval": "#f5cba7",
    "limit": "#7b241c",
    "peak": "#2e86c1",
    "now": "#1b2631",
}
COUNTER_COLORS = ("#1f618d", "#d68910", "#239b56", "#7d3c98", "#a04000", "#5d6d7e")
MAX_FILLS = 8
CHART_CSS = "svg.chart * { stroke-linejoin: round; stroke-linecap: butt; }"
LABEL_WIDTH = 32
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: selectable, searchable, small
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "timezone": "UTC",
}


def missing() -> str | None:
    """Why charts cannot be drawn here (None: they can)."""
    try:
        import matplotlib.figure  # noqa: F401, PLC0415 (optional: only charts need it)
    except ImportError:
        return "charts need matplotlib: pip install 'sockdoc[plot]'"
    return None


def _inline(svg: str, label: str, prefix: str) -> str:
    """matplotlib's SVG document made into an element for an HTML page: no XML prologue, no
    metadata, no style sheet, no namespace URIs (the HTML parser gives <svg> its namespace),
    scalable, and its ids prefixed (every chart has a "figure_1"; one page, one id)."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    # inside an HTML page an SVG's <style> applies to the whole page: the page's CSS has
    # matplotlib's one rule instead, scoped to the charts (CHART_CSS)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<defs>\s*</defs>\s*", "", svg)
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    return f'{head} role="img" aria-label="{label}" class="chart">{rest}'


def _save(fig: Any, label: str, prefix: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return _inline(buf.getvalue(), label, prefix)


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "\u2026" + text[-(keep - keep // 2) :]


def timeline_svg(r: Report) -> str | None:
    """Log errors per minute vs the kernel counters (None: neither logs nor sample times).

    Without log lines the chart is the counters alone, on an axis around the interval."""
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    w = r.window
    points = r.logs.points if r.logs is not None else ()
    if not points and w.s1 is None:
        return None
    rc: Any = {**_RC, "svg.hashsalt": "sockdoc-timeline"}
    axes: tuple[Any, ...]
    fig: Any
    with matplotlib.rc_context(rc):
        if points:
            fig = Figure(figsize=(9.0, 5.2), layout="constrained")
            top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
            _logs(top, points, w.s1)
            top.set_title("Log errors per minute vs kernel counters (UTC)", loc="left")
            axes = (top, bottom)
        else:
            fig = Figure(figsize=(9.0, 2.8), layout="constrained")
            bottom = fig.subplots()
            if r.logs is not None:
                why = f"no timed log line matched in {len(r.logs.inputs)} logs scanned"
            else:
                why = _short(r.logs_note or "logs not scanned", 70)
            bottom.set_title(f"Kernel counters (UTC); no log timeline: {why}", loc="left")
            axes = (bottom,)
        _counters(bottom, r)
        for ax in axes:
            if w.s0 is not None and w.s1 is not None:
                ax.axvspan(_dt(w.s0), _dt(w.s1), color=COLORS["interval"], alpha=0.8, lw=0)
            ax.grid(True, axis="y", alpha=0.3)
        _time_axis(bottom, r)
        try:
            return _save(fig, "log errors per minute against kernel counter rates", "timeline")
        finally:
            fig.clear()


def _time_axis(ax: Any, r: Report) -> None:
    """Wall-clock x axis over the log points and the interval: minutes when there are log
    points (five at least, so that it reads as time), else seconds around the interval."""
    from matplotlib import dates as mdates  # noqa: PLC0415
    from matplotlib import ticker  # noqa: PLC0415

    dates: Any = mdates  # parts of it are not annotated
    w = r.window
    points = r.logs.points if r.logs is not None else ()
    times = [p.start for p in points] + [p.start + p.minutes * 60 for p in points]
    if w.s0 is not None and w.s1 is not None:
        times += [w.s0, w.s1]
    lo, hi = min(times), max(times)
    if points:
        pad = max((hi - lo) * 0.04, 30.0, (300 - (hi - lo)) / 2)
        locator = dates.AutoDateLocator(minticks=4, maxticks=9)
        formatter = dates.ConciseDateFormatter(locator)
    else:
        pad = max((hi - lo) * 0.3, 0.5)
        locator = dates.AutoDateLocator(minticks=3, maxticks=6)
        formatter = ticker.FuncFormatter(
            lambda v, _pos: dates.num2date(v).strftime("%H:%M:%S.%f")[:-5]
        )
    ax.set_xlim(_dt(lo - pad), _dt(hi + pad))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)


def _logs(ax: Any, points: Sequence[LogPoint], read_at: float | None) -> None:
    # a minute that had not ended when the logs were read holds only part of its lines
    partial = [p for p in points if read_at is not None and p.start + p.minutes * 60 > read_at]
    whole = [p for p in points if p not in partial]
    styles: tuple[tuple[list[LogPoint], dict[str, Any]], ...] = (
        (whole, {"label": "matched log lines per minute (all causes)", "color": COLORS["logs"]}),
        (
            partial,
            {
                "label": "minute not over when the logs were read",
                "hatch": "///",
                "color": "#f2d7d5",
            },
        ),
    )
    for group, style in styles:
        if group:
            ax.bar(
                [_dt(p.start) for p in group],
                [p.per_minute for p in group],
                width=[p.minutes / 1440 for p in group],
                align="edge",
                edgecolor=COLORS["logs"],
                linewidth=0.6,
                **style,
            )
    peak = max(points, key=lambda p: p.per_minute)
    ax.annotate(
        f"peak {peak.per_minute:,.0f}/min",
        (_dt(peak.start + peak.minutes * 30), peak.per_minute),
        textcoords="offset points",
        xytext=(0, 3),
        ha="center",
        fontsize=8,
    )
    ax.set_ylim(0, peak.per_minute * 1.25 or 1)
    ax.set_ylabel("log errors / min")
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _counters(ax: Any, r: Report) -> None:
    w = r.window
    ax.set_ylabel("counter / min\n(s0\u2192s1 only)")
    if w.s0 is None or w.s1 is None or not r.counters:
        why = "no sample times recorded" if w.s1 is None else "no pressure counters read"
        ax.text(0.5, 0.5, f"kernel counters: {why}", transform=ax.transAxes, ha="center")
        ax.set_yticks([])
        return
    rates = [c.per_second * 60 for c in r.counters]
    for i, (c, rate) in enumerate(zip(r.counters, rates, strict=True)):
        ax.plot(
            [_dt(w.s0), _dt(w.s1)],
            [rate, rate],
            color=COUNTER_COLORS[i % len(COUNTER_COLORS)],
            lw=max(4.5 - 0.7 * i, 1.0),  # thinner on top: equal rates stay visible
            marker="o",
            ms=5,
            label=f"{c.name}: +{c.delta:,} in {c.seconds:.1f} s ({rate:,.0f}/min)",
        )
    moving = [x for x in rates if x > 0]
    top = max(moving, default=1.0)
    if not moving:
        ax.text(
            0.5,
            0.45,
            "no pressure counter moved between s0 and s1 "
            "(the kernel counts no UNIX-socket overflow)",
            transform=ax.transAxes,
            ha="center",
            fontsize=8,
        )
    if moving and top / min(moving) > 20:
        # rates a hundred times apart: a linear axis would flatten the small ones onto zero
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(-0.3, top * 12)
    else:
        ax.set_ylim(-0.05 * top, top * 1.6)
    ax.legend(loc="upper left", fontsize=7.5, frameon=False)
    ax.text(
        0.995,
        0.97,
        f"counters read twice, {w.seconds:.1f} s apart (shaded):\n"
        "nothing is known of them outside that interval",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7.5,
        color="#555555",
    )


def fill_svg(r: Report) -> str | None:
    """Queues and buffers against their limits (None: none read, or all of them empty)."""
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fills = [f for f in r.fills if f.limit > 0 and (f.ratio > 0 or f.full_samples)][:MAX_FILLS]
    if not fills:
        return None
    fills.reverse()  # barh draws bottom-up: the fullest on top
    s = r.sampling
    where = (
        f"peak of {s.rounds:,} samples at {s.hz:.0f} Hz over {s.seconds:.1f} s (s0\u2192s1)"
        if s is not None
        else "the sampler did not run: values at s1 only"
    )
    rc: Any = {**_RC, "svg.hashsalt": "sockdoc-fill"}
    with matplotlib.rc_context(rc):
        fig: Any = Figure(figsize=(9.0, 1.5 + 0.4 * len(fills)), layout="constrained")
        ax = fig.subplots()
        ys = list(range(len(fills)))
        peaks = [100 * (f.peak or 0) / f.limit for f in fills]
        nows = [100 * (f.now or 0) / f.limit for f in fills]
        ax.barh(ys, peaks, color=COLORS["peak"], height=0.6, label="sampler peak, s0\u2192s1")
        ax.scatter(nows, ys, marker="D", color=COLORS["now"], zorder=3, s=22, label="at s1")
        ax.axvline(100, color=COLORS["limit"], lw=1.2, ls="--", label="limit (backlog, buffer)")
        ax.set_yticks(ys, _labels(fills), fontsize=8)
        ax.set_ylim(-0.6, len(fills) - 0.4)
        ax.set_xlim(0, max(110.0, *(p * 1.08 for p in peaks), *(n * 1.08 for n in nows)))
        ax.set_xlabel("% of the limit")
        ax.grid(True, axis="x", alpha=0.3)
        # the numbers behind each bar, in a column of their own on the right
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(ys, [_numbers(f) for f in fills], fontsize=7.5)
        right.tick_params(axis="y", length=0)
        ax.set_title(f"Queues and buffers nearest their limits: {where}", loc="left")
        fig.legend(loc="outside lower center", ncols=3, fontsize=7.5, frameon=False)
        try:
            return _save(fig, "queues and buffers against their limits", "fill")
        finally:
            fig.clear()


def _labels(fills: Sequence[Fill]) -> list[str]:
    """One label per row; rows of one kind and address are told apart by socket inode."""
    seen: dict[tuple[str, str], int] = {}
    for f in fills:
        seen[(f.what, f.name)] = seen.get((f.what, f.name), 0) + 1
    return [
        f"{f.what} {_short(f.name)}" + (f" ino {f.inode}" if seen[(f.what, f.name)] > 1 else "")
        for f in fills
    ]


def _numbers(f: Fill) -> str:
    peak = f"{f.peak:,}" if f.peak is not None else "?"
    now = f"{f.now:,}" if f.now is not None else "?"
    full = f", full {f.full_samples}/{f.samples}" if f.samples else ""
    unit = "conn." if f.unit == "connections" else "B"
    return f"peak {peak} / {f.limit:,} {unit} (s1: {now}){full}"
