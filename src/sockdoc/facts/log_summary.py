"""What a log scan found: totals, who was affected, and incidents (bursts grouped in time).

:class:`Summary` accumulates matched lines and can be merged with another (each parallel worker
fills its own); :meth:`Summary.finish` turns it into the frozen :class:`ScanFacts`. Memory is
bounded by the time span (one small record per minute with events) and by :data:`TOP_KEYS`
per top list, never by the number of lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sockdoc.matchers.catalogue import Result

# Distinct clients/sockets/upstreams remembered before the rarest half is dropped: past this,
# top lists are approximate (a key dropped early and seen again later restarts from zero).
TOP_KEYS = 50_000
MAX_POINTS = 1440  # points in an incident's timeline; longer incidents are binned


@dataclass(frozen=True)
class Incident:
    """A burst: events with no gap longer than the grouping gap between them."""

    start: float
    end: float
    count: int
    peak_per_minute: int
    peak_minute: float
    per_minute: tuple[int, ...]
    minutes_per_point: int
    causes: tuple[tuple[str, int], ...]
    signatures: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ScanFacts:
    bytes: int
    matched: int
    by_cause: tuple[tuple[str, int], ...]
    by_signature: tuple[tuple[str, int], ...]
    by_daemon: tuple[tuple[str, int], ...]
    by_service: tuple[tuple[str, int], ...]
    top_clients: tuple[tuple[str, int], ...]
    top_sockets: tuple[tuple[str, int], ...]
    top_upstreams: tuple[tuple[str, int], ...]
    false_friends: tuple[tuple[str, int], ...]
    examples: tuple[tuple[str, str], ...]
    first: float | None
    last: float | None
    untimed: int
    outside_window: int
    incidents: tuple[Incident, ...]


def _trim(c: Counter[str]) -> None:
    if len(c) > TOP_KEYS:
        for key, _ in c.most_common()[TOP_KEYS // 2 :]:
            del c[key]


@dataclass
class Summary:
    """Accumulator for matched lines (mutable; merge workers' summaries, then finish)."""

    since: float | None = None
    until: float | None = None
    bytes: int = 0
    matched: int = 0
    by_cause: Counter[str] = field(default_factory=Counter)
    by_signature: Counter[str] = field(default_factory=Counter)
    by_daemon: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    sockets: Counter[str] = field(default_factory=Counter)
    upstreams: Counter[str] = field(default_factory=Counter)
    false_friends: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    # minute (epoch // 60) -> [count per signature]; incidents are built from these
    minutes: dict[int, Counter[str]] = field(default_factory=dict)
    causes_of: dict[str, str] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None
    untimed: int = 0
    outside_window: int = 0

    def add(self, result: Result, when: float | None) -> None:
        """Count one classified line, ``when`` being its epoch time (None if it has none)."""
        sig = result.signature
        n = result.envelope.repeat  # syslog's "message repeated N times" stands for N lines
        if sig is None:
            if result.not_this is not None:
                self.false_friends[result.not_this.id] += n
            return
        if when is None:
            if self.since is not None or self.until is not None:
                self.outside_window += n
                return
            self.untimed += n
        elif (self.since is not None and when < self.since) or (
            self.until is not None and when >= self.until
        ):
            self.outside_window += n
            return
        self.matched += n
        cause = sig.cause.value
        self.by_cause[cause] += n
        self.by_signature[sig.id] += n
        self.by_daemon[sig.daemon] += n
        self.causes_of[sig.id] = cause
        f = result.fields
        service = f.get("service") or f.get("process")
        if service is not None:
            self.by_service[f"{sig.daemon}/{service}"] += n
        for key, counter in (
            ("client_ip", self.clients),
            ("socket", self.sockets),
            ("upstream", self.upstreams),
        ):
            value = f.get(key)
            if value is not None:
                counter[str(value)] += n
                if len(counter) > TOP_KEYS:
                    _trim(counter)
        if sig.id not in self.examples:
            self.examples[sig.id] = result.line[:500]
        if when is not None:
            minute = int(when // 60)
            bucket = self.minutes.get(minute)
            if bucket is None:
                bucket = self.minutes[minute] = Counter()
            bucket[sig.id] += n
            if self.first is None or when < self.first:
                self.first = when
            if self.last is None or when > self.last:
                self.last = when

    def merge(self, other: Summary) -> None:
        self.bytes += other.bytes
        self.matched += other.matched
        for mine, theirs in (
            (self.by_cause, other.by_cause),
            (self.by_signature, other.by_signature),
            (self.by_daemon, other.by_daemon),
            (self.by_service, other.by_service),
            (self.clients, other.clients),
            (self.sockets, other.sockets),
            (self.upstreams, other.upstreams),
            (self.false_friends, other.false_friends),
        ):
            mine.update(theirs)
        for c in (self.clients, self.sockets, self.upstreams):
            _trim(c)
        for k, v in other.examples.items():
            self.examples.setdefault(k, v)
        for minute, bucket in other.minutes.items():
            self.minutes.setdefault(minute, Counter()).update(bucket)
        self.causes_of.update(other.causes_of)
        self.first = min((t for t in (self.first, other.first) if t is not None), default=None)
        self.last = max((t for t in (self.last, other.last) if t is not None), default=None)
        self.untimed += other.untimed
        self.outside_window += other.outside_window

    def incidents(self, gap_minutes: int) -> tuple[Incident, ...]:
        """Group minutes with events into bursts separated by more than ``gap_minutes`` quiet
        minutes."""
        out: list[Incident] = []
        group: list[int] = []
        for minute in sorted(self.minutes):
            if group and minute - group[-1] > gap_minutes:
                out.append(self._incident(group))
                group = []
            group.append(minute)
        if group:
            out.append(self._incident(group))
        return tuple(out)

    def _incident(self, minutes: list[int]) -> Incident:
        sigs: Counter[str] = Counter()
        for m in minutes:
            sigs.update(self.minutes[m])
        causes: Counter[str] = Counter()
        for sig, n in sigs.items():
            causes[self.causes_of[sig]] += n
        totals = {m: sum(self.minutes[m].values()) for m in minutes}
        peak_minute = max(minutes, key=lambda m: totals[m])
        # the series has at most MAX_POINTS points: a long incident is binned (sum per bin)
        span = minutes[-1] - minutes[0] + 1
        step = -(-span // MAX_POINTS)
        series = [0] * (-(-span // step))
        for m, n in totals.items():
            series[(m - minutes[0]) // step] += n
        return Incident(
            start=minutes[0] * 60.0,
            end=minutes[-1] * 60.0 + 60.0,
            count=sum(totals.values()),
            peak_per_minute=totals[peak_minute],
            peak_minute=peak_minute * 60.0,
            per_minute=tuple(series),
            minutes_per_point=step,
            causes=tuple(causes.most_common()),
            signatures=tuple(sigs.most_common()),
        )

    def finish(self, *, top: int = 10, gap_minutes: int = 5) -> ScanFacts:
        return ScanFacts(
            bytes=self.bytes,
            matched=self.matched,
            by_cause=tuple(self.by_cause.most_common()),
            by_signature=tuple(self.by_signature.most_common()),
            by_daemon=tuple(self.by_daemon.most_common()),
            by_service=tuple(self.by_service.most_common(top)),
            top_clients=tuple(self.clients.most_common(top)),
            top_sockets=tuple(self.sockets.most_common(top)),
            top_upstreams=tuple(self.upstreams.most_common(top)),
            false_friends=tuple(self.false_friends.most_common()),
            examples=tuple(sorted(self.examples.items())),
            first=self.first,
            last=self.last,
            untimed=self.untimed,
            outside_window=self.outside_window,
            incidents=self.incidents(gap_minutes),
        )
