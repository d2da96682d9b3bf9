"""``sockdoc lab``: each scenario makes its failure happen with real kernel sockets in its own
network namespaces, the application's count, the kernel's counter (read by sockdoc) and the
standard tool's reading (nstat, ss) agree exactly, and ``sockdoc check`` run in the namespace
while it happens ranks the scenario's cause first, naming the socket or process it made.

Workloads with a known outcome use prime counts (a burst of 29 connects at a listener that
holds 6 drops exactly 23 SYNs). Every test checks that nothing is left behind: no namespace,
no agent process, no socket directory. Needs root (namespaces): under CI=true these run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from netnskit import require_root, run_sockdoc

from sockdoc.cli import main
from sockdoc.lab import runner, sandbox
from sockdoc.lab.scenarios import SCENARIOS

pytestmark = pytest.mark.usefixtures("root")


@pytest.fixture
def root() -> None:
    require_root()


def _leftovers() -> list[str]:
    found = [f"netns {n}" for n in sandbox.namespaces() if n.startswith("sdlab-")]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.find("(") + 1 : stat.rfind(")")]
            state = stat[stat.rfind(")") + 2 :].split()[0]
            if comm.startswith("lab-") and state != "Z":
                found.append(f"process {proc.name} {comm}")
    found += [f"dir {p}" for p in Path("/tmp").glob("sdlab-*")]
    return found


def leftovers(wait: float = 3.0) -> list[str]:
    """Anything a lab run made that still exists. A process killed with SIGKILL a moment ago
    may still be on its way out, so allow it ``wait`` seconds to go."""
    deadline = time.monotonic() + wait
    while (found := _leftovers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Any:
    yield
    assert leftovers() == []


def lab_json(*args: str) -> tuple[int, dict[str, Any]]:
    done = run_sockdoc("lab", *args, "--json", timeout=90)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def counted(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["rows"] if r["agree"] is not None]


# --- each scenario with its default arguments, as the README runs it -----------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_default_run_agrees_exactly_and_check_names_the_cause(name: str) -> None:
    code, doc = lab_json(name)
    assert code == 0, doc
    assert doc["agree"] is True
    assert counted(doc), "every scenario has at least one event counted from two sides"
    for row in counted(doc):
        assert row["agree"], row
    assert doc["metric"]["value"] > 0, "the default run makes the failure happen"
    check = doc["check"]
    assert check["proved"], check
    top = check["top"]
    assert top["rule"] == SCENARIOS[name].rule
    assert top["severity"] in ("warning", "error", "critical")
    expected = check["expected"]
    if expected["subject"] is not None:
        assert top["subject"]["name"] == expected["subject"]
    assert top["subject"]["pid"] == expected["pid"]
    assert top["subject"]["program"].startswith("lab-")
    series = doc["timeline"]["series"]
    assert all(len(v) >= 10 for v in series.values()), "a 100 ms timeline over the run"


# --- known workloads: exact, prime counts --------------------------------------------------


def test_tcp_backlog_a_burst_of_29_at_a_listener_holding_6_drops_exactly_23() -> None:
    r = runner.run(
        SCENARIOS["tcp-backlog"],
        {"burst": 29, "bursts": 1, "backlog": 5, "accept_rate": 0},
        check=False,
    )
    rows = {row.event: row for row in r.report.rows}
    dropped = rows["SYNs dropped: accept queue full"]
    assert (dropped.app, dropped.kernel, dropped.cross) == (23, 23, 23)
    at_listener = rows["SYNs dropped at this listener"]
    assert (at_listener.app, at_listener.kernel, at_listener.cross) == (23, 23, 23)
    established = rows["connections established"]
    assert (established.app, established.kernel, established.cross) == (6, 6, 6)


def test_tcp_backlog_is_clamped_by_somaxconn_in_the_namespace() -> None:
    r = runner.run(
        SCENARIOS["tcp-backlog"],
        {"burst": 29, "bursts": 1, "backlog": 64, "somaxconn": 5, "accept_rate": 0},
        check=False,
    )
    rows = {row.event: row for row in r.report.rows}
    backlog = rows["listen backlog: min(backlog, somaxconn)"]
    assert (backlog.app, backlog.kernel, backlog.cross) == (5, 5, 5)
    assert rows["SYNs dropped: accept queue full"].kernel == 23


def test_udp_receive_26_datagrams_into_a_buffer_that_holds_3_drops_23() -> None:
    r = runner.run(
        SCENARIOS["udp-receive"],
        {"rcvbuf": 4096, "read_rate": 0, "count": 26, "rate": 1000},
        check=False,
    )
    for row in r.report.rows:
        assert (row.app, row.kernel) == (23, 23), row
        assert row.cross in (None, 23)


def test_unix_backlog_one_worker_one_client_26_logins_23_give_up() -> None:
    # listen(1 x 1): the worker takes one, the queue holds backlog + 1 = 2; the service time
    # (1.5 s) outlasts the 500 ms of retries, so the other 23 give up
    r = runner.run(
        SCENARIOS["unix-backlog"],
        {"process_limit": 1, "client_limit": 1, "service_ms": 1500, "logins": 26, "rate": 10000},
        check=False,
    )
    rows = {row.event: row for row in r.report.rows}
    assert rows["logins that gave up after 500 ms of EAGAIN"].app == 23
    backlog = rows["listen backlog: min(client_limit x process_limit, somaxconn)"]
    assert (backlog.app, backlog.kernel, backlog.cross) == (1, 1, 1)
    peak = rows["most connections ever queued (backlog + 1 when full)"]
    assert (peak.app, peak.kernel) == (2, 2)


def test_udp_send_every_refused_answer_is_one_sndbuf_error() -> None:
    r = runner.run(SCENARIOS["udp-send"], {"bursts": 2, "burst": 101}, check=False)
    refused = r.report.rows[0]
    assert refused.app is not None and refused.app > 0
    assert refused.app == refused.kernel == refused.cross
    assert r.agree


def test_fd_limit_clients_beyond_the_limit_wait_in_the_accept_queue() -> None:
    r = runner.run(SCENARIOS["fd-limit"], {"nofile": 16, "clients": 23, "seconds": 1}, check=False)
    waiting = r.report.rows[0]
    assert waiting.app == waiting.kernel == waiting.cross
    assert waiting.app is not None and 0 < waiting.app < 23
    served = r.report.rows[3]
    assert served.app is not None and served.app + waiting.app == 23


# --- sweeps ----------------------------------------------------------------------------------


def test_sweep_a_larger_send_buffer_gives_no_more_failures_and_draws_the_curve(
    tmp_path: Path,
) -> None:
    plot = tmp_path / "sweep.png"
    code, doc = lab_json(
        "udp-send", "--bursts", "2", "--sweep", "sndbuf=16384,65536,262144", "--plot", str(plot)
    )
    assert code == 0, doc
    values = [p["metric"] for p in doc["points"]]
    assert [p["value"] for p in doc["points"]] == [16384, 65536, 262144]
    assert values[0] > 0, "the smallest buffer fails"
    assert values == sorted(values, reverse=True), values
    assert all(p["agree"] for p in doc["points"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["plot"] == str(plot)


def test_sweep_more_processes_give_no_more_failed_logins() -> None:
    code, doc = lab_json(
        "unix-backlog", "--logins", "41", "--rate", "80", "--sweep", "process_limit=1,8"
    )
    assert code == 0, doc
    few, many = (p["metric"] for p in doc["points"])
    assert few > 0 and many <= few


# --- evidence kept, errors, interruption ---------------------------------------------------


def test_save_bundle_keeps_evidence_that_check_diagnoses_again(tmp_path: Path) -> None:
    code, doc = lab_json("fd-limit", "--save-bundle", str(tmp_path))
    assert code == 0, doc
    bundle = tmp_path / "fd-limit.tar.gz"
    assert doc["check"]["bundle"] == str(bundle)
    again = run_sockdoc("check", "--bundle", str(bundle), "--json")
    assert again.returncode == 1, again.stderr
    top = json.loads(again.stdout)["findings"][0]
    assert top["rule"] == "daemon-fd-limit"
    assert top["subject"]["program"] == "lab-fdserver"


def test_list_shows_every_scenario_with_a_description() -> None:
    done = run_sockdoc("lab", "list")
    assert done.returncode == 0
    for name, spec in SCENARIOS.items():
        assert f"{name}  " in done.stdout and spec.summary in done.stdout
    docs = json.loads(run_sockdoc("lab", "list", "--json").stdout)
    assert {d["name"] for d in docs} == set(SCENARIOS)
    assert all(d["knobs"] and d["rule"] for d in docs)


@pytest.mark.parametrize(
    "args",
    [
        ("udp-send", "--sndbuf", "-5"),
        ("udp-send", "--sweep", "nosuch=1,2"),
        ("udp-send", "--sweep", "sndbuf=1"),
        ("udp-send", "--plot", "x.png"),
        ("nosuch",),
    ],
)
def test_bad_arguments_are_one_usage_error(args: tuple[str, ...]) -> None:
    done = run_sockdoc("lab", *args)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert "Error:" in done.stderr


def test_without_root_the_lab_says_so_and_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Mocked: the uid. A real unprivileged run is not possible here, because the virtualenv's
    # interpreter lives under /root (mode 700), which another user cannot execute.
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", ["sockdoc", "lab", "tcp-backlog"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 3
    assert "the lab needs root" in capsys.readouterr().err


def _running_lab(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sockdoc", "lab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while not any(n.startswith(f"sdlab-{proc.pid}-") for n in sandbox.namespaces()):
        assert time.monotonic() < deadline, "the lab did not start"
        time.sleep(0.05)
    time.sleep(1.0)  # agents running, collect under way
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_removes_everything(sig: signal.Signals) -> None:
    proc = _running_lab("unix-backlog")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in err


def test_a_killed_run_is_cleaned_by_lab_clean() -> None:
    proc = _running_lab("tcp-backlog")
    proc.kill()
    proc.wait(timeout=10)
    assert any(n.startswith(f"sdlab-{proc.pid}-") for n in sandbox.namespaces())
    done = run_sockdoc("lab", "clean")
    assert done.returncode == 0
    assert "removed 1 namespace" in done.stdout
