"""What a report says, computed once and rendered three ways (HTML, Markdown, JSON).

Pure: a :class:`~sockdoc.engine.Diagnosis` and the log scan's document in, frozen dataclasses
out; no file is read and nothing is drawn here. Each piece keeps to what was measured:

- the log timeline is the scan's own series of matched lines per minute, incident by incident
  (minutes with no matched line inside an incident are real zeros; a long incident's points
  cover several minutes, as the scan binned them);
- kernel counters exist at two moments only, the samples ``s0`` and ``s1`` of ``check``: a
  :class:`CounterMove` is their two values and the rate between them, nothing in between;
- listener queues and UDP buffers are known at ``s1`` (sock_diag) and, between ``s0`` and
  ``s1``, as the attribution sampler's peak and its count of samples that found them full (it
  keeps no time series, so neither does the report).

Examples:

>>> t = log_timeline('{"matched": 5, "inputs": ["/var/log/mail.log"], "incidents": [{'
...     '"start": "2026-11-21T03:00:00+00:00", "end": "2026-11-21T03:02:30+00:00", '
...     '"per_minute": [3, 0, 2], '
...     '"minutes_per_point": 1}]}')
>>> [(p.start, p.count) for p in t.points]
[(1795230000.0, 3), (1795230060.0, 0), (1795230120.0, 2)]
>>> log_timeline('{"incidents": [{"start": "2026-11-21T03:00:00+00:00", '
...              '"end": "2026-11-21T03:00:00+00:00", "per_minute": "3"}]}')
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: sockdoc scan --json: incident 0 per_minute: not a list of counts
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sockdoc.collect import logscan
from sockdoc.engine import Diagnosis
from sockdoc.facts.host import Daemon, HostFacts, Listener, UdpSocket
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.owners import Owner
from sockdoc.parsers.scan_doc import parse_scan_doc

# Counters that move when a socket queue or buffer overflows (the ones the rules cite). A
# report charts those a finding cites and those that moved; when none did, the first three,
# so that "no overflow counted" is shown rather than left out.
PRESSURE_COUNTERS = (
    "TcpExt.ListenOverflows",
    "Udp.SndbufErrors",
    "Udp.RcvbufErrors",
    "TcpExt.ListenDrops",
    "Udp6.SndbufErrors",
    "Udp6.RcvbufErrors",
    "Udp.MemErrors",
    "Udp6.MemErrors",
    "TcpExt.TCPReqQFullDrop",
    "TcpExt.TCPReqQFullDoCookies",
    "TcpExt.TCPBacklogDrop",
    "TcpExt.TCPAbortOnMemory",
    "TcpExt.TCPMemoryPressures",
)
MAX_COUNTERS = 6
MAX_ROWS = 10  # rows of the "nearest their limits" tables
SHOWN_INPUTS = 3  # log files named in the report's one-line note


@dataclass(frozen=True)
class LogPoint:
    """Matched log lines in ``minutes`` minutes from ``start`` (epoch seconds)."""

    start: float
    minutes: int
    count: int

    @property
    def per_minute(self) -> float:
        return self.count / self.minutes


@dataclass(frozen=True)
class LogTimeline:
    points: tuple[LogPoint, ...]
    matched: int
    untimed: int
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class CounterMove:
    """A kernel counter at the two samples (``before`` at s0, ``after`` at s1)."""

    name: str
    before: int
    after: int
    seconds: float
    cited: bool  # a finding names it in its evidence

    @property
    def delta(self) -> int:
        return max(self.after - self.before, 0)

    @property
    def per_second(self) -> float:
        return self.delta / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Window:
    """The check interval: wall-clock times of the two samples (None when not recorded)."""

    s0: float | None
    s1: float | None
    seconds: float


@dataclass(frozen=True)
class Sampling:
    """What the attribution sampler did between s0 and s1."""

    rounds: int
    hz: float
    seconds: float


Unit = Literal["connections", "bytes"]


@dataclass(frozen=True)
class Fill:
    """One queue or buffer against its limit: at s1 (``now``) and the sampler's ``peak``."""

    what: str  # "tcp listener", "unix listener", "udp receive", "udp send"
    name: str
    owner: str
    now: int | None
    peak: int | None
    limit: int
    unit: Unit
    full_samples: int
    samples: int
    drops: int | None
    inode: int = 0  # tells apart sockets of one address (SO_REUSEPORT, one per thread)

    @property
    def ratio(self) -> float:
        """The fuller of the two readings, as a fraction of the limit (above 1: overflowing)."""
        top = max(self.now or 0, self.peak or 0)
        return top / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True)
class Report:
    diagnosis: Diagnosis
    generated_at: float
    window: Window
    logs: LogTimeline | None
    logs_note: str  # why there is no timeline, or what it covers
    counters: tuple[CounterMove, ...]
    sampling: Sampling | None
    listeners: tuple[Fill, ...]  # nearest their limits first, at most MAX_ROWS
    listeners_total: int
    udp: tuple[Fill, ...]  # receive and send sides, nearest their limits first
    udp_total: int

    @property
    def facts(self) -> HostFacts:
        return self.diagnosis.facts

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Every row of both tables, nearest their limits first (what the chart draws)."""
        return tuple(sorted((*self.listeners, *self.udp), key=lambda f: -f.ratio))


def log_timeline(text: str) -> LogTimeline:
    """The per-minute series of ``sockdoc scan --json``'s incidents (see the module doc), read
    by the scan document's own parser."""
    logs = parse_scan_doc(text)
    points = [
        LogPoint(inc.start + n * inc.minutes_per_point * 60.0, inc.minutes_per_point, c)
        for inc in logs.incidents
        for n, c in enumerate(inc.per_minute)
    ]
    return LogTimeline(
        points=tuple(sorted(points, key=lambda p: p.start)),
        matched=logs.matched,
        untimed=logs.untimed,
        inputs=logs.inputs,
    )


def daemon_summary(d: Daemon) -> str:
    """One line for the report's header: name, version, how many processes."""
    n = sum(c for _, c in d.count_by_comm)
    version = f" {d.version}" if d.version else ""
    return f"{d.name}{version} ({n} process{'es' if n != 1 else ''})"


def _who(owner: Owner | None) -> str:
    return f"{owner.comm}[{owner.pid}]" if owner is not None else "?"


def _listener(x: Listener) -> Fill:
    return Fill(
        f"{x.kind} listener",
        x.name,
        _who(x.owner),
        x.queue,
        x.peak,
        x.backlog,
        "connections",
        x.full_samples,
        x.samples,
        x.drops,
        x.inode,
    )


def _udp(u: UdpSocket, rx_peak: int | None) -> tuple[Fill, Fill]:
    who = _who(u.owner)
    rx = Fill(
        "udp receive",
        u.name,
        who,
        u.rmem,
        rx_peak,
        u.rcvbuf,
        "bytes",
        u.rx_full_samples,
        u.samples,
        u.drops,
        u.inode,
    )
    # the socket's drop counter counts receive-side drops only (sk_drops): none for sending
    tx = Fill(
        "udp send",
        u.name,
        who,
        u.wmem,
        u.send_peak,
        u.sndbuf,
        "bytes",
        u.tx_full_samples,
        u.samples,
        None,
        u.inode,
    )
    return rx, tx


def _nearest(fills: Iterable[Fill]) -> list[Fill]:
    return sorted(fills, key=lambda f: (-f.ratio, -f.full_samples, f.what, f.name))


def counter_moves(facts: HostFacts, cited_text: str) -> tuple[CounterMove, ...]:
    """The pressure counters worth charting (see :data:`PRESSURE_COUNTERS`)."""
    present = [facts.counters[n] for n in PRESSURE_COUNTERS if n in facts.counters]
    chosen = [r for r in present if r.name in cited_text or r.delta > 0]
    if not chosen:
        chosen = present[:3]
    return tuple(
        CounterMove(r.name, r.before, r.after, r.seconds, r.name in cited_text)
        for r in chosen[:MAX_COUNTERS]
    )


def build(
    diagnosis: Diagnosis, logs_text: str | None, generated_at: float, logs_note: str = ""
) -> Report:
    """The report of ``diagnosis``; ``logs_text`` is the log scan's document when it was read
    (``logs_note`` says why not), ``generated_at`` the time the report is made."""
    facts = diagnosis.facts
    s1 = facts.taken_at
    window = Window(s1 - facts.seconds if s1 is not None else None, s1, facts.seconds)
    timeline: LogTimeline | None = None
    note = logs_note
    if logs_text is not None and facts.logs is not None:
        try:
            timeline = log_timeline(logs_text)
        except ParseError as exc:
            note = f"the log scan's timeline is unreadable: {exc}"
        else:
            where = ", ".join(timeline.inputs[:SHOWN_INPUTS]) or "no input"
            if len(timeline.inputs) > SHOWN_INPUTS:
                where += f" and {len(timeline.inputs) - SHOWN_INPUTS} more"
            note = (
                f"{timeline.matched:,} matched log lines in {where} (check scans the last "
                f"{logscan.DEFAULT_WINDOW} by default)"
            )
    elif logs_text is not None:
        note = "the log scan's result could not be read"
    cited = " ".join(e.name for f in diagnosis.findings for e in f.evidence)
    att = facts.attribution
    sampling = Sampling(att.rounds, att.hz, att.seconds) if att is not None else None
    rx_peaks = {t.inode: t.peak for t in att.tracks if t.kind == "udp"} if att else {}
    listeners = _nearest(_listener(x) for x in facts.listeners)
    udp = _nearest(f for u in facts.udp for f in _udp(u, rx_peaks.get(u.inode)))
    return Report(
        diagnosis=diagnosis,
        generated_at=generated_at,
        window=window,
        logs=timeline,
        logs_note=note,
        counters=counter_moves(facts, cited),
        sampling=sampling,
        listeners=tuple(listeners[:MAX_ROWS]),
        listeners_total=len(listeners),
        udp=tuple(udp[:MAX_ROWS]),
        udp_total=len(udp),
    )
