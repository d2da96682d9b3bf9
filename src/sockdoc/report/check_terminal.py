"""Terminal rendering of a diagnosis: findings ranked by severity and confidence, each with
its evidence and exact fix; then what was checked and OK; then what could not be checked."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from sockdoc.engine import Diagnosis
from sockdoc.rules.base import SYSCTL_D, Finding

_STYLE = {
    "critical": "bold white on red",
    "error": "bold red",
    "warning": "bold yellow",
    "info": "cyan",
}
MAX_UNAVAILABLE_SHOWN = 12


def _header(d: Diagnosis) -> str:
    f = d.facts
    where = f"bundle from {f.host}" if f.kind == "bundle" else f.host
    ns = f", network namespace {f.netns}" if f.netns else ""
    return (
        f"sockdoc check: {where} (kernel {f.kernel}{ns}), counters over "
        f"{f.seconds:.1f} s, {d.rules_run} rules"
    )


def finding(c: Console, n: int, f: Finding) -> None:
    """One finding: title, rule, subject, explanation, evidence, the lines it explains, fix."""
    sev = f.severity.value
    head = Text()
    head.append(f"{n}. ")
    head.append(f" {sev.upper()} ", style=_STYLE.get(sev, ""))
    head.append(f" {f.title}", style="bold")
    c.print(head)
    ids = f.ids
    c.print(f"   [dim]{ids} · confidence {f.confidence.value} · {escape(str(f.subject))}[/dim]")
    c.print(f"   {escape(f.explanation)}", soft_wrap=False, overflow="fold")
    if f.evidence:
        c.print("   [bold]evidence[/bold]")
        for e in f.evidence:
            src = f" [dim]({escape(e.source)})[/dim]" if e.source else ""
            c.print(f"     {escape(e.name)}: {escape(e.shown())}{src}")
    if f.logs:
        c.print("   [bold]log lines it explains[/bold]")
        for e in f.logs:
            c.print(f"     {escape(e.name)}: {escape(e.shown())}")
    c.print(f"   [bold]fix[/bold] {escape(f.fix.summary)}")
    for line in f.fix.sysctl_lines():
        c.print(f"     [green]{escape(line)}[/green]")
    if f.fix.sysctls:
        c.print(f"     [dim]and to keep it, in {SYSCTL_D}:[/dim]")
        for line in f.fix.sysctl_d_lines():
            c.print(f"     [green]{escape(line)}[/green]")
    for cfg in f.fix.config:
        c.print(f"     [dim]in {escape(cfg.file)}:[/dim]")
        for line in cfg.text.splitlines():
            c.print(f"       [green]{escape(line)}[/green]")
        if cfg.reload:
            c.print(f"     [dim]then: {escape(cfg.reload)}[/dim]")
    for cmd in f.fix.commands:
        c.print(f"     [green]{escape(cmd)}[/green]")
    c.print()


def render(d: Diagnosis, c: Console, verbose: bool = False) -> None:
    c.print(_header(d), style="bold")
    c.print()
    if d.findings:
        for n, f in enumerate(d.findings, 1):
            finding(c, n, f)
    else:
        c.print("[green]No findings: nothing overflowing, nothing close to a limit.[/green]")
        c.print()
    c.print(f"[bold]Checked and OK[/bold] ({len(d.ok)})")
    for o in d.ok:
        c.print(f"  [green]ok[/green] {escape(o.summary)} [dim]({o.rule})[/dim]")
    c.print()
    if d.not_checked or d.unavailable or d.errors:
        c.print(
            f"[bold]Could not check[/bold] ({len(d.not_checked)} checks, "
            f"{len(d.unavailable)} sources)"
        )
        for nc in d.not_checked:
            root = " [yellow](run as root)[/yellow]" if nc.needs_root else ""
            c.print(f"  [yellow]--[/yellow] {nc.rule}: {escape(nc.reason)}{root}")
        # "absent" is not a failure: the module is not loaded, the driver does not report
        # link speed; listed only with --verbose
        lost = [s for s in d.unavailable if verbose or s.status != "absent"]
        shown = lost if verbose else lost[:MAX_UNAVAILABLE_SHOWN]
        for s in shown:
            root = " [yellow](needs root)[/yellow]" if s.needs_root else ""
            c.print(
                f"  [dim]source[/dim] {escape(s.origin or s.key)}: {s.status}"
                f" ({escape(s.reason)}){root}"
            )
        hidden = len(d.unavailable) - len(shown)
        if hidden:
            absent = sum(1 for s in d.unavailable if s.status == "absent")
            c.print(
                f"  [dim]... and {hidden} more sources ({absent} absent on this host: a module "
                "not loaded, a value the driver does not report); --verbose lists them[/dim]"
            )
        for e in d.errors:
            c.print(f"  [red]rule error[/red] {e.rule}: {escape(e.error)}")
    needs_root = any(s.needs_root for s in d.unavailable)
    if needs_root:
        c.print()
        c.print("[yellow]Some evidence needs root: run sockdoc check as root to see it.[/yellow]")
