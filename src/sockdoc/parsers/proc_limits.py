"""A process's resource limits: ``/proc/PID/limits``.

A header, then one line per limit: its name (words with spaces), the soft and the hard value
(a number or ``unlimited``), and a unit for most (fs/proc/base.c ``proc_pid_limits()``:
``"%-25s %-20s %-20s %-10s"``). Limits are keyed here by their ``RLIMIT_*`` name in lower case
(``nofile`` for "Max open files"). An unlimited value is None.

Sample content (shortened)::

    Limit                     Soft Limit           Hard Limit           Units
    Max cpu time              unlimited            unlimited            seconds
    Max processes             96365                96365                processes
    Max open files            1024                 524288               files
    Max nice priority         0                    0

Examples:

>>> lim = parse_limits(
...     "Limit                     Soft Limit           Hard Limit           Units     \\n"
...     "Max cpu time              unlimited            unlimited            seconds   \\n"
...     "Max open files            1024                 524288               files     \\n"
...     "Max nice priority         0                    0                    \\n"
... )
>>> lim.nofile
Limit(key='nofile', name='Max open files', soft=1024, hard=524288, unit='files')
>>> lim.get("cpu").soft is None
True
>>> lim.get("nice").unit is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError, decimal, lines_of

# fs/proc/base.c lnames[] -> the RLIMIT_* constant (include/uapi/asm-generic/resource.h).
KEYS: dict[str, str] = {
    "Max cpu time": "cpu",
    "Max file size": "fsize",
    "Max data size": "data",
    "Max stack size": "stack",
    "Max core file size": "core",
    "Max resident set": "rss",
    "Max processes": "nproc",
    "Max open files": "nofile",
    "Max locked memory": "memlock",
    "Max address space": "as",
    "Max file locks": "locks",
    "Max pending signals": "sigpending",
    "Max msgqueue size": "msgqueue",
    "Max nice priority": "nice",
    "Max realtime priority": "rtprio",
    "Max realtime timeout": "rttime",
}
# A value is "unlimited" or starts with something other than a letter, so that the words of a
# name ("Max nice priority", no unit) are never taken for values.
_VALUE = r"(?:unlimited|[^\sA-Za-z]\S*)"
_LINE = re.compile(
    rf"(?P<name>[A-Za-z]+(?: [A-Za-z]+)*)\s+(?P<soft>{_VALUE})\s+(?P<hard>{_VALUE})"
    r"(?:\s+(?P<unit>\S+))?\s*"
)


@dataclass(frozen=True)
class Limit:
    """One limit. ``soft`` / ``hard`` None means unlimited (``RLIM_INFINITY``)."""

    key: str
    name: str
    soft: int | None
    hard: int | None
    unit: str | None


@dataclass(frozen=True)
class Limits:
    """All limits of one process, in the file's order."""

    limits: tuple[Limit, ...]

    def get(self, key: str) -> Limit | None:
        """The limit with RLIMIT key ``key`` (``"nofile"``, ``"nproc"``), None when absent."""
        for limit in self.limits:
            if limit.key == key:
                return limit
        return None

    @property
    def nofile(self) -> Limit | None:
        """Open file descriptors (``ulimit -n``): EMFILE past the soft value."""
        return self.get("nofile")

    @property
    def nproc(self) -> Limit | None:
        """Processes of the user (``ulimit -u``): fork() EAGAIN past the soft value."""
        return self.get("nproc")


def parse_limits(text: str, source: str = "/proc/self/limits") -> Limits:
    """Parse ``/proc/PID/limits``. A name this parser does not know keeps its text as key."""
    lines = lines_of(text, source)
    if not lines[0].startswith("Limit "):
        raise ParseError(source, 1, lines[0], "expected the header 'Limit  Soft Limit ...'")
    limits: list[Limit] = []
    for lineno, line in enumerate(lines[1:], start=2):
        m = _LINE.fullmatch(line)
        if m is None or not m["name"].startswith("Max "):
            raise ParseError(source, lineno, line, "expected 'Max NAME  SOFT  HARD  [UNIT]'")
        name = m["name"]
        key = KEYS.get(name, name)
        if any(lim.key == key for lim in limits):
            raise ParseError(source, lineno, line, f"{name!r} appears twice")
        soft = _value(m["soft"], source, lineno, line, "soft limit")
        hard = _value(m["hard"], source, lineno, line, "hard limit")
        limits.append(Limit(key=key, name=name, soft=soft, hard=hard, unit=m["unit"]))
    return Limits(tuple(limits))


def _value(word: str, source: str, lineno: int, line: str, what: str) -> int | None:
    if word == "unlimited":
        return None
    value = decimal(word, source, lineno, line, what)
    if value < 0:
        raise ParseError(source, lineno, line, f"{what} is negative")
    return value
