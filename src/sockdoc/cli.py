"""The ``sockdoc`` command line.

Exit codes (all subcommands): 0 success / nothing found, 1 findings, 2 usage error,
3 could not run (unreadable input, internal error). ``explain`` always exits 0 on success:
an unrecognised line is an answer, not an error.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import time
from collections.abc import Iterable, Iterator

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import sockdoc
from sockdoc import __version__
from sockdoc import scan as scanning
from sockdoc.collect import bundle, logfiles
from sockdoc.collect.lines import stdin_lines
from sockdoc.collect.netns import NetnsError
from sockdoc.engine import diagnose
from sockdoc.explain import explain as explain_result
from sockdoc.facts.host import build as build_facts
from sockdoc.matchers.base import Signature
from sockdoc.matchers.catalogue import CatalogueError, default
from sockdoc.matchers.prefilter import FALLBACK_REASON
from sockdoc.options import collect_bundle, collect_live, gather_options, with_gather_options
from sockdoc.parsers.timestamps import parse_user_time
from sockdoc.report import (
    check_json,
    check_terminal,
    json_lines,
    scan_json,
    scan_terminal,
    terminal,
)
from sockdoc.rules import all_rules

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3


class _Console(Console):
    """A console that, when the reader goes away (| head), stops printing quietly and lets the
    command finish with its own exit code (rich's default exits 1, which means "findings")."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _console() -> Console:
    return _Console(highlight=False, soft_wrap=False)


def _note_fallback() -> None:
    if FALLBACK_REASON:
        click.echo(f"sockdoc: note: {FALLBACK_REASON}", err=True)


def _module_commands() -> list[str]:
    """The subcommands that live in their own modules, sockdoc/cli_<name>.py."""
    return sorted(
        m.name.removeprefix("cli_")
        for m in pkgutil.iter_modules(sockdoc.__path__)
        if m.name.startswith("cli_")
    )


class _Group(click.Group):
    """Larger subcommands live in sockdoc/cli_<name>.py, each exporting COMMAND, and are
    imported only when used: ``sockdoc scan`` (which ``check`` runs as a child process) and
    ``explain`` do not pay for the lab, the exporter or the report's imports. Adding one
    touches no other file."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_module_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _module_commands():
            command = importlib.import_module(f"sockdoc.cli_{cmd_name}").COMMAND
        return command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sockdoc")
def cli() -> None:
    """sockdoc: the socket-pressure doctor for Linux servers.

    Links a daemon's error line to the kernel queue or limit behind it, the counter that
    proves it, and the setting that fixes it.
    """


@cli.command()
@click.argument("lines", nargs=-1, metavar="LINE... | -")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input line.")
def explain(lines: tuple[str, ...], as_json: bool) -> None:
    """Explain log lines: daemon, cause, fields, meaning, and what to check.

    Give each line as an argument (quote it), or '-' to read lines from standard input.
    """
    if not lines:
        raise click.UsageError("give a log line to explain, or '-' to read lines from stdin")
    catalogue = default()
    _note_fallback()
    too_long = [0]

    def source() -> Iterator[str]:
        for arg in lines:
            if arg == "-":
                yield from stdin_lines(too_long)
            else:
                # only newlines separate lines: str.splitlines() would also split on \x1c, \x85...
                parts = arg.removesuffix("\n").split("\n")
                yield from (part.removesuffix("\r") for part in parts)

    explained = (explain_result(catalogue.classify(line), len(catalogue)) for line in source())
    if as_json:
        json_lines.write_explanations(explained, sys.stdout)
    else:
        terminal.write_explanations(explained, _console())
    if too_long[0]:
        click.echo(f"sockdoc: skipped {too_long[0]} line(s) longer than 1 MiB", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="The catalogue as one JSON document.")
def signatures(as_json: bool) -> None:
    """List every log wording sockdoc recognises."""
    sigs: Iterable[Signature] = sorted(default().signatures(), key=lambda s: s.id)
    if as_json:
        doc = [
            {
                "signature": s.id,
                "daemon": s.daemon,
                "cause": s.cause.value,
                "severity": s.severity.value,
                "confidence": s.confidence.value,
                "versions": s.versions,
                "meaning": s.meaning,
                "source": s.source,
            }
            for s in sigs
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("signature", no_wrap=True)
    table.add_column("cause", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("versions", overflow="fold")
    for s in sigs:
        table.add_row(s.id, s.cause.value, s.severity.value, s.versions)
    _console().print(table)


@cli.command("rules")
@click.option("--json", "as_json", is_flag=True, help="The rules with their documentation.")
def rules_command(as_json: bool) -> None:
    """List the diagnosis rules 'check' runs (their ids are stable)."""
    if as_json:
        doc = [
            {"rule": r.id, "title": r.title, "cause": r.cause.value, "doc": r.doc}
            for r in all_rules()
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("rule", no_wrap=True)
    table.add_column("cause", no_wrap=True)
    table.add_column("what it finds", overflow="fold")
    for r in all_rules():
        first = r.doc.split("\n", 1)[0] if r.doc else r.title
        table.add_row(r.id, r.cause.value, first)
    _console().print(table)


PROGRESS_MIN = 100 << 20  # a progress bar for inputs that take more than a few seconds


def _time_option(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_user_time(value, time.time())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from exc


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("--json", "as_json", is_flag=True, help="The whole result as one JSON document.")
@click.option("--journal", is_flag=True, help="Also read the systemd journal (journalctl).")
@click.option("--since", help="Only lines at or after this time ('2026-11-21 03:00', '2h').")
@click.option("--until", help="Only lines before this time.")
@click.option("--jobs", type=click.IntRange(0, 64), default=0, help="Worker processes (0: cores).")
@click.option("--top", type=click.IntRange(1, 1000), default=10, help="Length of top lists.")
@click.option(
    "--gap",
    type=click.IntRange(1, 1440),
    default=5,
    help="Minutes without events that end an incident.",
)
def scan(
    paths: tuple[str, ...],
    as_json: bool,
    journal: bool,
    since: str | None,
    until: str | None,
    jobs: int,
    top: int,
    gap: int,
) -> None:
    """Scan logs for the socket-pressure failure family: counts, who, when, incidents.

    Reads files (plain, .gz, .xz, .bz2), directories, rotated sets (oldest first), '-' for
    stdin, and with --journal the systemd journal. Exit: 0 nothing found, 1 found,
    2 usage error, 3 an input could not be read.
    """
    if not paths and not journal:
        if sys.stdin.isatty():
            raise click.UsageError("give log files or directories to scan, '-' for stdin")
        paths = ("-",)
    start, end = _time_option(since, "--since"), _time_option(until, "--until")
    skips = logfiles.Skips()
    inputs = logfiles.discover(paths, skips)
    _note_fallback()
    options = scanning.ScanOptions(since=start, until=end, jobs=jobs, top=top, gap_minutes=gap)
    journal_lines = logfiles.journal(start, end, skips) if journal else None
    size = scanning.total_size(inputs)
    if sys.stderr.isatty() and size >= PROGRESS_MIN:
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("scanning", total=size)
            result = scanning.scan(
                inputs,
                skips,
                options,
                journal=journal_lines,
                progress=lambda n: bar.advance(task, n),
            )
    else:
        result = scanning.scan(inputs, skips, options, journal=journal_lines)
    if as_json:
        click.echo(json.dumps(scan_json.to_json(result), indent=2))
    else:
        scan_terminal.render(result, _console())
    if result.unreadable:
        sys.exit(EXIT_CANNOT_RUN)
    sys.exit(EXIT_FINDINGS if result.facts.matched else EXIT_OK)


SEVERITIES = ("info", "warning", "error", "critical")


@cli.command()
@click.option(
    "--bundle",
    "bundle_path",
    metavar="FILE",
    help="Analyse a bundle from 'sockdoc collect' instead of this host.",
)
@click.option("--json", "as_json", is_flag=True, help="The diagnosis as one JSON document.")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="warning",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
@click.option("-v", "--verbose", is_flag=True, help="List every source that could not be read.")
@with_gather_options
def check(
    bundle_path: str | None,
    as_json: bool,
    fail_on: str,
    verbose: bool,
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
) -> None:
    """Diagnose this host: which queue or limit overflows, the proof, and the fix.

    Reads kernel counters twice (--interval apart) and samples every listener and UDP socket
    in between; reads daemon processes, limits and configuration; scans recent logs. Exit: 0
    healthy, 1 findings at or above --fail-on, 2 usage error, 3 could not run.
    """
    options = gather_options(interval, logs, no_logs, netns_name, pid)
    if bundle_path is not None:
        collected = collect_bundle(bundle_path, options)
    else:
        collected = collect_live(options, as_json)
    diagnosis = diagnose(build_facts(collected))
    if as_json:
        click.echo(json.dumps(check_json.to_json(diagnosis), indent=2))
    else:
        check_terminal.render(diagnosis, _console(), verbose=verbose)
    threshold = SEVERITIES.index(fail_on)
    worst = max((SEVERITIES.index(f.severity.value) for f in diagnosis.findings), default=-1)
    sys.exit(EXIT_FINDINGS if worst >= threshold else EXIT_OK)


@cli.command()
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE.tar.gz",
    help="Where to write the bundle (an existing file is kept as FILE.bak).",
)
@with_gather_options
def collect(
    output: str,
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
) -> None:
    """Collect everything 'check' reads into a bundle, to analyse elsewhere with
    'sockdoc check --bundle FILE'. Secrets in daemon configurations are redacted."""
    options = gather_options(interval, logs, no_logs, netns_name, pid)
    started = time.monotonic()
    collected = collect_live(options, False)
    top = bundle.write(
        collected.got,
        output,
        seconds=time.monotonic() - started,
        netns=netns_name or (f"pid:{pid}" if pid else None),
    )
    counts: dict[str, int] = {}
    for g in collected.got.values():
        counts[g.status] = counts.get(g.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    click.echo(f"sockdoc: wrote {output} ({top}; {len(collected.got)} sources: {summary})")


def main() -> None:
    """Entry point: click's own errors exit 2; anything unexpected is one line, exit 3."""
    try:
        rv = cli.main(prog_name="sockdoc", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("sockdoc: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else EXIT_CANNOT_RUN)
    except BrokenPipeError:
        # The reader went away (| head): not an error. Point stdout at devnull so the
        # interpreter's final flush does not complain (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except NetnsError as exc:
        click.echo(f"sockdoc: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    except CatalogueError as exc:
        click.echo(f"sockdoc: broken signature catalogue: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    except Exception as exc:  # last resort: one line, never a traceback (unless asked)
        if os.environ.get("SOCKDOC_DEBUG"):
            raise
        kind = "error" if isinstance(exc, OSError | ValueError) else "internal error"
        click.echo(
            f"sockdoc: {kind}: {type(exc).__name__}: {exc} (SOCKDOC_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_CANNOT_RUN)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)
