"""BIND 9.18 with Debian's default logging (no logging statement: ``named -f`` logs to syslog,
here a test socket standing in for /dev/log) under the overload of test_bind_send_path (a
10 Mbit/s shaper, ``udp-send-buffer 65536``, bursts of queries for a 3.6 kB answer).

named writes none of its per-client ``send failed`` lines (category ``security``, ``debug 3``)
and at most one ``Sending UDP messages failed: no pending connections`` a second. What sockdoc
still proves: it recognises that line and links it to the send-path finding; with a statistics
channel, named's exact count of failed sends (``bind-send-errors``, ranked first); without one
(Debian's stock configuration), the kernel's side (``udp-send-buffer-errors`` on named's socket:
``Udp.SndbufErrors`` and the buffer). ``bind-send-failures-hidden`` warns that the failures are
not logged and gives the logging statement to add (and the statistics channel when there is
none)."""

from __future__ import annotations

import math

import bindkit as bk
import pytest

from sockdoc.parsers.named_conf import parse_named_conf

pytestmark = pytest.mark.e2e

GENERAL_LINE = "bind.udp-send-queue.no-pending-connections"


@pytest.mark.parametrize("statistics", [True, False], ids=["statistics-channel", "stock"])
def test_default_logging_what_sockdoc_proves_and_recommends(statistics: bool) -> None:
    setup = bk.NamedSetup(udp_send_buffer=65536, statistics=statistics)
    label = "default logging" + (", statistics channel" if statistics else ", no statistics")
    print(f"\n{bk.version()}; {label}; shaper: tbf {bk.SHAPER}; load: {bk.BURSTS}")
    with bk.dns_pair(bk.SHAPER) as pair:
        with bk.named(pair, "default", setup, syslog=True) as n:
            run = bk.drive(pair, n, bk.BURSTS, label, logs=n.syslog, settle=1.2)
            total = n.send_errors() if statistics else None
        syslog = bk.scan_counts(n.syslog)
        lines = n.syslog.read_text().count("Sending UDP messages failed")
    bk.assert_clean(pair)
    doc = run.diagnosis
    bk.print_table("named's default logging", run)
    print(f"  syslog: {lines} 'Sending UDP messages failed' lines; named counted {total}")
    for f in doc["findings"]:
        print(f"  {f['severity']:<8} {f['rule']}: {f['title']}  logs={f['logs']}")

    assert run.lost > 0 and run.sndbuf_errors > 0, run
    # the rate-limited general line: recognised, and at most one a second
    assert syslog.get(GENERAL_LINE, 0) == lines >= 1, (syslog, lines)
    assert lines <= math.ceil(run.seconds) + 1, (lines, run.seconds)
    assert not any(sig.startswith("bind.send-failed") for sig in syslog), syslog
    top = doc["findings"][0]
    assert (top["cause"], top["severity"]) == ("send-buffer-full", "error")
    logged = {e["name"]: e["value"] for e in top["logs"]}
    assert logged.get("log lines: send-buffer-full", 0) >= 1, top

    hidden = bk.finding(doc, "bind-send-failures-hidden")
    assert hidden is not None and hidden["severity"] == "warning", doc["findings"]
    ev = bk.evidence(hidden)
    assert ev["'send failed' lines (debug 3) written"] == "no"
    assert ev["'Sending UDP messages failed' (general, error) written"] == "yes"
    snippets = [c["text"] for c in hidden["fix"]["config"]]
    logging = parse_named_conf(snippets[-1])
    assert logging.categories["security"][0] == "send_failures"
    (channel,) = [c for c in logging.channels if c.name == "send_failures"]
    assert channel.severity == "debug 3", channel
    print(f"  recommends: {hidden['fix']['summary']}")

    if statistics:
        assert total is not None and total > 10 * lines, (total, lines)
        assert top["rule"] == "bind-send-errors", top
        assert bk.evidence(top)["UDP4SendErr in the interval"] > 0
        assert len(snippets) == 1  # only the logging: the statistics channel is there
    else:
        assert top["rule"] == "udp-send-buffer-errors", top
        assert top["subject"]["program"] == "named"
        assert bk.evidence(top)["its SO_SNDBUF"] == 131072
        # with named's own count unread, this rule gives the udp-send-buffer to set
        assert [c["text"] for c in top["fix"]["config"]] == ["udp-send-buffer 524288;"]
        not_checked = {c["rule"]: c["reason"] for c in doc["not_checked"]}
        assert "statistics-channels" in not_checked["bind-send-errors"]
        stats = parse_named_conf(snippets[0])
        assert stats.statistics_channels, snippets[0]
