"""Continuous collection (watch, exporter): the qdisc reading is reused while every qdisc is
idle, and read again at once when one starts to queue or drop."""

from __future__ import annotations

import itertools
import time

from sockdoc.collect import specs
from sockdoc.collect.continuous import QDISC_IDLE_EVERY, Continuous, _qdisc_state
from sockdoc.collect.gather import GatherOptions
from sockdoc.collect.root import Got

IDLE = (
    b'[{"kind":"noqueue","handle":"0:","dev":"lo","root":true,"bytes":0,"packets":0,'
    b'"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]'
)
BUSY = (
    b'[{"kind":"tbf","handle":"1:","dev":"v0","root":true,"bytes":6636,"packets":10,'
    b'"drops":7,"overlimits":916,"requeues":0,"backlog":1130220,"qlen":910}]'
)


def test_qdisc_state_sums_drops_and_sees_queued_packets() -> None:
    assert _qdisc_state(Got("k", "ok", IDLE, "")) == (0, False)
    assert _qdisc_state(Got("k", "ok", BUSY, "")) == (7, True)
    assert _qdisc_state(Got("k", "error", None, "tc failed")) is None
    assert _qdisc_state(Got("k", "ok", b"not json", "")) is None


def test_idle_qdiscs_are_read_once_every_few_steps() -> None:
    c = Continuous(GatherOptions(interval=1.0, logs=()))
    try:
        readings = []
        for _ in range(QDISC_IDLE_EVERY + 3):
            step = c.step()
            readings.append(step.collected.got.get(specs.qdisc("s1")))
            time.sleep(0.01)
    finally:
        c.close()
    reused = sum(1 for a, b in itertools.pairwise(readings) if a is b)
    # this host's qdiscs are idle (nothing queued, no new drop): after the first two readings
    # agree, the reading is reused for QDISC_IDLE_EVERY steps
    assert reused >= QDISC_IDLE_EVERY - 1, reused
    assert all(g is not None and g.ok for g in readings)
