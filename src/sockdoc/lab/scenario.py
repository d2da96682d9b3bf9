"""What a lab scenario is: its knobs, what it sets up, and what its run showed.

A scenario module (one per failure mode, in :mod:`sockdoc.lab.scenarios`) exports ``SPEC``, a
:class:`Spec`. The runner (:mod:`sockdoc.lab.runner`) calls ``SPEC.setup`` to make namespaces
and say which agents to start, runs them while it samples the namespace, then calls
``SPEC.report`` with everything that was counted; the scenario turns that into the table of
what happened (application count against kernel count), the timeline columns, the number a
sweep plots, and the finding that ``sockdoc check`` must rank first.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sockdoc.lab.probe import Sample
from sockdoc.lab.sandbox import Sandbox
from sockdoc.parsers.nstat import nstat_name
from sockdoc.parsers.ss_listen import SsListener

Knobs = Mapping[str, float]


@dataclass(frozen=True)
class Knob:
    """A setting of the scenario, given as ``--NAME`` (dashes) or swept with ``--sweep``."""

    name: str
    default: float
    help: str
    minimum: float = 0
    maximum: float = 1 << 30
    integer: bool = True

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class AgentCall:
    """An agent to start: in which namespace, which role, with which arguments. ``holds``: it
    runs until the lab stops it (a server, or clients that keep their sessions)."""

    ns: str
    role: str
    args: dict[str, Any]
    holds: bool = False


@dataclass(frozen=True)
class Setup:
    """What ``SPEC.setup`` made. ``ns`` is the namespace under study (the server's): the lab
    samples it and ``sockdoc check`` looks at it. ``duration`` bounds the workload; ``watch``
    names the agent whose process ``check`` is pointed at (``--pid``), if any."""

    ns: str
    servers: tuple[AgentCall, ...]
    clients: tuple[AgentCall, ...]
    duration: float
    qdiscs: bool = False
    watch: str | None = None
    subject: str = ""  # the socket under study, as sockdoc names it (address:port or path)
    facts: tuple[tuple[str, str], ...] = ()  # what was set up, for the report


@dataclass(frozen=True)
class Row:
    """One event, counted by the application and by the kernel (and by ``nstat``/``ss``, the
    standard tools, as a cross-check). Where two or more counts exist they must be equal."""

    event: str
    app: int | None
    kernel: int | None
    kernel_source: str
    cross: int | None = None
    cross_source: str = ""
    note: str = ""

    @property
    def agree(self) -> bool | None:
        values = [v for v in (self.app, self.kernel, self.cross) if v is not None]
        if len(values) < 2:
            return None
        return len(set(values)) == 1


@dataclass(frozen=True)
class Column:
    """One series of the timeline: a value per 100 ms step."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Expect:
    """The finding ``check`` must rank first: its rule, and the socket or process it names."""

    rule: str
    subject: str | None = None
    pid: int | None = None


@dataclass
class RunData:
    """Everything one run counted, handed to ``SPEC.report``."""

    knobs: Knobs
    setup: Setup
    start: float
    ready: dict[str, dict[str, Any]]
    results: dict[str, dict[str, Any]]
    samples: list[Sample]
    final: Sample
    nstat: Mapping[str, int]
    ss: tuple[SsListener, ...]
    pids: dict[str, int] = field(default_factory=dict)
    somaxconn: int | None = None  # net.core.somaxconn in the namespace at the end

    def counted(self, event: str, app: int | None, counter: str) -> Row:
        """A row for an event the kernel counts: the application's count, the counter as
        sockdoc read it at the end, and ``nstat``'s reading of the same counter."""
        name = nstat_name(counter)
        return Row(
            event,
            app,
            self.final.counter(counter),
            counter,
            self.nstat.get(name),
            f"nstat {name}",
        )

    def somaxconn_or(self, knob: float) -> int:
        """The namespace's somaxconn as read at the end (a ``prepare`` hook may have changed
        it), else the knob that set it."""
        return self.somaxconn if self.somaxconn is not None else int(knob)

    def buckets(self, times: Sequence[float]) -> list[int]:
        """Counts of event ``times`` per step of the timeline: step i holds the events after
        sample i-1 and up to sample i, the same span as :meth:`deltas`."""
        edges = [s.t for s in self.samples]
        out = [0] * len(edges)
        for t in times:
            i = bisect.bisect_left(edges, t)
            if i < len(edges):
                out[i] += 1
        return out

    def deltas(self, counter: str) -> list[int]:
        """A counter's increase per step (the first step: since the namespace was made)."""
        values = [s.counter(counter) for s in self.samples]
        return [b - a for a, b in zip([0, *values], values, strict=False)]


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    metric: float
    expect: Expect
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    """A scenario: name, one-line summary, knobs, the metric a sweep plots, and its two
    functions."""

    name: str
    summary: str
    knobs: tuple[Knob, ...]
    metric: str  # what Report.metric counts, for sweep tables and plots
    rule: str  # the rule this scenario proves
    setup: Callable[[Sandbox, Knobs], Setup]
    report: Callable[[RunData], Report]

    def defaults(self) -> dict[str, float]:
        return {k.name: k.default for k in self.knobs}

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name.replace("-", "_"):
                return k
        names = ", ".join(k.name for k in self.knobs)
        raise KeyError(f"{self.name} has no knob {name!r} (knobs: {names})")
