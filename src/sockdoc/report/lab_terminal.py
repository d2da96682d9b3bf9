"""Terminal rendering of a lab run: what was set up, what happened (application against
kernel, with the standard tools' cross-check), the timeline as one sparkline per series (one
character per 100 ms), and what ``sockdoc check`` said while it was happening."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sockdoc.lab.runner import LabResult
from sockdoc.lab.scenario import Spec
from sockdoc.lab.sweep import Point
from sockdoc.report.check_terminal import finding

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One character per value, scaled to the largest; zero is a blank.

    >>> sparkline([0, 1, 2, 4, 8])
    ' ▁▂▄█'
    """
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        i = round(v / top * (len(BARS) - 1))
        out.append(BARS[max(i, 1) if v > 0 else 0])
    return "".join(out)


def _n(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _agree(v: bool | None) -> str:
    if v is None:
        return "[dim]—[/dim]"
    return "[green]✓ equal[/green]" if v else "[bold red]✗ differ[/bold red]"


def _knobs(r: LabResult) -> str:
    return " ".join(
        f"{k.option}={r.knobs[k.name]:g}" for k in r.spec.knobs if r.knobs[k.name] != k.default
    )


def render(r: LabResult, c: Console, timeline: bool = False) -> None:
    changed = _knobs(r)
    c.print(
        f"[bold]sockdoc lab {r.spec.name}[/bold]: {escape(r.spec.summary)}"
        + (f" [dim]({escape(changed)})[/dim]" if changed else "")
    )
    for name, text in r.facts:
        c.print(f"  [dim]{escape(name)}:[/dim] {escape(text)}")
    c.print()
    t = Table(title="What happened", title_justify="left", show_lines=False)
    t.add_column("event")
    t.add_column("application", justify="right")
    t.add_column("kernel (sockdoc)", justify="right")
    t.add_column("nstat / ss", justify="right")
    t.add_column("")
    for row in r.report.rows:
        kernel = _n(row.kernel)
        if row.kernel_source:
            kernel += f"\n[dim]{escape(row.kernel_source)}[/dim]"
        cross = _n(row.cross) + (
            f"\n[dim]{escape(row.cross_source)}[/dim]" if row.cross_source else ""
        )
        t.add_row(escape(row.event), _n(row.app), kernel, cross, _agree(row.agree))
    c.print(t)
    for note in r.report.notes:
        c.print(f"  {escape(note)}")
    c.print()
    width = max((len(col.name) for col in r.report.columns), default=0)
    c.print(
        f"[bold]Timeline[/bold] [dim](one character per 100 ms, {r.steps} steps; "
        "peak at right)[/dim]"
    )
    for col in r.report.columns:
        peak = max(col.values, default=0)
        c.print(f"  {escape(col.name):<{width}} │{sparkline(col.values)}│ {peak:,.0f}")
    if timeline:
        _timeline_table(r, c)
    c.print()
    _proof(r, c)
    c.print(f"[dim]{r.seconds:.1f} s; namespaces, links, qdiscs and processes removed[/dim]")


def _timeline_table(r: LabResult, c: Console) -> None:
    t = Table(show_header=True, box=None, pad_edge=False)
    t.add_column("ms", justify="right")
    for col in r.report.columns:
        t.add_column(col.name, justify="right")
    for i in range(r.steps):
        t.add_row(str(i * 100), *(f"{col.values[i]:,.0f}" for col in r.report.columns))
    c.print(t)


def _proof(r: LabResult, c: Console) -> None:
    if r.check_error is not None:
        c.print(f"[bold red]sockdoc check could not run:[/bold red] {escape(r.check_error)}")
        return
    p = r.proof
    if p is None:
        c.print("[dim]sockdoc check not run (--no-check)[/dim]")
        return
    want = p.expect.rule + (f" on {p.expect.subject}" if p.expect.subject else "")
    verdict = "[bold green]PROVED[/bold green]" if p.proved else "[bold red]NOT PROVED[/bold red]"
    c.print(
        f"[bold]sockdoc check[/bold], run in the namespace while it happened: {verdict} "
        f"[dim](expected first: {escape(want)})[/dim]"
    )
    if p.top is None:
        c.print("  no finding at all")
        return
    finding(c, 1, p.top)
    others = [f"{f.rule} ({f.severity.value})" for f in p.diagnosis.findings[1:]]
    if others:
        c.print(f"  [dim]also found: {escape(', '.join(others))}[/dim]")
    if p.bundle:
        c.print(f"  [dim]evidence kept in {escape(p.bundle)}[/dim]")


def render_sweep(spec: Spec, knob: str, points: Sequence[Point], c: Console) -> None:
    t = Table(
        title=f"sockdoc lab {spec.name}: {spec.metric} as {knob} changes", title_justify="left"
    )
    t.add_column(knob, justify="right")
    t.add_column(spec.metric, justify="right")
    t.add_column("application = kernel")
    t.add_column("", justify="left")
    top = max((p.result.report.metric for p in points), default=0)
    for p in points:
        m = p.result.report.metric
        bar = "█" * round(m / top * 30) if top > 0 else ""
        agree = "[green]✓[/green]" if p.result.agree else "[bold red]✗ differ[/bold red]"
        t.add_row(f"{p.value:,g}", f"{m:,.1f}", agree, bar)
    c.print(t)
