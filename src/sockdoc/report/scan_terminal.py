"""Terminal rendering of a log scan."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sockdoc.scan import ScanResult

_BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: tuple[int, ...], width: int = 60) -> str:
    """Per-minute counts as bars, squeezed to ``width`` (each bar shows its bin's maximum).

    >>> sparkline((0, 1, 2, 4, 8))
    ' ▁▂▄█'
    """
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = tuple(
            max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(width)
        )
    top = max(values) or 1
    return "".join(_BARS[0 if v == 0 else max(1, round(v / top * 8))] for v in values)


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t is not None else "-"


def _day(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t))


def _hhmm(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def _counts(console: Console, title: str, rows: tuple[tuple[str, int], ...], top: int) -> None:
    if not rows:
        return
    if len(rows) > top:
        rest = sum(n for _, n in rows[top:])
        rows = (*rows[:top], (f"({len(rows) - top} more)", rest))
    console.print(f"[bold]{escape(title)}[/bold]")
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    for key, n in rows:
        table.add_row(escape(key), f"{n:,}")
    console.print(table)
    console.print()


def render(r: ScanResult, console: Console) -> None:
    f = r.facts
    console.print(
        f"Scanned {len(r.inputs)} input(s), {f.bytes / 1e6:,.1f} MB"
        f" in {r.seconds:.2f} s [dim]({r.engine})[/dim]"
    )
    if f.matched:
        console.print(
            f"[bold]{f.matched:,} recognised lines[/bold], {_when(f.first)} to {_when(f.last)}"
            + (f" ({f.untimed:,} without a time stamp)" if f.untimed else "")
        )
    else:
        console.print("[green]No socket-pressure lines found.[/green]")
    if f.outside_window:
        console.print(f"{f.outside_window:,} recognised lines outside --since/--until")
    console.print()
    _counts(console, "By cause", f.by_cause, len(f.by_cause))
    _counts(console, "By signature", f.by_signature, r.top)
    _counts(console, "By daemon", f.by_daemon, len(f.by_daemon))
    # the top lists below are already cut to --top by the summary
    _counts(console, "By daemon/service", f.by_service, r.top)
    _counts(console, "Top clients", f.top_clients, r.top)
    _counts(console, "Top sockets", f.top_sockets, r.top)
    _counts(console, "Top upstreams", f.top_upstreams, r.top)
    if f.incidents:
        console.print("[bold]Incidents[/bold] (bursts; a quiet gap ends one)")
        table = Table(box=None, pad_edge=False)
        for col in ("start", "end", "lines", "peak/min", "main cause", "per minute"):
            table.add_column(col, no_wrap=True)
        for inc in f.incidents:
            table.add_row(
                _when(inc.start)[:16],
                _hhmm(inc.end) if _day(inc.end) == _day(inc.start) else _when(inc.end)[:16],
                f"{inc.count:,}",
                f"{inc.peak_per_minute:,} at {_hhmm(inc.peak_minute)}",
                escape(inc.causes[0][0]),
                sparkline(inc.per_minute, width=30),
            )
        console.print(table)
        console.print()
    if f.false_friends:
        console.print(
            "Look-alikes not counted: "
            + ", ".join(f"{k} {n:,}" for k, n in f.false_friends)
            + " (sockdoc explain LINE says why)"
        )
    for reason, n in sorted(r.skips.items()):
        console.print(
            f"[yellow]skipped[/yellow]: {escape(reason)}: {n:,}"
            f" [dim](e.g. {escape(r.skip_examples.get(reason, '?'))})[/dim]"
        )
