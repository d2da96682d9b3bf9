"""Terminal output (rich): what an operator reads."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from sockdoc.explain import Explanation

_SEVERITY_STYLE = {
    "info": "cyan",
    "warning": "yellow",
    "error": "bold red",
    "critical": "bold white on red",
}


def render_explanation(e: Explanation, console: Console) -> None:
    console.print(Text(e.line, style="dim"), soft_wrap=False, overflow="fold")
    if not e.matched:
        label = "not recognised" if e.signature is None else f"not this ({e.signature})"
        console.print(f"  [bold]{escape(label)}[/bold]: {escape(e.hint or '')}")
        return
    sev = e.severity or "info"
    console.print(
        f"  [{_SEVERITY_STYLE.get(sev, 'bold')}]{sev.upper()}[/]"
        f"  [bold]{escape(e.cause or '')}[/bold]  {escape(e.daemon or '')}"
        f"  [dim]{escape(e.signature or '')} · confidence {e.confidence}"
        + (f" · versions {escape(e.versions)}" if e.versions else "")
        + "[/dim]"
    )
    if e.fields:
        shown = "  ".join(f"{k}={v}" for k, v in e.fields.items() if k not in {"timestamp", "host"})
        console.print(f"  [bold]fields[/bold]   {escape(shown)}")
    console.print(f"  [bold]meaning[/bold]  {escape(e.meaning or '')}")
    if e.cause_summary:
        console.print(f"  [bold]cause[/bold]    {escape(e.cause_summary)}")
    if e.checks:
        console.print("  [bold]check, in this order[/bold]")
        for n, c in enumerate(e.checks, 1):
            console.print(f"   {n:>2}. {escape(c.question)}")
            console.print(f"       [green]{escape(c.how)}[/green]")
    if e.source:
        console.print(f"  [dim]source: {escape(e.source)}[/dim]")


def write_explanations(items: Iterable[Explanation], console: Console) -> None:
    for n, e in enumerate(items):
        if n:
            console.print()
        render_explanation(e, console)
