"""A Dovecot service ran as many processes as its process_limit allows: new clients wait.

The master forks one process per client for a mail service (``imap``, ``pop3``: built-in
``client_limit = 1``) and for a login service in its default high-security mode, up to
``process_limit`` (``default_process_limit``, 100, where it is 0). At the limit it stops
accepting on the service's sockets and logs, at most once a second, ``service(imap):
process_limit (N) reached, client connections are being dropped`` (or ``client_limit/
service_count (1) reached`` when ``process_limit = 1``; src/master/service-monitor.c). The
login processes' hand-offs then queue on the service's UNIX socket (backlog ``process_limit x
client_limit``) until it is full, and every further login fails with ``net_connect_unix(imap)
failed: Resource temporarily unavailable`` (the Dovecot wiki page SocketUnavailable).

Proof: the number of the service's processes (Dovecot names each child after its program:
``imap``, ``imap-login``) has reached process_limit (with ``client_limit`` above 1 only when
the service's socket was also seen full, as each process may have room left), or the log
scan found the master's "reached" warnings (for a service with ``process_limit = 1`` and
``service_count`` other than 1 the master words it ``client_limit (N) reached``). Error when
the warnings are logged or the service's socket was seen full; warning when the count is at
the limit without either. The evidence shows the listen backlog the limits give the
service's sockets against ``net.core.somaxconn``.

Fix: a process_limit above the demand seen (the sessions running, plus the clients queued on
the service's sockets, plus those that failed with EAGAIN, which found the queue full; at
least twice the old limit), a ``process_min_avail`` so that idle processes absorb a burst,
and enough memory for them; and ``net.core.somaxconn`` raised when the backlog the new limit
gives (``process_limit x client_limit``) would be above it.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, Listener
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.doveconf import DovecotService, is_login_service
from sockdoc.rules import _dovecot
from sockdoc.rules._common import sampled
from sockdoc.rules._dovecot import EAGAIN, REACHED, Dovecot
from sockdoc.rules.base import (
    ConfigChange,
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
)

ID = "dovecot-process-limit"
CLIENT_LIMIT_REACHED = "dovecot.service.client-limit-reached"


def _watched(dc: Dovecot) -> Iterator[DovecotService]:
    """Services that fork per client: those of a protocol (imap, pop3, lmtp, submission,
    managesieve) and their login services."""
    for svc in dc.services():
        if svc.protocol and svc.name != "imap-hibernate":
            yield svc


def new_limits(process_limit: int, demand: int) -> tuple[int, int]:
    """(process_limit, process_min_avail) for ``demand`` concurrent clients: a quarter of the
    demand kept ready, and a limit at least twice the old one with room for the demand plus
    those ready ones (the master keeps process_min_avail idle processes beside the busy
    ones, src/master/service-monitor.c, so a limit of only the demand is reached again).

    >>> new_limits(1, 16)
    (20, 4)
    >>> new_limits(1, 23)
    (30, 5)
    >>> new_limits(1024, 1100)
    (2048, 275)
    """
    ready = max(1, demand // 4)
    return max(2 * process_limit, _dovecot.tidy(demand + ready)), ready


def _finding(
    f: HostFacts,
    dc: Dovecot,
    svc: DovecotService,
    count: int | None,
    socks: list[Listener],
    reached: int,
) -> Finding:
    limit = svc.process_limit or 0
    clients = svc.client_limit or 1
    queued = _dovecot.longest_queue(socks)
    failed = _dovecot.logged_for(f, svc, EAGAIN)
    held = (count if count is not None else limit) * clients
    demand = _dovecot.sessions_wanted(f, svc, socks, held)
    new_limit, min_avail = new_limits(limit, -(-demand // clients))
    new_backlog = new_limit * clients
    sysctls = _dovecot.somaxconn_for(f, new_backlog)
    seen_full = [s for s in socks if _dovecot.full(s)]
    severity = Severity.ERROR if (reached or seen_full) else Severity.WARNING
    evidence = [
        Evidence("process_limit", limit, "", "doveconf -a"),
        Evidence("client_limit", svc.client_limit or 0, "", "doveconf -a"),
    ]
    if count is not None:
        evidence.append(
            Evidence(f"{svc.name} processes running", count, "", "/proc (process names)")
        )
    if reached:
        evidence.append(
            Evidence("'reached, client connections are being dropped' lines", reached, "", "logs")
        )
    if failed:
        evidence.append(
            Evidence(
                "net_connect_unix ... Resource temporarily unavailable lines", failed, "", "logs"
            )
        )
    for s in socks:
        if s.full_samples or s.peak:
            evidence.append(
                Evidence(
                    f"{s.name}: longest queue / backlog",
                    f"{s.peak if s.peak is not None else s.queue} / {s.backlog}",
                    "",
                    "attribution sampler",
                )
            )
            evidence.append(Evidence(f"{s.name}: samples full", s.full_samples, "", sampled(f)))
    evidence.extend(_dovecot.backlog_evidence(f, svc, socks))
    evidence.append(
        Evidence(
            "clients wanting the service at once (running + queued + failed)",
            demand,
            "",
            f"{held} + {queued} + {failed}",
        )
    )
    vsz = svc.vsz_limit or "256 M"
    text = (
        f"service {svc.name} {{\n  process_limit = {new_limit}\n"
        f"  process_min_avail = {min_avail}\n}}\n"
    )
    login = is_login_service(svc)
    what = "login processes" if login else "mail sessions"
    running = f" and {count} were running" if count is not None else ""
    where = ", ".join(s.name for s in seen_full or socks) or "its sockets"
    explanation = (
        f"service {svc.name} may run {limit} process(es){running}. At the limit the master "
        f"stops accepting on its sockets: {what} queue on {where} and fail once the queue "
        "is full."
    )
    return Finding(
        rule=ID,
        title=f"Dovecot service {svc.name} at its process_limit ({limit})",
        cause=Cause.PROCESS_LIMIT,
        severity=severity,
        confidence=Confidence.HIGH if (reached or seen_full) else Confidence.MEDIUM,
        subject=dc.subject(f"dovecot {svc.name}"),
        explanation=explanation,
        evidence=tuple(evidence),
        fix=Fix(
            f"Raise process_limit of service {svc.name} from {limit} to {new_limit} (at least "
            f"twice the old limit, room for the {demand} clients seen at once) and keep "
            f"{min_avail} processes ready for bursts (process_min_avail). Each process needs "
            f"memory (address space up to vsz_limit = {vsz}; check the resident size with "
            f"ps -C {svc.name[:15]} -o rss): {new_limit} of them must fit in RAM. "
            + _backlog_text(f, new_backlog, sysctls),
            sysctls=sysctls,
            config=(ConfigChange(dc.config_file(), text, dc.reload),),
        ),
    )


def _reached(svc: DovecotService) -> tuple[str, ...]:
    """The signatures of the master's warning for this service: with ``process_limit = 1`` and
    ``service_count`` not 1 it names client_limit (src/master/service-monitor.c), but the one
    process the service may have is then full all the same."""
    if svc.process_limit == 1 and svc.service_count != 1:
        return (*REACHED, CLIENT_LIMIT_REACHED)
    return REACHED


def _backlog_text(f: HostFacts, backlog: int, sysctls: tuple[tuple[str, int | str], ...]) -> str:
    somax = f.sysctls.somaxconn
    head = f"The service's sockets then get a listen backlog of {backlog:,} (process_limit x "
    if sysctls:
        return head + (
            f"client_limit), above net.core.somaxconn {somax:,}: raise it to "
            f"{sysctls[0][1]:,} before Dovecot restarts, or the kernel cuts the backlog."
        )
    if somax is None:
        return head + "client_limit); net.core.somaxconn was not read."
    return head + f"client_limit), within net.core.somaxconn {somax:,}."


def check(f: HostFacts) -> Iterator[Outcome]:
    dc = _dovecot.find(f)
    if dc is None:
        return
    if dc.daemon is None and f.logs is None:
        yield NotChecked(
            ID,
            "Dovecot's configuration was read but neither its processes nor its logs",
            ("processes", "logs/scan"),
        )
        return
    checked = 0
    found = False
    for svc in _watched(dc):
        limit = svc.process_limit
        if not limit:
            continue
        checked += 1
        count = dc.processes(svc)
        reached = _dovecot.logged_for(f, svc, *_reached(svc))
        socks = dc.listeners(f, svc)
        at_limit = count is not None and count >= limit
        if at_limit and svc.client_limit != 1:
            # each process may still have room for more clients: full only if it shows
            at_limit = any(_dovecot.full(s) for s in socks)
        if not at_limit and not reached:
            continue
        found = True
        yield _finding(f, dc, svc, count, socks, reached)
    if not found:
        counts = []
        for svc in _watched(dc):
            n = dc.processes(svc)
            if n:
                counts.append(f"{svc.name} {n}/{svc.process_limit}")
        running = ", ".join(counts) if counts else "no client processes running"
        logs = "logs not scanned" if f.logs is None else "no 'reached' warnings in the logs"
        yield Ok(
            ID, f"{checked} Dovecot services checked against process_limit ({running}); {logs}"
        )


RULE = Rule(
    ID,
    "Dovecot service at its process_limit",
    Cause.PROCESS_LIMIT,
    check,
    needs=("cmd/doveconf-a", "processes"),
)
