"""The report as one self-contained HTML page (``sockdoc report -o FILE.html``).

One file to attach to a ticket or mail to a vendor: the CSS is inline, the charts are inline
SVG drawn by :mod:`sockdoc.report.charts`, there is no script and no reference to anything
outside the page (no CDN, no web font, no image file), so it opens offline, in a viewer that
blocks scripts, and prints as it shows. Collapsible parts use ``<details>``, which needs no
script.

Sections, in order: the host and what was read; a summary of the findings; the charts (log
errors per minute against the kernel counters; queues and buffers nearest their limits); each
finding with its evidence, the log lines it explains and its fix; the kernel counters at the
two samples; the log incidents; the listeners and UDP sockets nearest their limits; what was
checked and found fine; what could not be checked, and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from html import escape

from sockdoc import __version__
from sockdoc.report import charts
from sockdoc.report.model import Fill, Report, daemon_summary
from sockdoc.rules.base import SYSCTL_D, Finding

CSS = """
:root { --fg: #1c2833; --muted: #5d6d7e; --line: #d5d8dc; --bg: #ffffff; --soft: #f4f6f7; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--fg);
  background: var(--bg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
  sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 2px solid var(--line);
  padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
.muted, figcaption, .note { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: .85rem; }
pre { background: var(--soft); border: 1px solid var(--line); padding: .5rem .7rem;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: .3rem 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
  margin: .6rem 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
.sev { display: inline-block; min-width: 5.2rem; text-align: center; border-radius: 3px;
  padding: 0 .4rem; font-size: .8rem; font-weight: 700; color: #fff; }
.sev-critical { background: #641e16; } .sev-error { background: #c0392b; }
.sev-warning { background: #b9770e; } .sev-info { background: #2874a6; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--line);
  border-radius: 4px; padding: .8rem 1rem; margin: 0 0 1rem; page-break-inside: avoid; }
.finding.critical, .finding.error { border-left-color: #c0392b; }
.finding.warning { border-left-color: #d68910; } .finding.info { border-left-color: #2874a6; }
.finding h4 { margin: .6rem 0 .2rem; font-size: .95rem; }
.fix { background: #eafaf1; border-color: #abebc6; }
figure { margin: .5rem 0 1.5rem; }
svg.chart { width: 100%; height: auto; display: block; }
ul.plain { padding-left: 1.2rem; margin: .3rem 0; }
.ok { color: #1e8449; } .nc { color: #9a7d0a; }
details > summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .8rem; }
@media print { body { max-width: none; } }
"""


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


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """A table of already-escaped cells; columns in ``numeric`` are right-aligned."""

    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ""

    out = ["<table><thead><tr>"]
    out += [f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _header(r: Report) -> str:
    f = r.facts
    d = r.diagnosis
    where = "a bundle collected on" if f.kind == "bundle" else "the live host"
    ns = f", network namespace <code>{escape(f.netns)}</code>" if f.netns else ""
    sources = len(f.sources)
    read = sum(1 for s in f.sources if s.status == "ok")
    daemons = ", ".join(escape(daemon_summary(x)) for x in f.daemons)
    logs = escape(r.logs_note) if r.logs_note else "not scanned"
    rows = [
        ("host", f"{escape(f.host or '?')} (kernel {escape(f.kernel or '?')}{ns})"),
        (
            "read from",
            "a bundle from 'sockdoc collect'" if f.kind == "bundle" else "this host, live",
        ),
        ("samples", f"s0 {_t(r.window.s0)}, s1 {_t(r.window.s1)} ({r.window.seconds:.1f} s)"),
        ("CPUs", _n(f.cpus)),
        ("daemons", daemons or "none that sockdoc knows"),
        ("sockets", f"{r.listeners_total} listeners, {len(f.udp)} UDP sockets"),
        ("logs", logs),
        ("sources", f"{read} of {sources} read"),
        ("rules", f"{d.rules_run} run"),
    ]
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f"<h1>sockdoc report: {escape(f.host or 'unknown host')}</h1>"
        f'<p class="muted">Socket-pressure diagnosis of {where} {escape(f.host or "?")}, '
        f"taken {_t(f.taken_at)}.</p>"
        f'<h2 id="host">Host</h2><dl class="facts">{facts}</dl>'
    )


def _summary(r: Report) -> str:
    d = r.diagnosis
    if not d.findings:
        return (
            '<h2 id="summary">Summary</h2><p class="ok">No findings: nothing overflowing, '
            f"nothing close to a limit ({len(d.ok)} checks OK, {len(d.not_checked)} not "
            "checked).</p>"
        )
    items = "".join(
        f'<li><span class="sev sev-{f.severity.value}">{f.severity.value.upper()}</span> '
        f'<a href="#finding-{n}">{escape(f.title)}</a></li>'
        for n, f in enumerate(d.findings, 1)
    )
    return (
        f'<h2 id="summary">Summary</h2><p>{len(d.findings)} findings, {len(d.ok)} checks OK, '
        f"{len(d.not_checked)} could not be checked.</p>"
        f'<ul class="plain">{items}</ul>'
    )


def _charts(r: Report) -> str:
    out = ['<h2 id="charts">Timeline and limits</h2>']
    why = charts.missing()
    if why is not None:
        return out[0] + f'<p class="note">No charts: {escape(why)}.</p>'
    timeline = charts.timeline_svg(r)
    counters = (
        "the kernel's pressure counters, read at two moments, s0 and s1, "
        f"{r.window.seconds:.1f} s apart (shaded): each is drawn as its rate between them, "
        "and only there."
    )
    if timeline is not None and r.logs is not None and r.logs.points:
        caption = (
            f"Top: matched log lines per minute ({escape(r.logs_note)}); hatched, a minute "
            f"that had not ended when the logs were read. Bottom: {counters}"
        )
    else:
        caption = f"No log timeline ({escape(r.logs_note or 'no matched lines')}): {counters}"
    if timeline is not None:
        out.append(
            f'<figure id="chart-timeline">{timeline}<figcaption>{caption}</figcaption></figure>'
        )
    else:
        out.append('<p class="note">No timeline: neither log lines nor sample times.</p>')
    fill = charts.fill_svg(r)
    if fill is not None:
        out.append(
            f'<figure id="chart-fill">{fill}<figcaption>Each listener queue or UDP buffer '
            "against its limit. Bar: the longest queue or largest buffer use the sampler saw "
            "between s0 and s1 (it keeps the peak and how many samples found it full, not "
            "when); marker: the value at s1. Past 100% the kernel refuses or drops."
            "</figcaption></figure>"
        )
    elif r.listeners or r.udp:
        out.append(
            f'<p class="note">No chart of queues and buffers: all {r.listeners_total} listener '
            f"queues and {r.udp_total} UDP buffers were empty at s1 and in every sample (see "
            "the tables below).</p>"
        )
    else:
        out.append('<p class="note">No listener or UDP socket was read.</p>')
    return "".join(out)


def _finding(n: int, f: Finding) -> str:
    sev = f.severity.value
    ids = f.ids
    out = [
        f'<section class="finding {sev}" id="finding-{n}">',
        f'<h3>{n}. <span class="sev sev-{sev}">{sev.upper()}</span> {escape(f.title)}</h3>',
        f'<p class="muted"><code>{escape(ids)}</code> · confidence {f.confidence.value} · '
        f"{escape(str(f.subject))}</p>",
        f"<p>{escape(f.explanation)}</p>",
    ]
    if f.evidence:
        out.append("<h4>Evidence</h4>")
        out.append(
            _table(
                ("what", "value", "read from"),
                ((escape(e.name), escape(e.shown()), escape(e.source)) for e in f.evidence),
                {1},
            )
        )
    if f.logs:
        out.append("<h4>Log lines it explains</h4>")
        out.append(
            _table(
                ("what", "value"),
                ((escape(e.name), escape(e.shown())) for e in f.logs),
                set(),
            )
        )
    out.append(f"<h4>Fix</h4><p>{escape(f.fix.summary)}</p>")
    if f.fix.sysctls:
        now = "\n".join(f.fix.sysctl_lines())
        keep = "\n".join(f.fix.sysctl_d_lines())
        out.append(f'<pre class="fix">{escape(now)}</pre>')
        out.append(f'<p class="muted">and to keep it, in <code>{SYSCTL_D}</code>:</p>')
        out.append(f'<pre class="fix">{escape(keep)}</pre>')
    for c in f.fix.config:
        out.append(f'<p class="muted">in <code>{escape(c.file)}</code>:</p>')
        out.append(f'<pre class="fix">{escape(c.text)}</pre>')
        if c.reload:
            out.append(f'<p class="muted">then: <code>{escape(c.reload)}</code></p>')
    if f.fix.commands:
        out.append(f'<pre class="fix">{escape(chr(10).join(f.fix.commands))}</pre>')
    out.append("</section>")
    return "".join(out)


def _findings(r: Report) -> str:
    d = r.diagnosis
    if not d.findings:
        return ""
    return '<h2 id="findings">Findings</h2>' + "".join(
        _finding(n, f) for n, f in enumerate(d.findings, 1)
    )


def _counters(r: Report) -> str:
    if not r.counters:
        return ""
    rows = (
        (
            f"<code>{escape(c.name)}</code>" + (" (cited)" if c.cited else ""),
            _n(c.before),
            _n(c.after),
            _n(c.delta),
            f"{c.per_second:,.1f}",
        )
        for c in r.counters
    )
    return (
        '<h2 id="counters">Kernel counters at the two samples</h2>'
        f'<p class="note">Read at s0 ({_t(r.window.s0)}) and s1 ({_t(r.window.s1)}); values '
        "count since boot, or since the network namespace was made.</p>"
        + _table(("counter", "s0", "s1", "increase", "per second"), rows, {1, 2, 3, 4})
    )


def _incidents(r: Report) -> str:
    logs = r.facts.logs
    if logs is None or not logs.incidents:
        return ""
    rows = (
        (
            _t(i.start),
            _t(i.end),
            _n(i.count),
            _n(i.peak_per_minute),
            escape(", ".join(f"{c} {n:,}" for c, n in i.causes)),
        )
        for i in logs.incidents
    )
    examples = "".join(
        f"<li><code>{escape(sig)}</code><pre>{escape(line)}</pre></li>"
        for sig, line in logs.examples
    )
    more = (
        f'<details><summary>An example line per wording</summary><ul class="plain">'
        f"{examples}</ul></details>"
        if examples
        else ""
    )
    return (
        '<h2 id="incidents">Log incidents</h2>'
        + _table(("start", "end", "lines", "peak / min", "causes"), rows, {2, 3})
        + more
    )


def _fill_rows(fills: Sequence[Fill]) -> list[tuple[str, ...]]:
    return [
        (
            escape(f.what),
            f"<code>{escape(f.name)}</code>",
            str(f.inode) if f.inode else "",
            escape(f.owner),
            _n(f.now),
            _n(f.peak),
            _n(f.limit),
            f"{100 * f.ratio:,.0f}%",
            f"{f.full_samples} / {f.samples}" if f.samples else "not sampled",
            _n(f.drops) if f.drops is not None else "",
        )
        for f in fills
    ]


def _tables(r: Report) -> str:
    head = (
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
    )
    out = ['<h2 id="sockets">Sockets nearest their limits</h2>']
    out.append(
        f"<h3>Listeners ({len(r.listeners)} of {r.listeners_total})</h3>"
        '<p class="note">Accept queue against the listen backlog, in connections; drops: '
        "connections the listener dropped between s0 and s1 (TCP).</p>"
    )
    out.append(
        _table(head, _fill_rows(r.listeners), {4, 5, 6, 7, 8, 9})
        if r.listeners
        else '<p class="note">No listener was read.</p>'
    )
    out.append(
        f"<h3>UDP sockets ({len(r.udp)} of {r.udp_total} buffers)</h3>"
        '<p class="note">Memory charged to the socket against SO_RCVBUF / SO_SNDBUF, in bytes; '
        "drops: datagrams the socket dropped on arrival between s0 and s1.</p>"
    )
    out.append(
        _table(head, _fill_rows(r.udp), {4, 5, 6, 7, 8, 9})
        if r.udp
        else '<p class="note">No UDP socket was read.</p>'
    )
    return "".join(out)


def _ok(r: Report) -> str:
    d = r.diagnosis
    items = "".join(
        f'<li><span class="ok">ok</span> {escape(o.summary)} <span class="muted">'
        f"({escape(o.rule)})</span></li>"
        for o in d.ok
    )
    return f'<h2 id="ok">Checked and OK ({len(d.ok)})</h2><ul class="plain">{items}</ul>'


def _not_checked(r: Report) -> str:
    d = r.diagnosis
    out = [
        f'<h2 id="not-checked">What could not be checked ({len(d.not_checked)} checks, '
        f"{len(d.unavailable)} sources)</h2>"
    ]
    if not (d.not_checked or d.unavailable or d.errors):
        out.append('<p class="ok">Every check had its evidence.</p>')
    if d.not_checked:
        items = "".join(
            f'<li><span class="nc">--</span> <code>{escape(n.rule)}</code>: {escape(n.reason)}'
            + (" <strong>(run as root)</strong>" if n.needs_root else "")
            + "</li>"
            for n in d.not_checked
        )
        out.append(f'<ul class="plain">{items}</ul>')
    if d.errors:
        items = "".join(
            f"<li><code>{escape(e.rule)}</code> crashed: {escape(e.error)}</li>" for e in d.errors
        )
        out.append(f'<p>Rules that failed (a bug in sockdoc):</p><ul class="plain">{items}</ul>')
    if d.unavailable:
        rows = (
            (
                f"<code>{escape(s.origin or s.key)}</code>",
                escape(s.status),
                escape(s.reason) + (" (needs root)" if s.needs_root else ""),
            )
            for s in d.unavailable
        )
        absent = sum(1 for s in d.unavailable if s.status == "absent")
        out.append(
            f"<details><summary>Sources not read: {len(d.unavailable)} ({absent} absent on "
            "this host: a module not loaded, a value the driver does not report)</summary>"
            + _table(("source", "status", "why"), rows, set())
            + "</details>"
        )
    return "".join(out)


def render(r: Report) -> str:
    """The whole page."""
    title = f"sockdoc report: {r.facts.host or 'unknown host'}"
    body = "".join(
        (
            _header(r),
            _summary(r),
            _charts(r),
            _findings(r),
            _counters(r),
            _incidents(r),
            _tables(r),
            _ok(r),
            _not_checked(r),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}{charts.CHART_CSS}\n</style></head><body>"
        f"{body}"
        f"<footer>Made by sockdoc {escape(__version__)} on {_t(r.generated_at)}. One file, "
        "no scripts, nothing loaded from elsewhere.</footer>"
        "</body></html>\n"
    )
