"""One frame of ``sockdoc watch``: the key counters' rates with their recent history, the
listeners and UDP sockets nearest their limits, the daemons' descriptors against their limits,
new log events, and the findings that appeared or cleared.

Pure: :class:`History` keeps what a frame needs from earlier steps (rates, events, findings);
:func:`frame` turns a state and the history into a rich renderable.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.text import Text

from sockdoc.facts.host import HostFacts, Listener, UdpSocket
from sockdoc.monitor import LogEvent, State
from sockdoc.report.lab_terminal import sparkline

HISTORY = 60  # steps of history in the sparklines
ROWS = 8  # rows per table
CLEARED_FOR = 10.0  # seconds a cleared finding stays on screen

# (label, counters summed)
SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("UDP send buffer full", ("Udp.SndbufErrors", "Udp6.SndbufErrors")),
    ("UDP receive buffer full", ("Udp.RcvbufErrors", "Udp6.RcvbufErrors")),
    ("TCP listen overflows", ("TcpExt.ListenOverflows",)),
    ("TCP SYN cookies sent", ("TcpExt.SyncookiesSent",)),
)
_SEV = {"critical": "bold white on red", "error": "bold red", "warning": "yellow", "info": "cyan"}


@dataclass
class History:
    """What a frame remembers from earlier steps."""

    rates: dict[str, deque[float]] = field(default_factory=dict)
    events: deque[LogEvent] = field(default_factory=lambda: deque(maxlen=ROWS))
    active: dict[tuple[str, str], str] = field(default_factory=dict)  # (rule, subject) -> sev
    appeared: dict[tuple[str, str], float] = field(default_factory=dict)
    cleared: dict[tuple[str, str], float] = field(default_factory=dict)
    steps: int = 0

    def add(self, s: State, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.steps += 1
        for label, value in _rates(s):
            self.rates.setdefault(label, deque(maxlen=HISTORY)).append(value)
        self.events.extend(s.new_events)
        current = {(f.rule, f.subject.name): f.severity.value for f in s.diagnosis.findings}
        for key in current.keys() - self.active.keys():
            self.appeared[key] = now
            self.cleared.pop(key, None)
        for key in self.active.keys() - current.keys():
            self.cleared[key] = now
        self.active = current
        for key, at in list(self.cleared.items()):
            if now - at > CLEARED_FOR:
                del self.cleared[key]


def _rates(s: State) -> list[tuple[str, float]]:
    f = s.facts
    out: list[tuple[str, float]] = []
    for label, names in SERIES:
        out.append((label, sum(r.per_second for n in names if (r := f.rate(n)) is not None)))
    qdrops = sum(q.drops for q in f.qdiscs if q.root)
    out.append(("qdisc drops", qdrops / f.seconds if f.seconds > 0 else 0.0))
    if f.softnet is not None:
        out.append(("softnet backlog drops", f.softnet.dropped / f.seconds if f.seconds else 0.0))
    bind = sum(r.per_second for n, r in f.bind_stats.items() if n.endswith("SendErr"))
    if f.bind_stats:
        out.append(("named send errors", bind))
    out.append(("log events (failure family)", float(len(s.new_events)) / max(f.seconds, 1.0)))
    return out


def _who(owner: object) -> str:
    comm, pid = getattr(owner, "comm", None), getattr(owner, "pid", None)
    return f"{comm}[{pid}]" if comm else "?"


def _bar(used: float, size: float, width: int = 10) -> Text:
    ratio = min(used / size, 1.0) if size > 0 else (1.0 if used > 0 else 0.0)
    filled = round(ratio * width)
    style = "red" if ratio >= 1.0 else ("yellow" if ratio >= 0.8 else "green")
    return Text("█" * filled + "·" * (width - filled), style=style)


def _size(n: int) -> str:
    """Bytes in at most 5 characters.

    >>> [_size(n) for n in (0, 8192, 212992, 4194304)]
    ['0', '8192', '208K', '4.0M']
    """
    if n < 10_000:
        return str(n)
    if n < 10 << 20:
        return f"{n / 1024:.0f}K" if n < 1000 << 10 else f"{n / (1 << 20):.1f}M"
    return f"{n / (1 << 20):.0f}M"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cut_left(text: str, width: int) -> str:
    """Keep the end, where a socket path has its name."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _section(title: str, header: str | None = None) -> Text:
    t = Text(title, style="bold")
    if header:
        t.append("\n" + header, style="dim")
    return t


def _listeners(f: HostFacts) -> Text:
    def fill(x: Listener) -> float:
        return (x.queue + 1) / (x.backlog + 1)

    shown = sorted(f.listeners, key=fill, reverse=True)[:ROWS]
    w = min(max((len(x.name) for x in shown), default=0), 64)
    w = max(w, 20)
    out = _section(
        "Listeners nearest their backlog",
        f"  {'kind':<5} {'listener':<{w}} {'owner':<18} {'queue/backlog':>13}  "
        f"{'':<10} {'drops/s':>8}",
    )
    for x in shown:
        drops = (x.drops or 0) / f.seconds if f.seconds > 0 else 0.0
        out.append(
            f"\n  {x.kind:<5} {_cut_left(x.name, w):<{w}} {_cut(_who(x.owner), 18):<18} "
            f"{f'{x.queue}/{x.backlog}':>13}  "
        )
        out.append_text(_bar(x.queue, x.backlog + 1))
        out.append(f" {drops:>8,.1f}")
    if not f.listeners:
        out.append("\n  no listeners", style="dim")
    return out


def _udp(f: HostFacts) -> Text:
    out = _section(
        "UDP sockets nearest their buffers",
        f"  {'socket':<22} {'owner':<16} {'receive used/buffer':<24} "
        f"{'send used/buffer':<24} {'drops/s':>8}",
    )

    def fill(u: UdpSocket) -> float:
        return max(u.rmem / u.rcvbuf if u.rcvbuf else 0, u.wmem / u.sndbuf if u.sndbuf else 0)

    for u in sorted(f.udp, key=lambda u: (fill(u), u.drops or 0), reverse=True)[:ROWS]:
        drops = (u.drops or 0) / f.seconds if f.seconds > 0 else 0.0
        out.append(f"\n  {_cut(u.name, 22):<22} {_cut(_who(u.owner), 16):<16} ")
        out.append_text(_bar(u.rmem, u.rcvbuf))
        out.append(f" {_size(u.rmem) + '/' + _size(u.rcvbuf):<13} ")
        out.append_text(_bar(u.wmem, u.sndbuf))
        out.append(f" {_size(u.wmem) + '/' + _size(u.sndbuf):<13} {drops:>8,.1f}")
    if not f.udp:
        out.append("\n  no UDP sockets", style="dim")
    return out


def _daemons(f: HostFacts) -> Text:
    out = _section(
        "Daemons' open files against their limit",
        f"  {'daemon':<10} {'process':<24} {'open/limit':>17}  {'':<10} {'processes':>9}",
    )
    rows = 0
    for d in f.daemons:
        for p in sorted(d.processes, key=lambda p: -(p.open_fds or 0) / (p.nofile_soft or 1)):
            if p.open_fds is None or p.nofile_soft is None or rows >= ROWS:
                continue
            rows += 1
            out.append(
                f"\n  {_cut(d.name, 10):<10} {_cut(f'{p.comm}[{p.pid}]', 24):<24} "
                f"{f'{p.open_fds:,}/{p.nofile_soft:,}':>17}  "
            )
            out.append_text(_bar(p.open_fds, p.nofile_soft))
            out.append(f" {d.count(p.comm):>9}")
            break
    if rows == 0:
        out.append("\n  no daemon sockdoc knows", style="dim")
    return out


def _events(h: History) -> Text:
    if not h.events:
        return Text("Log events: none yet", style="dim")
    out = _section("Log events")
    for e in list(h.events)[-ROWS:]:
        when = time.strftime("%H:%M:%S", time.localtime(e.t))
        out.append(f"\n  {when} ")
        out.append(f"{_cut(e.signature, 40):<40}", style=_SEV.get(e.severity, ""))
        out.append(f" {_cut(e.line, 120)}")
    return out


def _findings(s: State, h: History, now: float) -> Text:
    out = _section("Findings")
    for f in s.diagnosis.findings[:ROWS]:
        key = (f.rule, f.subject.name)
        since = h.appeared.get(key)
        new = since is not None and now - since < CLEARED_FOR and h.steps > 1
        out.append("\n  ")
        out.append(f" {f.severity.value.upper():<8} ", style=_SEV.get(f.severity.value, ""))
        out.append(f" {f.rule:<28} {_cut(str(f.subject), 56)}")
        if new:
            out.append("  new", style="bold")
    for (rule, subject), _at in sorted(h.cleared.items()):
        out.append("\n  ")
        out.append(f" {'cleared':<8} ", style="green")
        out.append(f" {rule:<28} {_cut(subject, 56)}")
    if not s.diagnosis.findings and not h.cleared:
        out.append("\n  ")
        out.append(" OK ", style="bold green")
        out.append(" no finding")
    return out


def _counters(h: History) -> Text:
    out = _section("Per second", f"  {'counter':<30} {'now':>10}  history (one step per mark)")
    for label, values in h.rates.items():
        now = values[-1] if values else 0.0
        out.append(f"\n  {label:<30} ")
        out.append(f"{now:>10,.1f}", style="bold red" if now > 0 else "")
        out.append(f"  {sparkline(list(values))}")
    return out


def frame(s: State, h: History, now: float | None = None) -> RenderableType:
    """The whole screen for state ``s`` (after ``h.add(s)``)."""
    now = s.wall if now is None else now
    f = s.facts
    ns = f" · netns {f.netns}" if f.netns else ""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.wall)) if s.wall else "?"
    head = Text.assemble(
        ("sockdoc watch", "bold"),
        f" · {f.host} · kernel {f.kernel}{ns} · {when} · rates over {f.seconds:.1f} s",
    )
    parts: list[RenderableType] = [head, _findings(s, h, now), _counters(h), _listeners(f)]
    parts += [_udp(f), _daemons(f), _events(h)]
    parts = [p for part in parts for p in (part, Text(""))][:-1]
    if s.follow_errors:
        parts.append(Text("log follow: " + "; ".join(s.follow_errors), style="yellow"))
    return Group(*parts)
