"""The whole system close to its limit of open files: every process is about to get ENFILE.

Besides each process's own limit, the kernel caps the file handles of all processes together
at ``fs.file-max``; past it ``alloc_empty_file()`` (fs/file_table.c) refuses new ones with
ENFILE ("Too many open files in system") and logs ``VFS: file-max limit N reached``. Sockets
count too: a server can no longer accept, and connections pile up in listen queues.
``fs.file-nr`` shows the handles allocated now (first number) and the limit (third).

Proof: allocated handles at 80% of ``fs.file-max`` or more is a warning, 95% an error. Fix:
raise ``fs.file-max`` to a power of two at least twice the allocated handles (the memory is
only used by handles that are actually open), then find out which process holds so many.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
    pow2_at_least,
)

ID = "file-max"
WARN = 0.80
ERROR = 0.95
FILE_NR = "host/proc/sys/fs/file-nr"
FILE_MAX = "host/proc/sys/fs/file-max"


def check(f: HostFacts) -> Iterator[Outcome]:
    nr = f.sysctls.file_nr
    limit = f.sysctls.file_max
    if nr is None:
        yield NotChecked(ID, describe_missing(f, FILE_NR) or "fs.file-nr not read", (FILE_NR,))
        return
    allocated, _free, nr_max = nr
    if limit is None:
        limit = nr_max  # file-nr's third field is file-max itself (fs/file_table.c)
    if limit <= 0:
        yield NotChecked(ID, f"fs.file-max reads {limit}", (FILE_MAX,))
        return
    frac = allocated / limit
    if frac < WARN:
        yield Ok(
            ID,
            f"{allocated:,} file handles allocated of fs.file-max {limit:,} ({frac:.1%})",
        )
        return
    want = pow2_at_least(2 * allocated)
    yield Finding(
        rule=ID,
        title=f"System-wide open files at {frac:.0%} of fs.file-max",
        cause=Cause.FD_LIMIT,
        severity=Severity.ERROR if frac >= ERROR else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=Subject("host", "fs.file-max"),
        explanation=(
            f"The kernel has {allocated:,} file handles allocated against a system-wide limit "
            f"of {limit:,}. At the limit every open(), socket() and accept() of every process "
            "fails with ENFILE, and listeners stop being served."
        ),
        evidence=(
            Evidence("file handles allocated", allocated, "", "/proc/sys/fs/file-nr"),
            Evidence("fs.file-max", limit, "", "/proc/sys/fs/file-max"),
            Evidence("in use", round(100 * frac, 1), "%", "allocated / fs.file-max"),
        ),
        fix=Fix(
            f"Raise fs.file-max from {limit:,} to {want:,} (a power of two at least twice the "
            f"{allocated:,} handles allocated), then find the processes that hold them.",
            sysctls=(("fs.file-max", want),),
            commands=(
                'for p in /proc/[0-9]*; do echo "$(ls $p/fd 2>/dev/null | wc -l) $p"; done'
                " | sort -n | tail",
            ),
        ),
    )


RULE = Rule(
    ID,
    "System-wide open files near fs.file-max",
    Cause.FD_LIMIT,
    check,
    needs=(FILE_NR,),
)
