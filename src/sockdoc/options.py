"""The gathering options that ``check``, ``collect``, ``report`` and ``tune`` share, and the
two ways they gather: live from this host, or from a bundle of ``sockdoc collect``.

Same names, same meaning everywhere: ``--interval``, ``--logs``, ``--no-logs``, ``--netns``,
``--pid``.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from sockdoc.collect import bundle
from sockdoc.collect.gather import Collected, GatherOptions, gather
from sockdoc.collect.root import BundleError, LiveRoot

_OPTIONS = [
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
        help="Analyse the network namespace of this process (a container's), and the process "
        "itself like a daemon (limits, descriptors), even if sockdoc does not know it.",
    ),
]


def with_gather_options(f: Any) -> Any:
    """Add the shared options to a click command."""
    for opt in reversed(_OPTIONS):
        f = opt(f)
    return f


def gather_options(
    interval: float,
    logs: tuple[str, ...],
    no_logs: bool,
    netns_name: str | None,
    pid: int | None,
) -> GatherOptions:
    if netns_name is not None and pid is not None:
        raise click.UsageError("give --netns or --pid, not both")
    chosen: tuple[str, ...] | None = () if no_logs else (logs or None)
    return GatherOptions(interval=interval, logs=chosen, netns=netns_name, pid=pid)


def collect_live(options: GatherOptions, quiet: bool) -> Collected:
    """Gather from this host, with a progress line on a terminal unless ``quiet``."""
    root = LiveRoot()
    try:
        if sys.stderr.isatty() and not quiet:
            with Console(stderr=True).status("collecting") as status:
                return gather(root, options, lambda s: status.update(f"collecting: {s}"))
        return gather(root, options)
    finally:
        root.close()


def collect_bundle(path: str, options: GatherOptions) -> Collected:
    """Gather from a bundle; a missing or broken bundle is one line, exit 3."""
    if options.netns is not None or options.pid is not None:
        raise click.UsageError("--netns/--pid apply to a live host, not to --bundle")
    try:
        with bundle.opened(path) as root:
            return gather(root, options)
    except FileNotFoundError:
        raise click.ClickException(f"no such bundle: {path}") from None
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None
