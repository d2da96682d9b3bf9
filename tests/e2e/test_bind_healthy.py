"""Healthy control: BIND 9.18 (Debian's bind9) with the kernel's default send buffer, the
per-client lines logged (category ``security`` at ``debug 3``) and a statistics channel,
answering a load it handles (1,200 queries for a 3.6 kB answer, 300 a second in bursts, across
an unshaped veth): every query is answered, named counts no failed send, and
``sockdoc check --netns NS --logs LOG --json`` reports no finding above info while its BIND
and send-path rules did run (a false alarm here is a failed test)."""

from __future__ import annotations

import bindkit as bk
import pytest

pytestmark = pytest.mark.e2e

SEND_PATH_RULES = (
    "bind-send-errors",
    "bind-send-failures-hidden",
    "udp-send-buffer-errors",
    "socket-buffer-capped",
    "qdisc-drops",
    "udp-receive-buffer-errors",
)


def test_named_under_a_load_it_handles_gives_nothing_above_info() -> None:
    setup = bk.NamedSetup(udp_send_buffer=None, security_log=True)
    print(f"\n{bk.version()}; unshaped; load: {bk.STEADY}")
    with bk.dns_pair(None) as pair, bk.named(pair, "healthy", setup) as n:
        run = bk.drive(pair, n, bk.STEADY, "healthy", logs=n.security_log)
        scanned = bk.scan_counts(n.security_log)
    bk.assert_clean(pair)
    doc = run.diagnosis
    bk.print_table("healthy control", run)
    for f in doc["findings"]:
        print(f"  {f['severity']:<8} {f['rule']}: {f['title']}")

    assert run.lost == 0 and run.failed == 0 and run.sndbuf_errors == 0, run
    assert scanned == {}, scanned  # the debug-3 log holds queries, no failure
    assert bk.above_info(doc) == []
    assert not doc["errors"], doc["errors"]
    ok = {o["rule"] for o in doc["ok"]}
    assert set(SEND_PATH_RULES) - {"qdisc-drops"} <= ok, ok
