"""One frame of ``sockdoc watch``: the key counters' rates with their recent history, the
listeners and UDP sockets nearest their limits, the daemons' descriptors against their limits,
new log events, and the findings that appeared or cleared.

Pure: :class:`History` keeps what a frame needs from earlier steps (rates, events, findings);
:func:`frame` turns a state and the history into a rich renderable.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
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


def _listeners(f: HostFacts) -> Table:
    t = Table(title="Listeners nearest their backlog", title_justify="left", expand=True)
    for name, just in (("kind", "left"), ("listener", "left"), ("owner", "left"),
                       ("queue/backlog", "right"), ("", "left"), ("drops/s", "right")):  # fmt: skip
        t.add_column(name, justify=just, no_wrap=name != "listener")  # type: ignore[arg-type]

    def fill(x: Listener) -> float:
        return (x.queue + 1) / (x.backlog + 1)

    for x in sorted(f.listeners, key=fill, reverse=True)[:ROWS]:
        drops = (x.drops or 0) / f.seconds if f.seconds > 0 else 0.0
        t.add_row(
            x.kind, escape(x.name), escape(_who(x.owner)), f"{x.queue}/{x.backlog}",
            _bar(x.queue, x.backlog + 1), f"{drops:,.1f}",
        )  # fmt: skip
    if not f.listeners:
        t.add_row("", "[dim]no listeners[/dim]", "", "", "", "")
    return t


def _udp(f: HostFacts) -> Table:
    t = Table(title="UDP sockets nearest their buffers", title_justify="left", expand=True)
    for name, just in (("socket", "left"), ("owner", "left"), ("receive", "left"),
                       ("send", "left"), ("drops/s", "right")):  # fmt: skip
        t.add_column(name, justify=just)  # type: ignore[arg-type]

    def fill(u: UdpSocket) -> float:
        return max(u.rmem / u.rcvbuf if u.rcvbuf else 0, u.wmem / u.sndbuf if u.sndbuf else 0)

    for u in sorted(f.udp, key=lambda u: (fill(u), u.drops or 0), reverse=True)[:ROWS]:
        drops = (u.drops or 0) / f.seconds if f.seconds > 0 else 0.0
        rx = Text.assemble(_bar(u.rmem, u.rcvbuf), f" {u.rmem:,}/{u.rcvbuf:,}")
        tx = Text.assemble(_bar(u.wmem, u.sndbuf), f" {u.wmem:,}/{u.sndbuf:,}")
        t.add_row(escape(u.name), escape(_who(u.owner)), rx, tx, f"{drops:,.1f}")
    if not f.udp:
        t.add_row("[dim]no UDP sockets[/dim]", "", "", "", "")
    return t


def _daemons(f: HostFacts) -> Table:
    t = Table(title="Daemons' open files against their limit", title_justify="left", expand=True)
    for name in ("daemon", "process", "open/limit", "", "processes"):
        t.add_column(name, justify="right" if name in ("open/limit", "processes") else "left")
    rows = 0
    for d in f.daemons:
        for p in sorted(d.processes, key=lambda p: -(p.open_fds or 0) / (p.nofile_soft or 1)):
            if p.open_fds is None or p.nofile_soft is None or rows >= ROWS:
                continue
            rows += 1
            t.add_row(
                d.name, f"{p.comm}[{p.pid}]", f"{p.open_fds:,}/{p.nofile_soft:,}",
                _bar(p.open_fds, p.nofile_soft), str(d.count(p.comm)),
            )  # fmt: skip
            break
    if rows == 0:
        t.add_row("[dim]no daemon sockdoc knows[/dim]", "", "", "", "")
    return t


def _events(h: History) -> RenderableType:
    if not h.events:
        return Text("Log events: none yet", style="dim")
    t = Table(title="Log events", title_justify="left", expand=True, show_header=False)
    t.add_column("time", no_wrap=True)
    t.add_column("signature", no_wrap=True)
    t.add_column("line", overflow="ellipsis", no_wrap=True)
    for e in list(h.events)[-ROWS:]:
        when = time.strftime("%H:%M:%S", time.localtime(e.t))
        t.add_row(when, Text(e.signature, style=_SEV.get(e.severity, "")), escape(e.line))
    return t


def _findings(s: State, h: History, now: float) -> RenderableType:
    t = Table(title="Findings", title_justify="left", expand=True, show_header=False)
    t.add_column("severity", no_wrap=True)
    t.add_column("rule", no_wrap=True)
    t.add_column("subject")
    t.add_column("since", no_wrap=True, justify="right")
    for f in s.diagnosis.findings[:ROWS]:
        key = (f.rule, f.subject.name)
        since = h.appeared.get(key)
        new = since is not None and now - since < CLEARED_FOR and h.steps > 1
        label = Text(f" {f.severity.value.upper()} ", style=_SEV.get(f.severity.value, ""))
        t.add_row(label, f.rule, escape(str(f.subject)), Text("new", style="bold") if new else "")
    for (rule, subject), _at in sorted(h.cleared.items()):
        t.add_row(Text(" cleared ", style="green"), rule, escape(subject), "")
    if not s.diagnosis.findings and not h.cleared:
        t.add_row(Text(" OK ", style="bold green"), "no finding", "", "")
    return t


def _counters(h: History) -> Table:
    t = Table(title="Per second", title_justify="left", expand=True, show_header=False)
    t.add_column("counter", no_wrap=True)
    t.add_column("now", justify="right", no_wrap=True)
    t.add_column("history", no_wrap=True)
    for label, values in h.rates.items():
        now = values[-1] if values else 0.0
        style = "bold red" if now > 0 else ""
        t.add_row(label, Text(f"{now:,.1f}", style=style), sparkline(list(values)))
    return t


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
    if s.follow_errors:
        parts.append(Text("log follow: " + "; ".join(s.follow_errors), style="yellow"))
    return Group(*parts)


def render_once(s: State, h: History) -> Sequence[RenderableType]:
    return [frame(s, h)]
