"""The report as Markdown for a ticket (``sockdoc report -o FILE.md``).

The same sections as the HTML page (:mod:`sockdoc.report.html`), in GitHub-flavoured Markdown
that ticket systems render: tables, fenced blocks for the fixes. Charts do not travel in
Markdown; their data does: the log lines per minute and the counters at the two samples are
tables, and the HTML report draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from sockdoc import __version__
from sockdoc.report.model import Fill, Report, daemon_summary
from sockdoc.rules.base import SYSCTL_D, Finding

MAX_MINUTES = 60  # rows of the per-minute table; the HTML and JSON reports have them all


def _t(value: float | None) -> str:
    if value is None:
        return "not recorded"
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _n(value: int | float | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def text(value: str) -> str:
    """Free text made safe for Markdown renderers that drop what looks like an HTML tag
    (BIND's version ends in ``<id:>``).

    >>> text("BIND 9.18 <id:>")
    'BIND 9.18 &lt;id:>'
    """
    return value.replace("&", "&amp;").replace("<", "&lt;")


def cell(value: str) -> str:
    """Text made safe for one table cell: pipes escaped, on one line.

    >>> cell("a|b\\nc")
    'a\\\\|b c'
    """
    one_line = value.replace("\r", " ").replace("\n", " ")
    return text(one_line.replace("\\", "\\\\").replace("|", "\\|"))


def code(value: str) -> str:
    """Inline code that survives backticks in ``value``."""
    fence = "``" if "`" in value else "`"
    pad = " " if "`" in value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    lines = ["| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else "---" for i in range(len(head))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fenced(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}\n"


def _header(r: Report) -> list[str]:
    f = r.facts
    ns = f", network namespace {code(f.netns)}" if f.netns else ""
    where = "a bundle from 'sockdoc collect'" if f.kind == "bundle" else "this host, live"
    daemons = ", ".join(text(daemon_summary(x)) for x in f.daemons)
    read = sum(1 for s in f.sources if s.status == "ok")
    return [
        f"# sockdoc report: {f.host or 'unknown host'}\n",
        f"- **host**: {f.host or '?'} (kernel {f.kernel or '?'}{ns})",
        f"- **read from**: {where}",
        f"- **samples**: s0 {_t(r.window.s0)}, s1 {_t(r.window.s1)} ({r.window.seconds:.1f} s)",
        f"- **CPUs**: {_n(f.cpus)}",
        f"- **daemons**: {daemons or 'none that sockdoc knows'}",
        f"- **sockets**: {r.listeners_total} listeners, {len(f.udp)} UDP sockets",
        f"- **logs**: {text(r.logs_note or 'not scanned')}",
        f"- **sources**: {read} of {len(f.sources)} read; {r.diagnosis.rules_run} rules run\n",
    ]


def _summary(r: Report) -> list[str]:
    d = r.diagnosis
    out = ["## Summary\n"]
    if not d.findings:
        out.append(
            f"No findings: nothing overflowing, nothing close to a limit ({len(d.ok)} checks "
            f"OK, {len(d.not_checked)} not checked).\n"
        )
        return out
    out.append(
        f"{len(d.findings)} findings, {len(d.ok)} checks OK, {len(d.not_checked)} could not "
        "be checked.\n"
    )
    out += [
        f"{n}. **{f.severity.value.upper()}** {text(f.title)}" for n, f in enumerate(d.findings, 1)
    ]
    out.append("")
    return out


def _finding(n: int, f: Finding) -> list[str]:
    ids = f.ids
    out = [
        f"### {n}. {f.severity.value.upper()}: {text(f.title)}\n",
        f"{code(ids)} · confidence {f.confidence.value} · {text(str(f.subject))}\n",
        f"{text(f.explanation)}\n",
    ]
    if f.evidence:
        out.append("**Evidence**\n")
        out.append(
            _table(
                ("what", "value", "read from"),
                ((cell(e.name), cell(e.shown()), cell(e.source)) for e in f.evidence),
                {1},
            )
        )
    if f.logs:
        out.append("**Log lines it explains**\n")
        out.append(
            _table(("what", "value"), ((cell(e.name), cell(e.shown())) for e in f.logs), set())
        )
    out.append(f"**Fix**: {text(f.fix.summary)}\n")
    if f.fix.sysctls:
        out.append(_fenced("\n".join(f.fix.sysctl_lines()), "sh"))
        out.append(f"and to keep it, in {code(SYSCTL_D)}:\n")
        out.append(_fenced("\n".join(f.fix.sysctl_d_lines())))
    for c in f.fix.config:
        out.append(f"in {code(c.file)}:\n")
        out.append(_fenced(c.text))
        if c.reload:
            out.append(f"then: {code(c.reload)}\n")
    if f.fix.commands:
        out.append(_fenced("\n".join(f.fix.commands), "sh"))
    return out


def _timeline(r: Report) -> list[str]:
    out = ["## Timeline\n"]
    if r.logs is None or not r.logs.points:
        out.append(f"No log timeline: {text(r.logs_note or 'no matched lines')}.\n")
    else:
        points = r.logs.points
        shown = points[:MAX_MINUTES]
        out.append(f"Matched log lines per minute ({text(r.logs_note)}):\n")
        out.append(
            _table(
                ("from (UTC)", "minutes", "lines", "per minute"),
                ((_t(p.start), str(p.minutes), _n(p.count), _n(p.per_minute)) for p in shown),
                {1, 2, 3},
            )
        )
        if len(points) > len(shown):
            out.append(f"... and {len(points) - len(shown)} more points (see the HTML report).\n")
    if r.counters:
        out.append(
            f"Kernel counters, read at s0 ({_t(r.window.s0)}) and s1 ({_t(r.window.s1)}); "
            "nothing is known of them outside that interval:\n"
        )
        out.append(
            _table(
                ("counter", "s0", "s1", "increase", "per second"),
                (
                    (
                        code(c.name) + (" (cited)" if c.cited else ""),
                        _n(c.before),
                        _n(c.after),
                        _n(c.delta),
                        f"{c.per_second:,.1f}",
                    )
                    for c in r.counters
                ),
                {1, 2, 3, 4},
            )
        )
    logs = r.facts.logs
    if logs is not None and logs.incidents:
        out.append("Log incidents:\n")
        out.append(
            _table(
                ("start", "end", "lines", "peak / min", "causes"),
                (
                    (
                        _t(i.start),
                        _t(i.end),
                        _n(i.count),
                        _n(i.peak_per_minute),
                        cell(", ".join(f"{c} {n:,}" for c, n in i.causes)),
                    )
                    for i in logs.incidents
                ),
                {2, 3},
            )
        )
    return out


def _fills(fills: Sequence[Fill]) -> str:
    return _table(
        (
            "kind",
            "socket",
            "inode",
            "owner",
            "at s1",
            "peak",
            "limit",
            "fullest",
            "full samples",
            "drops",
        ),
        (
            (
                f.what,
                code(f.name),
                str(f.inode) if f.inode else "",
                cell(f.owner),
                _n(f.now),
                _n(f.peak),
                _n(f.limit),
                f"{100 * f.ratio:,.0f}%",
                f"{f.full_samples} / {f.samples}" if f.samples else "not sampled",
                _n(f.drops) if f.drops is not None else "",
            )
            for f in fills
        ),
        {4, 5, 6, 7, 8, 9},
    )


def _tables(r: Report) -> list[str]:
    out = ["## Sockets nearest their limits\n"]
    out.append(
        f"**Listeners** ({len(r.listeners)} of {r.listeners_total}): accept queue against the "
        "listen backlog, in connections; peak from the sampler between s0 and s1.\n"
    )
    out.append(_fills(r.listeners) if r.listeners else "No listener was read.\n")
    out.append(
        f"**UDP sockets** ({len(r.udp)} of {r.udp_total} buffers): memory charged against "
        "SO_RCVBUF / SO_SNDBUF, in bytes.\n"
    )
    out.append(_fills(r.udp) if r.udp else "No UDP socket was read.\n")
    return out


def _rest(r: Report) -> list[str]:
    d = r.diagnosis
    out = [f"## Checked and OK ({len(d.ok)})\n"]
    out += [f"- {text(o.summary)} ({code(o.rule)})" for o in d.ok]
    out.append("")
    out.append(
        f"## What could not be checked ({len(d.not_checked)} checks, "
        f"{len(d.unavailable)} sources)\n"
    )
    if not (d.not_checked or d.unavailable or d.errors):
        out.append("Every check had its evidence.\n")
    for nc in d.not_checked:
        root = " **(run as root)**" if nc.needs_root else ""
        out.append(f"- {code(nc.rule)}: {text(nc.reason)}{root}")
    for e in d.errors:
        out.append(f"- rule {code(e.rule)} crashed (a bug in sockdoc): {text(e.error)}")
    if d.not_checked or d.errors:
        out.append("")
    if d.unavailable:
        out.append("Sources not read:\n")
        out.append(
            _table(
                ("source", "status", "why"),
                (
                    (
                        code(s.origin or s.key),
                        s.status,
                        cell(s.reason + (" (needs root)" if s.needs_root else "")),
                    )
                    for s in d.unavailable
                ),
                set(),
            )
        )
    return out


def render(r: Report) -> str:
    """The whole document."""
    parts = [*_header(r), *_summary(r)]
    if r.diagnosis.findings:
        parts.append("## Findings\n")
        for n, f in enumerate(r.diagnosis.findings, 1):
            parts += _finding(n, f)
    parts += _timeline(r)
    parts += _tables(r)
    parts += _rest(r)
    parts.append(f"---\nMade by sockdoc {__version__} on {_t(r.generated_at)}.")
    return "\n".join(parts) + "\n"
