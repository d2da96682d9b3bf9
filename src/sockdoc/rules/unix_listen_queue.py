"""A UNIX stream listener whose accept queue is full: connects fail with EAGAIN.

A process connecting to a UNIX socket non-blocking gets EAGAIN ("Resource temporarily
unavailable") when the listener already holds more pending connections than its backlog
(``unix_recvq_full()``, net/unix/af_unix.c). Dovecot's login processes connect this way to
``imap``/``pop3`` and log ``net_connect_unix(imap) failed: Resource temporarily unavailable``;
php-fpm's and other daemons' clients see the same. It means the processes behind the socket
accept more slowly than clients arrive: all busy, too few of them, or the backlog too small.
A socket of a Dovecot service (found by its path in the running configuration) is named
after its service, with the backlog the master derives from the service's limits
(``process_limit x client_limit``, at least 4; src/master/service-listen.c): Dovecot has no
backlog setting, so the fix is the service's limits.

Proof: the attribution sampler saw the socket's queue longer than its backlog, and names the
socket and the process that owns it. Fix: more accepting capacity behind the socket (for
Dovecot, see the dovecot-* rules), and a backlog above the burst; the backlog a program asks
for is cut to ``net.core.somaxconn``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, Listener
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.doveconf import DovecotService
from sockdoc.rules import _dovecot
from sockdoc.rules._common import owner_text, sampled, socket_subject
from sockdoc.rules.base import Evidence, Finding, Fix, NotChecked, Ok, Outcome, Rule, pow2_at_least

ID = "unix-listen-queue-full"


def full_listeners(f: HostFacts, kind: str) -> list[Listener]:
    found = [
        listener
        for listener in f.listeners
        if listener.kind == kind
        and (listener.full_samples or listener.full_now or (listener.drops or 0) > 0)
    ]
    return sorted(found, key=lambda x: (x.full_samples, x.drops or 0, x.queue), reverse=True)


def listener_evidence(f: HostFacts, s: Listener) -> list[Evidence]:
    ev = [
        Evidence("listener", f"{s.name} owned by {owner_text(s, f)}", "", "sock_diag"),
        Evidence("queue now / backlog", f"{s.queue} / {s.backlog}", "", "sock_diag"),
        Evidence(
            "longest queue seen",
            s.peak if s.peak is not None else s.queue,
            "",
            "attribution sampler",
        ),
        Evidence(
            "samples with the queue full",
            f"{s.full_samples} of {sampled(f)}",
            "",
            "attribution sampler",
        ),
    ]
    if s.drops:
        ev.append(
            Evidence("connections this listener dropped", s.drops, "", "sock_diag SK_MEMINFO drops")
        )
    if f.sysctls.somaxconn is not None:
        ev.append(Evidence("net.core.somaxconn", f.sysctls.somaxconn, "", "/proc/sys"))
    return ev


def backlog_fix(f: HostFacts, s: Listener, who: str) -> Fix:
    peak = max(s.peak or 0, s.queue, s.backlog)
    want = pow2_at_least(max(4 * peak, 128))
    somax = f.sysctls.somaxconn
    sysctls: tuple[tuple[str, int | str], ...] = ()
    text = (
        f"Let {who} accept faster (more worker processes or threads behind {s.name}); "
        f"and ask for a listen backlog of at least {want}"
    )
    if somax is not None and somax < want:
        sysctls = (("net.core.somaxconn", want),)
        text += f", which needs net.core.somaxconn raised from {somax} to {want}"
    return Fix(text + ".", sysctls=sysctls)


def dovecot_service(f: HostFacts, s: Listener) -> DovecotService | None:
    """The Dovecot service whose unix_listener ``s`` is (by its path under base_dir)."""
    dc = _dovecot.find(f)
    if dc is None:
        return None
    for svc in dc.services():
        if s.name in dc.socket_names(svc):
            return svc
    return None


def dovecot_fix(s: Listener, svc: DovecotService) -> Fix:
    """Dovecot has no backlog setting: the master derives it from the service's limits."""
    limits = f"process_limit {svc.process_limit} x client_limit {svc.client_limit}"
    return Fix(
        f"{s.name} is a socket of Dovecot service {svc.name}: the master listens on it with "
        f"a backlog of {limits} (at least 4), and hands its connections to {svc.name} "
        f"processes only while one is free. Raise the service's process_limit to the demand "
        "(the dovecot-process-limit finding computes it; for a mail service with client_limit "
        "above 1 see dovecot-client-limit): the backlog grows with it."
    )


def check(f: HostFacts) -> Iterator[Outcome]:
    if f.source("s1/sock_diag/unix_listen") is None or f.missing("s1/sock_diag/unix_listen"):
        yield NotChecked(ID, "UNIX listeners not read (sock_diag)", ("s1/sock_diag/unix_listen",))
        return
    full = full_listeners(f, "unix")
    count = sum(1 for x in f.listeners if x.kind == "unix")
    if not full:
        yield Ok(ID, f"UNIX listeners: {count} checked, none with a full queue ({sampled(f)})")
        return
    for s in full:
        frac = s.full_samples / s.samples if s.samples else 1.0
        who = owner_text(s, f)
        svc = dovecot_service(f, s)
        evidence = listener_evidence(f, s)
        if svc is not None:
            who = f"Dovecot service {svc.name}, listening in {who}"
            evidence.insert(
                1, Evidence("Dovecot service", svc.name, "", "doveconf -a (unix_listener)")
            )
            evidence.extend(_dovecot.backlog_evidence(f, svc, [s]))
        yield Finding(
            rule=ID,
            title=f"UNIX socket {s.name}: accept queue full, connects fail with EAGAIN",
            cause=Cause.UNIX_LISTEN_QUEUE_FULL,
            severity=Severity.ERROR if frac >= 0.05 or s.full_now else Severity.WARNING,
            confidence=Confidence.HIGH if s.full_samples >= 2 else Confidence.MEDIUM,
            subject=socket_subject(s),
            explanation=(
                f"The listener {s.name} ({who}) held more pending connections than its backlog "
                f"of {s.backlog} in {s.full_samples} of {s.samples} samples: while it is full "
                "every new connect() is refused (EAGAIN). The processes behind it accept more "
                "slowly than clients arrive."
            ),
            evidence=tuple(evidence),
            fix=backlog_fix(f, s, who) if svc is None else dovecot_fix(s, svc),
        )


RULE = Rule(
    ID,
    "UNIX listener queue full",
    Cause.UNIX_LISTEN_QUEUE_FULL,
    check,
    needs=("s1/sock_diag/unix_listen",),
)
