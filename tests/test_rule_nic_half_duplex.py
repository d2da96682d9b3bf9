"""nic-half-duplex: the base bundle's eth0 edited to half duplex at 100 Mb/s (fires) and to
full duplex at 1000 Mb/s (quiet); half duplex cannot be produced on this VM (see READMEs)."""

from __future__ import annotations

from pathlib import Path

from overlaykit import text_of, variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Confidence, Severity

ID = "nic-half-duplex"
DEV = "s1/proc/net/dev"


def test_half_duplex_is_a_warning_with_the_ethtool_fix() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.WARNING and f.confidence is Confidence.HIGH
    assert (f.subject.kind, f.subject.name) == ("interface", "eth0")
    ev = {e.name: e.value for e in f.evidence}
    assert ev["duplex"] == "half"
    assert ev["speed"] == 100
    assert ev["collisions in the interval"] == 0
    assert f.fix.commands[1] == "ethtool -s eth0 speed 100 duplex full autoneg on"
    assert "switch port" in f.fix.summary


def test_collisions_make_it_an_error(tmp_path: Path) -> None:
    # eth0's colls (14th number) and carrier (15th) columns rising by 7 and 2
    lines = text_of("base", DEV).splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("eth0:"):
            name, rest = line.split(":", 1)
            cols = rest.split()
            cols[13], cols[14] = "7", "2"
            lines[i] = f"{name}: " + " ".join(cols)
    case = variant(tmp_path, f"{ID}/fires", replace={DEV: "\n".join(lines) + "\n"})
    (f,) = findings(ID, case)
    assert f.severity is Severity.ERROR
    ev = {e.name: e.value for e in f.evidence}
    assert (ev["collisions in the interval"], ev["carrier errors in the interval"]) == (7, 2)
    assert "7 collisions" in f.explanation


def test_full_duplex_is_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "duplex: eth0 1000 Mb/s full; ifb0, ifb1 report none (virtual NICs); "
        "no collisions or carrier errors in 2.0 s"
    )


def test_virtual_nic_without_duplex_is_quiet() -> None:
    found, ok, _ = outcomes(ID)
    assert not found
    assert ok[0].summary.startswith("duplex: ifb0, ifb1, eth0 report none (virtual NICs)")


def test_namespace_capture_cannot_read_sysfs() -> None:
    found, ok, nots = outcomes(ID, "nic-tx-errors/quiet")
    assert not found and not ok
    assert "namespace sdqa" in nots[0].reason
