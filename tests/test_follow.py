"""The log follower: rotations under load, counted line by line, and each edge case alone."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sockdoc.collect import follow
from sockdoc.collect.follow import FollowedLine, Follower

# A log writer at RATE lines/s that rotates its own log every EVERY seconds. Line i is
# "i xxx..." with 0..60 x's, so lines differ in length; every 7th line goes out in two write()s,
# so the follower sees half lines. Prints {"lines": N, "rotations": R} when done.
WRITER = r"""
import json, os, shutil, sys, time

path, mode = sys.argv[1], sys.argv[2]
rate, duration, every = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
reopen_after = int(sys.argv[6])
APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def shift():
    for k in (2, 1):
        if os.path.exists(f"{path}.{k}"):
            os.replace(f"{path}.{k}", f"{path}.{k + 1}")


fd = os.open(path, APPEND, 0o644)
i = rotations = 0
reopen_in = -1
t0 = time.monotonic()
next_rotation = t0 + every
while (now := time.monotonic()) - t0 < duration:
    if now >= next_rotation and reopen_in < 0:
        next_rotation += every
        rotations += 1
        shift()
        if mode == "rename":
            # logrotate 'create': rename, then create the new empty file; the daemon goes on
            # writing to the old one until its postrotate signal makes it reopen
            os.rename(path, f"{path}.1")
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            reopen_in = reopen_after
        else:
            # logrotate 'copytruncate', with no write between the copy and the truncation
            shutil.copyfile(path, f"{path}.1")
            os.truncate(path, 0)
    line = f"{i} {'x' * (i % 61)}\n".encode()
    if i % 7 == 0:
        os.write(fd, line[:3])
        os.write(fd, line[3:])
    else:
        os.write(fd, line)
    i += 1
    if reopen_in == 0:
        os.close(fd)
        fd = os.open(path, APPEND, 0o644)
    reopen_in = max(reopen_in - 1, -1)
    if i % 50 == 0 and (ahead := t0 + i / rate - time.monotonic()) > 0:
        time.sleep(ahead)
os.close(fd)
print(json.dumps({"lines": i, "rotations": rotations}))
"""

RATE = 10_000
DURATION = 3.0
EVERY = 0.5
REOPEN_AFTER = 2000  # lines (0.2 s) written to the renamed file before the writer reopens


def expected_text(i: int) -> str:
    return f"{i} {'x' * (i % 61)}"


def run_writer(tmp_path: Path, mode: str) -> tuple[dict[str, int], list[FollowedLine], Follower]:
    """Follow the writer's log while it runs, polling every 50-200 ms, then until caught up."""
    log = tmp_path / "app.log"
    log.touch()
    f = Follower([str(log)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(log),
            mode,
            str(RATE),
            str(DURATION),
            str(EVERY),
            str(REOPEN_AFTER),
        ],
        stdout=subprocess.PIPE,
    )
    got: list[FollowedLine] = []
    rng = random.Random(20261121)
    try:
        while proc.poll() is None:
            time.sleep(rng.uniform(0.05, 0.2))
            got += f.poll()
        summary: dict[str, int] = json.loads(proc.communicate(timeout=10)[0])
        deadline = time.monotonic() + 5
        while len(got) < summary["lines"] and time.monotonic() < deadline:
            time.sleep(0.05)
            got += f.poll()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        f.close()
    return summary, got, f


def assert_every_line_once_in_order(summary: dict[str, int], got: list[FollowedLine]) -> None:
    n = summary["lines"]
    assert n >= 20_000, f"the writer managed only {n} lines in {DURATION} s"
    numbers = [int(line.text.split(" ", 1)[0]) for line in got]
    missing = sorted(set(range(n)) - set(numbers))
    assert not missing, f"{len(missing)} lines lost, first {missing[:5]}"
    assert numbers == list(range(n)), "lines repeated or out of order"
    assert [line.text for line in got] == [expected_text(i) for i in range(n)]


def test_rename_rotation_under_load(tmp_path: Path) -> None:
    """10,000 lines/s for 3 s, log renamed away every 0.5 s (logrotate's default ``create``).

    After each rename the writer keeps writing 2,000 more lines (0.2 s) to the renamed file
    before it reopens the path, as a daemon does until logrotate's postrotate signal reaches
    it, so polls fall between the switch of the path and the writer's. Every line must come
    back exactly once, in order.
    """
    summary, got, f = run_writer(tmp_path, "rename")
    assert_every_line_once_in_order(summary, got)
    assert summary["rotations"] >= 5
    assert f.stats["rotations_rename"] == summary["rotations"]
    assert f.stats["rotations_truncate"] == 0
    assert f.stats[f"lines:{tmp_path / 'app.log'}"] == summary["lines"]


def test_copytruncate_rotation_under_load(tmp_path: Path) -> None:
    """10,000 lines/s for 3 s, log copied to app.log.1 then truncated every 0.5 s.

    logrotate's ``copytruncate`` has its own race: a line written after its copy and before its
    truncation is in neither file, and no reader can get it back. That loss is logrotate's, not
    the follower's, so here the writer rotates inside its own write loop, between two writes
    (as if it held a lock around copy and truncation): every line is in the copy or in the
    truncated file. Lines written after the follower's last read and before a truncation are
    only in the copy, and must be recovered from it: every line must come back exactly once,
    in order.
    """
    summary, got, f = run_writer(tmp_path, "copytruncate")
    assert_every_line_once_in_order(summary, got)
    assert summary["rotations"] >= 5
    assert f.stats["rotations_truncate"] == summary["rotations"]
    assert f.stats["truncation_gaps"] == 0
    assert f.stats["lines_recovered"] > 0
    assert f.stats["rotations_rename"] == 0


def texts(lines: list[FollowedLine]) -> list[str]:
    return [line.text for line in lines]


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    path.write_bytes(b"old 1\nold 2\n")
    return path


def test_starts_at_the_end_and_keeps_a_partial_line(log: Path) -> None:
    with Follower([str(log)]) as f:
        assert f.poll() == []
        append(log, b"new 1\nnew 2\nhalf")
        assert f.poll() == [FollowedLine(str(log), "new 1"), FollowedLine(str(log), "new 2")]
        append(log, b" and rest\n")
        assert texts(f.poll()) == ["half and rest"]
        assert f.stats[f"lines:{log}"] == 3


def test_from_start_reads_what_is_there(log: Path) -> None:
    with Follower([str(log)], from_start=True) as f:
        assert texts(f.poll()) == ["old 1", "old 2"]


def test_line_in_progress_at_start_comes_back_whole(log: Path) -> None:
    append(log, b"in prog")
    with Follower([str(log)]) as f:
        assert f.poll() == []
        append(log, b"ress\nnext\n")
        assert texts(f.poll()) == ["in progress", "next"]


def test_file_that_does_not_exist_yet_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    with Follower([str(path)]) as f:
        assert f.poll() == []
        assert f.errors == []
        path.write_bytes(b"first\nsecond\n")
        assert texts(f.poll()) == ["first", "second"]


def test_file_without_trailing_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line waits for its newline; it is returned without one only once its file is
    rotated away and quiet."""
    monkeypatch.setattr(follow, "DETACHED_LINGER", 0.0)
    path = tmp_path / "app.log"
    path.write_bytes(b"a\nb")
    with Follower([str(path)], from_start=True) as f:
        assert texts(f.poll()) == ["a"]
        assert f.poll() == []
        append(path, b"c\nd")
        assert texts(f.poll()) == ["bc"]
        path.rename(tmp_path / "app.log.1")
        path.write_bytes(b"e\n")
        assert texts(f.poll()) == ["d", "e"]
        assert f.stats["rotations_rename"] == 1


def test_rename_reads_old_file_to_its_end_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "DETACHED_LINGER", 0.0)
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    with Follower([str(path)]) as f, path.open("ab", buffering=0) as daemon:
        daemon.write(b"1\n")
        assert texts(f.poll()) == ["1"]
        daemon.write(b"2\n")
        path.rename(tmp_path / "app.log.1")
        path.write_bytes(b"")  # logrotate 'create'
        daemon.write(b"3\n")  # not reopened yet
        assert texts(f.poll()) == ["2", "3"]
        daemon.write(b"4\n")  # still not: the renamed file is still read
        with path.open("ab") as reopened:
            reopened.write(b"5\n")
        assert texts(f.poll()) == ["4", "5"]
        assert f.poll() == []
        assert f.stats["rotations_rename"] == 1


def test_lines_added_to_the_renamed_file_during_a_poll_come_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon writes its last line to the renamed file, reopens and writes to the new one,
    just after the poll has read the renamed file to its end: that last line is older than the
    new file's and must come before them, in the same poll."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    daemon = path.open("ab", buffering=0)
    f = Follower([str(path)])
    daemon.write(b"1\n")
    assert texts(f.poll()) == ["1"]
    path.rename(tmp_path / "app.log.1")
    path.write_bytes(b"")
    old_ident = os.fstat(daemon.fileno()).st_ino
    read = follow._Reader.read
    switched: list[bool] = []

    def read_then_switch(self: follow._Reader, budget: int) -> follow._Status:
        status = read(self, budget)
        if self.ident[1] == old_ident and not switched:
            switched.append(True)
            daemon.write(b"2\n")
            daemon.close()
            with path.open("ab") as reopened:
                reopened.write(b"3\n")
        return status

    monkeypatch.setattr(follow._Reader, "read", read_then_switch)
    try:
        assert texts(f.poll()) == ["2", "3"]
    finally:
        f.close()


def test_copytruncate_recovers_from_the_copy(log: Path) -> None:
    """The file is refilled past the follower's offset before the next poll: size alone would
    not show the truncation; the bytes before the offset do."""
    with Follower([str(log)]) as f:
        append(log, b"a1\na2\n")
        assert texts(f.poll()) == ["a1", "a2"]
        append(log, b"a3\na4\n")
        shutil.copyfile(log, f"{log}.1")
        os.truncate(log, 0)
        append(log, b"".join(b"b%d\n" % i for i in range(20)))
        assert texts(f.poll()) == ["a3", "a4"] + [f"b{i}" for i in range(20)]
        assert f.stats["rotations_truncate"] == 1
        assert f.stats["lines_recovered"] == 2
        assert f.stats["truncation_gaps"] == 0


def test_copytruncate_chooses_the_copy_that_matches(log: Path) -> None:
    """A newer sibling with other bytes before the offset is not the copy."""
    with Follower([str(log)]) as f:
        append(log, b"a1\n")
        assert texts(f.poll()) == ["a1"]
        append(log, b"a2\n")
        shutil.copyfile(log, f"{log}-20261121")
        os.truncate(log, 0)
        decoy = log.parent / "app.log.1"
        decoy.write_bytes(b"x" * 100 + b"\n")
        future = time.time() + 60
        os.utime(decoy, (future, future))
        append(log, b"b1\n")
        assert texts(f.poll()) == ["a2", "b1"]
        assert f.stats["lines_recovered"] == 1


def test_copytruncate_recovers_from_a_gzip_copy(log: Path) -> None:
    """logrotate without ``delaycompress`` compresses the copy at once: app.log.1.gz."""
    with Follower([str(log)]) as f:
        append(log, b"a1\n")
        assert texts(f.poll()) == ["a1"]
        append(log, b"a2\na3\n")
        with gzip.open(f"{log}.1.gz", "wb") as gz:
            gz.write(log.read_bytes())
        os.truncate(log, 0)
        append(log, b"b1\n")
        assert texts(f.poll()) == ["a2", "a3", "b1"]
        assert f.stats["lines_recovered"] == 2


def test_truncation_without_copy_counts_a_gap(log: Path) -> None:
    with Follower([str(log)]) as f:
        append(log, b"a1\n")
        assert texts(f.poll()) == ["a1"]
        append(log, b"lost\npart")
        os.truncate(log, 0)
        append(log, b"b1\n")
        assert texts(f.poll()) == ["b1"]
        assert f.stats["truncation_gaps"] == 1
        assert f.stats["rotations_truncate"] == 1


def test_file_disappears_and_reappears(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "DETACHED_LINGER", 0.0)
    with Follower([str(log)]) as f:
        append(log, b"a1\n")
        log.unlink()
        assert texts(f.poll()) == ["a1"]
        assert f.poll() == []
        log.write_bytes(b"b1\n")
        assert texts(f.poll()) == ["b1"]
        assert f.stats["rotations_rename"] == 1


def test_same_file_moved_back_is_not_reread(log: Path) -> None:
    with Follower([str(log)]) as f:
        append(log, b"a1\n")
        log.rename(log.parent / "elsewhere")
        assert texts(f.poll()) == ["a1"]
        (log.parent / "elsewhere").rename(log)
        append(log, b"a2\n")
        assert texts(f.poll()) == ["a2"]


def test_replaced_by_another_file_of_the_same_size(log: Path) -> None:
    """A new inode at the path is a new file even when the size did not change."""
    with Follower([str(log)]) as f:
        other = log.parent / "new"
        other.write_bytes(b"new 1\nnew 2\n")  # as long as the 12 bytes already read
        os.replace(other, log)
        assert texts(f.poll()) == ["new 1", "new 2"]
        assert f.stats["rotations_rename"] == 1


def test_rewritten_in_place_with_the_same_size(log: Path) -> None:
    """Same inode, same size, other bytes: read again from the start, gap counted."""
    with Follower([str(log)]) as f:
        log.write_bytes(b"new 1\nnew 2\n")
        assert texts(f.poll()) == ["new 1", "new 2"]
        assert f.stats["rotations_truncate"] == 1
        assert f.stats["truncation_gaps"] == 1


def test_overlong_lines_are_cut_and_counted(log: Path) -> None:
    with Follower([str(log)], max_line=10) as f:
        append(log, b"0123456789\n" + b"A" * 25 + b"\nshort\n")
        assert texts(f.poll()) == ["0123456789", "A" * 10, "short"]
        append(log, b"B" * 8)
        assert f.poll() == []
        append(log, b"B" * 8)  # cut as soon as it is too long, not when its newline comes
        assert texts(f.poll()) == ["B" * 10]
        append(log, b"B" * 50)
        assert f.poll() == []
        append(log, b"B\nafter\n")
        assert texts(f.poll()) == ["after"]
        assert f.stats["lines_cut"] == 2


def test_invalid_utf8_is_kept_as_surrogate_escapes(log: Path) -> None:
    raw = b"caf\xc3\xa9 \xff\xfe end"
    with Follower([str(log)]) as f:
        append(log, raw + b"\n")
        (line,) = f.poll()
        assert line.text == "café \udcff\udcfe end"
        assert line.text.encode("utf-8", "surrogateescape") == raw


def test_max_lines_bounds_one_poll(log: Path) -> None:
    with Follower([str(log)]) as f:
        append(log, b"".join(b"%d\n" % i for i in range(25)))
        assert texts(f.poll(max_lines=10)) == [str(i) for i in range(10)]
        assert texts(f.poll(max_lines=10)) == [str(i) for i in range(10, 20)]
        assert texts(f.poll()) == [str(i) for i in range(20, 25)]
        append(log, b"".join(b"%d\n" % i for i in range(5)) + b"unfinished and long")
        assert texts(f.poll(max_lines=5)) == [str(i) for i in range(5)]
        assert f.poll() == []
        append(log, b"\n")
        assert texts(f.poll()) == ["unfinished and long"]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with Follower([str(fifo)]) as f:
        assert f.poll() == []
        assert f.errors == [f"{fifo}: not a regular file"]


def test_several_sources_and_errors(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"")
    b.write_bytes(b"")
    with Follower([str(a), str(b), str(tmp_path)]) as f:
        append(a, b"from a\n")
        append(b, b"from b\n")
        assert sorted(f.poll(), key=lambda line: line.source) == [
            FollowedLine(str(a), "from a"),
            FollowedLine(str(b), "from b"),
        ]
        assert f.errors == [f"{tmp_path}: not a regular file"]
        assert f.stats[f"lines:{a}"] == 1
        assert f.stats[f"lines:{tmp_path}"] == 0


def test_close_twice_and_poll_after_close(log: Path) -> None:
    f = Follower([str(log)])
    f.close()
    f.close()
    with pytest.raises(ValueError, match="closed"):
        f.poll()


def test_journal_without_journald_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "JOURNALD_SOCKET", str(tmp_path / "no-socket"))
    with Follower([], journal=True) as f:
        assert f.poll() == []
        assert f.errors == [f"journal: journald is not running (no {tmp_path / 'no-socket'})"]
        assert f.stats["lines:journal"] == 0


# Stands in for journalctl: writes its pid, two entries and half of a third, then the rest
# later, and waits to be stopped.
FAKE_JOURNALCTL = r"""
import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
out = sys.stdout.buffer
out.write(b'{"MESSAGE":"one"}\n{"MESSAGE":"two"}\n{"MESSAGE":')
out.flush()
time.sleep(0.3)
out.write(b'"three"}\n')
out.flush()
time.sleep(60)
"""


def test_journal_is_read_without_blocking_and_stopped_by_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket = tmp_path / "socket"
    socket.touch()
    pidfile = tmp_path / "pid"
    monkeypatch.setattr(follow, "JOURNALD_SOCKET", str(socket))
    monkeypatch.setattr(
        follow, "JOURNAL_ARGV", (sys.executable, "-c", FAKE_JOURNALCTL, str(pidfile))
    )
    f = Follower([], journal=True)
    got: list[FollowedLine] = []
    slowest = 0.0
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        start = time.monotonic()
        got += f.poll()
        slowest = max(slowest, time.monotonic() - start)
        time.sleep(0.02)
    pid = int(pidfile.read_text())
    f.close()
    assert got == [
        FollowedLine("journal", '{"MESSAGE":"one"}'),
        FollowedLine("journal", '{"MESSAGE":"two"}'),
        FollowedLine("journal", '{"MESSAGE":"three"}'),
    ]
    assert slowest < 0.1
    assert not Path(f"/proc/{pid}").exists()
    assert f.errors == []


def test_journalctl_that_exits_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    socket = tmp_path / "socket"
    socket.touch()
    script = "import sys; print('{}'); sys.exit('Failed to open journal')"
    monkeypatch.setattr(follow, "JOURNALD_SOCKET", str(socket))
    monkeypatch.setattr(follow, "JOURNAL_ARGV", (sys.executable, "-c", script))
    with Follower([], journal=True) as f:
        got: list[FollowedLine] = []
        deadline = time.monotonic() + 10
        while not f.errors and time.monotonic() < deadline:
            got += f.poll()
            time.sleep(0.02)
        assert got == [FollowedLine("journal", "{}")]
        assert f.errors == [
            "journal: " + sys.executable + " exited with status 1: Failed to open journal"
        ]


# Runs inside a private mount namespace: a tmpfs over /run hides it from the rest of the
# machine, so a real systemd-journald can run there without touching the host's logging.
LIVE_JOURNAL = r"""
import json, os, subprocess, sys, time
from sockdoc.collect.follow import Follower

n, tag = int(sys.argv[1]), sys.argv[2]
for where in ("/run", "/var/log/journal"):
    if os.path.isdir(where):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", where], check=True)
os.makedirs("/run/systemd/journal")
os.makedirs("/run/log/journal")
# journald logs about itself to /dev/kmsg; keep that quiet, the host's dmesg is not ours
env = dict(os.environ, SYSTEMD_LOG_TARGET="console", SYSTEMD_LOG_LEVEL="warning")
journald = subprocess.Popen(
    ["/lib/systemd/systemd-journald"], env=env,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)


def ours(lines, ident):
    entries = [json.loads(line.text) for line in lines]
    return [e["MESSAGE"] for e in entries if e.get("SYSLOG_IDENTIFIER") == ident]


try:
    deadline = time.monotonic() + 10
    while not os.path.exists("/run/systemd/journal/socket") and time.monotonic() < deadline:
        time.sleep(0.02)
    with Follower([], journal=True) as f:
        # journalctl -n 0 starts at the end of the journal as it is once it has opened it:
        # wait for it to see a probe before the counted entries
        while time.monotonic() < deadline:
            subprocess.run(["systemd-cat", "-t", tag + "-probe"], input=b"probe\n", check=True)
            time.sleep(0.2)
            if ours(f.poll(), tag + "-probe"):
                break
        body = b"".join(b"entry %d\n" % i for i in range(n))
        subprocess.run(["systemd-cat", "-t", tag], input=body, check=True)
        got = []
        while len(got) < n and time.monotonic() < deadline:
            time.sleep(0.1)
            got += ours(f.poll(), tag)
        print(json.dumps({"messages": got, "errors": f.errors, "stats": f.stats}))
finally:
    journald.terminate()
    journald.wait(timeout=10)
"""


@pytest.mark.skipif(
    os.geteuid() != 0
    or not os.path.exists("/lib/systemd/systemd-journald")
    or not all(shutil.which(p) for p in ("unshare", "mount", "journalctl", "systemd-cat")),
    reason="needs root, unshare, systemd-journald, journalctl and systemd-cat",
)
def test_live_journal_in_a_private_journald() -> None:
    """A real journald and journalctl: 23 entries sent with systemd-cat come back, once each."""
    n = 23
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            sys.executable,
            "-c",
            LIVE_JOURNAL,
            str(n),
            "sockdoc-follow-test",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["messages"] == [f"entry {i}" for i in range(n)]
    assert result["errors"] == []
