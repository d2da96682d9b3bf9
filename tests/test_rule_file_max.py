"""file-max: fs.file-nr's allocated handles against fs.file-max (the fires fixture is edited by
hand, see its README; the quiet one is the real base bundle)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from overlaykit import variant
from rulekit import facts_for, findings, outcomes, rule

from sockdoc.facts.host import SourceState
from sockdoc.matchers.base import Severity
from sockdoc.rules.base import NotChecked

ID = "file-max"
NR = "host/proc/sys/fs/file-nr"


def test_fires_with_numbers_and_computed_limit() -> None:
    (f,) = findings(ID, f"{ID}/fires")
    assert f.severity is Severity.WARNING  # 2,100,000 / 2,466,177 = 85%
    assert (f.subject.kind, f.subject.name) == ("host", "fs.file-max")
    ev = {e.name: e.value for e in f.evidence}
    assert ev == {"file handles allocated": 2100000, "fs.file-max": 2466177, "in use": 85.2}
    # the power of two at or above twice the allocated handles
    assert f.fix.sysctls == (("fs.file-max", 8388608),)
    assert f.fix.sysctl_lines() == ("sysctl -w fs.file-max=8388608",)


@pytest.mark.parametrize(
    ("allocated", "severity"),
    [(1972941, None), (1972942, Severity.WARNING), (2342869, Severity.ERROR)],
)
def test_thresholds(tmp_path: Path, allocated: int, severity: Severity | None) -> None:
    case = variant(tmp_path, f"{ID}/fires", replace={NR: f"{allocated}\t0\t2466177\n"})
    found, ok, _ = outcomes(ID, case)
    if severity is None:
        assert not found and ok  # 79.99%
    else:
        assert [f.severity for f in found] == [severity]


def test_quiet_base() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == "399 file handles allocated of fs.file-max 2,466,177 (0.0%)"


def test_not_read() -> None:
    facts = facts_for(f"{ID}/fires")
    unread = SourceState(NR, "denied", "Permission denied", True, "/proc/sys/fs/file-nr")
    facts = replace(
        facts,
        sysctls=replace(facts.sysctls, file_nr=None),
        sources=tuple(unread if s.key == NR else s for s in facts.sources),
    )
    (n,) = list(rule(ID).check(facts))
    assert isinstance(n, NotChecked)
    assert n.sources == (NR,)
    assert "denied" in n.reason
