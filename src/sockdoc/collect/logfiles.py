"""Log inputs: files, compressed files, directories, rotated sets, stdin, the journal.

Everything here reads; nothing interprets. Data leaves as chunks of whole lines (``bytes`` ending
in a newline, except at end of input), so the matcher can scan large blocks at once. Memory is
bounded by the chunk size plus the longest line kept (:data:`MAX_LINE`); longer lines are dropped
and counted, never buffered.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

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
    compression: str = "plain"  # plain, gz, xz, bz2, stream (FIFO, device, /proc), stdin
    size: int = 0
    mtime: float = 0.0
    identity: tuple[int, int] = (0, 0)  # (st_dev, st_ino)

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


def _walk(root: str, skips: Skips) -> list[str]:
    def unreadable(exc: OSError) -> None:
        skips.add(f"unreadable: {(exc.strerror or str(exc)).lower()}", exc.filename or root)

    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames.sort()
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    return out


def _inspect(p: str, explicit: bool, skips: Skips) -> Input | None:
    """One path as an Input, or None (counted in ``skips``)."""
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            # FIFOs, process substitution, character devices and /proc files (size 0): read as
            # a stream when named explicitly; sniffing would consume a FIFO's data
            if explicit or stat.S_ISREG(st.st_mode):
                return Input(p, "stream", 0, st.st_mtime, (st.st_dev, st.st_ino))
            skips.add("not a regular file (found in a directory)", p)
            return None
        head = _sniff(p)
    except FileNotFoundError:
        skips.add("no such file", p)
        return None
    except PermissionError:
        skips.add("unreadable: permission denied", p)
        return None
    except OSError as exc:
        skips.add(f"unreadable: {(exc.strerror or str(exc)).lower()}", p)
        return None
    kind = _compression(head)
    if kind == "plain" and not explicit and b"\x00" in head:
        skips.add("binary file (found in a directory)", p)
        return None
    return Input(p, kind, st.st_size, st.st_mtime, (st.st_dev, st.st_ino))


def discover(paths: Sequence[str], skips: Skips) -> list[Input]:
    """Expand directories, drop what cannot be read (counted in ``skips``), order rotated sets.

    Files found by walking a directory are skipped when they look binary (a NUL in their first
    4 KiB; compressed files are kept); files named explicitly are always read, FIFOs and
    devices included. A file named twice (or named and inside a named directory) is read once.
    """
    found: list[tuple[str, bool]] = []
    for p in paths:
        if p != "-" and os.path.isdir(p):
            found.extend((f, False) for f in _walk(p, skips))
        else:
            found.append((p, True))
    out: list[Input] = []
    seen: set[tuple[int, int]] = set()
    for p, explicit in found:
        if p == "-":
            out.append(Input("-", "stdin"))
            continue
        inp = _inspect(p, explicit, skips)
        if inp is None or inp.identity in seen:
            continue
        seen.add(inp.identity)
        out.append(inp)
    # Rotated sets oldest first; stdin and the order of unrelated files are kept as given.
    order = {inp.path: i for i, inp in enumerate(out)}
    groups: dict[str, list[Input]] = {}
    for inp in out:
        groups.setdefault(rotation_key(inp.path)[0] if inp.path != "-" else "-", []).append(inp)
    ordered: list[Input] = []
    for members in sorted(groups.values(), key=lambda g: min(order[i.path] for i in g)):
        ordered.extend(sorted(members, key=lambda i: rotation_key(i.path)))
    return ordered


class _GzipRecovering(io.RawIOBase):
    """ISA-L's threaded reader, which on a damaged or truncated file raises without handing over
    what it had decompressed; then the file is read again with the standard library's decoder,
    which delivers everything up to the damage before raising."""

    def __init__(self, path: str, fast: IO[bytes]) -> None:
        super().__init__()
        self._path = path
        self._fast: IO[bytes] | None = fast
        self._slow: gzip.GzipFile | None = None
        self._delivered = 0

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1) -> bytes:
        if self._fast is not None:
            try:
                data = self._fast.read1(n)  # type: ignore[attr-defined]
            except _DAMAGED:
                self._fast.close()
                self._fast = None
                self._slow = gzip.GzipFile(self._path, "rb")
                skip = self._delivered
                while skip > 0:
                    skip -= len(self._slow.read(min(skip, CHUNK)))
            else:
                self._delivered += len(data)
                return bytes(data)
        assert self._slow is not None
        return self._slow.read1(n)

    def close(self) -> None:
        for stream in (self._fast, self._slow):
            if stream is not None:
                stream.close()
        super().close()


@dataclass
class Opened:
    """A stream of the (decompressed) content, and the file under it (for progress)."""

    stream: IO[bytes]
    raw: IO[bytes] | None = None

    def consumed(self) -> int:
        """Bytes of the input file read so far (compressed bytes for a compressed file)."""
        try:
            return self.raw.tell() if self.raw is not None else 0
        except OSError:  # a FIFO cannot tell
            return 0

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
        if self.raw is not None:
            self.raw.close()


def open_input(inp: Input) -> Opened:
    """Open ``inp`` for reading its decompressed content."""
    if inp.path == "-":
        return Opened(sys.stdin.buffer)
    raw = open(inp.path, "rb", buffering=0 if inp.compression == "stream" else -1)  # noqa: SIM115
    try:
        if inp.compression == "gz":
            if _igzip_threaded is not None:
                opener: Any = _igzip_threaded.open
                fast = _GzipRecovering(inp.path, opener(raw, "rb", threads=1))
                return Opened(cast(IO[bytes], fast), raw)
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


PIECE = 1 << 20  # compressed streams are read in pieces, so damage loses at most one piece


def read_regions(
    stream: IO[bytes], where: str, skips: Skips, *, chunk: int = CHUNK, max_line: int = MAX_LINE
) -> Iterator[tuple[bytearray, int, int]]:
    """(buffer, lo, hi): regions of whole lines from ``stream`` (the last may lack its newline).

    One buffer is reused: the consumer is done with a region before asking for the next, so
    each byte is copied once, from the decompressor into the buffer. A damaged or truncated
    compressed stream ends the input: everything decompressed before the damage is delivered,
    up to the last complete line, and the damage is counted. A line longer than ``max_line`` is
    dropped (not buffered) and counted.
    """
    read: Any = getattr(stream, "read1", stream.read)
    buf = bytearray()
    dropping = False
    while True:
        start = len(buf)
        damaged = False
        while len(buf) < chunk:
            try:
                piece = read(min(PIECE, chunk - len(buf)))
            except _DAMAGED as exc:
                skips.add(f"damaged or truncated input ({type(exc).__name__})", where)
                damaged = True
                break
            if not piece:
                break
            buf += piece
        if len(buf) == start:  # end of input (or damage) with nothing new
            if buf and not dropping and not damaged:
                yield buf, 0, len(buf)
            return
        if dropping:
            nl = buf.find(b"\n", start)
            if nl < 0:
                del buf[:]
                if damaged:
                    return
                continue
            del buf[: nl + 1]
            dropping = False
        cut = buf.rfind(b"\n") + 1
        if cut:
            yield buf, 0, cut
            del buf[:cut]
        if damaged:
            return  # the half line at the damage is not a line
        if len(buf) > max_line:
            skips.add(f"line longer than {max_line >> 20} MiB", where)
            del buf[:]
            dropping = True


WINDOW = 16 << 20  # bytes of a plain file read at once: bounds memory whatever the file size


def read_windows(
    path: str, start: int, end: int, skips: Skips, window: int = WINDOW
) -> Iterator[tuple[bytearray, int, int]]:
    """(buffer, lo, hi): regions of whole lines of a plain file covering the lines that start in
    [start, end), read with pread into one reused buffer (the consumer is done with a region
    before asking for the next). Reading, unlike mapping, survives the file being truncated
    under us (logrotate's copytruncate): the read just comes back short. A line longer than
    the window is skipped and counted."""
    buf = bytearray(window)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        pos = start
        if start > 0:
            # the line in progress at ``start`` belongs to the previous range
            before = os.pread(fd, 1, start - 1)
            if before != b"\n":
                pos = _next_line(fd, start)
        while pos < end:
            n = os.preadv(fd, [view], pos)
            if n <= 0:
                return  # the file shrank
            lo, hi = 0, n
            if n == window:
                hi = buf.rfind(b"\n", 0, n) + 1
                if hi == 0:
                    skips.add(f"line longer than {window >> 20} MiB", path)
                    pos = _next_line(fd, pos + n)
                    continue
            if pos + hi > end:  # stop after the line that straddles ``end``
                nl = buf.find(b"\n", max(end - pos - 1, 0), hi)
                hi = nl + 1 if nl >= 0 else hi
            yield buf, lo, hi
            pos += hi


def _next_line(fd: int, pos: int) -> int:
    """Offset of the first line starting after ``pos`` (the end of file if none)."""
    while True:
        piece = os.pread(fd, 1 << 16, pos)
        if not piece:
            return pos
        nl = piece.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(piece)


def journal(
    since: float | None, until: float | None, skips: Skips
) -> Iterator[tuple[bytearray, int, int]]:
    """The systemd journal as ``journalctl -o json`` lines, when journalctl exists."""
    cmd = ["journalctl", "--no-pager", "-o", "json"]
    # journalctl reads '@EPOCH' (systemd.time(7)); our own parsing of the user's text already
    # happened, so both sides agree on the window
    if since is not None:
        cmd += ["--since", f"@{int(since)}"]
    if until is not None:
        cmd += ["--until", f"@{int(until)}"]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        skips.add("unreadable: journal: journalctl not found", "journalctl")
        return
    assert proc.stdout is not None
    try:
        yield from read_regions(proc.stdout, "journal", skips)
    finally:
        proc.stdout.close()
        if proc.wait(timeout=10) not in (0, None):
            skips.add(f"unreadable: journal: journalctl exited {proc.returncode}", "journalctl")
