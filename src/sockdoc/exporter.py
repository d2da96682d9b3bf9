"""``sockdoc exporter``: the monitor's state for Prometheus, over a hardened HTTP endpoint.

A scrape runs one :meth:`~sockdoc.monitor.Monitor.step` and renders it
(:mod:`sockdoc.report.prometheus`). Scrapes share work: while a step runs, other scrapes wait
for its result instead of starting their own, and a step younger than ``min_interval`` is
served again. A step that takes longer than ``scrape_timeout`` does not hold the endpoint: the
scrape is answered from the last completed step, with ``sockdoc_source_up{source="step"} 0``.

The HTTP server (standard library ``http.server``, one thread per connection):

- serves ``GET``/``HEAD`` of ``/metrics`` (and a small page at ``/``); anything else is 404 or
  405, a malformed request 400, from ``BaseHTTPRequestHandler`` itself;
- bounds every connection in time (a socket timeout: a client that trickles its request, the
  slowloris attack, is cut off) and in number (``max_connections``: beyond it, an immediate
  503), so memory stays bounded whatever the clients do;
- optionally speaks TLS and checks HTTP basic auth, configured by a web configuration file in
  the format of the Prometheus exporter-toolkit (``tls_server_config.cert_file``/``key_file``,
  ``basic_auth_users`` with bcrypt hashes), so one file serves sockdoc and node_exporter alike.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from sockdoc import __version__
from sockdoc.monitor import Monitor, State
from sockdoc.report.prometheus import families

DEFAULT_PORT = 10271
CONNECTION_TIMEOUT = 10.0  # seconds a client has for its request (and we for the answer)
MAX_CONNECTIONS = 128


class WebConfigError(ValueError):
    """The web configuration file is unusable; the message says why."""


@dataclass(frozen=True)
class WebConfig:
    cert_file: str | None = None
    key_file: str | None = None
    users: Mapping[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash


def parse_web_config(text: str, source: str) -> WebConfig:
    """The exporter-toolkit web configuration (YAML) that sockdoc understands.

    >>> c = parse_web_config("basic_auth_users:\\n  prom: $2b$12$abc\\n", "web.yml")
    >>> dict(c.users), c.cert_file
    ({'prom': b'$2b$12$abc'}, None)
    >>> parse_web_config("tls_server_config:\\n  cert_file: a.crt\\n", "web.yml")
    Traceback (most recent call last):
    ...
    sockdoc.exporter.WebConfigError: web.yml: tls_server_config needs both cert_file and key_file
    """
    import yaml  # noqa: PLC0415 (only with --web-config)

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise WebConfigError(f"{source}: not YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise WebConfigError(f"{source}: expected a mapping at the top")
    unknown = set(doc) - {"tls_server_config", "basic_auth_users", "http_server_config"}
    if unknown:
        raise WebConfigError(f"{source}: unknown keys {sorted(unknown)}")
    tls = doc.get("tls_server_config") or {}
    cert, key = tls.get("cert_file"), tls.get("key_file")
    if bool(cert) != bool(key):
        raise WebConfigError(f"{source}: tls_server_config needs both cert_file and key_file")
    users = doc.get("basic_auth_users") or {}
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise WebConfigError(f"{source}: basic_auth_users maps user names to bcrypt hashes")
    return WebConfig(cert, key, {str(u): h.encode() for u, h in users.items()})


class SockdocCollector(Collector):
    """Runs steps for scrapes, one at a time, and renders the newest state."""

    def __init__(
        self, monitor: Monitor, min_interval: float = 1.0, scrape_timeout: float = 8.0
    ) -> None:
        self.monitor = monitor
        self.min_interval = min_interval
        self.scrape_timeout = scrape_timeout
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._running = False
        self._state: State | None = None
        self._at = 0.0
        self._error: str | None = None

    def _run_step(self) -> None:
        try:
            state: State | None = self.monitor.step()
            error = None
        except Exception as exc:  # a failed step is one scrape's error, not the server's end
            state, error = None, f"{type(exc).__name__}: {exc}"
        with self._lock:
            if state is not None:
                self._state, self._at = state, time.monotonic()
            self._error = error
            self._running = False
            self._done.notify_all()

    def latest(self) -> tuple[State | None, bool]:
        """The newest state, and whether it is fresh (a step finished for this scrape)."""
        deadline = time.monotonic() + self.scrape_timeout
        with self._lock:
            if self._state is not None and time.monotonic() - self._at < self.min_interval:
                return self._state, True
            if not self._running:
                self._running = True
                threading.Thread(target=self._run_step, name="sockdoc-step", daemon=True).start()
            started = self._at
            while self._running and time.monotonic() < deadline:
                self._done.wait(deadline - time.monotonic())
            fresh = self._at != started
            return self._state, fresh

    def collect(self) -> Iterator[Metric]:
        state, fresh = self.latest()
        if state is None:
            return
        yield from families(state, () if fresh else ("step",))


def _registry(collector: SockdocCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)  # the exporter's own CPU, memory and descriptors
    return registry


_PAGE = (
    "<html><head><title>sockdoc exporter</title></head><body><h1>sockdoc exporter "
    f"{__version__}</h1><p><a href='/metrics'>/metrics</a></p></body></html>\n"
).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = CONNECTION_TIMEOUT
    server_version = f"sockdoc-exporter/{__version__}"
    protocol_version = "HTTP/1.0"

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, with the timeout, not in the accept loop

    def log_message(self, format: str, *args: Any) -> None:
        return  # no access log: a scraper every 15 s would flood the journal

    def _authorized(self) -> bool:
        users = self.server.web.users
        if not users:
            return True
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                user, _, password = (
                    base64.b64decode(header[6:], validate=True).decode().partition(":")
                )
                hashed = users.get(user)
                if hashed is not None and _checkpw(password.encode(), hashed):
                    return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="sockdoc"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _answer(self, body: bool) -> None:
        if not self._authorized():
            return
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            data = encoder(self.server.registry)
        elif path == "/":
            data, content_type = _PAGE, "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def do_POST(self) -> None:
        self.send_error(405)

    do_PUT = do_DELETE = do_PATCH = do_POST


def _checkpw(password: bytes, hashed: bytes) -> bool:
    import bcrypt  # noqa: PLC0415 (only with basic auth)

    try:
        return bool(bcrypt.checkpw(password, hashed))
    except ValueError:
        return False


_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        web: WebConfig,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.registry = registry
        self.web = web
        self._slots = threading.BoundedSemaphore(max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        if web.cert_file and web.key_file:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(web.cert_file, web.key_file)
            self.socket = ctx.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                if not isinstance(request, ssl.SSLSocket):
                    request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that went away or spoke garbage costs its connection only


def make_server(monitor: Monitor, host: str, port: int, web: WebConfig | None = None) -> _Server:
    """The exporter's server, bound and listening (an address in use raises OSError here),
    with a first step already taken, so that the first scrape has rates. Serve it with
    ``serve_forever()``; ``shutdown()`` from another thread stops it."""
    collector = SockdocCollector(monitor)
    server = _Server((host, port), _registry(collector), web or WebConfig())
    collector.latest()
    return server
