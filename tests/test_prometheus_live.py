"""A real Prometheus (Debian's package) scrapes a real ``sockdoc exporter`` while queues
overflow in a fresh namespace; the test asks Prometheus's HTTP API what it saw.

Everything runs inside one namespace the test made: the exporter on 127.0.0.1:10271,
Prometheus on 127.0.0.1:9090 with a temporary configuration and storage, scraping every
second and evaluating the repository's alert rules (contrib/prometheus/sockdoc.rules.yml)
every second. The overflow scenario starts only after the first scrapes, so the series are
seen to rise: the UNIX listener's queue from nothing to 5 on a backlog of 4, the UDP receive
errors from 0 upwards, and the alerts for them become pending or firing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from netnskit import Scenario, namespace, require_root

ROOT = Path(__file__).parent.parent
RULES = ROOT / "contrib" / "prometheus" / "sockdoc.rules.yml"
EXPORTER, PROMETHEUS = "127.0.0.1:10271", "127.0.0.1:9090"

_QUERY = """
import json, sys, urllib.parse, urllib.request
path, params = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
url = "http://%s%s?%s" % ("{prom}", path, urllib.parse.urlencode(params))
sys.stdout.write(urllib.request.urlopen(url, timeout=5).read().decode())
""".replace("{prom}", PROMETHEUS)


def api(ns: str, path: str, **params: str) -> Any:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", _QUERY, path,
         *(f"{k}={v}" for k, v in params.items())],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    doc = json.loads(done.stdout)
    return doc.get("data")


def query(ns: str, expr: str) -> list[dict[str, Any]]:
    data = api(ns, "/api/v1/query", query=expr)
    return list(data["result"]) if data else []


def wait_for(what: str, check: Callable[[], Any], timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never showed {what} within {timeout} s")


def test_prometheus_sees_queues_and_errors_rise_and_alerts_fire(tmp_path: Path) -> None:
    require_root()
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: Debian's prometheus package is needed (scripts/install --test)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    os.chmod(tmp_path, 0o755)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 1s\n"
        f"rule_files: ['{RULES}']\n"
        "scrape_configs:\n  - job_name: sockdoc\n"
        f"    static_configs: [{{targets: ['{EXPORTER}']}}]\n"
    )
    with namespace("sdprom") as ns:
        exporter = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "sockdoc", "exporter",
             "--listen", EXPORTER],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns, prometheus, f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address={PROMETHEUS}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        scenario = None
        try:
            wait_for(
                "the exporter's first scrape",
                lambda: query(ns, 'up{job="sockdoc"} == 1') and query(ns, "sockdoc_build_info"),
            )
            assert query(ns, 'sockdoc_listener_queue{kind="unix"} > 0') == []
            before = query(ns, 'sockdoc_udp_receive_buffer_errors_total{proto="udp"}')
            scenario = Scenario(ns, "overflow.py", str(tmp_path), "60")
            path = scenario.info["unix"]

            queue = wait_for(
                "the UNIX listener's queue at 5",
                lambda: query(ns, f'sockdoc_listener_queue{{listener="{path}"}} == 5'),
            )
            # the owner of a new socket comes from the exporter's background lookup, at most
            # 15 s after the socket appeared (collect/continuous.py EARLY_REFRESH)
            owned = wait_for(
                "the queue series with its owner",
                lambda: query(ns, f'sockdoc_listener_queue{{listener="{path}", process!=""}} == 5'),
                timeout=40,
            )
            assert owned[0]["metric"]["process"] == scenario.info["comm"]
            backlog = query(ns, f'sockdoc_listener_backlog{{listener="{path}"}}')
            assert backlog[0]["value"][1] == "4"
            rising = wait_for(
                "UDP receive errors rising",
                lambda: query(
                    ns, 'increase(sockdoc_udp_receive_buffer_errors_total{proto="udp"}[5s]) > 0'
                ),
            )
            assert rising
            finding = wait_for(
                "the unix-listen-queue-full finding",
                lambda: query(ns, 'sockdoc_finding{rule="unix-listen-queue-full"} == 1'),
            )
            assert finding[0]["metric"]["subject"] == path

            def alerts() -> dict[str, set[str]]:
                data = api(ns, "/api/v1/alerts")
                states: dict[str, set[str]] = {}
                for a in data["alerts"] if data else []:
                    states.setdefault(a["labels"]["alertname"], set()).add(a["state"])
                return states

            states = wait_for(
                "the listen-queue and receive-buffer alerts",
                lambda: (
                    (
                        s
                        if {"SockdocUnixListenQueueFull", "SockdocUDPReceiveBufferErrors"} <= set(s)
                        else None
                    )
                    if (s := alerts())
                    else None
                ),
            )
            print("alerts:", {k: sorted(v) for k, v in sorted(states.items())})
            assert states["SockdocUnixListenQueueFull"] & {"pending", "firing"}
            print(
                "UDP receive errors before the scenario:",
                before[0]["value"][1] if before else None,
                "; queue series:",
                queue[0]["metric"],
            )
        finally:
            if scenario is not None:
                scenario.stop()
            for proc in (server, exporter):
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
