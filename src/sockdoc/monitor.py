"""The continuous doctor behind ``sockdoc watch`` and ``sockdoc exporter``.

Each :meth:`Monitor.step` reads fresh evidence (:mod:`sockdoc.collect.continuous`), builds the
same facts as ``check`` and runs the same rules over them, with rates over the time since the
previous step. Log files (and the journal) are followed like ``tail -F``
(:mod:`sockdoc.collect.follow`); every new line is classified by the signature catalogue, and
the lines of the failure family are counted by cause, daemon and signature, and kept as recent
events.

A :class:`State` is what one step knows. A bundle gives one too (:func:`from_bundle`), with the
bundle's two samples as the step's two: this is how ``watch --once --bundle`` renders a frame
anyone can reproduce.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sockdoc.collect import bundle
from sockdoc.collect.continuous import Continuous
from sockdoc.collect.gather import Collected, GatherOptions, gather
from sockdoc.engine import Diagnosis, diagnose
from sockdoc.facts.host import HostFacts, build
from sockdoc.matchers.catalogue import Catalogue, default

if TYPE_CHECKING:
    from sockdoc.collect.follow import Follower

RECENT_EVENTS = 200  # log events kept for the live view


@dataclass(frozen=True)
class LogEvent:
    """A followed log line of the failure family."""

    t: float  # wall clock when it was read
    source: str
    signature: str
    daemon: str
    cause: str
    severity: str
    line: str


LogKey = tuple[str, str, str, str]  # cause, daemon, signature, severity


@dataclass(frozen=True)
class State:
    """What one step knows: facts and diagnosis, and the log counts so far."""

    facts: HostFacts
    diagnosis: Diagnosis
    wall: float
    step_seconds: float
    slow_age: float | None
    log_events: Mapping[LogKey, int] = field(default_factory=dict)
    log_lines: Mapping[str, int] = field(default_factory=dict)
    new_events: tuple[LogEvent, ...] = ()
    follow_errors: tuple[str, ...] = ()


def _diagnose(collected: Collected) -> tuple[HostFacts, Diagnosis]:
    facts = build(collected)
    return facts, diagnose(facts)


def from_bundle(path: str, interval: float = 2.0) -> State:
    """A state from a bundle of ``sockdoc collect``: its two samples, its log scan."""
    with bundle.opened(path) as root:
        collected = gather(root, GatherOptions(interval=interval))
    facts, diagnosis = _diagnose(collected)
    return State(facts, diagnosis, facts.taken_at or 0.0, 0.0, None)


class Monitor:
    """Steps on demand; follows logs between steps."""

    def __init__(
        self,
        options: GatherOptions,
        logs: Sequence[str] = (),
        journal: bool = False,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.continuous = Continuous(options)
        self.follower: Follower | None = None
        if logs or journal:
            from sockdoc.collect.follow import Follower  # noqa: PLC0415

            self.follower = Follower(list(logs), journal=journal)
        self.catalogue = catalogue or default()
        self.log_events: Counter[LogKey] = Counter()
        if self.follower is not None:
            # every signature's series exists from the start, at 0, so that the first burst
            # after a restart is an increase that rate() and increase() can see
            for sig in self.catalogue.signatures():
                self.log_events[(sig.cause.value, sig.daemon, sig.id, sig.severity.value)] = 0
        self.log_lines: Counter[str] = Counter()
        self.recent: deque[LogEvent] = deque(maxlen=RECENT_EVENTS)

    def _follow(self) -> tuple[LogEvent, ...]:
        if self.follower is None:
            return ()
        now = time.time()
        new: list[LogEvent] = []
        for line in self.follower.poll():
            self.log_lines[line.source] += 1
            result = self.catalogue.classify(line.text)
            sig = result.signature
            if sig is None:
                continue
            self.log_events[(sig.cause.value, sig.daemon, sig.id, sig.severity.value)] += 1
            event = LogEvent(
                now, line.source, sig.id, sig.daemon, sig.cause.value, sig.severity.value,
                line.text[:500],
            )  # fmt: skip
            new.append(event)
            self.recent.append(event)
        return tuple(new)

    def step(self) -> State:
        new = self._follow()
        step = self.continuous.step()
        facts, diagnosis = _diagnose(step.collected)
        errors: tuple[str, ...] = ()
        if self.follower is not None:
            errors = tuple(self.follower.errors)
        return State(
            facts,
            diagnosis,
            time.time(),
            step.seconds,
            step.slow_age,
            dict(self.log_events),
            dict(self.log_lines),
            new,
            errors,
        )

    def close(self) -> None:
        if self.follower is not None:
            self.follower.close()
        self.continuous.close()
