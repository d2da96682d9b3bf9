"""`sockdoc explain` and `sockdoc signatures` as a user runs them: the installed console script,
in a subprocess, with real sample lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_samples import SAMPLE_LIST

EXPECTED_KEYS = {"matched", "cause", "signature", "daemon", "fields", "meaning", "checks"}


def sockdoc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "sockdoc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_explain_json_classifies_every_sample_in_order() -> None:
    """Acceptance: every annotated sample, fed through stdin in one run, comes back as
    annotated, one JSON object per line, in order."""
    proc = sockdoc("explain", "--json", "-", stdin="".join(s.line + "\n" for s in SAMPLE_LIST))
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(out) == len(SAMPLE_LIST)
    for sample, got in zip(SAMPLE_LIST, out, strict=True):
        assert got.keys() >= EXPECTED_KEYS, sample
        assert got["line"] == sample.line
        assert got["matched"] == sample.expect.get("matched", True), str(sample)
        if "signature" in sample.expect:
            assert got["signature"] == sample.expect["signature"], str(sample)
        if got["matched"]:
            assert got["cause"] == sample.expect["cause"], str(sample)
            assert got["meaning"] and got["checks"], str(sample)
            assert all(c["question"] and c["how"] for c in got["checks"])
            for k, v in sample.expect.get("fields", {}).items():
                assert got["fields"].get(k) == v, (str(sample), k)
        else:
            assert got["hint"], str(sample)
            assert got["cause"] is None and got["fields"] == {} and got["checks"] == []


def test_explain_unrecognised_line_is_an_answer_not_an_error() -> None:
    proc = sockdoc("explain", "--json", "hello world")
    assert proc.returncode == 0
    got = json.loads(proc.stdout)
    assert got["matched"] is False and "sockdoc scan" in got["hint"]


def test_explain_terminal_output_names_cause_and_checks() -> None:
    line = next(s for s in SAMPLE_LIST if s.expect.get("matched", True))
    proc = sockdoc("explain", line.line)
    assert proc.returncode == 0, proc.stderr
    assert line.expect["cause"] in proc.stdout
    assert "check, in this order" in proc.stdout
    assert " 1. " in proc.stdout


def test_explain_args_and_undecodable_stdin() -> None:
    data = b"\xff\xfe garbage \x00\nplain\n"
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "explain", "--json", "-"],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["matched"] is False for x in lines)
    assert b"Traceback" not in proc.stderr


def test_usage_errors_exit_2() -> None:
    proc = sockdoc("explain")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert sockdoc("no-such-command").returncode == 2


def test_signatures_lists_the_catalogue() -> None:
    proc = sockdoc("signatures", "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    ids = {d["signature"] for d in doc}
    annotated = {s.expect["signature"] for s in SAMPLE_LIST if s.expect.get("matched", True)}
    assert annotated <= ids


def test_version_and_module_entry_point() -> None:
    proc = sockdoc("--version")
    assert proc.returncode == 0 and "sockdoc" in proc.stdout
    assert Path(sys.executable).exists()
