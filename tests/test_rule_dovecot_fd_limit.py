"""dovecot-fd-limit on real Dovecot 2.3 captures: the master under prlimit --nofile=512."""

from __future__ import annotations

from pathlib import Path

from overlaykit import text_of, variant
from rulekit import findings, outcomes

from sockdoc.matchers.base import Severity

ID = "dovecot-fd-limit"
FIRES = f"{ID}/fires"
MASTER = 18979


def test_fires_with_dovecots_own_numbers() -> None:
    (f,) = findings(ID, FIRES)
    assert f.severity is Severity.WARNING
    assert (f.subject.name, f.subject.pid) == ("dovecot", MASTER)
    ev = {e.name: e.value for e in f.evidence}
    # Dovecot's own start-up warning in the same capture: "(512 < 1000), because of
    # default_client_limit"
    assert ev["soft limit (Max open files)"] == 512
    assert ev["required under max. load"] == 1000
    assert ev["Dovecot's own 'fd limit (ulimit -n) is lower' warnings"] == 1
    assert ev["descriptors the master holds now"] == 207
    assert [e.source for e in f.evidence if e.name == "required under max. load"] == [
        "default_client_limit (doveconf -a)"
    ]


def test_fix_is_a_systemd_drop_in() -> None:
    (f,) = findings(ID, FIRES)
    (change,) = f.fix.config
    assert change.file == "/etc/systemd/system/dovecot.service.d/limits.conf"
    assert change.text == "[Service]\nLimitNOFILE=2048\n"  # pow2 >= 2 x 1000
    assert change.reload == "systemctl daemon-reload && systemctl restart dovecot.service"


def test_a_service_client_limit_above_the_default_counts(tmp_path: Path) -> None:
    text = text_of(FIRES, "cmd/doveconf-a")
    start = text.index("service imap-login {")
    edited = text[:start] + text[start:].replace("client_limit = 0", "client_limit = 3000", 1)
    (f,) = findings(ID, variant(tmp_path, FIRES, replace={"cmd/doveconf-a": edited}))
    ev = {e.name: e.value for e in f.evidence}
    assert ev["required under max. load"] == 3000
    assert f.fix.config[0].text == "[Service]\nLimitNOFILE=8192\n"
    assert "service imap-login { client_limit }" in f.explanation


def test_disabled_protocols_do_not_count(tmp_path: Path) -> None:
    # pop3 is not in "protocols = imap": its client_limit is ignored, as by Dovecot
    text = text_of(FIRES, "cmd/doveconf-a")
    start = text.index("service pop3 {")
    edited = text[:start] + text[start:].replace("client_limit = 1", "client_limit = 9000", 1)
    (f,) = findings(ID, variant(tmp_path, FIRES, replace={"cmd/doveconf-a": edited}))
    assert {e.name: e.value for e in f.evidence}["required under max. load"] == 1000


def test_quiet() -> None:
    found, ok, _ = outcomes(ID, f"{ID}/quiet")
    assert not found
    assert ok[0].summary == (
        "Dovecot master's open-files limit 20,000 covers the 1,000 its configuration needs "
        "(default_client_limit)"
    )


def test_denied_limits(tmp_path: Path) -> None:
    case = variant(tmp_path, FIRES, denied=(f"proc/{MASTER}/limits",))
    found, _, nots = outcomes(ID, case)
    assert not found
    (n,) = nots
    assert n.sources == (f"proc/{MASTER}/limits",) and n.needs_root
