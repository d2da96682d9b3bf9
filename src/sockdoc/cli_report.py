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

import click

from sockdoc.collect import specs
from sockdoc.collect.gather import Collected
from sockdoc.collect.output import write_atomic
from sockdoc.engine import diagnose
from sockdoc.facts.host import build as build_facts
from sockdoc.options import collect_bundle, collect_live, gather_options, with_gather_options
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
@with_gather_options
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
    options = gather_options(interval, logs, no_logs, netns_name, pid)
    if bundle_path is not None:
        collected = collect_bundle(bundle_path, options)
    else:
        collected = collect_live(options, quiet=output is None)
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
