"""`sockdoc scan`: input formats, compression, rotation order, time windows, incidents, exit
codes and bad input, run as the installed command on real files in a temporary directory."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sockdoc import scan as scanning
from sockdoc.collect import logfiles

BIND = "client 192.0.2.{a}#5{a:04d} (www.example.com): error sending response: would block"
DOVECOT = (
    "imap-login: Error: master(imap): net_connect_unix(imap) failed: Resource temporarily"
    " unavailable - http://wiki2.dovecot.org/SocketUnavailable (client-pid=27, client-id=1,"
    " rip=198.51.100.{a}, created 502 msecs ago, received 0/4 bytes)"
)
SYN = (
    "TCP: request_sock_TCP: Possible SYN flooding on port 25. Sending cookies."
    "  Check SNMP counters."
)


def sockdoc(
    *args: str, stdin: bytes | None = None, prefix: tuple[str, ...] = ()
) -> tuple[int, Any, str]:
    env = {**os.environ, "COLUMNS": "120", "TZ": "UTC"}
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "sockdoc", "scan", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    doc = json.loads(proc.stdout) if "--json" in args and proc.stdout.strip() else None
    return proc.returncode, doc, err


def syslog(t: str, prog: str, msg: str) -> str:
    return f"Nov 21 {t} ns1 {prog}: {msg}\n"


def test_every_envelope_format(tmp_path: Path) -> None:
    lines = [
        syslog("03:00:01", "named[812]", BIND.format(a=1)),
        f"2026-11-21T03:00:02.123456+00:00 ns1 named[812]: {BIND.format(a=2)}\n",
        f"<30>1 2026-11-21T03:00:03Z ns1 named 812 - - {BIND.format(a=3)}\n",
        f"21-Nov-2026 03:00:04.000 general: error: {BIND.format(a=4)}\n",
        f"Nov 21 03:00:05 {DOVECOT.format(a=5)}\n",
        json.dumps(
            {
                "MESSAGE": SYN,
                "SYSLOG_IDENTIFIER": "kernel",
                "_HOSTNAME": "ns1",
                "__REALTIME_TIMESTAMP": "1795230006000000",
            }
        )
        + "\n",
        f"[12345.678901] {SYN}\n",
        "2026/11/21 03:00:07 [error] 1234#1234: *56 connect() to unix:/run/php/php8.2-fpm.sock"
        " failed (11: Resource temporarily unavailable) while connecting to upstream, client:"
        ' 198.51.100.8, server: example.com, request: "GET / HTTP/1.1", upstream:'
        ' "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "example.com"\n',
        "an ordinary line\n",
    ]
    log = tmp_path / "mixed.log"
    log.write_text("".join(lines))
    os.utime(log, (1795300000, 1795300000))  # 2026-11-21, the year for RFC 3164 stamps
    rc, doc, _ = sockdoc("--json", str(log))
    assert rc == 1
    assert doc["bytes"] == log.stat().st_size and doc["matched"] == 8
    assert doc["by_cause"] == {
        "send-buffer-full": 4,
        "unix-listen-queue-full": 2,
        "tcp-listen-queue-full": 2,
    }
    assert doc["by_daemon"] == {"bind": 4, "kernel": 2, "dovecot": 1, "nginx": 1}
    assert sorted(doc["top"]["sockets"]) == [["/run/php/php8.2-fpm.sock", 1], ["imap", 1]]
    assert doc["untimed"] == 1  # the dmesg line has only seconds since boot
    assert doc["first"] == "2026-11-21T03:00:01+00:00"
    assert doc["last"] == "2026-11-21T03:00:07+00:00"  # the nginx error-log line
    assert ["198.51.100.5", 1] in doc["top"]["clients"]


@pytest.mark.parametrize(
    ("suffix", "opener"),
    [(".gz", gzip.open), (".xz", lzma.open), (".bz2", bz2.open)],
)
def test_compressed_inputs(tmp_path: Path, suffix: str, opener: Any) -> None:
    text = "".join(syslog("03:00:01", "named[1]", BIND.format(a=a)) for a in range(23))
    path = tmp_path / f"syslog.3{suffix}"
    with opener(path, "wt") as f:
        f.write(text * 3)
    rc, doc, _ = sockdoc("--json", str(path))
    assert rc == 1 and doc["matched"] == 69 and doc["skipped"] == {}


def test_rotated_set_is_read_oldest_first(tmp_path: Path) -> None:
    d = tmp_path / "log"
    d.mkdir()
    (d / "syslog").write_text(syslog("05:00:00", "named[1]", BIND.format(a=3)))
    (d / "syslog.1").write_text(syslog("04:00:00", "named[1]", BIND.format(a=2)))
    with gzip.open(d / "syslog.2.gz", "wt") as f:
        f.write(syslog("03:00:00", "named[1]", BIND.format(a=1)))
    with gzip.open(d / "syslog.10.gz", "wt") as f:
        f.write(syslog("02:00:00", "named[1]", BIND.format(a=0)))
    (d / "mail.log").write_text("nothing here\n")
    rc, doc, _ = sockdoc("--json", str(d))
    assert rc == 1 and doc["matched"] == 4
    assert [Path(p).name for p in doc["inputs"]] == [
        "mail.log",
        "syslog.10.gz",
        "syslog.2.gz",
        "syslog.1",
        "syslog",
    ]


def _burst_log(tmp_path: Path) -> Path:
    """Two bursts: 23 lines at 03:00-03:02, 11 lines at 04:00; quiet in between."""
    lines = [syslog(f"03:0{i % 3}:{i:02d}", "named[1]", BIND.format(a=i)) for i in range(23)]
    lines += [syslog(f"04:00:{i:02d}", "named[1]", BIND.format(a=100 + i)) for i in range(11)]
    log = tmp_path / "bursts.log"
    log.write_text("".join(lines))
    os.utime(log, (1795300000, 1795300000))
    return log


def test_incidents_are_bursts(tmp_path: Path) -> None:
    rc, doc, _ = sockdoc("--json", str(_burst_log(tmp_path)))
    assert rc == 1
    incidents = doc["incidents"]
    assert [i["count"] for i in incidents] == [23, 11]
    first = incidents[0]
    assert first["start"] == "2026-11-21T03:00:00+00:00"
    assert first["end"] == "2026-11-21T03:03:00+00:00"
    assert first["per_minute"] == [8, 8, 7]
    assert first["peak_per_minute"] == 8
    assert first["causes"] == {"send-buffer-full": 23}


def test_terminal_output_has_incidents_and_sparkline(tmp_path: Path) -> None:
    rc, _, _ = sockdoc(str(_burst_log(tmp_path)))
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", str(_burst_log(tmp_path))],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120", "TZ": "UTC"},
        check=False,
    )
    assert rc == proc.returncode == 1
    out = proc.stdout
    assert "34 recognised lines" in out
    assert "send-buffer-full" in out and "Incidents" in out
    assert "2026-11-21 03:00" in out and "██▇" in out


def test_since_until_window(tmp_path: Path) -> None:
    log = str(_burst_log(tmp_path))
    rc, doc, _ = sockdoc("--json", "--since", "2026-11-21 03:30", log)
    assert rc == 1 and doc["matched"] == 11 and doc["outside_window"] == 23
    rc, doc, _ = sockdoc("--json", "--until", "2026-11-21T03:01:00Z", log)
    assert doc["matched"] == 8
    rc, doc, _ = sockdoc("--json", "--since", "2026-11-22", log)
    assert rc == 0 and doc["matched"] == 0


def test_exit_codes(tmp_path: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_text("all quiet\n")
    assert sockdoc(str(clean))[0] == 0
    assert sockdoc(str(_burst_log(tmp_path)))[0] == 1
    rc, _, err = sockdoc("--since", "yesterday-ish", str(clean))
    assert rc == 2 and "cannot read time" in err
    rc, _, err = sockdoc(str(tmp_path / "missing.log"))
    assert rc == 3


def test_empty_file_alone(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    rc, doc, _ = sockdoc("--json", str(empty))
    assert rc == 0 and doc["bytes"] == 0 and doc["matched"] == 0 and doc["skipped"] == {}


def test_stdin(tmp_path: Path) -> None:
    good = syslog("03:00:00", "named[1]", BIND.format(a=1)).encode()
    rc, doc, _ = sockdoc("--json", "-", stdin=good)
    assert rc == 1 and doc["matched"] == 1 and doc["inputs"] == ["<stdin>"]
    # streamed input must be buffered line by line: a 10 MB line is dropped and counted
    rc, doc, _ = sockdoc("--json", "-", stdin=good + b"y" * (10 << 20) + b"\n" + good)
    assert doc["matched"] == 2 and doc["skipped"] == {"line longer than 1 MiB": 1}


def test_bad_input_is_counted_never_fatal(tmp_path: Path) -> None:
    good = syslog("03:00:00", "named[1]", BIND.format(a=7)).encode()
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.log").write_bytes(b"")
    (d / "junk.bin").write_bytes(os.urandom(4096) + b"\x00" * 64)  # binary, found in a dir
    (d / "invalid-utf8.log").write_bytes(b"\xff\xfe\xc3(" + good + b"\xed\xa0\x80 tail\n" + good)
    # a 10 MB line holding an anchor: not decoded, counted (plain files are mapped, so a long
    # line without an anchor costs nothing and is simply scanned)
    (d / "long-line.log").write_bytes(good + good[:-1] + b"x" * (10 << 20) + b"\n" + good)
    with gzip.open(d / "trunc.log.gz", "wb") as f:
        f.write(good * 2000)
    blob = (d / "trunc.log.gz").read_bytes()
    (d / "trunc.log.gz").write_bytes(blob[: len(blob) // 2])
    rc, doc, _ = sockdoc("--json", str(d))
    assert rc == 1
    assert doc["skipped"] == {
        "binary file (found in a directory)": 1,
        "damaged or truncated input (EOFError)": 1,
        "line longer than 1 MiB": 1,
    }
    # 2 + 2 good lines around the bad bytes and the long line, and part of the truncated gz
    assert doc["matched"] >= 4
    # the terminal output says each skip cause in one line
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", str(d)],
        capture_output=True,
        text=True,
        check=False,
    )
    skipped = [x for x in proc.stdout.splitlines() if x.startswith("skipped")]
    assert len(skipped) == 3 and "Traceback" not in proc.stderr


def test_unreadable_file_exit_3(tmp_path: Path) -> None:
    secret = tmp_path / "secret.log"
    secret.write_text(syslog("03:00:00", "named[1]", BIND.format(a=1)))
    secret.chmod(0)
    readable = tmp_path / "ok.log"
    readable.write_text(syslog("03:00:00", "named[1]", BIND.format(a=2)))
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that let it (setpriv, util-linux)
        caps = "-dac_override,-dac_read_search"
        prefix = ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")
    rc, doc, _ = sockdoc("--json", str(secret), str(readable), prefix=prefix)
    assert rc == 3
    assert doc["skipped"] == {"unreadable: permission denied": 1}
    assert doc["matched"] == 1


def test_parallel_ranges_equal_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker-process path (used for files over 64 MiB) gives exactly the sequential
    result; the threshold is lowered so that a small file takes that path."""
    body = "".join(
        syslog(f"03:{i % 60:02d}:00", "named[1]", BIND.format(a=i % 250)) + "filler line\n" * 7
        for i in range(2000)
    )
    log = tmp_path / "big.log"
    log.write_text(body)
    results = []
    for jobs in (1, 2, 3):
        monkeypatch.setattr(scanning, "PARALLEL_MIN", 1)
        skips = logfiles.Skips()
        inputs = logfiles.discover([str(log)], skips)
        r = scanning.scan(inputs, skips, scanning.ScanOptions(jobs=jobs))
        results.append(r.facts)
    assert results[0].matched == 2000 and results[0].bytes == log.stat().st_size
    assert results[0] == results[1] == results[2]


def test_journal_through_journalctl(tmp_path: Path) -> None:
    """--journal runs journalctl -o json. There is no journal daemon in this sandbox or CI, so
    a stand-in journalctl on PATH prints two journal-JSON records (the only mock here)."""
    fake = tmp_path / "journalctl"
    record = json.dumps(
        {"MESSAGE": SYN, "SYSLOG_IDENTIFIER": "kernel", "__REALTIME_TIMESTAMP": "1795230006000000"}
    )
    fake.write_text(f"#!/bin/sh\necho '{record}'\necho '{record}'\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "sockdoc", "scan", "--json", "--journal"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["by_cause"] == {"tcp-listen-queue-full": 2}
