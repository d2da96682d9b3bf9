"""The /proc/PID/{stat,status,cmdline} and /proc/stat parsers on real processes, damage, fuzz.

Fixtures (tests/fixtures/proc/pid/, see README.md there) were captured on Linux 6.18 with 2
CPUs and 100 ticks per second: an nginx master and worker, kthreadd, a process renamed
``evil) R 1 (x`` and one with a newline in its name, a zombie, and a busy loop read twice one
second apart together with /proc/stat.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.proc_pid import (
    CpuTimes,
    ProcStat,
    ProcStatus,
    cpu_percent,
    elapsed_seconds,
    parse_cmdline,
    parse_proc_stat,
    parse_stat,
    parse_status,
    start_time,
)

PID = Path(__file__).parent / "fixtures" / "proc" / "pid"
TICKS = 100


def read(name: str) -> str:
    # A collector decodes /proc bytes this way: names and argv are not always UTF-8.
    return (PID / name).read_bytes().decode("utf-8", "surrogateescape")


def expect_error(
    parse: Callable[[str], object], text: str, lineno: int | None, fragment: str
) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.lineno == lineno, str(err)
    assert fragment in err.reason, str(err)
    assert "\n" not in str(err)
    return err


# ---------------------------------------------------------------- real processes


def test_nginx_master_and_worker() -> None:
    master = parse_stat(read("nginx-master/stat"))
    worker = parse_stat(read("nginx-worker/stat"))
    assert (master.pid, master.comm, master.state, master.ppid) == (3585, "nginx", "S", 1)
    assert (worker.pid, worker.ppid, worker.num_threads, worker.rss) == (3586, 3585, 1, 1417)
    assert master.starttime == worker.starttime == 337604
    assert not master.is_kernel_thread
    status = parse_status(read("nginx-worker/status"))
    assert status == ProcStatus(
        name="nginx",
        state="S",
        pid=3586,
        ppid=3585,
        uid=33,
        euid=33,
        gid=33,
        egid=33,
        threads=1,
        vm_rss_kib=5764,
        kthread=False,
    )
    assert parse_status(read("nginx-master/status")).uid == 0
    assert parse_cmdline(read("nginx-master/cmdline")) == (
        "nginx: master process nginx -c /tmp/ngxt/nginx.conf -p /tmp/ngxt/",
    )
    # nginx rewrote its argv: one string, then NUL padding.
    raw = read("nginx-worker/cmdline")
    assert raw.count("\0") > 1
    assert parse_cmdline(raw) == ("nginx: worker process",)


def test_comm_with_parenthesis_and_space() -> None:
    stat = parse_stat(read("evil-comm/stat"))
    # A split at the first ")" would read state "R" and ppid 1.
    assert (stat.comm, stat.state, stat.ppid) == ("evil) R 1 (x", "S", 3698)
    assert parse_status(read("evil-comm/status")).name == stat.comm
    assert parse_cmdline(read("evil-comm/cmdline")) == (
        "/root/.pyenv/versions/3.11.7/bin/python3",
        "/tmp/capture_proc.py",
    )


def test_comm_with_newline_and_backslash() -> None:
    text = read("newline-comm/stat")
    assert text.count("\n") == 2
    stat = parse_stat(text)
    assert (stat.pid, stat.comm, stat.state) == (3740, "nl\nname\\)", "S")
    status_text = read("newline-comm/status")
    assert status_text.startswith("Name:\tnl\\nname\\\\)\n")
    assert parse_status(status_text).name == stat.comm


def test_zombie() -> None:
    stat = parse_stat(read("zombie/stat"))
    assert (stat.comm, stat.state, stat.rss) == ("zombie kid", "Z", 0)
    status = parse_status(read("zombie/status"))
    assert (status.state, status.vm_rss_kib, status.kthread) == ("Z", None, False)
    assert parse_cmdline(read("zombie/cmdline")) == ()


def test_kernel_thread() -> None:
    stat = parse_stat(read("kthreadd/stat"))
    assert (stat.pid, stat.comm, stat.ppid, stat.rss) == (2, "kthreadd", 0, 0)
    assert stat.is_kernel_thread
    status = parse_status(read("kthreadd/status"))
    assert (status.kthread, status.vm_rss_kib) == (True, None)
    assert parse_cmdline(read("kthreadd/cmdline")) == ()


def test_busy_loop_cpu_percent() -> None:
    capture = json.loads(read("busy/capture.json"))
    assert capture["ticks_per_second"] == TICKS
    before, after = parse_stat(read("busy/stat.0")), parse_stat(read("busy/stat.1"))
    assert (before.comm, before.state, before.cpu_ticks, after.cpu_ticks) == (
        "busy loop",
        "R",
        49,
        148,
    )
    measured = cpu_percent(before, after, capture["seconds"], TICKS)
    assert 98.0 < measured <= 100.0
    sys0, sys1 = (
        parse_proc_stat(read("busy/proc_stat.0")),
        parse_proc_stat(read("busy/proc_stat.1")),
    )
    elapsed = elapsed_seconds(sys0, sys1, TICKS)
    assert elapsed == pytest.approx(capture["seconds"], abs=0.02)
    assert cpu_percent(before, after, elapsed, TICKS) == pytest.approx(99.5, abs=1.0)
    status = parse_status(read("busy/status"))
    assert (status.name, status.pid) == ("busy loop", capture["pid"])


def test_proc_stat() -> None:
    system = parse_proc_stat(read("busy/proc_stat.0"))
    assert system.btime == 1795292363
    assert system.cpu == CpuTimes(166273, 0, 57828, 444259, 1621, 0, 2203, 663, 0, 0)
    assert system.cpu.total == 166273 + 57828 + 444259 + 1621 + 2203 + 663
    assert (system.cpu_count, system.procs_running, system.procs_blocked) == (2, 2, 0)
    stat = parse_stat(read("busy/stat.0"))
    assert start_time(stat, system, TICKS) == pytest.approx(1795292363 + 3381.82)


def test_proc_stat_older_kernel_and_guest_time() -> None:
    old = parse_proc_stat("cpu  10 2 3 400\ncpu0 10 2 3 400\nbtime 7\n")
    assert old.cpu == CpuTimes(10, 2, 3, 400, 0, 0, 0, 0, 0, 0)
    assert (old.cpu.total, old.cpu_count, old.procs_running) == (415, 1, None)
    guest = parse_proc_stat("cpu  100 5 0 0 0 0 0 0 60 5\nbtime 7\n")
    # guest time is already counted in user and nice.
    assert guest.cpu.total == 105


# ---------------------------------------------------------------- cpu_percent contract


def test_cpu_percent_rejects_mismatched_reads() -> None:
    before = parse_stat(read("busy/stat.0"))
    after = parse_stat(read("busy/stat.1"))
    with pytest.raises(ValueError, match="different processes"):
        cpu_percent(before, replace(after, starttime=after.starttime + 1), 1.0, TICKS)
    with pytest.raises(ValueError, match="different processes"):
        cpu_percent(before, replace(after, pid=1), 1.0, TICKS)
    with pytest.raises(ValueError, match="older"):
        cpu_percent(after, before, 1.0, TICKS)
    with pytest.raises(ValueError, match="positive"):
        cpu_percent(before, after, 0.0, TICKS)
    with pytest.raises(ValueError, match="positive"):
        cpu_percent(before, after, 1.0, 0)
    assert cpu_percent(before, before, 1.0, TICKS) == 0.0
    # Two threads busy for 2 s: 200 % (top's convention).
    assert cpu_percent(before, replace(before, utime=before.utime + 400), 2.0, TICKS) == 200.0


def test_elapsed_and_start_time_contracts() -> None:
    sys0 = parse_proc_stat(read("busy/proc_stat.0"))
    sys1 = parse_proc_stat(read("busy/proc_stat.1"))
    with pytest.raises(ValueError, match="older"):
        elapsed_seconds(sys1, sys0, TICKS)
    with pytest.raises(ValueError, match="CPU count"):
        elapsed_seconds(sys0, replace(sys1, cpu_count=3), TICKS)
    with pytest.raises(ValueError, match="positive"):
        start_time(parse_stat(read("busy/stat.0")), sys0, 0)


# ---------------------------------------------------------------- damaged input

STAT = read("nginx-worker/stat")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("\n", "empty"),
        ("3586 nginx S 1" + " 0" * 48, "expected 'PID (COMM)"),
        ("(nginx) S 1" + " 0" * 48, "expected 'PID (COMM)"),
        ("x (nginx) S 1" + " 0" * 48, "pid is not a decimal"),
        ("3586 (nginx)S 1" + " 0" * 48, "space after ')'"),
        ("3586 (nginx) S 1 2 3", "fields, expected at least 44"),
        ("3586 (nginx) Q 1" + " 0" * 48, "unknown state"),
        ("3586 (nginx) S 1" + " 0" * 20 + " x" + " 0" * 27, "field 25 is not a number"),
        ("3586 (nginx) S 1" + " 0" * 20 + "  0" + " 0" * 27, "is not a number"),
        (STAT.rsplit(" ", 10)[0], "fields, expected at least 44"),
    ],
)
def test_stat_malformed(text: str, fragment: str) -> None:
    expect_error(parse_stat, text, None if fragment == "empty" else 1, fragment)


STATUS = read("nginx-worker/status")


def _status_without(key: str) -> str:
    return "\n".join(line for line in STATUS.split("\n") if not line.startswith(key + ":"))


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("", None, "empty"),
        (_status_without("Uid"), None, "no Uid line"),
        (_status_without("Threads"), None, "no Threads line"),
        (_status_without("Name"), None, "no Name line"),
        (STATUS.replace("VmRSS:\t    5764 kB", "VmRSS:\t5764"), 23, "VmRSS"),
        (STATUS.replace("Uid:\t33\t33\t33\t33", "Uid:\t33\t33"), 9, "real, effective"),
        (STATUS.replace("Uid:\t33\t33\t33\t33", "Uid:\t33\t33\t33\tx"), 9, "not a decimal"),
        (STATUS.replace("Threads:\t1", "Threads:\tmany"), 37, "not a decimal"),
        (STATUS.replace("PPid:\t3585", "PPid:\t-1"), 7, "negative"),
        (STATUS.replace("State:\tS (sleeping)", "State:\tQ (queued)"), 3, "unknown state"),
        (STATUS.replace("Tgid:", "Tgid"), 4, "Key:<TAB>value"),
        (STATUS.replace("Ngid:", "Pid:"), 6, "Pid appears twice"),
    ],
)
def test_status_malformed(text: str, lineno: int | None, fragment: str) -> None:
    expect_error(parse_status, text, lineno, fragment)


def test_status_line_numbers_match_the_fixture() -> None:
    lines = STATUS.split("\n")
    for lineno, key in [(3, "State"), (7, "PPid"), (9, "Uid"), (23, "VmRSS"), (37, "Threads")]:
        assert lines[lineno - 1].startswith(key + ":")


PROC_STAT = read("busy/proc_stat.0")


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("", None, "empty"),
        ("btime 7\n", None, "no cpu line"),
        ("cpu  1 2 3 4\n", None, "no btime line"),
        ("cpu  1 2 3\nbtime 7\n", 1, "4 to 10"),
        ("cpu  1 2 3 4 5 6 7 8 9 10 11\nbtime 7\n", 1, "4 to 10"),
        ("cpu  1 2 3 -4\nbtime 7\n", 1, "4 to 10"),
        ("cpu  1 2 3 4\ncpu  1 2 3 4\nbtime 7\n", 2, "twice"),
        ("cpu  1 2 3 4\nbtime 7\nbtime 8\n", 3, "twice"),
        ("cpu  1 2 x 4\nbtime 7\n", 1, "not a decimal"),
        ("cpu  1 2 3 4\nbtime\n", 2, "a name and numbers"),
        (PROC_STAT.replace("ctxt ", "ctxt x"), 5, "not a decimal"),
    ],
)
def test_proc_stat_malformed(text: str, lineno: int | None, fragment: str) -> None:
    expect_error(parse_proc_stat, text, lineno, fragment)


def test_cmdline_never_fails() -> None:
    assert parse_cmdline("a\0b c\0") == ("a", "b c")
    assert parse_cmdline("no-terminator") == ("no-terminator",)
    assert parse_cmdline("\0\0") == ()
    assert parse_cmdline("a\0\0b\0") == ("a", "", "b")


# ---------------------------------------------------------------- fuzz

_NOISE = ["", " ", "(", ")", "\n", "\t", ":", "x", "0", "-", "\x00", "é", "kB"]


def _damage(text: str, rng: random.Random) -> str:
    pos = rng.randrange(len(text) + 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:pos]
    if kind == 1:
        return text[:pos] + rng.choice(_NOISE) + text[pos:]
    if kind == 2:
        return text[:pos] + rng.choice(_NOISE) + text[pos + 1 :]
    return text[:pos] + text[pos + rng.randint(1, 20) :]


FUZZED: list[tuple[str, Callable[[str], object]]] = [
    ("nginx-worker/stat", parse_stat),
    ("evil-comm/stat", parse_stat),
    ("newline-comm/stat", parse_stat),
    ("kthreadd/stat", parse_stat),
    ("nginx-worker/status", parse_status),
    ("newline-comm/status", parse_status),
    ("zombie/status", parse_status),
    ("busy/proc_stat.0", parse_proc_stat),
    ("nginx-worker/cmdline", parse_cmdline),
]


@pytest.mark.parametrize(("name", "parse"), FUZZED, ids=[name for name, _ in FUZZED])
def test_fuzz_truncations_give_a_result_or_parse_error(
    name: str, parse: Callable[[str], object]
) -> None:
    original = read(name)
    parse(original)
    rng = random.Random(f"sockdoc-pid-{name}")
    texts = [original[: rng.randrange(len(original) + 1)] for _ in range(200)]
    texts += [_damage(_damage(original, rng), rng) for _ in range(300)]
    for text in texts:
        try:
            result = parse(text)
        except ParseError as err:
            assert err.lineno is None or err.lineno >= 1
            assert "\n" not in str(err)
        else:
            assert isinstance(result, (ProcStat, ProcStatus, tuple)) or hasattr(result, "btime")
