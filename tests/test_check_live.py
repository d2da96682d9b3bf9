"""``sockdoc check`` against real overflowing sockets in a fresh network namespace.

The scenario (tests/scenarios/overflow.py) holds a UNIX listener with listen(4) and 5 queued
connections (4 more refused with EAGAIN), a TCP listener with listen(2) overflowing, and a
UDP socket with a 4 KB receive buffer that is flooded and never read. check must name exactly
these three sockets, with the scenario's pid as their owner.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from netnskit import Scenario, namespace, run_sockdoc

import sockdoc.parsers.bind_stats
import sockdoc.parsers.doveconf
import sockdoc.parsers.named_conf
import sockdoc.parsers.nginx_conf
import sockdoc.parsers.phpfpm_conf
import sockdoc.parsers.proc_pid  # noqa: F401  (imported before a child drops privileges)
from sockdoc.collect import bundle, netns
from sockdoc.collect.gather import GatherOptions, gather
from sockdoc.collect.root import LiveRoot
from sockdoc.engine import diagnose
from sockdoc.facts.host import build
from sockdoc.report import check_json

NOBODY = 65534


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("overflow")
    os.chmod(directory, 0o755)
    with namespace("sdcheck") as ns:
        scenario = Scenario(ns, "overflow.py", str(directory), "60")
        try:
            yield ns, scenario.info
        finally:
            scenario.stop()


def in_child(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child (it may setns or drop privileges); return its JSON."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 1
        try:
            os.close(read_fd)
            os.write(write_fd, json.dumps(fn()).encode())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "child failed"
    return json.loads(data)


def subjects(doc: dict[str, Any]) -> set[tuple[str, str, int | None]]:
    return {(f["rule"], f["subject"]["name"], f["subject"]["pid"]) for f in doc["findings"]}


def test_check_names_exactly_the_overflowing_sockets_and_their_owner(
    overflowing: tuple[str, dict[str, Any]],
) -> None:
    ns, info = overflowing
    assert info["unix_eagain"] == 4 and info["unix_queued"] == 5
    run = run_sockdoc("check", "--netns", ns, "--json", "--no-logs", "--interval", "1")
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    pid = info["pid"]
    assert subjects(doc) == {
        ("unix-listen-queue-full", info["unix"], pid),
        ("tcp-listen-queue-full", info["tcp"], pid),
        ("udp-receive-buffer-errors", info["udp"], pid),
    }
    unix = next(f for f in doc["findings"] if f["rule"] == "unix-listen-queue-full")
    assert unix["cause"] == "unix-listen-queue-full"
    ev = {e["name"]: e["value"] for e in unix["evidence"]}
    assert ev["queue now / backlog"] == "5 / 4"
    assert unix["subject"]["program"] == info["comm"]
    udp = next(f for f in doc["findings"] if f["rule"] == "udp-receive-buffer-errors")
    dropped = {e["name"]: e["value"] for e in udp["evidence"]}
    # the socket's own drop count and the namespace's counter agree (it is the only socket),
    # within one burst of 40: the counters and the socket dump are read a moment apart
    mine = dropped["datagrams this socket dropped in the interval"]
    assert mine > 0
    assert abs(mine - dropped["receive-buffer errors in the interval"]) <= 40
    assert dropped["its SO_RCVBUF"] == 8192  # 4096 asked, doubled by the kernel (socket(7))
    assert doc["netns"] == ns


def test_bundle_round_trip_gives_the_same_diagnosis(
    overflowing: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    ns, _info = overflowing
    out = tmp_path / "b.tar.gz"

    def live() -> Any:
        netns.enter(netns.path_for(ns, None) or "")
        root = LiveRoot()
        collected = gather(root, GatherOptions(interval=1.0, logs=(), netns=ns))
        root.close()
        bundle.write(collected.got, str(out), seconds=1.0, netns=ns)
        return check_json.to_json(diagnose(build(collected)))

    now = in_child(live)
    run = run_sockdoc("check", "--bundle", str(out), "--json")
    assert run.returncode == 1, run.stderr
    replay = json.loads(run.stdout)
    assert now["source"] == "live" and replay["source"] == "bundle"
    for key in (
        "findings",
        "ok",
        "not_checked",
        "unavailable",
        "errors",
        "host",
        "netns",
        "interval",
        "taken_at",
    ):
        assert replay[key] == now[key], key


def test_unprivileged_run_reports_denied_sources(overflowing: tuple[str, dict[str, Any]]) -> None:
    ns, info = overflowing

    def as_nobody() -> Any:
        netns.enter(netns.path_for(ns, None) or "")
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        root = LiveRoot()
        collected = gather(root, GatherOptions(interval=0.5, logs=()))
        root.close()
        return check_json.to_json(diagnose(build(collected)))

    doc = in_child(as_nobody)
    denied = [u for u in doc["unavailable"] if u["status"] == "denied"]
    assert any(u["source"] == "owners" and u["needs_root"] for u in denied), doc["unavailable"]
    # the overflow is still seen, but nobody may not see who owns the socket: no owner is
    # invented, and the evidence says to run as root
    unix = next(f for f in doc["findings"] if f["rule"] == "unix-listen-queue-full")
    assert unix["subject"]["name"] == info["unix"]
    assert unix["subject"]["pid"] is None
    assert any("run as root" in str(e["value"]) for e in unix["evidence"])


def test_pid_selects_the_namespace_of_a_process(overflowing: tuple[str, dict[str, Any]]) -> None:
    _ns, info = overflowing
    run = run_sockdoc(
        "check", "--pid", str(info["pid"]), "--json", "--no-logs", "--interval", "0.5"
    )
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    assert doc["netns"] == f"pid:{info['pid']}"
    assert ("unix-listen-queue-full", info["unix"], info["pid"]) in subjects(doc)
