"""``sockdoc report``: what it says (from real bundles), its three formats, how it writes, how
it fails, and the HTML page in a real browser (headless Chromium).

Bundles: ``overflow.tar.gz`` (three overflowing sockets, no logs) and ``dovecot-incident.tar.gz``
(a real Dovecot login storm: several minutes of log errors, then the two counter samples) and
``bind-incident.tar.gz`` (BIND failing to send answers: log lines and Udp.SndbufErrors);
tests/fixtures/bundles/README.md says how each was made.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browserkit import chromium, open_page, require_browser
from click.testing import CliRunner

from sockdoc.cli import cli, main
from sockdoc.collect import bundle, specs
from sockdoc.collect.gather import GatherOptions, gather
from sockdoc.engine import diagnose
from sockdoc.facts.host import build as build_facts
from sockdoc.parsers.errors import ParseError
from sockdoc.report import charts, html, markdown, model, report_json

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
OVERFLOW = BUNDLES / "overflow.tar.gz"
DOVECOT = BUNDLES / "dovecot-incident.tar.gz"
BIND = BUNDLES / "bind-incident.tar.gz"
QUIET = Path(__file__).parent / "fixtures" / "rules" / "base"  # this host, quiet (unpacked)
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc).timestamp()


@functools.cache
def report_of(path: Path) -> model.Report:
    with bundle.opened(str(path)) as root:
        collected = gather(root, GatherOptions())
    g = collected.get(specs.LOGS)
    text = g.text() if g.ok else None
    note = "" if text is not None else "logs not scanned"
    return model.build(diagnose(build_facts(collected)), text, NOW, note)


def sockdoc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sockdoc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


# --- what the report says ------------------------------------------------------------------


def test_overflow_bundle_counters_and_sockets_nearest_their_limits() -> None:
    r = report_of(OVERFLOW)
    assert r.logs is None and r.logs_note == "logs not scanned"
    assert r.window.seconds == pytest.approx(2.0, abs=0.05)
    assert r.window.s1 is not None and r.window.s0 == pytest.approx(r.window.s1 - r.window.seconds)
    moves = {c.name: c for c in r.counters}
    # the counters the findings cite, with their values at the two samples
    assert (moves["TcpExt.ListenOverflows"].before, moves["TcpExt.ListenOverflows"].after) == (
        8,
        16,
    )
    assert moves["Udp.RcvbufErrors"].delta == 800 and moves["Udp.RcvbufErrors"].cited
    assert moves["Udp6.RcvbufErrors"].delta == 0 and moves["Udp6.RcvbufErrors"].cited
    # nearest the limit first: the TCP listener (3 queued, backlog 2), then the UNIX one
    top = [(f.what, f.name, f.now, f.peak, f.limit) for f in r.listeners]
    assert top[0] == ("tcp listener", "127.0.0.1:7070", 3, 3, 2)
    assert top[1][:2] == ("unix listener", "/tmp/tmp.ii2ACl7g2q/svc.sock") and top[1][4] == 4
    assert r.listeners[0].full_samples == r.listeners[0].samples == 51
    assert r.listeners[0].drops == 8
    rx = r.udp[0]
    assert (rx.what, rx.name, rx.limit, rx.peak, rx.drops) == (
        "udp receive",
        "127.0.0.1:5353",
        8192,
        6912,
        800,
    )
    assert r.sampling is not None and r.sampling.rounds == 51


def test_dovecot_bundle_log_timeline_is_the_scans_per_minute_series() -> None:
    r = report_of(DOVECOT)
    assert r.logs is not None
    points = [(datetime.fromtimestamp(p.start, timezone.utc), p.count) for p in r.logs.points]
    t = functools.partial(datetime, 2026, 11, 21, 22, tzinfo=timezone.utc)
    assert points == [(t(9), 25), (t(10), 8), (t(11), 41), (t(12), 37)]
    assert sum(c for _, c in points) == r.logs.matched == 111
    assert "111 matched log lines in /tmp/sockdoc-e2e-dovecot-" in r.logs_note
    # the log's last minute had not ended when the bundle was taken
    assert r.window.s1 is not None and r.logs.points[-1].start + 60 > r.window.s1
    # no kernel counter moved: UNIX-socket overflows are not counted; shown as zeros anyway
    assert [c.name for c in r.counters] == [
        "TcpExt.ListenOverflows",
        "Udp.SndbufErrors",
        "Udp.RcvbufErrors",
    ]
    assert all(c.delta == 0 for c in r.counters)
    assert {f.rule for f in r.diagnosis.findings} >= {"dovecot-process-limit"}


def test_bind_bundle_log_lines_and_the_send_buffer_counter_side_by_side() -> None:
    r = report_of(BIND)
    assert r.logs is not None and r.logs.matched == 6607
    t = functools.partial(datetime, 2026, 11, 21, 22, tzinfo=timezone.utc)
    per_minute = [(datetime.fromtimestamp(p.start, timezone.utc), p.count) for p in r.logs.points]
    assert per_minute == [(t(14), 2305), (t(15), 0), (t(16), 4302)]
    sndbuf = next(c for c in r.counters if c.name == "Udp.SndbufErrors")
    assert (sndbuf.delta, sndbuf.cited) == (46, True)
    assert r.diagnosis.findings[0].rule == "bind-send-errors"
    # named's send buffers, nearest their limit (SO_SNDBUF 131,072: udp-send-buffer doubled)
    send = [f for f in r.udp if f.what == "udp send"]
    assert send[0].limit == 131072 and send[0].peak is not None and send[0].ratio > 0.95


def test_charts_draw_only_what_exists() -> None:
    r = report_of(OVERFLOW)
    # no log lines and no sample times: no timeline at all
    blind = dataclasses.replace(r, window=model.Window(None, None, 0.0))
    assert charts.timeline_svg(blind) is None
    # no log lines: the counters alone, around the interval, saying why
    svg = charts.timeline_svg(r)
    assert svg is not None and "no log timeline: logs not scanned" in svg
    assert "Log errors per minute" not in svg
    # every queue and buffer empty: no fill chart (the tables still list them)
    idle = dataclasses.replace(r, listeners=(), udp=tuple(f for f in r.udp if f.ratio == 0))
    assert idle.udp and charts.fill_svg(idle) is None
    # the sampler did not run: the chart says so
    unsampled = dataclasses.replace(r, sampling=None)
    assert "the sampler did not run: values at s1 only" in (charts.fill_svg(unsampled) or "")


def test_log_timeline_parser_rejects_bad_documents() -> None:
    for text in (
        "not json",
        "[]",
        '{"incidents": 3}',
        '{"incidents": [{"start": "yesterday"}]}',
        '{"incidents": [{"start": "2026-11-21T03:00:00+00:00", "per_minute": [1, "2"]}]}',
        '{"incidents": [{"start": "2026-11-21T03:00:00+00:00", "minutes_per_point": 0}]}',
        '{"matched": "5"}',
    ):
        with pytest.raises(ParseError):
            model.log_timeline(text)
    binned = model.log_timeline(
        '{"matched": 9, "incidents": [{"start": "2026-11-21T03:00:00+00:00", '
        '"end": "2026-11-21T03:06:00+00:00", "per_minute": [6, 3], "minutes_per_point": 3}]}'
    )
    assert [(p.minutes, p.per_minute) for p in binned.points] == [(3, 2.0), (3, 1.0)]
    assert binned.points[1].start - binned.points[0].start == 180


def test_an_unreadable_log_timeline_is_said_not_hidden() -> None:
    d = report_of(DOVECOT).diagnosis
    r = model.build(d, '{"incidents": [{"start": 1}]}', NOW)
    assert r.logs is None
    assert r.logs_note.startswith("the log scan's timeline is unreadable: ")
    assert "No log timeline (the log scan&#x27;s timeline is unreadable" in html.render(r)


# --- HTML ----------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Every tag with its attributes, and the text outside <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        (self.style if self._in[-1:] == ["style"] else self.text).append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def test_html_is_one_self_contained_page_with_findings_and_charts() -> None:
    r = report_of(OVERFLOW)
    page = html.render(r)
    p = _parse(page)
    assert page.startswith("<!DOCTYPE html>")
    # nothing to fetch and nothing to run
    assert not p.named("script") and not p.named("link") and not p.named("img")
    assert not p.named("iframe") and not p.named("object")
    assert len(p.named("style")) == 1
    for _, attrs in p.tags:
        assert "src" not in attrs
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
        assert not any(k.startswith("on") for k in attrs)
    css = "".join(p.style)
    assert "url(" not in css and "@import" not in css
    assert not re.search(r"https?://", page)
    # the charts: inline SVG elements, both of them, without an XML prologue
    svgs = p.named("svg")
    assert [a.get("aria-label") for a in svgs] == [
        "log errors per minute against kernel counter rates",
        "queues and buffers against their limits",
    ]
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    # one page, one id: each chart's ids are its own, and every reference finds its target
    ids = [a["id"] for _, a in p.tags if a.get("id")]
    assert len(ids) == len(set(ids)) > 100
    refs = {(a.get("href") or "")[1:] for _, a in p.tags if (a.get("href") or "").startswith("#")}
    refs |= set(re.findall(r"url\(#([^)]+)\)", page))
    assert refs and refs <= set(ids), refs - set(ids)
    # the findings, each with its evidence and fix; the summary links to them
    sections = [a for a in p.named("section") if "finding" in (a.get("class") or "")]
    assert [a["id"] for a in sections] == ["finding-1", "finding-2", "finding-3"]
    text = " ".join(p.text)
    for f in r.diagnosis.findings:
        assert f.title in text
        assert f.fix.summary in text
    assert "queue now / backlog" in text and "5 / 4" in text
    assert {a.get("href") for a in p.named("a")} == {"#finding-1", "#finding-2", "#finding-3"}
    # the tables and what could not be checked
    assert "Listeners (2 of 2)" in text and "UDP sockets (4 of 4 buffers)" in text
    assert "What could not be checked (1 checks, 1 sources)" in text
    assert "nic-half-duplex" in text
    assert "Checked and OK (10)" in text


def test_html_dovecot_log_lines_are_text_never_links() -> None:
    page = html.render(report_of(DOVECOT))
    p = _parse(page)
    text = " ".join(p.text)
    assert "Log incidents" in text and "process-limit 104, unix-listen-queue-full 7" in text
    # Dovecot's own line quotes its wiki: shown as text, not turned into a link
    assert "http://wiki2.dovecot.org/SocketUnavailable" in text
    assert all((a.get("href") or "#").startswith("#") for _, a in p.tags)
    assert "minute not over when the logs were read" in page  # the chart's legend, as text
    assert "no pressure counter moved between s0 and s1" in page


def test_a_quiet_host_is_reported_as_quiet() -> None:
    r = report_of(QUIET)
    assert not r.diagnosis.findings
    assert r.logs is not None and r.logs.matched == 0 and not r.logs.points
    assert r.logs_note.startswith("0 matched log lines in /var/log/README, ")
    assert " and 12 more (check scans the last 24h by default)" in r.logs_note
    page = html.render(r)
    assert "No findings: nothing overflowing, nothing close to a limit" in page
    assert "no timed log line matched in 15 logs scanned" in page  # the chart's title
    assert "all 1 listener queues and 0 UDP buffers were empty" in page
    assert "<section" not in page
    md = markdown.render(r)
    assert "No findings: nothing overflowing" in md and "## Findings" not in md
    assert "No log timeline: 0 matched log lines" in md


def test_html_without_matplotlib_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "missing", lambda: "charts need matplotlib")
    page = html.render(report_of(OVERFLOW))
    assert "<svg" not in page and "No charts: charts need matplotlib." in page


def test_html_escapes_what_it_quotes() -> None:
    r = report_of(OVERFLOW)
    f = r.diagnosis.findings[0]
    evil = f.__class__(**{**f.__dict__, "title": "<script>alert(1)</script>"})
    d = r.diagnosis.__class__(**{**r.diagnosis.__dict__, "findings": (evil,)})
    page = html.render(model.build(d, None, NOW, "logs not scanned"))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- Markdown and JSON ---------------------------------------------------------------------


def test_markdown_has_the_same_sections_as_tables_and_blocks() -> None:
    r = report_of(DOVECOT)
    md = markdown.render(r)
    heads = [line for line in md.splitlines() if line.startswith("#")]
    assert heads[0] == "# sockdoc report: vm"
    for h in (
        "## Summary",
        "## Findings",
        "## Timeline",
        "## Sockets nearest their limits",
        "## Checked and OK (18)",
        "## What could not be checked (1 checks, 1 sources)",
    ):
        assert h in heads, (h, heads)
    # the per-minute series and the counters as tables (a header row, then its separator)
    assert "| from (UTC) | minutes | lines | per minute |\n|---|---:|---:|---:|" in md
    assert "| 2026-11-21 22:11:00 UTC | 1 | 41 | 41.0 |" in md
    assert "| `TcpExt.ListenOverflows` | 0 | 0 | 0 | 0.0 |" in md
    # the fix as a fenced block, exactly the configuration text of the finding
    top = r.diagnosis.findings[0]
    assert f"```\n{top.fix.config[0].text}\n```" in md
    # every row of every table has as many cells as its header (pipes in cells escaped)
    tables: list[list[str]] = []
    previous = ""
    for line in md.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line)
        previous = line
    assert len(tables) >= 8
    for table in tables:
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table}
        assert len(widths) == 1, table
    assert markdown.cell("a|b\nc") == "a\\|b c"


def test_json_adds_the_chart_data_to_the_check_document(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["report", "--bundle", str(OVERFLOW), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert {f["rule"] for f in doc["findings"]} == {
        "tcp-listen-queue-full",
        "udp-receive-buffer-errors",
        "unix-listen-queue-full",
    }
    rep = doc["report"]
    assert rep["window"]["seconds"] == pytest.approx(2.0, abs=0.05)
    assert rep["logs"] is None
    overflows = next(c for c in rep["counters"] if c["name"] == "TcpExt.ListenOverflows")
    assert (overflows["s0"], overflows["s1"], overflows["delta"]) == (8, 16, 8)
    assert rep["listeners"][0]["socket"] == "127.0.0.1:7070"
    assert rep["listeners"][0]["fullest"] == 1.5
    assert rep["listeners_total"] == 2 and rep["udp_total"] == 4
    assert rep["sampler"]["rounds"] == 51
    # the same document through -o FILE.json; and the dovecot bundle's log series
    path = tmp_path / "r.json"
    run = CliRunner().invoke(cli, ["report", "--bundle", str(DOVECOT), "-o", str(path)])
    assert run.exit_code == 0, run.output
    series = json.loads(path.read_text())["report"]["logs"]["per_minute"]
    assert [p["count"] for p in series] == [25, 8, 41, 37]
    assert series[0] == {"start": "2026-11-21T22:09:00+00:00", "minutes": 1, "count": 25}
    assert report_json.to_json(report_of(DOVECOT))["report"]["logs"]["matched"] == 111


# --- writing and failing -------------------------------------------------------------------


def test_the_suffix_picks_the_format_and_the_old_file_is_kept(tmp_path: Path) -> None:
    runner = CliRunner()
    md = tmp_path / "r.md"
    first = runner.invoke(cli, ["report", "--bundle", str(OVERFLOW), "-o", str(md)])
    assert first.exit_code == 0, first.output
    assert first.output == f"sockdoc: wrote {md} (md, 3 findings)\n"
    before = md.read_bytes()
    assert before.startswith(b"# sockdoc report: vm\n")
    again = runner.invoke(cli, ["report", "--bundle", str(DOVECOT), "-o", str(md)])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "r.md.bak").read_bytes() == before
    assert md.read_bytes() != before and b"dovecot-process-limit" in md.read_bytes()
    page = tmp_path / "r.html"
    assert runner.invoke(cli, ["report", "--bundle", str(OVERFLOW), "-o", str(page)]).exit_code == 0
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert oct(page.stat().st_mode & 0o777) == "0o644"
    # no temporary file left behind
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.html", "r.md", "r.md.bak"]


def _main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``sockdoc ARGS`` in this process, through the real entry point: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["sockdoc", *args])
    with pytest.raises(SystemExit) as done:
        main()
    code = done.value.code
    return (code if isinstance(code, int) else -1), capsys.readouterr().err


def test_usage_errors_exit_2_and_bad_inputs_exit_3_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    out = tmp_path / "r.html"
    cases = [
        (["--bundle", str(tmp_path / "none.tar.gz"), "-o", str(out)], 3, "no such bundle"),
        (["--bundle", str(OVERFLOW), "-o", str(tmp_path / "no" / "r.html")], 3, "cannot write"),
        (["--bundle", str(OVERFLOW), "-o", str(tmp_path / "r.txt")], 2, "the suffix picks"),
        (["--bundle", str(OVERFLOW)], 2, "give -o FILE.html"),
        (["--bundle", str(OVERFLOW), "--json", "-o", str(out)], 2, "choose one"),
        (["--bundle", str(OVERFLOW), "--netns", "x", "--json"], 2, "not to --bundle"),
    ]
    for args, want, words in cases:
        code, err = _main(["report", *args], monkeypatch, capsys)
        assert code == want, (args, code, err)
        assert "Traceback" not in err and words in err, (args, err)
        if want == 3:
            assert len(err.strip().splitlines()) == 1, err
    # and as a process: a file that is no bundle
    run = sockdoc("report", "--bundle", str(junk), "-o", str(out))
    assert run.returncode == 3, run.stderr
    assert run.stderr.count("\n") == 1 and "not a readable .tar.gz bundle" in run.stderr
    assert run.stdout == ""
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="a live report reads what only root may")
def test_live_report_of_this_host(tmp_path: Path) -> None:
    out = tmp_path / "live.md"
    run = CliRunner().invoke(cli, ["report", "--no-logs", "--interval", "0.2", "-o", str(out)])
    assert run.exit_code == 0, run.output
    md = out.read_text()
    assert md.startswith("# sockdoc report: ")
    assert "- **read from**: this host, live\n" in md
    assert "- **logs**: logs not scanned (--no-logs" in md
    assert "## What could not be checked" in md


# --- in a real browser ---------------------------------------------------------------------


def test_the_html_report_in_headless_chromium(tmp_path: Path) -> None:
    require_browser()
    pages = {}
    bundles = {"bind": BIND, "overflow": OVERFLOW}
    for name, path in bundles.items():
        pages[name] = tmp_path / f"{name}.html"
        pages[name].write_text(html.render(report_of(path)))
    # the harness itself: a page asking for a remote image gets it blocked and recorded
    bait = tmp_path / "bait.html"
    bait.write_text('<!DOCTYPE html><img src="http://192.0.2.1/x.png" alt="">')
    with chromium() as browser:
        with open_page(browser, bait) as v:
            assert v.blocked == ["http://192.0.2.1/x.png"]
        for name, path in pages.items():
            with open_page(browser, path) as v:
                page = v.page
                r = report_of(bundles[name])
                findings = page.locator("section.finding")
                assert findings.count() == len(r.diagnosis.findings)
                assert (
                    findings.first.locator("h3")
                    .inner_text()
                    .endswith(r.diagnosis.findings[0].title)
                )
                charts_ = page.locator("figure svg.chart")
                assert charts_.count() == 2
                for i in range(2):
                    box = charts_.nth(i).bounding_box()
                    assert box is not None and box["width"] > 800 and box["height"] > 150, box
                # the SVG is parsed as SVG: its text and shapes are elements of the page
                assert page.locator("#chart-timeline svg text").count() > 10
                assert page.locator("#chart-fill svg path").count() > 3
                assert page.locator("h2#not-checked").is_visible()
                page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
                assert v.errors == []
                assert v.blocked == []
                assert all(u.startswith("file://") for u in v.requested), v.requested
                assert v.requested == [path.resolve().as_uri()]
    for name in pages:
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
