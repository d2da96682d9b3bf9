"""``sockdoc watch``: the live view, refreshed every second (``--once``: one frame)."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.live import Live

from sockdoc.collect.gather import GatherOptions
from sockdoc.collect.netns import NetnsError
from sockdoc.collect.root import BundleError
from sockdoc.monitor import Monitor, from_bundle
from sockdoc.report.watch_terminal import History, frame


@click.command("watch")
@click.option("--once", is_flag=True, help="Print one frame (rates over 1 s) and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 60),
    default=1.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.option("--logs", multiple=True, metavar="PATH", help="Follow this log file (repeatable).")
@click.option("--journal", is_flag=True, help="Follow the systemd journal too.")
@click.option("--netns", "netns_name", metavar="NAME", help="Watch this network namespace.")
@click.option(
    "--pid", type=click.IntRange(1), metavar="PID", help="Watch this process's namespace."
)
@click.option(
    "--bundle",
    "bundle_path",
    metavar="FILE",
    help="With --once: the frame of a bundle from 'sockdoc collect'.",
)
@click.option("--width", type=click.IntRange(60, 400), help="Columns (default: the terminal's).")
def watch(
    once: bool,
    interval: float,
    logs: tuple[str, ...],
    journal: bool,
    netns_name: str | None,
    pid: int | None,
    bundle_path: str | None,
    width: int | None,
) -> None:
    """Watch this host live: counter rates with their history, the listeners and UDP sockets
    nearest their limits, daemons' descriptors, new log events of the failure family, and
    findings as they appear and clear. Ctrl-C to leave."""
    console = Console(highlight=False, width=width)
    history = History()
    if bundle_path is not None:
        if not once:
            raise click.UsageError("--bundle shows one frame: add --once")
        try:
            state = from_bundle(bundle_path)
        except FileNotFoundError:
            raise click.ClickException(f"no such bundle: {bundle_path}") from None
        except BundleError as exc:
            raise click.ClickException(str(exc)) from None
        history.add(state, now=state.wall)
        console.print(frame(state, history))
        return
    if netns_name is not None and pid is not None:
        raise click.UsageError("give --netns or --pid, not both")
    options = GatherOptions(interval=interval, logs=(), netns=netns_name, pid=pid)
    try:
        monitor = Monitor(options, logs=logs, journal=journal)
    except NetnsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        monitor.step()  # the first step has no rates; the first frame shows the second
        time.sleep(interval if not once else 1.0)
        state = monitor.step()
        history.add(state)
        if once or not sys.stdout.isatty():
            console.print(frame(state, history))
            return
        with Live(frame(state, history), console=console, screen=True, auto_refresh=False) as live:
            next_at = time.monotonic() + interval
            while True:
                time.sleep(max(next_at - time.monotonic(), 0))
                next_at += interval
                state = monitor.step()
                history.add(state)
                live.update(frame(state, history), refresh=True)
    except KeyboardInterrupt:
        return
    finally:
        monitor.close()


COMMAND = watch
