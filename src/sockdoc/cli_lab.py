"""``sockdoc lab``: reproduce each failure with real kernel sockets, and prove the diagnosis.

One subcommand per scenario (its knobs are its options), plus ``list`` and ``clean``. Exit
codes: 0 the run's counts agree and ``check`` named the cause; 1 they do not (the lab found a
gap between what happened and what sockdoc says); 2 usage; 3 could not run (not root, no
``ip``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from rich.console import Console

from sockdoc.collect.output import write_atomic
from sockdoc.lab import runner, sandbox
from sockdoc.lab.sandbox import LabError
from sockdoc.lab.scenario import Spec
from sockdoc.lab.scenarios import SCENARIOS
from sockdoc.lab.sweep import parse_sweep, plot_png, sweep
from sockdoc.report import lab_json, lab_terminal

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 3


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 110)


def _need_root() -> None:
    if os.geteuid() != 0:
        raise click.ClickException(
            "the lab needs root: it makes network namespaces, veth pairs and qdiscs "
            "(run it with sudo)"
        )


@click.group("lab")
def lab() -> None:
    """Reproduce each failure with real kernel sockets in network namespaces, count it from
    both sides, and show that 'sockdoc check' names its cause.

    Every run makes its own namespaces (counters start at zero), is bounded in count and
    time, and removes everything it made, also on Ctrl-C.
    """


@lab.command("list")
@click.option("--json", "as_json", is_flag=True, help="The scenarios and their knobs as JSON.")
def list_scenarios(as_json: bool) -> None:
    """The scenarios, with what each reproduces."""
    if as_json:
        doc = [
            {
                "name": s.name,
                "summary": s.summary,
                "rule": s.rule,
                "metric": s.metric,
                "knobs": [{"name": k.name, "default": k.default, "help": k.help} for k in s.knobs],
            }
            for s in SCENARIOS.values()
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    width = max(len(n) for n in SCENARIOS)
    for name, s in SCENARIOS.items():
        click.echo(f"{name:<{width}}  {s.summary}")
    click.echo("\nRun one: sockdoc lab NAME [--KNOB VALUE]... ; its knobs: sockdoc lab NAME --help")


@lab.command("clean")
def clean() -> None:
    """Remove namespaces left by a lab run that was killed (SIGKILL) before it could clean up."""
    _need_root()
    removed = sandbox.clean_stale()
    click.echo(
        f"removed {len(removed)} namespace(s)" + (": " + ", ".join(removed) if removed else "")
    )


def _run_scenario(spec: Spec, options: dict[str, Any]) -> None:
    _need_root()
    as_json = options.pop("as_json")
    sweep_text = options.pop("sweep_text")
    plot = options.pop("plot")
    save_bundle = options.pop("save_bundle")
    no_check = options.pop("no_check")
    timeline = options.pop("timeline")
    values = {k.name: float(options[k.name]) for k in spec.knobs if options.get(k.name) is not None}
    if plot and not sweep_text:
        raise click.UsageError("--plot draws a sweep: give --sweep KNOB=v1,v2,...")
    if save_bundle:
        os.makedirs(save_bundle, exist_ok=True)
    console = _console()
    try:
        if sweep_text:
            try:
                knob, points_at = parse_sweep(spec, sweep_text)
                for v in points_at:
                    runner.validate(spec, {**values, knob: v})
            except LabError as exc:
                raise click.UsageError(str(exc)) from None
            if knob in values:
                raise click.UsageError(f"--{knob.replace('_', '-')} is swept; do not also set it")

            def progress(v: float, r: runner.LabResult) -> None:
                if not as_json:
                    console.print(
                        f"[dim]{knob}={v:g}: {spec.metric} {r.report.metric:g} "
                        f"({r.seconds:.1f} s)[/dim]"
                    )

            points = sweep(spec, knob, points_at, values, progress)
            if plot:
                write_atomic(plot, plot_png(spec, knob, points))
            if as_json:
                click.echo(json.dumps(lab_json.sweep_json(spec, knob, points, plot), indent=2))
            else:
                lab_terminal.render_sweep(spec, knob, points, console)
                if plot:
                    console.print(f"plot written to {plot}")
            ok = all(p.result.agree for p in points)
        else:
            result = runner.run(spec, values, check=not no_check, save_bundle=save_bundle)
            if as_json:
                click.echo(json.dumps(lab_json.to_json(result), indent=2))
            else:
                lab_terminal.render(result, console, timeline=timeline)
            proved = no_check or (result.proof is not None and result.proof.proved)
            ok = result.agree and proved
    except LabError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def _command(spec: Spec) -> click.Command:
    def callback(**options: Any) -> None:
        _run_scenario(spec, options)

    params: list[click.Parameter] = []
    for k in spec.knobs:
        params.append(
            click.Option(
                [k.option, k.name],
                type=click.IntRange(int(k.minimum), int(k.maximum))
                if k.integer
                else click.FloatRange(k.minimum, k.maximum),
                default=None,
                help=f"{k.help} [default: {k.default:g}]",
            )
        )
    params += [
        click.Option(
            ["--sweep", "sweep_text"],
            metavar="KNOB=V1,V2,...",
            help="Run once per value of KNOB and show the failures against it.",
        ),
        click.Option(["--plot"], metavar="FILE.png", help="With --sweep: draw the curve."),
        click.Option(["--json", "as_json"], is_flag=True, help="The run as one JSON document."),
        click.Option(
            ["--save-bundle"],
            metavar="DIR",
            help="Keep the evidence 'check' read, as a bundle in DIR.",
        ),
        click.Option(["--no-check"], is_flag=True, help="Do not run 'sockdoc check'."),
        click.Option(["--timeline"], is_flag=True, help="Also print the timeline step by step."),
    ]
    doc = (sys.modules[spec.setup.__module__].__doc__ or spec.summary).strip()
    return click.Command(
        spec.name, callback=callback, params=params, help=doc, short_help=spec.summary
    )


for _spec in SCENARIOS.values():
    lab.add_command(_command(_spec))

COMMAND = lab
