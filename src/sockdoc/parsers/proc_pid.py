"""One process's state and CPU time: ``/proc/PID/stat``, ``status``, ``cmdline``; ``/proc/stat``.

``/proc/PID/stat`` is one line of space-separated fields (proc_pid_stat(5); fs/proc/array.c
``do_task_stat()``). The second, ``comm``, is the thread name in parentheses, printed raw: it
may hold spaces, parentheses, even a newline (any process can rename itself with
``prctl(PR_SET_NAME)``), so it ends at the *last* ``)`` of the text, never at a line end.
Times are in clock ticks (``sysconf(_SC_CLK_TCK)``, 100 on Linux); ``starttime`` counts from
boot; ``rss`` is in pages. Kernels since 2.6.24 print at least 44 fields: fewer is a cut.

``/proc/PID/status`` is ``Key:<TAB>value`` lines (proc_pid_status(5)). ``Name`` is the same
comm with ``\\n`` and ``\\\\`` escaped (``proc_task_name()``). Kernel threads and zombies have
no ``Vm*`` lines, so ``vm_rss_kib`` is None for them. ``Kthread`` appears on recent kernels.

``/proc/PID/cmdline`` is argv, NUL-separated; empty for kernel threads and zombies. A
program that rewrites its title (nginx: ``nginx: worker process``) leaves NUL padding, which
is dropped; so is a trailing empty argument, which the padding makes indistinguishable.

``/proc/stat`` gives ``btime`` (boot time, Unix seconds) and, on its ``cpu`` line, jiffies
spent by all CPUs in each state since boot (fs/proc/stat.c ``show_stat()``).

Sample content (``/proc/PID/stat`` of a process named ``evil) R 1 (x``; shortened)::

    3739 (evil) R 1 (x) S 3698 3695 24048 0 -1 4194368 276 0 0 0 0 0 0 0 20 0 1 0 338143 ...

Sample content (``/proc/PID/status``, shortened)::

    Name:   nginx
    State:  S (sleeping)
    Pid:    3586
    PPid:   3585
    Uid:    33      33      33      33
    Gid:    33      33      33      33
    VmRSS:      5764 kB
    Threads:        1

Examples:

>>> st = parse_stat("3739 (evil) R 1 (x) S 3698 3695 24048 0 -1 4194368 276 0 0 0 7 2 0 0 20 0 "
...                 "1 0 338143 17489920 2781" + " 0" * 27 + "\\n")
>>> (st.pid, st.comm, st.state, st.ppid, st.utime, st.stime, st.starttime, st.rss)
(3739, 'evil) R 1 (x', 'S', 3698, 7, 2, 338143, 2781)
>>> parse_cmdline("nginx: worker process\\x00\\x00\\x00")
('nginx: worker process',)
>>> parse_cmdline("")
()
>>> from dataclasses import replace
>>> after = replace(st, utime=57, stime=2)
>>> cpu_percent(st, after, seconds=1.0, ticks_per_second=100)
50.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError, decimal, lines_of

# include/linux/sched.h: the task is a kernel thread.
PF_KTHREAD = 0x00200000
# proc_pid_stat(5): fields up to (44) cguest_time exist since Linux 2.6.24; 6.x prints 52.
_MIN_FIELDS = 44
_STATES = set("RSDZTtWXxKPI")
_NUMBER = re.compile(r"-?[0-9]+")
_ESCAPE = re.compile(r"\\(n|\\)")
_KIB = re.compile(r"\s*([0-9]+) kB")


@dataclass(frozen=True)
class ProcStat:
    """Fields of ``/proc/PID/stat``; times in clock ticks, ``rss`` in pages."""

    pid: int
    comm: str
    state: str
    ppid: int
    flags: int
    utime: int
    stime: int
    num_threads: int
    starttime: int
    rss: int

    @property
    def cpu_ticks(self) -> int:
        """User plus system time of the process (all its threads), in clock ticks."""
        return self.utime + self.stime

    @property
    def is_kernel_thread(self) -> bool:
        """A kernel thread (``PF_KTHREAD``): no cmdline, no memory of its own."""
        return bool(self.flags & PF_KTHREAD)


@dataclass(frozen=True)
class ProcStatus:
    """Fields of ``/proc/PID/status``. ``vm_rss_kib`` and ``kthread`` are None when absent."""

    name: str
    state: str
    pid: int
    ppid: int
    uid: int
    euid: int
    gid: int
    egid: int
    threads: int
    vm_rss_kib: int | None
    kthread: bool | None


@dataclass(frozen=True)
class CpuTimes:
    """The ``cpu`` line of ``/proc/stat``: jiffies of all CPUs since boot, per state."""

    user: int
    nice: int
    system: int
    idle: int
    iowait: int
    irq: int
    softirq: int
    steal: int
    guest: int
    guest_nice: int

    @property
    def total(self) -> int:
        """All time; ``guest`` and ``guest_nice`` are already inside ``user`` and ``nice``."""
        # kernel/sched/cputime.c account_guest_time() adds guest time to user (or nice) too.
        return (
            self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
        )


@dataclass(frozen=True)
class SystemStat:
    """What sockdoc reads from ``/proc/stat``. ``cpu_count`` counts the ``cpuN`` lines."""

    btime: int
    cpu: CpuTimes
    cpu_count: int
    procs_running: int | None
    procs_blocked: int | None


def parse_stat(text: str, source: str = "/proc/self/stat") -> ProcStat:
    """Parse ``/proc/PID/stat``; ``comm`` ends at the last ``)``."""
    body = text[:-1] if text.endswith("\n") else text
    if not body.strip():
        raise ParseError(source, None, None, "empty")
    open_paren, close_paren = body.find(" ("), body.rfind(")")
    if open_paren < 1 or close_paren < open_paren + 1:
        raise ParseError(source, 1, body, "expected 'PID (COMM) STATE ...'")
    pid = decimal(body[:open_paren], source, 1, body, "pid")
    comm = body[open_paren + 2 : close_paren]
    rest = body[close_paren + 1 :]
    if not rest.startswith(" "):
        raise ParseError(source, 1, body, "expected a space after ')'")
    fields = rest[1:].split(" ")
    if len(fields) + 2 < _MIN_FIELDS:
        raise ParseError(source, 1, body, f"{len(fields) + 2} fields, expected at least 44")
    state = fields[0]
    if state not in _STATES:
        raise ParseError(source, 1, body, f"unknown state {state!r}")
    for i, value in enumerate(fields[1:], start=4):
        if _NUMBER.fullmatch(value) is None:
            raise ParseError(source, 1, body, f"field {i} is not a number ({value!r})")

    def field(number: int) -> int:  # proc_pid_stat(5) numbering, from 1
        return int(fields[number - 3])

    return ProcStat(
        pid=pid,
        comm=comm,
        state=state,
        ppid=field(4),
        flags=field(9),
        utime=field(14),
        stime=field(15),
        num_threads=field(20),
        starttime=field(22),
        rss=field(24),
    )


def parse_status(text: str, source: str = "/proc/self/status") -> ProcStatus:
    """Parse ``/proc/PID/status``: name, state, ids, threads, resident memory."""
    lines = lines_of(text, source)
    seen: dict[str, tuple[str, int, str]] = {}
    for lineno, line in enumerate(lines, start=1):
        key, colon, value = line.partition(":")
        if not colon or not key or " " in key:
            raise ParseError(source, lineno, line, "expected 'Key:<TAB>value'")
        if key in seen:
            raise ParseError(source, lineno, line, f"{key} appears twice")
        seen[key] = (value[1:] if value.startswith("\t") else value.strip(), lineno, line)

    def get(key: str) -> tuple[str, int, str]:
        found = seen.get(key)
        if found is None:
            raise ParseError(source, None, None, f"no {key} line")
        return found

    def number(key: str) -> int:
        value, lineno, line = get(key)
        result = decimal(value.strip(), source, lineno, line, key)
        if result < 0:
            raise ParseError(source, lineno, line, f"{key} is negative")
        return result

    def ids(key: str) -> tuple[int, int]:
        value, lineno, line = get(key)
        parts = value.split("\t")
        if len(parts) != 4:
            raise ParseError(source, lineno, line, f"{key}: expected real, effective, saved, fs")
        real, effective = (decimal(p, source, lineno, line, key) for p in parts[:2])
        for p in parts[2:]:
            decimal(p, source, lineno, line, key)
        return real, effective

    state, lineno, line = get("State")
    if state[:1] not in _STATES or (len(state) > 1 and state[1] != " "):
        raise ParseError(source, lineno, line, f"unknown state {state!r}")
    uid, euid = ids("Uid")
    gid, egid = ids("Gid")
    rss: int | None = None
    if "VmRSS" in seen:
        value, lineno, line = seen["VmRSS"]
        m = _KIB.fullmatch(value)
        if m is None:
            raise ParseError(source, lineno, line, "VmRSS: expected 'N kB'")
        rss = int(m[1])
    kthread: bool | None = None
    if "Kthread" in seen:
        kthread = number("Kthread") != 0
    return ProcStatus(
        name=_ESCAPE.sub(lambda m: "\n" if m[1] == "n" else "\\", get("Name")[0]),
        state=state[0],
        pid=number("Pid"),
        ppid=number("PPid"),
        uid=uid,
        euid=euid,
        gid=gid,
        egid=egid,
        threads=number("Threads"),
        vm_rss_kib=rss,
        kthread=kthread,
    )


def parse_cmdline(text: str) -> tuple[str, ...]:
    """argv from ``/proc/PID/cmdline`` (decoded by the caller); () for kernel threads.

    Never fails: any text is some argv. Trailing empty strings are dropped (NUL padding).
    """
    args = text.split("\0")
    while args and args[-1] == "":
        args.pop()
    return tuple(args)


def parse_proc_stat(text: str, source: str = "/proc/stat") -> SystemStat:
    """Parse ``/proc/stat``: ``btime``, the ``cpu`` line, the CPU count, runnable tasks."""
    lines = lines_of(text, source)
    cpu: CpuTimes | None = None
    values: dict[str, int] = {}
    cpu_count = 0
    for lineno, line in enumerate(lines, start=1):
        words = line.split()
        if len(words) < 2:
            raise ParseError(source, lineno, line, "expected a name and numbers")
        name = words[0]
        numbers = [decimal(w, source, lineno, line, name) for w in words[1:]]
        if name == "cpu":
            if cpu is not None:
                raise ParseError(source, lineno, line, "cpu appears twice")
            # user nice system idle since 2.5; iowait irq softirq, steal (2.6.11), guest
            # (2.6.24) and guest_nice (2.6.33) came later: what a kernel lacks reads 0.
            if not 4 <= len(numbers) <= 10 or min(numbers) < 0:
                raise ParseError(source, lineno, line, "cpu: expected 4 to 10 jiffy counts")
            cpu = CpuTimes(*(numbers + [0] * (10 - len(numbers))))
        elif name.startswith("cpu") and name[3:].isdigit():
            cpu_count += 1
        elif len(numbers) == 1:
            if name in values:
                raise ParseError(source, lineno, line, f"{name} appears twice")
            values[name] = numbers[0]
    if cpu is None:
        raise ParseError(source, None, None, "no cpu line")
    if "btime" not in values:
        raise ParseError(source, None, None, "no btime line")
    return SystemStat(
        btime=values["btime"],
        cpu=cpu,
        cpu_count=cpu_count,
        procs_running=values.get("procs_running"),
        procs_blocked=values.get("procs_blocked"),
    )


def cpu_percent(before: ProcStat, after: ProcStat, seconds: float, ticks_per_second: int) -> float:
    """CPU used between two reads of one process, in percent of one CPU (top's %CPU).

    ValueError when the reads are of different processes (a pid reused: another start
    time), out of order, or ``seconds`` / ``ticks_per_second`` are not positive.
    """
    if seconds <= 0 or ticks_per_second <= 0:
        raise ValueError("seconds and ticks_per_second must be positive")
    if (before.pid, before.starttime) != (after.pid, after.starttime):
        raise ValueError("the two reads are of different processes")
    used = after.cpu_ticks - before.cpu_ticks
    if used < 0:
        raise ValueError("the second read is older than the first")
    return 100.0 * used / ticks_per_second / seconds


def elapsed_seconds(before: SystemStat, after: SystemStat, ticks_per_second: int) -> float:
    """Wall time between two reads of ``/proc/stat``, from the jiffies all CPUs accounted.

    Accurate to a tick or two; use it when the reads were not timed by the caller.
    """
    if ticks_per_second <= 0 or after.cpu_count < 1 or before.cpu_count != after.cpu_count:
        raise ValueError("need the same, non-zero CPU count in both reads")
    ticks = after.cpu.total - before.cpu.total
    if ticks < 0:
        raise ValueError("the second read is older than the first")
    return ticks / after.cpu_count / ticks_per_second


def start_time(stat: ProcStat, system: SystemStat, ticks_per_second: int) -> float:
    """When the process started, in Unix seconds (``btime`` plus ``starttime``)."""
    if ticks_per_second <= 0:
        raise ValueError("ticks_per_second must be positive")
    return system.btime + stat.starttime / ticks_per_second
