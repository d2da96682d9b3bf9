"""dovecot-hostdomain-lookup: a real 2.3.19.1 capture with its version edited to 2.2.5
(fires/, see its README) and the same capture unedited (quiet/)."""

from __future__ import annotations

from pathlib import Path

from overlaykit import text_of, variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Severity
from sockdoc.rules.dovecot_hostdomain_lookup import affected

ID = "dovecot-hostdomain-lookup"
FIRES = f"{ID}/fires"
IMPORT = "import_environment = TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS NOTIFY_SOCKET"


def test_fires_on_2_2_5_without_the_variable() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.WARNING
    ev = {e.name: e.value for e in f.evidence}
    assert ev["Dovecot version"] == "2.2.5"
    assert ev["listeners seen full"] == 0
    (change,) = f.fix.config
    assert change.file == "/tmp/dvlab/good/dovecot.conf"
    assert change.text == (
        "import_environment = TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS "
        "NOTIFY_SOCKET DOVECOT_HOSTDOMAIN=vm\n"
    )


def test_the_variable_silences_it(tmp_path: Path) -> None:
    text = text_of(FIRES, "cmd/doveconf-a").replace(
        IMPORT, IMPORT + " DOVECOT_HOSTDOMAIN=mail.example.com"
    )
    case = variant(tmp_path, FIRES, replace={"cmd/doveconf-a": text})
    found, ok, _ = outcomes(ID, case)
    assert not found
    assert ok[0].summary == "Dovecot 2.2.5: DOVECOT_HOSTDOMAIN is set"


def test_quiet_on_2_3() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == "Dovecot 2.3.19.1: not affected (2.2.0-2.2.6 are)"


def test_affected_versions() -> None:
    assert [affected(v) for v in ((2, 1, 17), (2, 2, 0), (2, 2, 6), (2, 2, 7))] == [
        False,
        True,
        True,
        False,
    ]
