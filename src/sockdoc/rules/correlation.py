"""Linking log lines to findings.

Each log line ``scan`` recognised names a cause. A finding *explains* the lines whose cause it
covers (a full UNIX listener explains Dovecot's ``net_connect_unix ... Resource temporarily
unavailable``; a process limit explains the same line and the master's "reached" warning). A
finding backed by both a kernel counter and log lines is raised one confidence step; log
lines that no finding explains become a ``log-unexplained`` finding of their own, with the
checks that tell their possible causes apart.
"""

from __future__ import annotations

from sockdoc.causes import CAUSES, Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.matchers.catalogue import default
from sockdoc.rules.base import Evidence, Finding, Fix, Subject, upgrade

UNEXPLAINED = "log-unexplained"

# finding cause -> the log causes it explains
EXPLAINS: dict[Cause, frozenset[Cause]] = {
    Cause.SEND_BUFFER_FULL: frozenset({Cause.SEND_BUFFER_FULL, Cause.SEND_ERROR}),
    Cause.SEND_ERROR: frozenset({Cause.SEND_ERROR}),
    Cause.BUFFER_SIZE_CAPPED: frozenset(
        {Cause.BUFFER_SIZE_CAPPED, Cause.SEND_BUFFER_FULL, Cause.RECEIVE_BUFFER_FULL}
    ),
    Cause.RECEIVE_BUFFER_FULL: frozenset({Cause.RECEIVE_BUFFER_FULL}),
    Cause.UNIX_LISTEN_QUEUE_FULL: frozenset({Cause.UNIX_LISTEN_QUEUE_FULL}),
    Cause.TCP_LISTEN_QUEUE_FULL: frozenset({Cause.TCP_LISTEN_QUEUE_FULL}),
    Cause.LISTEN_BACKLOG_CAPPED: frozenset(
        {Cause.LISTEN_BACKLOG_CAPPED, Cause.UNIX_LISTEN_QUEUE_FULL, Cause.TCP_LISTEN_QUEUE_FULL}
    ),
    Cause.PROCESS_LIMIT: frozenset({Cause.PROCESS_LIMIT, Cause.UNIX_LISTEN_QUEUE_FULL}),
    Cause.CLIENT_LIMIT: frozenset({Cause.CLIENT_LIMIT, Cause.UNIX_LISTEN_QUEUE_FULL}),
    Cause.FD_LIMIT: frozenset(
        {Cause.FD_LIMIT, Cause.UNIX_LISTEN_QUEUE_FULL, Cause.TCP_LISTEN_QUEUE_FULL}
    ),
    Cause.CONNTRACK_FULL: frozenset(
        {Cause.CONNTRACK_FULL, Cause.SEND_ERROR, Cause.SEND_BUFFER_FULL}
    ),
    Cause.FIREWALL_BLOCKED: frozenset({Cause.FIREWALL_BLOCKED}),
    Cause.SEND_REFUSED: frozenset({Cause.SEND_REFUSED}),
    Cause.SOCKET_MEMORY: frozenset(
        {Cause.SOCKET_MEMORY, Cause.SEND_BUFFER_FULL, Cause.RECEIVE_BUFFER_FULL}
    ),
    Cause.NEIGHBOUR_TABLE_FULL: frozenset({Cause.NEIGHBOUR_TABLE_FULL}),
    Cause.LOG_SUPPRESSED: frozenset({Cause.LOG_SUPPRESSED}),
}
# log causes that are notes about logging itself, not a failure to explain
_NOT_FAILURES = frozenset({Cause.LOG_SUPPRESSED})
_DAEMON_RULES = ("dovecot", "bind")  # a rule id prefix names its daemon


def _log_evidence(facts: HostFacts, causes: frozenset[Cause]) -> tuple[Evidence, ...]:
    logs = facts.logs
    if logs is None:
        return ()
    out = []
    for cause, n in logs.by_cause:
        if n and cause in {c.value for c in causes}:
            out.append(Evidence(f"log lines: {cause}", n, "lines", "logs"))
    return tuple(out)


def _daemon_matches(f: Finding, daemon_counts: dict[str, int]) -> bool:
    prefix = f.rule.split("-", 1)[0]
    return prefix not in _DAEMON_RULES or daemon_counts.get(prefix, 0) > 0


def correlate(facts: HostFacts, findings: list[Finding]) -> list[Finding]:
    """Attach log evidence to findings, raise confidence where both agree, and add a finding
    for log lines no finding explains."""
    logs = facts.logs
    if logs is None or not logs.matched:
        return findings
    daemons = dict(logs.by_daemon)
    out: list[Finding] = []
    explained: set[str] = set()
    for finding in findings:
        f = finding
        logged = _log_evidence(facts, EXPLAINS.get(f.cause, frozenset({f.cause})))
        if logged and f.severity is not Severity.INFO and _daemon_matches(f, daemons):
            explained.update(e.name.removeprefix("log lines: ") for e in logged)
            f = Finding(
                f.rule,
                f.title,
                f.cause,
                f.severity,
                upgrade(f.confidence),
                f.subject,
                f.explanation,
                f.evidence,
                f.fix,
                logged,
            )
        out.append(f)
    for cause_id, n in logs.by_cause:
        try:
            cause = Cause(cause_id)
        except ValueError:
            continue
        if not n or cause_id in explained or cause in _NOT_FAILURES:
            continue
        sigs = [(s, c) for s, c in logs.by_signature if s in _signatures_of(logs, cause_id)]
        example = next((logs.example_for(s) for s, _ in sigs if logs.example_for(s)), None)
        ev: list[Evidence] = [Evidence("log lines", n, "lines", "logs")]
        ev += [Evidence(f"signature {s}", c, "lines", "logs") for s, c in sigs[:5]]
        if example:
            ev.append(Evidence("example", example[:300], "", "logs"))
        checks = CAUSES[cause].checks
        steps = "; ".join(f"{c.question} ({c.how})" for c in checks[:3])
        out.append(
            Finding(
                rule=UNEXPLAINED,
                title=f"Log lines of {cause_id} that nothing seen now explains",
                cause=cause,
                severity=Severity.WARNING,
                confidence=Confidence.LOW,
                subject=Subject("log", cause_id),
                explanation=(
                    f"{n} log lines in the window name {cause_id} ({CAUSES[cause].summary}), "
                    "but no counter, queue or setting read now shows it: the burst may be "
                    "over. Run check during a burst (or sockdoc watch) to catch it."
                ),
                evidence=tuple(ev),
                fix=Fix("Find out which of the possible causes applies: " + steps),
            )
        )
    return out


def _signatures_of(logs: object, cause_id: str) -> set[str]:
    return {s.id for s in default().signatures() if s.cause.value == cause_id}
