"""dovecot-master-busy: real captures (advice after an overflow; the wiki's settings under the
same load), and one hand-edited CPU sample (cpu-edited/, see its README)."""

from __future__ import annotations

from pathlib import Path

from overlaykit import variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Severity

ID = "dovecot-master-busy"
FIRES = f"{ID}/fires"
CPU = f"{ID}/cpu-edited"


def test_overflow_gives_info_advice_with_snippets() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.INFO
    assert (f.subject.name, f.subject.pid) == ("dovecot master", 22164)
    ev = {e.name: e.value for e in f.evidence}
    assert ev["master CPU use"] == 0.0
    assert ev["/tmp/dvlab/bad/run/login/imap: samples with the queue full"] == 76
    assert ev["net_connect_unix ... Resource temporarily unavailable lines"] == 15
    assert ev["CPU cores"] == 2
    texts = [c.text for c in f.fix.config]
    assert texts == [
        "service imap-login {\n  service_count = 0\n  process_min_avail = 2\n}\n",
        # process_min_avail is bounded by this capture's process_limit = 1
        "service imap {\n  service_count = 100\n  process_min_avail = 1\n}\n",
    ]


def test_busy_master_is_a_warning() -> None:
    (f,) = findings(ID, FIRES, CPU)
    assert f.severity is Severity.WARNING
    assert {e.name: e.value for e in f.evidence}["master CPU use"] == 84.9
    assert f.title.startswith("Dovecot master at 85% CPU")


def test_quiet_with_the_wikis_settings() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary.endswith("its listeners did not overflow")


def test_cpu_not_read(tmp_path: Path) -> None:
    case = variant(tmp_path, f"{ID}/quiet")
    master = 21087
    for s in ("s0", "s1"):
        (case / "data" / s / "proc" / str(master) / "stat").unlink()
    found, ok, nots = outcomes(ID, case)
    assert not found and not ok
    assert nots[0].sources == (f"s0/proc/{master}/stat", f"s1/proc/{master}/stat")
