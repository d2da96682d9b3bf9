"""What a rule is and what it says.

A rule is a pure function over :class:`~sockdoc.facts.host.HostFacts` with a stable id (never
renamed, never reused), a title and the cause it diagnoses (from :mod:`sockdoc.causes`). It
yields :class:`Finding` (something overflows or will, with the numbers that prove it and the
exact fix), :class:`Ok` (checked, nothing wrong, and what was checked), or :class:`NotChecked`
(the evidence it needs could not be read, and why). A rule that yields nothing does not apply
to this host (no such daemon). Each rule lives in its own module of :mod:`sockdoc.rules`, as
``RULE``, and is found by scanning the package: adding a rule is the rule, its test and its
fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}
CONFIDENCE_RANK = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}

SubjectKind = Literal["socket", "interface", "daemon", "service", "host", "table", "log"]


@dataclass(frozen=True)
class Subject:
    """What a finding is about: a socket (address:port or UNIX path), an interface, a daemon
    or one of its services, or the host; with the owning process when known."""

    kind: SubjectKind
    name: str
    pid: int | None = None
    program: str | None = None

    def __str__(self) -> str:
        who = (
            f" ({self.program}[{self.pid}])"
            if self.pid is not None
            else (f" ({self.program})" if self.program else "")
        )
        return f"{self.name}{who}"


@dataclass(frozen=True)
class Evidence:
    """One named value with its number and where it was read."""

    name: str
    value: int | float | str
    unit: str = ""
    source: str = ""

    def shown(self) -> str:
        v = self.value
        if isinstance(v, float):
            text = f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
        elif isinstance(v, int):
            text = f"{v:,}"
        else:
            text = v
        return f"{text} {self.unit}".rstrip()


@dataclass(frozen=True)
class ConfigChange:
    """A snippet for a daemon's configuration file, and what must be reloaded after it."""

    file: str
    text: str
    reload: str = ""


@dataclass(frozen=True)
class Fix:
    """The exact change: sysctls (shown as ``sysctl -w`` and as an ``/etc/sysctl.d`` line),
    configuration snippets, commands to run; ``summary`` says it in one sentence."""

    summary: str
    sysctls: tuple[tuple[str, int | str], ...] = ()
    config: tuple[ConfigChange, ...] = ()
    commands: tuple[str, ...] = ()

    def sysctl_lines(self) -> tuple[str, ...]:
        """``sysctl -w`` commands; a value of several numbers is quoted for the shell.

        >>> Fix("x", sysctls=(("net.ipv4.tcp_mem", "1 2 3"), ("net.core.somaxconn", 4096))
        ...     ).sysctl_lines()
        ("sysctl -w 'net.ipv4.tcp_mem=1 2 3'", 'sysctl -w net.core.somaxconn=4096')
        """
        return tuple(
            f"sysctl -w '{k}={_v(v)}'"
            if " " in _v(v) or "\t" in _v(v)
            else f"sysctl -w {k}={_v(v)}"
            for k, v in self.sysctls
        )

    def sysctl_d_lines(self) -> tuple[str, ...]:
        return tuple(f"{k} = {_v(v)}" for k, v in self.sysctls)


SYSCTL_D = "/etc/sysctl.d/90-sockdoc.conf"


def _v(v: int | str) -> str:
    return str(v)


@dataclass(frozen=True)
class Finding:
    rule: str
    title: str
    cause: Cause
    severity: Severity
    confidence: Confidence
    subject: Subject
    explanation: str
    evidence: tuple[Evidence, ...]
    fix: Fix
    logs: tuple[Evidence, ...] = ()  # log lines that this finding explains (correlation)

    def rank(self) -> tuple[int, int]:
        return SEVERITY_RANK[self.severity], CONFIDENCE_RANK[self.confidence]

    @property
    def ids(self) -> str:
        """The rule, and the cause when it is named differently: what reports print."""
        return self.rule if self.rule == self.cause.value else f"{self.rule} · {self.cause.value}"


@dataclass(frozen=True)
class Ok:
    rule: str
    summary: str


@dataclass(frozen=True)
class NotChecked:
    rule: str
    reason: str
    sources: tuple[str, ...] = ()
    needs_root: bool = False


Outcome = Finding | Ok | NotChecked


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    cause: Cause
    check: Callable[[HostFacts], Iterable[Outcome]]
    doc: str = ""
    # the source keys (prefixes) the rule reads: documentation for now; each rule yields its
    # own NotChecked naming the sources it missed
    needs: tuple[str, ...] = field(default=())


def upgrade(c: Confidence) -> Confidence:
    return Confidence.HIGH if c is not Confidence.LOW else Confidence.MEDIUM


def round_up(value: int, quantum: int) -> int:
    """``value`` rounded up to a multiple of ``quantum`` (tidy numbers in fixes)."""
    return -(-value // quantum) * quantum


def pow2_at_least(value: int) -> int:
    """The smallest power of two >= ``value``.

    >>> pow2_at_least(5000), pow2_at_least(4096)
    (8192, 4096)
    """
    n = 1
    while n < value:
        n <<= 1
    return n


def describe_missing(facts: HostFacts, *keys: str) -> str:
    parts = []
    for k in keys:
        s = facts.source(k)
        if s is None:
            parts.append(f"{k}: not collected")
        elif s.status != "ok":
            parts.append(f"{s.origin or k}: {s.status} ({s.reason})")
    return "; ".join(parts)
