"""``sockdoc exporter``: serve the evidence to Prometheus (docs/metrics.md)."""

from __future__ import annotations

import errno
import signal
import sys
import threading
import time
from typing import Any

import click

from sockdoc.collect.gather import GatherOptions
from sockdoc.collect.netns import NetnsError
from sockdoc.exporter import DEFAULT_PORT, WebConfigError, make_server, parse_web_config
from sockdoc.monitor import Monitor


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"give HOST:PORT, e.g. 127.0.0.1:{DEFAULT_PORT} (got {value!r})")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.command("exporter")
@click.option(
    "--listen",
    default=f"127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics (loopback by default; [::]:PORT for every address).",
)
@click.option(
    "--web-config",
    metavar="FILE",
    help="TLS and basic auth, in the Prometheus exporter-toolkit's web-config format.",
)
@click.option("--logs", multiple=True, metavar="PATH", help="Follow this log file (repeatable).")
@click.option("--journal", is_flag=True, help="Follow the systemd journal too.")
@click.option("--netns", "netns_name", metavar="NAME", help="Watch this network namespace.")
@click.option(
    "--pid", type=click.IntRange(1), metavar="PID", help="Watch this process's namespace."
)
@click.option(
    "--print",
    "print_once",
    is_flag=True,
    help="Print the metrics of one step (two samples 1 s apart) and exit; serve nothing.",
)
def exporter(
    listen: str,
    web_config: str | None,
    logs: tuple[str, ...],
    journal: bool,
    netns_name: str | None,
    pid: int | None,
    print_once: bool,
) -> None:
    """Serve sockdoc's evidence to Prometheus: listen queues of TCP and UNIX sockets, UDP
    buffers, log events of the failure family, daemon limits, and the active findings. Each
    scrape reads everything fresh; see docs/metrics.md for the metrics."""
    host, port = _listen(listen)
    if netns_name is not None and pid is not None:
        raise click.UsageError("give --netns or --pid, not both")
    web = None
    if web_config is not None:
        try:
            with open(web_config, encoding="utf-8") as f:
                web = parse_web_config(f.read(), web_config)
        except OSError as exc:
            raise click.ClickException(f"cannot read {web_config}: {exc.strerror}") from None
        except WebConfigError as exc:
            raise click.ClickException(str(exc)) from None
    options = GatherOptions(interval=1.0, logs=(), netns=netns_name, pid=pid)
    try:
        monitor = Monitor(options, logs=logs, journal=journal)
    except NetnsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if print_once:
            _print(monitor)
            return
        try:
            server = make_server(monitor, host, port, web)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"{host}:{port} is in use (choose another with --listen)"
                ) from None
            raise click.ClickException(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}"
            ) from None

        def on_signal(_signum: int, _frame: Any) -> None:
            # shutdown() waits for serve_forever() to return: not from its own thread
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if web is not None and web.cert_file else "http"
        click.echo(f"sockdoc exporter: serving {scheme}://{shown}:{port}/metrics", err=True)
        try:
            server.serve_forever(poll_interval=0.5)
        finally:
            server.server_close()
    finally:
        monitor.close()


def _print(monitor: Monitor) -> None:
    from prometheus_client.exposition import generate_latest  # noqa: PLC0415

    from sockdoc.exporter import SockdocCollector, _registry  # noqa: PLC0415

    collector = SockdocCollector(monitor, min_interval=0.0)
    collector.latest()
    time.sleep(1.0)
    sys.stdout.write(generate_latest(_registry(collector)).decode())


COMMAND = exporter
