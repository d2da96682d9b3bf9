"""Regression tests for hostile and awkward input found in review: crafted lines, damaged
compressed files, files truncated while read, FIFOs, unreadable directories, rsyslog repeats,
duplicate paths, very long incidents, and the journal's time window."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from test_scan import BIND, sockdoc, syslog

from sockdoc.collect import logfiles

GOOD = syslog("03:00:00", "named[1]", BIND.format(a=9))


def test_crafted_lines_never_end_the_scan(tmp_path: Path) -> None:
    msg = BIND.format(a=1)
    deep = json.dumps({"MESSAGE": msg})[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [
        f"Nov 21 03:12:44 ns1 named[{'9' * 5000}]: {msg}",  # pid of 5000 digits
        f"2026-11-21T03:12:44+99:00 ns1 named[812]: {msg}",  # impossible zone offset
        f"9999-12-31T23:59:59-01:00 ns1 named[812]: {msg}",  # year 10000 in UTC
        f"0001-01-01T00:00:00+00:00 ns1 named[812]: {msg}",
        json.dumps({"MESSAGE": msg, "__REALTIME_TIMESTAMP": "9" * 400, "_PID": "²"}),
        deep,
        f"Nov 21 03:12:44 ns1 named[1]: client 192.0.2.1#{'7' * 5000} (x): error sending "
        "response: would block",
    ]
    log = tmp_path / "crafted.log"
    log.write_text("\n".join(lines) + "\n" + GOOD)
    for args in (("--json", str(log)), (str(log),)):
        rc, doc, err = sockdoc(*args)
        assert rc == 1, err
    assert doc is None  # the terminal run
    rc, doc, _ = sockdoc("--json", str(log))
    assert doc["matched"] >= 7 and doc["last"] == "2026-11-21T03:12:44+00:00"


def test_truncated_compressed_files_keep_what_was_decompressed(tmp_path: Path) -> None:
    body = GOOD * 2000
    for suffix, opener in ((".gz", gzip.open), (".xz", lzma.open)):
        whole = tmp_path / f"x{suffix}"
        with opener(whole, "wb") as f:
            f.write(body.encode())
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(whole.read_bytes()[:-4])  # the trailer (CRC, size) is gone
        rc, doc, _ = sockdoc("--json", str(cut))
        assert rc == 1
        assert doc["matched"] >= 1990, (suffix, doc["matched"])
        assert list(doc["skipped"]) == [f"damaged or truncated input ({'EOFError'})"]


def test_file_truncated_while_being_read(tmp_path: Path) -> None:
    """logrotate's copytruncate empties the file under the reader: no crash, a short read."""
    log = tmp_path / "live.log"
    log.write_bytes(GOOD.encode() * 20000)
    skips = logfiles.Skips()
    windows = logfiles.read_windows(str(log), 0, log.stat().st_size, skips, window=64 << 10)
    first = next(windows)
    assert first[2] > 0
    os.truncate(log, 1000)
    rest = list(windows)
    assert sum(hi - lo for _, lo, hi in rest) < 1000


def test_fifo_and_proc_files_are_read_when_named(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "w") as f:
            f.write(GOOD * 3)

    t = threading.Thread(target=writer)
    t.start()
    rc, doc, _ = sockdoc("--json", str(fifo))
    t.join(timeout=10)
    assert rc == 1 and doc["matched"] == 3
    rc, doc, _ = sockdoc("--json", "/proc/self/status")
    assert rc == 0 and doc["bytes"] > 0


def test_unreadable_subdirectory_is_counted(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    (d / "sub").mkdir(parents=True)
    (d / "a.log").write_text(GOOD)
    (d / "sub" / "b.log").write_text(GOOD)
    (d / "sub").chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        prefix = ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")
    try:
        rc, doc, _ = sockdoc("--json", str(d), prefix=prefix)
    finally:
        (d / "sub").chmod(0o755)
    assert rc == 3
    assert doc["skipped"] == {"unreadable: permission denied": 1}
    assert doc["matched"] == 1


def test_rsyslog_repeats_and_duplicate_paths(tmp_path: Path) -> None:
    log = tmp_path / "rep.log"
    log.write_text(
        GOOD
        + "Nov 21 03:00:01 ns1 named[1]: message repeated 5 times: [ "
        + BIND.format(a=9)
        + "]\n"
    )
    rc, doc, _ = sockdoc("--json", str(log), str(tmp_path / "." / "rep.log"), str(tmp_path))
    assert rc == 1
    assert doc["inputs"] == [str(log)]
    assert doc["by_signature"] == {"bind.error-sending-response.would-block": 6}
    assert doc["top"]["clients"] == [["192.0.2.9", 6]]


def test_long_incidents_are_binned(tmp_path: Path) -> None:
    """Lines a day apart with a one-day gap form one incident of ~29 days: its series is binned
    to at most 1440 points, so memory and output stay small."""
    lines = [
        f"2026-10-{day:02d}T03:00:00Z ns1 named[1]: {BIND.format(a=day)}\n" for day in range(1, 30)
    ]
    log = tmp_path / "monthly.log"
    log.write_text("".join(lines))
    rc, doc, _ = sockdoc("--json", "--gap", "1440", str(log))
    assert rc == 1
    (incident,) = doc["incidents"]
    assert incident["count"] == 29
    assert len(incident["per_minute"]) <= 1440
    assert sum(incident["per_minute"]) == 29 and incident["minutes_per_point"] == 29


def test_journal_window_is_passed_as_epoch(tmp_path: Path) -> None:
    """journalctl does not read '2h' or '...Z': sockdoc passes '@EPOCH'. A stand-in journalctl
    (no journal daemon here) records its arguments and refuses anything else."""
    fake = tmp_path / "journalctl"
    args_file = tmp_path / "args"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {args_file}\n'
        'case "$*" in *"--since @"*) exit 0;; *) echo bad >&2; exit 1;; esac\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--json", "--journal", "--since", "2h"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--since @" in args_file.read_text()
    # and a journal that cannot be read is an unreadable input (exit 3), not "nothing found"
    fake.write_text("#!/bin/sh\nexit 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--json", "--journal"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 3
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["skipped"] == {"unreadable: journal: journalctl exited 1": 1}


def test_terminal_top_lists_follow_top(tmp_path: Path) -> None:
    log = tmp_path / "clients.log"
    log.write_text("".join(syslog("03:00:00", "named[1]", BIND.format(a=a)) for a in range(30)))
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--top", "20", str(log)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    section = proc.stdout.split("Top clients\n", 1)[1].split("\n\n", 1)[0]
    assert len(section.splitlines()) == 20 and "more" not in section


def test_explain_splits_arguments_on_newlines_only() -> None:
    line = syslog("03:00:00", "named[1]", BIND.format(a=1)).rstrip("\n")
    odd = line.replace("would block", "would block") + "\x85tail"
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "explain", "--json", odd, f"{line}\r\n{line}"],
        capture_output=True,
        text=True,
        check=False,
    )
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(out) == 3 and all(o["matched"] for o in out[1:])


def test_explain_stdin_long_line_and_broken_pipe() -> None:
    data = (GOOD + "z" * (3 << 20) + "\n" + GOOD).encode()
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "explain", "--json", "-"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 2
    assert b"skipped 1 line(s) longer than 1 MiB" in proc.stderr
    # the reader goes away after one line: still exit 0, no traceback
    many = (GOOD * 5000).encode()
    pipeline = subprocess.Popen(
        [sys.executable, "-m", "sockdoc", "explain", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert pipeline.stdout is not None and pipeline.stdin is not None
    stdin = pipeline.stdin

    def feed() -> None:
        # from a thread: the child stops reading once its output pipe is closed
        try:
            stdin.write(many)
            stdin.close()
        except BrokenPipeError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    pipeline.stdout.readline()
    pipeline.stdout.close()
    assert pipeline.wait(timeout=60) == 0
    assert pipeline.stderr is not None and b"Traceback" not in pipeline.stderr.read()
