"""``sockdoc tune``: the settings the findings call for, as a diff; written for review, or
applied safely and reverted byte for byte.

Exit codes: 0 nothing to change, or the files were written / applied / reverted; 1 settings to
change were shown (like diff(1)), or a value was refused as unsafe, or the confirmation was
declined; 2 usage; 3 could not run (unreadable bundle, not root, sysctl failed).
"""

from __future__ import annotations

import json
import os
import sys

import click

from sockdoc.collect.gather import Collected, GatherOptions
from sockdoc.engine import diagnose
from sockdoc.facts.host import HostFacts, build
from sockdoc.options import collect_bundle, collect_live, gather_options
from sockdoc.tune import apply as applying
from sockdoc.tune import files as rendering
from sockdoc.tune import proposals, safety, show
from sockdoc.tune.apply import TuneError

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3


def _collect(bundle_path: str | None, options: GatherOptions, quiet: bool) -> Collected:
    if bundle_path is not None:
        return collect_bundle(bundle_path, options)
    return collect_live(options, quiet)


def _where(facts: HostFacts, bundle_path: str | None) -> str:
    what = f"bundle {os.path.basename(bundle_path)}" if bundle_path else "this host"
    ns = f", network namespace {facts.netns}" if facts.netns else ""
    return f"{what}: host {facts.host or '?'}, kernel {facts.kernel or '?'}{ns}"


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise click.ClickException(f"{what} needs root (run it with sudo)")


def _usage(
    bundle_path: str | None,
    write_dir: str | None,
    do_apply: bool,
    netns_name: str | None,
    pid: int | None,
) -> None:
    if do_apply and write_dir:
        raise click.UsageError("give --write DIR or --apply, not both")
    if write_dir is not None and os.path.abspath(write_dir) == "/":
        raise click.UsageError("--write / would replace the live files: that is --apply")
    if netns_name is not None and pid is not None:
        raise click.UsageError("give --netns or --pid, not both")
    if do_apply and pid is not None:
        raise click.UsageError("--apply works in a named namespace: give --netns NAME")
    if bundle_path is not None and pid is not None:
        raise click.UsageError("--pid applies to a live host, not to --bundle")


def _revert(apply_id: str, root: str, force: bool) -> None:
    if root == "/":
        _need_root("--revert")
    try:
        done = applying.revert(apply_id, root=root, force=force)
    except (TuneError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for p in done.restored:
        click.echo(f"restored {p}")
    for p in done.removed:
        click.echo(f"removed {p} (it did not exist before)")
    for name, value in done.sysctls.items():
        click.echo(f"set {name} back to {value}")
    for note in done.notes:
        click.echo(f"sockdoc: note: {note}", err=True)
    for error in done.errors:
        click.echo(f"sockdoc: error: {error}", err=True)
    click.echo(f"reverted {apply_id}")
    sys.exit(EXIT_CANNOT_RUN if done.errors else EXIT_OK)


@click.command("tune")
@click.option(
    "--bundle", "bundle_path", metavar="FILE", help="Tune from a bundle of 'sockdoc collect'."
)
@click.option("--json", "as_json", is_flag=True, help="The proposals as one JSON document.")
@click.option(
    "--write",
    "write_dir",
    metavar="DIR",
    help="Write the files under DIR (DIR/etc/sysctl.d/...) for review; change nothing else.",
)
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Write the files in place (atomically, with a backup) and load the sysctls (root).",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Apply without asking; with --revert, restore files changed since the apply too.",
)
@click.option(
    "--revert", "revert_id", metavar="ID", help="Undo the apply ID printed, byte for byte."
)
@click.option(
    "--root",
    default="/",
    show_default=True,
    metavar="DIR",
    help="Read, apply and revert files under DIR instead of / (tests); the kernel is then "
    "changed only inside --netns.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 600),
    default=2.0,
    show_default=True,
    help="Seconds between the two counter samples (live).",
)
@click.option(
    "--logs", multiple=True, metavar="PATH", help="Logs to scan (file, directory or 'journal')."
)
@click.option("--no-logs", is_flag=True, help="Do not scan logs.")
@click.option(
    "--netns",
    "netns_name",
    metavar="NAME",
    help="The network namespace to analyse (live) and to apply in (ip netns exec NAME).",
)
@click.option(
    "--pid",
    type=click.IntRange(1),
    metavar="PID",
    help="Analyse the network namespace of this process (not with --apply).",
)
def tune(
    bundle_path: str | None,
    as_json: bool,
    write_dir: str | None,
    do_apply: bool,
    yes: bool,
    revert_id: str | None,
    root: str,
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
) -> None:
    """Propose the settings the findings call for, computed from their evidence, as a diff
    against the current values with the reason for each line.

    --write DIR writes the files for review; --apply writes them in place atomically, keeps a
    backup, loads the sysctls with 'sysctl -p' and prints the 'sockdoc tune --revert ID' that
    undoes it. Daemons are never restarted: tune prints what needs a reload or restart.
    Unsafe values (a buffer too large for the RAM, a limit above the kernel's) are refused.
    Exit: 0 nothing to change, or done; 1 settings to change (shown, not applied) or a value
    refused; 2 usage error; 3 could not run.
    """
    root = os.path.abspath(root)
    if revert_id is not None:
        if do_apply or write_dir or bundle_path:
            raise click.UsageError("--revert takes only --root and --yes")
        _revert(revert_id, root, yes)
    _usage(bundle_path, write_dir, do_apply, netns_name, pid)
    if do_apply and (root == "/" or netns_name is not None):
        _need_root("--apply")
    options = gather_options(interval, logs, no_logs, None if bundle_path else netns_name, pid)
    facts = build(_collect(bundle_path, options, as_json))
    if do_apply and facts.netns and netns_name is None:
        raise click.UsageError(
            f"the diagnosis is of network namespace {facts.netns}: give --netns NAME to apply "
            "there (tune does not apply a namespace's settings to the host)"
        )
    target = netns_name or facts.netns
    plan = proposals.propose(diagnose(facts), target)
    on_target = bundle_path is None or do_apply
    limits = safety.bounds(facts, applying.meminfo() if on_target else None)
    plan = safety.screen(plan, limits)
    kernel = do_apply and (root == "/" or netns_name is not None)
    try:
        if kernel and plan.changes:
            plan = safety.screen(
                proposals.with_current(plan, applying.live_values(plan, netns_name)), limits
            )
        # the files as they are now on the host they are for: this one (live or --apply),
        # or the --root given; a bundle from elsewhere is not compared with this host's files
        mine = bundle_path is None or do_apply or root != "/"
        existing = applying.read_existing(plan.files(), root) if mine else {}
        files = rendering.render(plan, existing)
    except TuneError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(show.to_json(plan, facts, files, limits), indent=2))
    else:
        click.echo(show.text(plan, _where(facts, bundle_path), files), nl=False)
    refused = EXIT_CHANGES if plan.refused else EXIT_OK
    if write_dir is not None:
        for path in applying.write_review(files, os.path.abspath(write_dir)):
            click.echo(f"wrote {path}", err=as_json)
        sys.exit(refused)
    if not do_apply:
        sys.exit(EXIT_CHANGES if plan.changes or plan.refused else EXIT_OK)
    if not plan.changes:
        click.echo("sockdoc: nothing to apply", err=True)
        sys.exit(refused)
    if not yes and not click.confirm(
        f"Apply these {len(plan.changes)} change(s)"
        + (f" in network namespace {netns_name}" if netns_name else "")
        + (f" under {root}" if root != "/" else "")
        + "?",
        default=False,
        err=True,
    ):
        click.echo("sockdoc: nothing changed", err=True)
        sys.exit(EXIT_CHANGES)
    _apply(files, root, netns_name, as_json, refused)


def _apply(
    files: tuple[rendering.TuneFile, ...], root: str, netns: str | None, quiet: bool, code: int
) -> None:
    def say(text: str) -> None:
        click.echo(f"sockdoc: {text}", err=quiet)

    try:
        done = applying.apply(files, root=root, netns=netns, announce=say)
    except (TuneError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for path in done.written:
        say(f"wrote {path}")
    where = f" in network namespace {netns}" if netns else ""
    for name, value in done.after.items():
        say(f"{name} = {value}{where} (was {done.before.get(name)})")
    if not done.kernel and any(f.kind == "sysctl" for f in files):
        say("the kernel was not changed: --root without --netns writes the files only")
    then = list(
        dict.fromkeys(
            [a for f in files if f.kind != "sysctl" for a in f.activate]
            + [t for f in files for s in f.settings for t in s.then]
        )
    )
    if then:
        say("to do by hand (tune restarts and reloads nothing):")
        for t in then:
            click.echo(f"  {t}", err=quiet)
    for e in done.errors:
        click.echo(f"sockdoc: error: {e}", err=True)
    say(f"undo with: {done.revert}")
    sys.exit(EXIT_CANNOT_RUN if done.errors else code)


COMMAND = tune
