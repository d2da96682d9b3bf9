"""``sockdoc report``: the diagnosis as a document to hand over (HTML, Markdown or JSON).

Reads a bundle (``--bundle FILE``) or this host (the same gathering as ``check``, with the
same options), diagnoses it, and writes one file: ``-o FILE.html`` a self-contained page with
charts, ``-o FILE.md`` Markdown for a ticket, ``-o FILE.json`` or ``--json`` the data. The
file is written atomically and an existing one is kept as ``FILE.bak``. Exit: 0 written,
2 usage error, 3 could not run (unreadable bundle, unwritable file).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from sockdoc.collect import bundle, specs
from sockdoc.collect.gather import Collected, gather
from sockdoc.collect.output import write_atomic
from sockdoc.collect.root import BundleError
from sockdoc.engine import diagnose
from sockdoc.facts.host import build as build_facts
from sockdoc.report import charts, html, markdown, model, report_json

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def _format(output: str | None, as_json: bool) -> str:
    if output is None:
        if as_json:
            return "json"
        raise click.UsageError("give -o FILE.html or -o FILE.md (or --json)")
    suffix = os.path.splitext(output)[1].lower()
    kind = FORMATS.get(suffix)
    if kind is None:
        raise click.UsageError(
            f"-o {output}: the suffix picks the format: .html, .md or .json", ctx=None
        )
    if as_json and kind != "json":
        raise click.UsageError(f"--json writes JSON, -o {output} asks for {kind}: choose one")
    return kind


def _logs(collected: Collected) -> tuple[str | None, str]:
    """The log scan's document if it was read, else why not."""
    if specs.LOGS not in collected.got:
        return None, "logs not scanned (--no-logs, or a bundle made without a log scan)"
    g = collected.get(specs.LOGS)
    if not g.ok:
        return None, f"the log scan did not finish: {g.status} ({g.reason})"
    return g.text(), ""


def _collect(
    bundle_path: str | None,
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
    quiet: bool,
) -> Collected:
    # imported here: sockdoc.cli imports this module while it registers subcommands
    from sockdoc.cli import _gather_options, _live_collect  # noqa: PLC0415

    options = _gather_options(interval, logs, no_logs, netns_name, pid)
    if bundle_path is None:
        return _live_collect(options, quiet)
    if netns_name is not None or pid is not None:
        raise click.UsageError("--netns/--pid apply to a live host, not to --bundle")
    try:
        with bundle.opened(bundle_path) as root:
            return gather(root, options)
    except FileNotFoundError:
        raise click.ClickException(f"no such bundle: {bundle_path}") from None
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None


def _with_gather_options(f: Any) -> Any:
    """The options ``check`` and ``collect`` take to gather (same names, same meaning)."""
    options = [
        click.option(
            "--interval",
            type=click.FloatRange(0.1, 600),
            default=2.0,
            show_default=True,
            help="Seconds between the two counter samples (sockets are sampled meanwhile).",
        ),
        click.option(
            "--logs",
            multiple=True,
            metavar="PATH",
            help="Logs to scan (file, directory or 'journal'; repeat). "
            "Default: the journal, else /var/log.",
        ),
        click.option("--no-logs", is_flag=True, help="Do not scan logs."),
        click.option(
            "--netns",
            "netns_name",
            metavar="NAME",
            help="Analyse this network namespace ('ip netns list').",
        ),
        click.option(
            "--pid",
            type=click.IntRange(1),
            metavar="PID",
            help="Analyse the network namespace of this process (a container's), and the "
            "process itself like a daemon.",
        ),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


@click.command("report")
@click.option(
    "--bundle",
    "bundle_path",
    metavar="FILE",
    help="Report on a bundle from 'sockdoc collect' instead of this host.",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write: FILE.html (one self-contained page), FILE.md (Markdown) or "
    "FILE.json. An existing file is kept as FILE.bak.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON (to stdout unless -o FILE.json).")
@_with_gather_options
def report(
    bundle_path: str | None,
    output: str | None,
    as_json: bool,
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
) -> None:
    """Write the diagnosis as a report to hand over: host, findings with evidence and fixes,
    log errors per minute against the kernel counters, sockets nearest their limits, and what
    could not be checked.

    The HTML page needs no network to view (inline CSS and SVG charts, no scripts). Exit: 0
    written, 2 usage error, 3 could not run.
    """
    kind = _format(output, as_json)
    collected = _collect(
        bundle_path, interval, logs, no_logs, netns_name, pid, quiet=output is None
    )
    diagnosis = diagnose(build_facts(collected))
    logs_text, note = _logs(collected)
    rep = model.build(diagnosis, logs_text, time.time(), note)
    if kind == "html":
        why = charts.missing()
        if why is not None:
            click.echo(f"sockdoc: note: {why}; the report has no charts", err=True)
        text = html.render(rep)
    elif kind == "md":
        text = markdown.render(rep)
    else:
        text = json.dumps(report_json.to_json(rep), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(output, text.encode())
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    n = len(diagnosis.findings)
    click.echo(f"sockdoc: wrote {output} ({kind}, {n} finding{'s' if n != 1 else ''})")


COMMAND = report
