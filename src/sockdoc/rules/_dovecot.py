"""What the dovecot-* rules share: the running Dovecot, its effective services, their sockets,
and what the log scan counted for them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sockdoc.facts.host import Daemon, HostFacts, Listener, Proc
from sockdoc.parsers import doveconf
from sockdoc.parsers.doveconf import DovecotConfig, DovecotService
from sockdoc.parsers.errors import ParseError
from sockdoc.rules.base import Evidence, Subject, pow2_at_least, round_up

# src/master/master-settings.c master_default_settings
DEFAULT_BASE_DIR = "/run/dovecot"
DEFAULT_LISTEN = "*, ::"
DEFAULT_PROTOCOLS = "imap pop3 lmtp"
DEBIAN_MAIN_CONF = "/etc/dovecot/dovecot.conf"
DEBIAN_MASTER_CONF = "/etc/dovecot/conf.d/10-master.conf"
RELOAD = "doveadm reload"

# The services that hold one mail session per process (the wiki's "mail processes").
MAIL_SERVICES = ("imap", "pop3", "managesieve")

# Log signatures (sockdoc.matchers.dovecot) by what they say.
EAGAIN = "dovecot.net-connect-unix.eagain"
REACHED = (
    "dovecot.service.process-limit-reached",
    "dovecot.service.single-client-process-limit-reached",
)
FD_LINES = ("dovecot.fd-exhausted", "dovecot.config.fd-limit-too-low")
_SERVICE_IN_LINE = re.compile(r"service\((?P<name>[^()\s]+)\):")
_SOCKET_IN_LINE = re.compile(r"net_connect_unix\((?P<name>[^()\s]+)\)")
TASK_COMM_LEN = 15  # a process name is cut to 15 bytes (include/linux/sched.h TASK_COMM_LEN - 1)


@dataclass(frozen=True)
class Dovecot:
    """The running Dovecot (when its processes were found) and its configuration."""

    config: DovecotConfig
    daemon: Daemon | None

    @property
    def master(self) -> Proc | None:
        return self.daemon.main if self.daemon is not None else None

    @property
    def protocols(self) -> frozenset[str]:
        return frozenset(self.config.settings.get("protocols", DEFAULT_PROTOCOLS).split())

    @property
    def base_dir(self) -> str:
        return self.config.settings.get("base_dir", DEFAULT_BASE_DIR).rstrip("/")

    @property
    def version(self) -> str | None:
        if self.config.version:
            return self.config.version
        if self.daemon is not None and self.daemon.version:
            return self.daemon.version.split()[0]
        return None

    def service(self, name: str) -> DovecotService | None:
        """Service ``name`` with the values the master uses; None when unknown or unusable."""
        try:
            return doveconf.effective_service(self.config, name)
        except (KeyError, ValueError, ParseError):
            return None

    def enabled(self, svc: DovecotService) -> bool:
        """The master starts the service: no protocol, or its protocol is in ``protocols``."""
        return not svc.protocol or svc.protocol in self.protocols

    def services(self) -> Iterator[DovecotService]:
        """Every service the master runs, with its effective values."""
        names = {s.name for s in self.config.services} | set(doveconf.BUILTIN_SERVICES)
        for name in sorted(names):
            svc = self.service(name)
            if svc is not None and self.enabled(svc):
                yield svc

    def socket_names(self, svc: DovecotService) -> tuple[str, ...]:
        """The names sock_diag gives the service's listening sockets."""
        names = [p if p.startswith("/") else f"{self.base_dir}/{p}" for p in svc.unix_listeners]
        listen = self.config.settings.get("listen", DEFAULT_LISTEN).replace(",", " ").split()
        for inet in svc.inet_listeners:
            if not inet.port:
                continue
            for address in [inet.address] if inet.address else listen:
                a = address.strip("[]")
                if a == "*":
                    names.append(f"0.0.0.0:{inet.port}")
                elif ":" in a:
                    names.append(f"[{a}]:{inet.port}")
                else:
                    names.append(f"{a}:{inet.port}")
        return tuple(names)

    def listeners(self, f: HostFacts, svc: DovecotService) -> list[Listener]:
        wanted = set(self.socket_names(svc))
        return [s for s in f.listeners if s.name in wanted]

    def processes(self, svc: DovecotService) -> int | None:
        """How many processes of the service run (a child's name is its program's)."""
        if self.daemon is None:
            return None
        return self.daemon.count(svc.name[:TASK_COMM_LEN])

    def subject(self, what: str) -> Subject:
        m = self.master
        return Subject("service", what, m.pid if m else None, "dovecot")

    @property
    def reload(self) -> str:
        """The command that makes the running master re-read its configuration."""
        path = self.config.config_path
        if path is None or path == DEBIAN_MAIN_CONF:
            return RELOAD
        return f"doveadm -c {path} reload"

    def config_file(self) -> str:
        """Where service settings go: Debian's conf.d/10-master.conf, else the file in use."""
        path = self.config.config_path
        if path is None or path == DEBIAN_MAIN_CONF:
            return DEBIAN_MASTER_CONF
        return path


def find(f: HostFacts) -> Dovecot | None:
    """Dovecot's configuration (``doveconf -a``, else ``-n``) and processes; None if absent."""
    cfg = f.configs.get("dovecot")
    if not isinstance(cfg, DovecotConfig):
        return None
    return Dovecot(cfg, f.daemon("dovecot"))


def full(s: Listener) -> bool:
    """The sampler saw the listener's queue longer than its backlog (or it is now)."""
    return bool(s.full_samples or s.full_now)


def log_count(f: HostFacts, *signatures: str) -> int:
    if f.logs is None:
        return 0
    return sum(n for sig, n in f.logs.by_signature if sig in signatures)


def log_names(f: HostFacts, signature: str) -> str | None:
    """The service (``service(imap)``) or socket (``net_connect_unix(imap)``) named in the
    example line the scan kept for ``signature``; None when there is none."""
    if f.logs is None:
        return None
    line = f.logs.example_for(signature)
    if line is None:
        return None
    m = _SERVICE_IN_LINE.search(line) or _SOCKET_IN_LINE.search(line)
    return m["name"] if m else None


def logged_for(f: HostFacts, svc: DovecotService, *signatures: str) -> int:
    """Lines of ``signatures`` that name this service or one of its sockets (by the example
    the scan kept: lines of a signature whose example names another service do not count)."""
    total = 0
    sockets = {p.rsplit("/", 1)[-1] for p in svc.unix_listeners}
    for sig in signatures:
        n = log_count(f, sig)
        if not n:
            continue
        name = log_names(f, sig)
        if name is None or name == svc.name or name in sockets:
            total += n
    return total


def longest_queue(socks: list[Listener]) -> int:
    """The longest accept queue the sampler saw on any of ``socks`` (now, if not sampled)."""
    return max([s.peak if s.peak is not None else s.queue for s in socks] or [0])


def sessions_wanted(f: HostFacts, svc: DovecotService, socks: list[Listener], held: int) -> int:
    """Clients that wanted service ``svc`` at once: the ``held`` sessions, the hand-offs queued
    on its sockets, and the logins that failed with EAGAIN. The failed ones found the queue
    full, so they come on top of the queued ones (a burst of 20 logins against one busy imap
    process: 5 queued on a backlog of 4, 15 failed)."""
    return held + longest_queue(socks) + logged_for(f, svc, EAGAIN)


def backlog_evidence(f: HostFacts, svc: DovecotService, socks: list[Listener]) -> list[Evidence]:
    """The listen backlog the master derives from the limits, what the kernel granted, and
    ``net.core.somaxconn``, which caps it (src/master/service-listen.c)."""
    try:
        asked = doveconf.listen_backlog(svc)
    except ValueError:
        return []
    granted = sorted({s.backlog for s in socks})
    somax = f.sysctls.somaxconn
    value = (
        f"{asked} asked (max(process_limit {svc.process_limit} x client_limit "
        f"{svc.client_limit}, {doveconf.MIN_BACKLOG})), "
        f"{'/'.join(str(g) for g in granted) or 'no socket seen'} granted, "
        f"net.core.somaxconn {somax if somax is not None else 'not read'}"
    )
    return [
        Evidence(
            f"listen backlog of service {svc.name}'s sockets", value, "", "doveconf, sock_diag"
        )
    ]


def somaxconn_for(f: HostFacts, backlog: int) -> tuple[tuple[str, int | str], ...]:
    """``net.core.somaxconn`` raised to a power of two at or above ``backlog`` when it is
    below it (the kernel would cut the backlog the new limits give the sockets); else ()."""
    somax = f.sysctls.somaxconn
    if somax is None or somax >= backlog:
        return ()
    return (("net.core.somaxconn", min(pow2_at_least(backlog), 65536)),)


def tidy(n: int) -> int:
    """``n`` rounded up to a tidy number for a configuration (10s, then 100s)."""
    return round_up(n, 10) if n <= 100 else round_up(n, 100)


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """(2, 2, 5) from ``2.2.5`` or ``2.3.19.1 (9b53102964)``; None when unreadable."""
    if not text:
        return None
    m = re.match(r"(\d+(?:\.\d+)*)", text.strip())
    if m is None:
        return None
    return tuple(int(x) for x in m[1].split("."))
