"""``sockdoc exporter``: real sockets in a fresh namespace are served as metrics; the endpoint
survives concurrent scrapes, slow clients and garbage; TLS and basic auth from a web config.

Each server runs as a real ``sockdoc exporter`` process inside a namespace the test made, and
is reached through ``ip netns exec`` (curl-like requests from a small client script run in the
namespace) or, for the robustness tests, on loopback of the host with a free port.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from netnskit import Scenario, namespace, require_root, run_sockdoc
from prometheus_client.parser import text_string_to_metric_families

from sockdoc.exporter import CONNECTION_TIMEOUT, WebConfigError, parse_web_config

METRICS = Path(__file__).parent.parent / "docs" / "metrics.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Exporter:
    """A running ``sockdoc exporter`` (optionally in a namespace), stopped by pid."""

    def __init__(self, *args: str, netns: str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        argv = [sys.executable, "-m", "sockdoc", "exporter", "--listen", f"127.0.0.1:{self.port}"]
        if netns is not None:
            argv = ["ip", "netns", "exec", netns, *argv]
        self.proc = subprocess.Popen([*argv, *args], stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        assert "serving" in line, line + self.proc.stderr.read()

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    e = Exporter()
    try:
        yield e
    finally:
        e.stop()


def get(port: int, path: str = "/metrics", timeout: float = 10.0, **headers: str) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def documented() -> set[str]:
    names: set[str] = set()
    for line in METRICS.read_text().splitlines():
        if line.startswith("| `sockdoc_"):
            for part in line.split("|")[1].split("/"):
                names.add(part.strip().strip("`"))
    return names


# --- what is served -----------------------------------------------------------------------


def test_print_serves_every_always_present_family_as_documented() -> None:
    done = run_sockdoc("exporter", "--print", timeout=60)
    assert done.returncode == 0, done.stderr
    got = samples(done.stdout)
    served = {n.removesuffix("_total") for n in got}
    for name in (
        "sockdoc_udp_send_buffer_errors",
        "sockdoc_tcp_listen_overflows",
        "sockdoc_listeners",
        "sockdoc_source_up",
        "sockdoc_scrape_duration_seconds",
        "sockdoc_build_info",
    ):
        assert name in served, name
    known = {n.removesuffix("_total") for n in documented()}
    undocumented = {n for n in served if n.startswith("sockdoc_")} - known
    assert not undocumented, f"served but not in docs/metrics.md: {undocumented}"


def test_a_namespace_with_full_queues_is_served_with_owners_and_findings(tmp_path: Path) -> None:
    require_root()
    os.chmod(tmp_path, 0o755)
    with namespace("sdexp") as ns:
        scenario = Scenario(ns, "overflow.py", str(tmp_path), "30")
        exp = Exporter(netns=ns)
        try:
            time.sleep(1.5)
            code = (
                "import urllib.request,sys;"
                f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{exp.port}/metrics',"
                "timeout=10).read().decode())"
            )
            deadline = time.monotonic() + 40
            while True:  # owners come from the background refresh: wait for them
                text = subprocess.run(
                    ["ip", "netns", "exec", ns, sys.executable, "-c", code],
                    capture_output=True, text=True, timeout=30, check=True,
                ).stdout  # fmt: skip
                got = samples(text)
                unix = [
                    (labels, v)
                    for labels, v in got["sockdoc_listener_queue"]
                    if labels["listener"] == scenario.info["unix"]
                ]
                if (unix and unix[0][0]["process"]) or time.monotonic() > deadline:
                    break
                time.sleep(1)
        finally:
            exp.stop()
            scenario.stop()
    assert unix == [({"kind": "unix", "listener": scenario.info["unix"],
                      "process": scenario.info["comm"]}, 5.0)]  # fmt: skip
    backlog = {lab["listener"]: v for lab, v in got["sockdoc_listener_backlog"]}
    assert backlog[scenario.info["unix"]] == 4
    assert backlog["127.0.0.1:7070"] == 2
    rules = {lab["rule"] for lab, v in got.get("sockdoc_finding", []) if v == 1}
    assert {"unix-listen-queue-full", "udp-receive-buffer-errors"} <= rules
    drops = {lab["socket"]: v for lab, v in got["sockdoc_udp_socket_drops_total"]}
    assert drops["127.0.0.1:5353"] > 0
    assert got["sockdoc_udp_receive_buffer_errors_total"][0][1] > 0


# --- robustness --------------------------------------------------------------------------------


def test_200_concurrent_scrapes_share_work_and_memory_stays_bounded(exporter: Exporter) -> None:
    get(exporter.port)
    before = exporter.rss_kb()
    results: list[int] = []
    lock = threading.Lock()

    def scrape() -> None:
        try:
            status, _ = get(exporter.port, timeout=30)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = -1
        with lock:
            results.append(status)

    threads = [threading.Thread(target=scrape) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 200
    assert set(results) <= {200, 503}, results
    assert results.count(200) >= 100
    status, _ = get(exporter.port)
    assert status == 200
    assert exporter.rss_kb() - before < 64 * 1024, "more than 64 MiB for 200 scrapes"


def test_slow_clients_are_cut_off_and_do_not_block_scrapes(exporter: Exporter) -> None:
    slow = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", exporter.port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
        slow.append(s)
    started = time.monotonic()
    status, _ = get(exporter.port)
    assert status == 200 and time.monotonic() - started < 5
    time.sleep(CONNECTION_TIMEOUT + 1)
    closed = 0
    for s in slow:
        s.settimeout(2)
        try:
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
        s.close()
    assert closed == 50


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x00\xff garbage\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"BREW /metrics HTTP/1.1\r\n\r\n",
        b"GET /../../etc/passwd HTTP/1.1\r\n\r\n",
        b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    ],
)
def test_garbage_gets_an_error_answer_and_the_server_stays_up(
    exporter: Exporter, request_bytes: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", exporter.port), timeout=10) as s:
        s.sendall(request_bytes)
        answer = s.recv(4096)
    # an unparseable request line is answered HTTP/0.9 style: the error page without a header
    codes = (b"400", b"404", b"405", b"414", b"431", b"501")
    if answer.startswith(b"HTTP/1."):
        assert answer.split()[1] in codes, answer[:80]
    else:
        assert any(b"Error code: " + c in answer for c in codes), answer[:300]
    status, _ = get(exporter.port)
    assert status == 200


def test_port_in_use_is_one_line_exit_3() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = run_sockdoc("exporter", "--listen", f"127.0.0.1:{port}", timeout=30)
    assert done.returncode == 3
    assert "in use" in done.stderr and "Traceback" not in done.stderr


def test_bad_listen_address_is_a_usage_error() -> None:
    done = run_sockdoc("exporter", "--listen", "nonsense")
    assert done.returncode == 2 and "HOST:PORT" in done.stderr


# --- TLS and basic auth ------------------------------------------------------------------------


def test_web_config_tls_and_basic_auth(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  prom: '{hashed}'\n"
    )
    exp = Exporter("--web-config", str(web))
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        url = f"https://127.0.0.1:{exp.port}/metrics"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url, context=ctx, timeout=10)
        assert denied.value.code == 401
        wrong = base64.b64encode(b"prom:nope").decode()
        with pytest.raises(urllib.error.HTTPError) as denied2:
            urllib.request.urlopen(
                urllib.request.Request(url, headers={"Authorization": f"Basic {wrong}"}),
                context=ctx, timeout=10,
            )  # fmt: skip
        assert denied2.value.code == 401
        good = base64.b64encode(b"prom:s3cret").decode()
        req = urllib.request.Request(url, headers={"Authorization": f"Basic {good}"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            assert resp.status == 200
            assert b"sockdoc_listeners" in resp.read()
        with pytest.raises(OSError):  # plain HTTP on a TLS port: no answer
            get(exp.port, timeout=5)
    finally:
        exp.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls_server_config: {cert_file: a}", "needs both"),
        ("[1, 2]", "mapping"),
        ("nonsense_key: 1", "unknown keys"),
        ("basic_auth_users: [a]", "bcrypt"),
        ("a: [", "not YAML"),
    ],
)
def test_bad_web_config_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(WebConfigError, match=message):
        parse_web_config(text, "web.yml")


def test_bad_web_config_file_exits_3_with_one_line(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("nonsense_key: 1\n")
    done = run_sockdoc("exporter", "--web-config", str(web), "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 3
    assert "unknown keys" in done.stderr and "Traceback" not in done.stderr
