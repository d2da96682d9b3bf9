"""Log lines linked to findings: agreement raises confidence; lines nothing explains are
reported on their own. Uses the real Dovecot capture of dovecot-process-limit/fires (15
net_connect_unix EAGAIN lines and one "process_limit reached" in its log scan)."""

from __future__ import annotations

from dataclasses import replace

from rulekit import facts_for

from sockdoc.causes import Cause
from sockdoc.engine import diagnose
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import Evidence, Finding, Fix, Subject
from sockdoc.rules.correlation import UNEXPLAINED, correlate

CASE = "dovecot-process-limit/fires"


def _finding(confidence: Confidence) -> Finding:
    return Finding(
        "unix-listen-queue-full",
        "t",
        Cause.UNIX_LISTEN_QUEUE_FULL,
        Severity.ERROR,
        confidence,
        Subject("socket", "/run/dovecot/login/imap"),
        "x",
        (Evidence("queue", 5),),
        Fix("y"),
    )


def test_counter_and_log_together_raise_confidence() -> None:
    facts = facts_for(CASE)
    assert facts.logs is not None and facts.logs.count_for_cause("unix-listen-queue-full") == 15
    linked = correlate(facts, [_finding(Confidence.MEDIUM)])[0]
    assert linked.confidence is Confidence.HIGH
    assert ("log lines: unix-listen-queue-full", 15) in [(e.name, e.value) for e in linked.logs]
    alone = correlate(replace(facts, logs=None), [_finding(Confidence.MEDIUM)])[0]
    assert alone.confidence is Confidence.MEDIUM and not alone.logs


def test_the_real_capture_links_its_log_lines() -> None:
    d = diagnose(facts_for(CASE))
    unexplained = [f for f in d.findings if f.rule == UNEXPLAINED]
    assert not unexplained
    queue = next(f for f in d.findings if f.rule == "unix-listen-queue-full")
    assert queue.logs and queue.confidence is Confidence.HIGH


def test_log_lines_nothing_explains_are_reported() -> None:
    facts = facts_for(CASE)
    # the same logs, but the burst is over: no full socket, no dovecot running now
    quiet = replace(facts, listeners=(), daemons=(), configs={}, attribution=None)
    d = diagnose(quiet)
    lonely = {f.subject.name: f for f in d.findings if f.rule == UNEXPLAINED}
    assert set(lonely) == {"unix-listen-queue-full", "process-limit"}
    f = lonely["unix-listen-queue-full"]
    assert f.confidence is Confidence.LOW and f.severity is Severity.WARNING
    assert ("log lines", 15) in [(e.name, e.value) for e in f.evidence]
    assert "ss -" in f.fix.summary or "nstat" in f.fix.summary or "?" in f.fix.summary
