"""Log inputs: files, compressed files, directories, rotated sets, stdin, the journal.

Everything here reads; nothing interprets. Data leaves as chunks of whole lines (``bytes`` ending
in a newline, except at end of input), so the matcher can scan large blocks at once. Memory is
bounded by the chunk size plus the longest line kept (:data:`MAX_LINE`); longer lines are dropped
and counted, never buffered.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import mmap
import os
import re
import stat
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

_igzip_threaded: Any
try:  # ISA-L's gzip decoder is ~3x faster than zlib and runs in its own thread (GIL released)
    from isal import igzip_threaded as _igzip_threaded
except ImportError:  # the slower stdlib path is correct too
    _igzip_threaded = None

CHUNK = 8 << 20
MAX_LINE = 1 << 20
_SNIFF = 4096

_MAGIC = ((b"\x1f\x8b", "gz"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"))
_ROTATED = re.compile(
    r"^(?P<base>.+?)(?:[.-](?P<n>\d{1,4}|\d{8}(?:\d{2})?))?(?:\.(?:gz|xz|bz2|lzma))?$"
)


@dataclass(frozen=True)
class Input:
    """One thing to read: ``path`` ("-" is stdin), its compression, size and mtime."""

    path: str
    compression: str = "plain"
    size: int = 0
    mtime: float = 0.0

    @property
    def label(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


@dataclass
class Skips:
    """What could not be read, counted by reason ("unreadable: Permission denied": 1)."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, where: str, n: int = 1) -> None:
        self.counts[reason] += n
        self.examples.setdefault(reason, where)

    def merge(self, other: Skips) -> None:
        self.counts.update(other.counts)
        for k, v in other.examples.items():
            self.examples.setdefault(k, v)


def rotation_key(name: str) -> tuple[str, int, int]:
    """Sort key putting a rotated set in time order, oldest first.

    >>> sorted(["syslog", "syslog.2.gz", "syslog.1", "syslog.10.gz"], key=rotation_key)
    ['syslog.10.gz', 'syslog.2.gz', 'syslog.1', 'syslog']
    >>> sorted(["mail.log", "mail.log-20261120.gz", "mail.log-20261119"], key=rotation_key)
    ['mail.log-20261119', 'mail.log-20261120.gz', 'mail.log']
    """
    m = _ROTATED.match(os.path.basename(name))
    if m is None or m.group("n") is None:
        base = os.path.basename(name)
        for ext in (".gz", ".xz", ".bz2", ".lzma"):
            base = base.removesuffix(ext)
        return (os.path.join(os.path.dirname(name), base), 1, 0)
    n = m.group("n")
    base = os.path.join(os.path.dirname(name), m.group("base"))
    # numbered: larger is older; dated: smaller is older
    return (base, 0, -int(n) if len(n) <= 4 else int(n))


def _compression(head: bytes) -> str:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "plain"


def _sniff(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(_SNIFF)


def discover(paths: Sequence[str], skips: Skips) -> list[Input]:
    """Expand directories, drop what cannot be read (counted in ``skips``), order rotated sets.

    Files found by walking a directory are skipped when they look binary (a NUL in the first
    4 KiB of their decompressed start is not checked: compressed files are kept); files named
    explicitly are always read.
    """
    found: list[tuple[str, bool]] = []
    for p in paths:
        if p == "-":
            found.append((p, True))
        elif os.path.isdir(p):
            for dirpath, dirnames, filenames in os.walk(p, onerror=None):
                dirnames.sort()
                found.extend((os.path.join(dirpath, f), False) for f in sorted(filenames))
        else:
            found.append((p, True))
    out: list[Input] = []
    for p, explicit in found:
        if p == "-":
            out.append(Input("-", "stdin"))
            continue
        try:
            st = os.stat(p)
            if not stat.S_ISREG(st.st_mode):
                skips.add("not a regular file", p)
                continue
            head = _sniff(p)
        except FileNotFoundError:
            skips.add("no such file", p)
            continue
        except PermissionError:
            skips.add("unreadable: permission denied", p)
            continue
        except OSError as exc:
            skips.add(f"unreadable: {exc.strerror or exc}", p)
            continue
        kind = _compression(head)
        if kind == "plain" and not explicit and b"\x00" in head:
            skips.add("binary file (found in a directory)", p)
            continue
        out.append(Input(p, kind, st.st_size, st.st_mtime))
    # Rotated sets oldest first; stdin and the order of unrelated files are kept as given.
    order = {inp.path: i for i, inp in enumerate(out)}
    groups: dict[str, list[Input]] = {}
    for inp in out:
        groups.setdefault(rotation_key(inp.path)[0] if inp.path != "-" else "-", []).append(inp)
    ordered: list[Input] = []
    for members in sorted(groups.values(), key=lambda g: min(order[i.path] for i in g)):
        ordered.extend(sorted(members, key=lambda i: rotation_key(i.path)))
    return ordered


@dataclass
class Opened:
    """A stream of the (decompressed) content, and the file under it (for progress)."""

    stream: IO[bytes]
    raw: IO[bytes] | None = None

    def consumed(self) -> int:
        """Bytes of the input file read so far (compressed bytes for a compressed file)."""
        return self.raw.tell() if self.raw is not None else 0

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
        if self.raw is not None:
            self.raw.close()


def open_input(inp: Input) -> Opened:
    """Open ``inp`` for reading its decompressed content."""
    if inp.path == "-":
        return Opened(sys.stdin.buffer)
    raw = open(inp.path, "rb")  # noqa: SIM115 - closed by Opened.close()
    try:
        if inp.compression == "gz":
            if _igzip_threaded is not None:
                opener: Any = _igzip_threaded.open
                return Opened(opener(raw, "rb", threads=1), raw)
            return Opened(gzip.GzipFile(fileobj=raw, mode="rb"), raw)  # type: ignore[arg-type]
        if inp.compression == "xz":
            return Opened(lzma.LZMAFile(raw, "rb"), raw)
        if inp.compression == "bz2":
            return Opened(bz2.BZ2File(raw, "rb"), raw)
    except BaseException:
        raw.close()
        raise
    return Opened(raw, raw)


# Errors a decompressor raises on a damaged or truncated file.
_DAMAGED = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError, ValueError)


def read_chunks(
    stream: IO[bytes],
    where: str,
    skips: Skips,
    *,
    chunk: int = CHUNK,
    max_line: int = MAX_LINE,
    limit: int | None = None,
) -> Iterator[bytes]:
    """Chunks of whole lines from ``stream``. With ``limit``, only the lines that start within
    the first ``limit`` bytes. A damaged compressed stream ends the input, counted in ``skips``.
    """
    carry = b""
    dropping = False
    consumed = 0
    while True:
        try:
            data = stream.read(chunk)
        except _DAMAGED as exc:
            skips.add(f"damaged or truncated input ({type(exc).__name__})", where)
            data = b""
        if not data:
            if carry:
                yield carry
            return
        consumed += len(data)
        if dropping:
            nl = data.find(b"\n")
            if nl < 0:
                continue
            data = data[nl + 1 :]
            dropping = False
        # buf is always the last len(buf) bytes consumed
        buf = carry + data if carry else data
        if limit is not None and consumed >= limit:
            boundary = limit - (consumed - len(buf))
            nl = buf.find(b"\n", max(boundary - 1, 0))
            if nl >= 0:
                yield buf[: nl + 1]
                return
        cut = buf.rfind(b"\n") + 1
        if cut:
            yield buf[:cut]
        carry = buf[cut:]
        if len(carry) > max_line:
            skips.add(f"line longer than {max_line >> 20} MiB", where)
            carry = b""
            dropping = True


WINDOW = 32 << 20  # bytes of a plain file mapped at once: bounds RSS whatever the file size


def map_range(
    path: str, start: int, end: int, skips: Skips, window: int = WINDOW
) -> Iterator[tuple[mmap.mmap, int, int]]:
    """(map, lo, hi): regions of whole lines of a plain file, mapped read-only without copying,
    covering the lines that start in [start, end). Each map is closed when the consumer asks
    for the next region, so only one window is resident at a time. A line longer than the
    window is skipped and counted."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        end = min(end, size)
        pos = start
        if start > 0:
            f.seek(start - 1)
            if f.read(1) != b"\n":
                # the line in progress at ``start`` belongs to the previous range
                while (piece := f.readline(MAX_LINE)) and not piece.endswith(b"\n"):
                    pass
            pos = f.tell()
        while pos < end:
            base = pos - pos % mmap.ALLOCATIONGRANULARITY
            length = min(size - base, pos - base + window)
            mm = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=base)
            try:
                lo, hi = pos - base, length
                if base + length < size:
                    hi = mm.rfind(b"\n", lo, length) + 1
                    if hi == 0:  # no newline in a whole window
                        skips.add(f"line longer than {window >> 20} MiB", path)
                        f.seek(base + length)
                        while (piece := f.readline(MAX_LINE)) and not piece.endswith(b"\n"):
                            pass
                        pos = f.tell() if piece else size
                        continue
                if hi > end - base:  # stop after the line that straddles ``end``
                    nl = mm.find(b"\n", max(end - base - 1, lo), hi)
                    hi = nl + 1 if nl >= 0 else hi
                yield mm, lo, hi
                pos = base + hi
            finally:
                mm.close()


def journal(since: str | None, until: str | None, skips: Skips) -> Iterator[bytes]:
    """The systemd journal as ``journalctl -o json`` lines, when journalctl exists."""
    cmd = ["journalctl", "--no-pager", "-o", "json"]
    if since:
        cmd += ["--since", since]
    if until:
        cmd += ["--until", until]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        skips.add("journal: journalctl not found", "journalctl")
        return
    assert proc.stdout is not None
    try:
        yield from read_chunks(proc.stdout, "journal", skips)
    finally:
        proc.stdout.close()
        if proc.wait(timeout=10) not in (0, None):
            skips.add("journal: journalctl failed", "journalctl")
