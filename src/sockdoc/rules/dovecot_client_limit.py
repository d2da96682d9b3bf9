"""A Dovecot mail service serves several clients per process: one slow client stalls the rest.

An ``imap``, ``pop3`` or ``managesieve`` process does disk I/O and waits for locks; with
``client_limit`` above 1 it holds several sessions, and while it waits none of them, nor the
login hand-offs queued on its socket, make progress. When every such process is stuck the
hand-offs fill the service's UNIX socket (backlog ``process_limit x client_limit``) and logins
fail with ``net_connect_unix(imap) failed: Resource temporarily unavailable``. The Dovecot
wiki page SocketUnavailable recommends ``client_limit = 1`` for mail processes, except on
very small systems. The master caps client_limit at ``service_count`` when that is not 0
(src/master/service.c ``service_create()``), so with imap's built-in ``service_count = 1`` a
larger client_limit has no effect and is not reported.

Proof: the effective client_limit (from ``doveconf -a``, with the master's defaults and cap)
of an enabled mail service is not 1: a warning; an error when that service's socket was seen
full or the logs hold the EAGAIN failures for it. Fix: ``client_limit = 1`` with a
``process_limit`` that keeps the same number of concurrent sessions (old client_limit x
process_limit), which needs one process, and its memory, per session; when logins failed, a
process_limit with room for the sessions wanted at once as well (the sessions it could hold,
plus those queued on its socket, plus those that failed with EAGAIN), and
``net.core.somaxconn`` at or above the backlog that limit gives.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.doveconf import DovecotService
from sockdoc.rules import _dovecot
from sockdoc.rules._common import sampled
from sockdoc.rules._dovecot import EAGAIN, MAIL_SERVICES, Dovecot
from sockdoc.rules.base import ConfigChange, Evidence, Finding, Fix, Ok, Outcome, Rule

ID = "dovecot-client-limit"


def _finding(f: HostFacts, dc: Dovecot, svc: DovecotService) -> Finding:
    clients = svc.client_limit or 0
    limit = svc.process_limit or 0
    capacity = clients * limit
    socks = dc.listeners(f, svc)
    seen_full = [s for s in socks if _dovecot.full(s)]
    failed = _dovecot.logged_for(f, svc, EAGAIN)
    failing = bool(seen_full or failed)
    # one process per session: keep the capacity, and when logins failed, give room to the
    # clients that queued or failed too (the same count dovecot-process-limit uses)
    wanted = _dovecot.sessions_wanted(f, svc, socks, capacity) if failing else capacity
    new_limit = max(capacity, _dovecot.tidy(wanted)) if failing else capacity
    evidence = [
        Evidence("client_limit (effective)", clients, "", "doveconf -a"),
        Evidence("process_limit", limit, "", "doveconf -a"),
        Evidence("service_count", svc.service_count or 0, "", "doveconf -a"),
        Evidence("sessions it can hold (client_limit x process_limit)", capacity, ""),
    ]
    for s in seen_full:
        evidence.append(
            Evidence(
                f"{s.name}: samples with the queue full",
                s.full_samples,
                "",
                sampled(f),
            )
        )
        evidence.append(
            Evidence(
                f"{s.name}: longest queue / backlog",
                f"{s.peak if s.peak is not None else s.queue} / {s.backlog}",
                "",
                "attribution sampler",
            )
        )
    if failed:
        evidence.append(
            Evidence(
                "net_connect_unix ... Resource temporarily unavailable lines", failed, "", "logs"
            )
        )
    evidence.extend(_dovecot.backlog_evidence(f, svc, socks))
    if failing:
        evidence.append(
            Evidence(
                "sessions wanted at once (capacity + queued + failed)",
                wanted,
                "",
                f"{capacity} + {_dovecot.longest_queue(socks)} + {failed}",
            )
        )
    sysctls = _dovecot.somaxconn_for(f, new_limit)
    text = f"service {svc.name} {{\n  client_limit = 1\n  process_limit = {new_limit}\n}}\n"
    explanation = (
        f"service {svc.name} lets each process serve {clients} clients. A mail process "
        "blocked on disk or a lock stalls all of its sessions and stops accepting new ones, "
        "so logins queue on its socket."
    )
    if failing:
        explanation += " That happened here: the socket was full or logins failed with EAGAIN."
    return Finding(
        rule=ID,
        title=f"Dovecot service {svc.name}: client_limit = {clients} (mail processes want 1)",
        cause=Cause.CLIENT_LIMIT,
        severity=Severity.ERROR if failing else Severity.WARNING,
        confidence=Confidence.HIGH if failing else Confidence.MEDIUM,
        subject=dc.subject(f"dovecot {svc.name}"),
        explanation=explanation,
        evidence=tuple(evidence),
        fix=Fix(
            f"Set client_limit = 1 for service {svc.name} and process_limit = {new_limit} "
            + (
                f"(room for the {wanted} sessions wanted at once, one process each; "
                if failing
                else f"({clients} x {limit}, the same number of sessions, one process each; "
            )
            + f"they need the memory of {new_limit} {svc.name} processes)."
            + (
                f" That gives its sockets a listen backlog of {new_limit:,}: raise "
                f"net.core.somaxconn to {sysctls[0][1]:,} before Dovecot restarts."
                if sysctls
                else ""
            ),
            sysctls=sysctls,
            config=(ConfigChange(dc.config_file(), text, dc.reload),),
        ),
    )


def check(f: HostFacts) -> Iterator[Outcome]:
    dc = _dovecot.find(f)
    if dc is None:
        return
    checked: list[str] = []
    found = False
    for name in MAIL_SERVICES:
        svc = dc.service(name)
        if svc is None or not dc.enabled(svc):
            continue
        checked.append(f"{name} {svc.client_limit}")
        if svc.client_limit == 1:
            continue
        found = True
        yield _finding(f, dc, svc)
    if not found:
        text = ", ".join(checked) if checked else "no mail service enabled"
        yield Ok(ID, f"Dovecot mail services' effective client_limit: {text}")


RULE = Rule(
    ID,
    "Dovecot mail service with client_limit above 1",
    Cause.CLIENT_LIMIT,
    check,
    needs=("cmd/doveconf-a",),
)
