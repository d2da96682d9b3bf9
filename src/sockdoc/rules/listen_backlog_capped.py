"""A listener got a smaller accept queue than its program asked for: net.core.somaxconn cut it.

``listen(fd, backlog)`` silently reduces ``backlog`` to ``net.core.somaxconn`` of the socket's
network namespace (``__sys_listen()``, net/socket.c), for TCP and UNIX sockets alike, and the
cut is fixed for the socket's life: raising the sysctl later helps only once the program calls
``listen()`` again (a restart). So a backlog set in a daemon's configuration can be a number
that never took effect: nginx ``listen ... backlog=N`` (src/core/ngx_connection.c), php-fpm
``listen.backlog`` (sapi/fpm/fpm/fpm_sockets.c), and Dovecot, which gives each service's
sockets ``process_limit * client_limit`` (at least 4, and at most 511 up to 2.2.25;
src/master/service-listen.c). A burst longer than the granted queue is refused (UNIX: EAGAIN)
or dropped (TCP: ``ListenOverflows``).

Proof: the socket's backlog as the kernel reports it (``ss -l`` Send-Q, read with sock_diag)
equals ``net.core.somaxconn`` and is below what the configuration asks; or any listener at
exactly ``net.core.somaxconn`` that the sampler saw full. Severity: error when that listener
was seen full; warning when an explicit setting (nginx ``backlog=``, php-fpm
``listen.backlog``) is cut; info when only a default or derived value is (nginx's 511, a
Dovecot mail service's limits product). Dovecot's internal services (config, anvil,
dict...), and any service whose product exceeds 65,536 (a login service in high-performance
mode: 100 x 1000), are only reported when full. php-fpm's ``listen.backlog = -1`` (its
default since PHP 8.2) means "as much as the kernel allows" and is not a cut.

Fix: ``net.core.somaxconn`` set to the power of two at or above the requested backlog (at
most 65,536 for a derived request such as Dovecot's), then a restart of the daemon so that
it listens again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, Listener
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers import doveconf
from sockdoc.parsers.doveconf import DovecotConfig
from sockdoc.parsers.nginx_conf import NginxConfig
from sockdoc.parsers.phpfpm_conf import PhpFpmPool
from sockdoc.rules._common import owner_text, sampled, socket_subject
from sockdoc.rules._dovecot import Dovecot, version_tuple
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    pow2_at_least,
)
from sockdoc.rules.daemon_fd_limit import unit_for

ID = "listen-backlog-capped"
UNIX_KEY = "s1/sock_diag/unix_listen"
TCP_KEY = "s1/sock_diag/tcp_listen"
SOMAXCONN_KEY = "proc/sys/net/core/somaxconn"
# Dovecot up to 2.2.25 capped the product itself (src/master/service-listen.c MAX_BACKLOG)
DOVECOT_OLD_MAX = 511
# What a derived request (Dovecot's process_limit x client_limit, 100,000 by default) is met
# with at most: a deeper queue only hides a server that has stopped accepting.
MAX_DERIVED = 65536


@dataclass(frozen=True)
class Request:
    """A backlog a daemon asks for on one socket, and where that number comes from."""

    daemon: str
    names: tuple[str, ...]  # socket names (as sock_diag names them) this request applies to
    requested: int
    origin: str  # the setting, in the daemon's own words
    explicit: bool  # written by the administrator (not a default or a derived value)
    relevant: bool  # worth an info finding when cut but never full


def _inet_names(address: str, port: int) -> tuple[str, ...]:
    """Names of the socket(s) for ``address``/``port`` ("*" is every IPv4 address)."""
    a = address.strip()
    if a in ("*", "0.0.0.0"):  # noqa: S104 (an address read from a configuration)
        return (f"0.0.0.0:{port}",)
    if a in ("::", "[::]"):
        return (f"[::]:{port}",)
    a = a.strip("[]")
    return (f"[{a}]:{port}",) if ":" in a else (f"{a}:{port}",)


def _nginx(cfg: NginxConfig) -> Iterator[Request]:
    for li in cfg.sockets():
        backlog = li.effective_backlog
        if backlog is None:
            continue
        if li.unix_path is not None:
            names: tuple[str, ...] = (li.unix_path,)
        elif li.port is not None:
            names = _inet_names(li.address, li.port)
        else:
            continue
        where = f"{li.file}:{li.line}" if li.line else li.file
        text = f"backlog={li.backlog}" if li.backlog is not None else "no backlog= (default 511)"
        yield Request(
            "nginx",
            names,
            backlog,
            f"listen {names[0]} {text} ({where})",
            li.backlog is not None,
            True,
        )


def _phpfpm(pools: Iterable[PhpFpmPool]) -> Iterator[Request]:
    for pool in pools:
        if pool.listen_backlog is None:
            continue  # -1: the kernel's maximum, so nothing to cut
        if pool.unix_path is not None:
            names: tuple[str, ...] = (pool.unix_path,)
        elif pool.port is not None:
            host = pool.listen.rsplit(":", 1)[0] if ":" in pool.listen else ""
            names = (
                _inet_names(host, pool.port)
                if host
                else (f"0.0.0.0:{pool.port}", f"[::]:{pool.port}")
            )
        else:
            continue
        yield Request(
            "php-fpm",
            names,
            pool.listen_backlog,
            f"[{pool.name}] listen.backlog = {pool.listen_backlog} ({pool.file})",
            True,
            True,
        )


def _dovecot(cfg: DovecotConfig) -> Iterator[Request]:
    dc = Dovecot(cfg, None)
    version = version_tuple(cfg.version)
    for svc in dc.services():  # the services of disabled protocols are not started
        try:
            backlog = doveconf.listen_backlog(svc)
        except ValueError:
            continue
        if version is not None and version < (2, 2, 26):
            backlog = min(backlog, DOVECOT_OLD_MAX)
        socks = dc.socket_names(svc)
        if not socks:
            continue
        yield Request(
            "dovecot",
            socks,
            backlog,
            f"service {svc.name} {{ process_limit = {svc.process_limit}, "
            f"client_limit = {svc.client_limit} }}: backlog = {svc.process_limit} x "
            f"{svc.client_limit}",
            False,
            # imap-hibernate has imap's protocol but only takes idle sessions from imap; a
            # product above MAX_DERIVED comes from multiplied defaults (a login service in
            # high-performance mode: 100 x 1000), not from a capacity anyone planned
            bool(svc.protocol) and svc.name != "imap-hibernate" and backlog <= MAX_DERIVED,
        )


def requests(f: HostFacts) -> list[Request]:
    """What each configured daemon asks ``listen()`` for, per socket."""
    out: list[Request] = []
    if f.configs.get("nginx") is not None:
        out.extend(_nginx(f.configs["nginx"]))
    if f.configs.get("php-fpm"):
        out.extend(_phpfpm(f.configs["php-fpm"]))
    if f.configs.get("dovecot") is not None:
        out.extend(_dovecot(f.configs["dovecot"]))
    return out


def _full(s: Listener) -> bool:
    return bool(s.full_samples or s.full_now or (s.drops or 0) > 0)


def _unit(f: HostFacts, s: Listener, daemon: str | None) -> str | None:
    """The systemd unit to restart: the daemon's, else the socket owner's."""
    for d in f.daemons:
        if d.name == daemon:
            return unit_for(d)
    if s.owner is not None:
        for d in f.daemons:
            if any(p.pid == s.owner.pid for p in d.processes):
                return unit_for(d)
    return None


def _evidence(f: HostFacts, s: Listener, somax: int, req: Request | None) -> tuple[Evidence, ...]:
    ev = [
        Evidence("listener", f"{s.name} owned by {owner_text(s, f)}", "", "sock_diag"),
    ]
    if req is not None:
        ev.append(Evidence("backlog asked for", req.requested, "", req.origin))
    ev += [
        Evidence("backlog granted (ss -l Send-Q)", s.backlog, "", "sock_diag"),
        Evidence("net.core.somaxconn", somax, "", "/proc/sys/net/core/somaxconn"),
        Evidence("queue now", s.queue, "", "sock_diag"),
        Evidence(
            "longest queue seen", s.peak if s.peak is not None else s.queue, "", "attribution"
        ),
        Evidence("samples with the queue full", s.full_samples, "", sampled(f)),
    ]
    if s.drops:
        ev.append(Evidence("connections dropped", s.drops, "", "sock_diag SK_MEMINFO drops"))
    return tuple(ev)


def _fix(f: HostFacts, s: Listener, somax: int, want: int, unit: str | None) -> Fix:
    where = f" (in network namespace {f.netns})" if f.netns else ""
    restart = f"systemctl restart {unit}" if unit else "restart the daemon that owns it"
    if somax >= want:
        return Fix(
            f"net.core.somaxconn{where} is already {somax:,}; the socket was made before it "
            f"was raised: {restart} so that it listens again.",
            commands=(restart,) if unit else (),
        )
    return Fix(
        f"Raise net.core.somaxconn{where} from {somax:,} to {want:,}, then {restart}: the "
        "cut is made when the socket starts listening.",
        sysctls=(("net.core.somaxconn", want),),
        commands=(restart,) if unit else (),
    )


def _severity(s: Listener, req: Request | None) -> Severity | None:
    if _full(s):
        return Severity.ERROR
    if req is None:
        return None
    if req.explicit:
        return Severity.WARNING
    return Severity.INFO if req.relevant else None


def check(f: HostFacts) -> Iterator[Outcome]:
    somax = f.sysctls.somaxconn
    if somax is None:
        yield NotChecked(ID, "net.core.somaxconn not read", (SOMAXCONN_KEY,))
        return
    if f.missing(UNIX_KEY) and f.missing(TCP_KEY):
        yield NotChecked(ID, "listening sockets not read (sock_diag)", (TCP_KEY, UNIX_KEY))
        return
    by_name: dict[str, list[Listener]] = {}
    for s in f.listeners:
        by_name.setdefault(s.name, []).append(s)
    seen: set[int] = set()
    cut_quiet = 0
    found = False
    for req in requests(f):
        for name in req.names:
            for s in by_name.get(name, ()):
                if s.inode in seen or s.backlog >= req.requested:
                    continue
                seen.add(s.inode)
                severity = _severity(s, req)
                if severity is None:
                    cut_quiet += 1
                    continue
                found = True
                yield _finding(f, s, somax, req, severity)
    for s in f.listeners:
        if s.inode in seen or s.backlog != somax or not _full(s):
            continue
        found = True
        yield _finding(f, s, somax, None, Severity.ERROR)
    if not found:
        count = len(f.listeners)
        extra = (
            f"; {cut_quiet} more got less than a derived backlog (Dovecot's process_limit x "
            "client_limit) but were never full"
            if cut_quiet
            else ""
        )
        yield Ok(
            ID,
            f"{count} listeners checked against net.core.somaxconn {somax:,}: none got less "
            f"than its configuration asks, none at the ceiling seen full{extra}",
        )


def _finding(
    f: HostFacts, s: Listener, somax: int, req: Request | None, severity: Severity
) -> Finding:
    daemon = req.daemon if req is not None else None
    unit = _unit(f, s, daemon)
    who = owner_text(s, f)
    if req is not None:
        want = pow2_at_least(req.requested)
        if not req.explicit:
            want = min(want, MAX_DERIVED)
        explanation = (
            f"{req.origin} asks for a queue of {req.requested:,} on {s.name}, but the kernel "
            f"granted {s.backlog:,} (net.core.somaxconn is {somax:,})."
        )
        title = (
            f"{s.name}: backlog {req.requested:,} asked, {s.backlog:,} granted (net.core.somaxconn)"
        )
    else:
        want = pow2_at_least(2 * somax)
        explanation = (
            f"{s.name} ({who}) has a backlog of exactly net.core.somaxconn ({somax:,}), so its "
            "program asked for at least that much and may have been cut."
        )
        title = f"{s.name}: full at a backlog of net.core.somaxconn ({somax:,})"
    if _full(s):
        explanation += (
            f" The queue was full in {s.full_samples} of {s.samples} samples: connections "
            "beyond it were refused or dropped."
        )
        if req is None:
            explanation += " Raise the program's own backlog setting as well."
    return Finding(
        rule=ID,
        title=title,
        cause=Cause.LISTEN_BACKLOG_CAPPED,
        severity=severity,
        confidence=Confidence.HIGH if req is not None else Confidence.MEDIUM,
        subject=socket_subject(s),
        explanation=explanation,
        evidence=_evidence(f, s, somax, req),
        fix=_fix(f, s, somax, want, unit),
    )


RULE = Rule(
    ID,
    "Listen backlog cut by net.core.somaxconn",
    Cause.LISTEN_BACKLOG_CAPPED,
    check,
    needs=(SOMAXCONN_KEY, TCP_KEY, UNIX_KEY),
)
