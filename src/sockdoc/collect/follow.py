"""Follow log files like ``tail -F``, and the systemd journal, without losing or repeating lines.

Used by ``sockdoc watch`` and ``sockdoc exporter``: the caller calls :meth:`Follower.poll` now and
then (about once a second, or once per scrape) and gets every complete line written since the
previous call. Nothing blocks and no thread runs in the background.

API::

    @dataclass(frozen=True, slots=True)
    class FollowedLine:
        source: str   # the path as given, or "journal"
        text: str     # one line without its newline (utf-8, invalid bytes as surrogate escapes)

    class Follower:
        def __init__(self, paths: Sequence[str], journal: bool = False, *,
                     from_start: bool = False, max_line: int = 64 * 1024) -> None
        def poll(self, max_lines: int = 100_000) -> list[FollowedLine]
        def close(self) -> None          # also: ``with Follower(...) as f:``
        stats: dict[str, int]            # property, a copy
        errors: list[str]                # property, a copy; why a source is not followed

Contract, per file:

- ``from_start=False`` begins at the current end of the file, like ``tail -F -n0``; a line still
  being written at that moment (no newline yet) is returned whole once its newline arrives.
  ``from_start=True`` reads the file from its first byte. A file opened later (it did not exist
  yet, it could not be opened, it reappeared, or a rotation created it) is always read from its
  first byte.
- Lines come back in file order, per source. A last line without its newline is kept until the
  newline arrives; it is returned without one only when its file is finished (rotated away and
  quiet, see below). ``text`` is exactly the bytes between two newlines (a ``\\r`` stays).
- Rotation by rename (logrotate's default ``create``): the file at the path is told apart from
  the open one by (device, inode). The renamed file stays open and is read to its end first; it
  is kept open, and read before the new file on each poll, until a poll finds it unchanged at
  least :data:`DETACHED_LINGER` seconds after the switch, because a daemon goes on writing to
  it until it reopens its log (logrotate's ``postrotate`` signal comes later).
- Rotation by ``copytruncate``: the file shrank below the read offset, or the bytes just before
  the offset are no longer the ones read (the file was refilled past the offset between two
  polls, or rewritten in place with the same size). The lines between the offset and the
  truncation exist only in the copy: the newest sibling (``app.log.1``, ``app.log-20261121``,
  ``app.log.1.gz``) whose bytes just before the offset equal the last :data:`TAIL` bytes read is
  read from the offset to its end, then the truncated file from its first byte. Without such a
  copy the gap is counted (``truncation_gaps``), nothing is made up, and reading resumes at 0.
- A file that disappears is finished like a renamed one; when the path exists again, the new
  file is read from its first byte (the same file moved back is resumed, not reread).
- A line longer than ``max_line`` bytes is cut to its first ``max_line`` bytes (returned as soon
  as that many bytes are there) and its rest dropped: an unfinished line never holds more.

The journal (``journal=True``, ``source="journal"``) is ``journalctl -f -n 0 -o json --all``,
one JSON object per entry per line, as ``sockdoc scan --journal`` reads it: the identifier, pid,
priority and time stay with the message (``-o cat`` drops them), a message with newlines stays on
one line (JSON escapes them), and :mod:`sockdoc.parsers.logline` already splits it. ``--all``
keeps messages over 4096 bytes, which ``-o json`` otherwise turns into ``null`` (journalctl(1)).
If journald does not run (no :data:`JOURNALD_SOCKET`), ``journalctl -f`` would wait silently
forever, so it is not started and the reason goes to ``errors``; the same if it cannot be
started or exits. ``close()`` stops it by its pid.

``max_lines`` bounds one poll; the rest stays unread for the next poll. It may be exceeded by
lines that a renamed file gains while the poll reads the new file (they are older than the new
file's lines, so they are returned first, in the same poll), and by the unterminated last line
of a file that is finished.

``stats`` keys: ``lines:<source>`` (lines returned per source), ``rotations_rename`` (the file
at a path was renamed away, replaced or deleted), ``rotations_truncate`` (a file was truncated
or rewritten), ``lines_recovered`` (lines read from a rotated copy), ``truncation_gaps``
(truncations without a verifiable copy: lines may be missing there), ``lines_cut`` (lines longer
than ``max_line``).

Not handled: a file generation that is both started and rotated away between two polls (as
with ``tail -F``, its lines are skipped and no gap is counted); copies compressed other than with
gzip, or moved to another directory (logrotate ``olddir``); a journalctl that exits is not
started again (the reason is in ``errors``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import subprocess
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType

from sockdoc.collect.logscan import JOURNALD_SOCKET

CHUNK = 1 << 20
TAIL = 256
DETACHED_LINGER = 5.0
JOURNAL_ARGV: tuple[str, ...] = (
    "journalctl",
    "--follow",
    "--lines=0",
    "--output=json",
    "--all",
    "--quiet",
    "--no-pager",
)
_MAX_COPIES = 16  # siblings tried per truncation, newest first
_OTHER_COMPRESSION = (".xz", ".bz2", ".zst", ".lzma", ".lz4", ".Z")
_STDERR_KEPT = 2048


@dataclass(frozen=True, slots=True)
class FollowedLine:
    """One line read: ``source`` is the path as given, or ``"journal"``; ``text`` has no
    newline (bytes decoded as utf-8, invalid bytes kept as surrogate escapes)."""

    source: str
    text: str


class _Status(Enum):
    EOF = "eof"
    BUDGET = "budget"
    TRUNCATED = "truncated"


class _Splitter:
    """Bytes to lines, holding the unfinished last line (at most ``max_line`` bytes)."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.partial = bytearray()
        self.skipping = False  # inside a line already returned cut: drop until its newline
        self.cut = 0

    def feed(self, data: bytes, out: list[str], limit: int) -> int:
        """Append the lines of ``data`` to ``out`` until ``out`` holds ``limit`` lines; return
        how many bytes of ``data`` were consumed (all, unless the limit was reached)."""
        room = limit - len(out)
        if room <= 0:
            return 0
        last = data.rfind(b"\n")
        if last < 0:
            self._hold(data, out)
            return len(data)
        parts = data[:last].split(b"\n")
        used = last + 1
        if len(parts) > room:
            del parts[room:]
            used = sum(map(len, parts)) + len(parts)
        if self.skipping:  # the rest of a line already returned cut
            self.skipping = False
            del parts[0]
        elif self.partial:
            parts[0] = bytes(self.partial) + parts[0]
            self.partial.clear()
        if parts and max(map(len, parts)) > self.max_line:
            for i, part in enumerate(parts):
                if len(part) > self.max_line:
                    parts[i] = part[: self.max_line]
                    self.cut += 1
        out += [part.decode("utf-8", "surrogateescape") for part in parts]
        if used == last + 1 and len(out) < limit:
            self._hold(data[used:], out)
            used = len(data)
        return used

    def _hold(self, rest: bytes, out: list[str]) -> None:
        if self.skipping or not rest:
            return
        self.partial += rest
        if len(self.partial) > self.max_line:
            out.append(bytes(self.partial[: self.max_line]).decode("utf-8", "surrogateescape"))
            self.cut += 1
            self.partial.clear()
            self.skipping = True

    def flush(self, out: list[str]) -> None:
        """The unfinished line as a line of its own: its file will not grow any more."""
        if self.partial and not self.skipping:
            out.append(bytes(self.partial).decode("utf-8", "surrogateescape"))
        self.reset()

    def reset(self) -> None:
        self.partial.clear()
        self.skipping = False


class _Reader:
    """One open file of a source: the file at the path, a renamed one, or a rotated copy.

    ``offset`` is the next byte to read; ``tail`` the last bytes read before it (at most
    :data:`TAIL`), kept to recognise the same bytes in the file later, or in its copy.
    """

    def __init__(
        self, fd: int, ident: tuple[int, int], offset: int, tail: bytes, max_line: int
    ) -> None:
        self.fd = fd
        self.ident = ident
        self.offset = offset
        self.tail = tail
        self.split = _Splitter(max_line)
        self.bucket: list[str] = []  # lines read in this poll, returned in reader order
        self.gz: gzip.GzipFile | None = None
        self.copy = False  # a rotated copy: it does not change, and ends at its end
        self.detached_at: float | None = None  # no longer the file at the path since then
        self.grew = False
        self.recovered = 0
        self.failure: str | None = None  # why the last read failed (EIO, ...)

    def _pread(self, n: int, off: int) -> bytes:
        if self.gz is None:
            return os.pread(self.fd, n, off)
        if self.gz.tell() != off:
            self.gz.seek(off)
        return self.gz.read(n)

    def intact(self) -> bool:
        """The bytes before ``offset`` are still the ones read (not truncated or rewritten)."""
        if not self.tail:
            return True
        return self._pread(len(self.tail), self.offset - len(self.tail)) == self.tail

    def read(self, budget: int) -> _Status:
        limit = len(self.bucket) + budget
        start = len(self.bucket)
        try:
            while len(self.bucket) < limit:
                data = self._pread(CHUNK, self.offset)
                # checked after the read: a truncation before it would show here, and one after
                # it leaves what was read valid
                if not self.copy and not self.intact():
                    return _Status.TRUNCATED
                if not data:
                    return _Status.EOF
                used = self.split.feed(data, self.bucket, limit)
                self._advance(data[:used] if used < len(data) else data)
                if used < len(data):
                    return _Status.BUDGET
                if len(data) < CHUNK:
                    return _Status.EOF
            return _Status.BUDGET
        except (EOFError, zlib.error, gzip.BadGzipFile):
            return _Status.EOF  # a damaged compressed copy ends here
        except OSError as e:
            self.failure = e.strerror or str(e)
            return _Status.EOF
        finally:
            if self.copy:
                self.recovered += len(self.bucket) - start

    def _advance(self, consumed: bytes) -> None:
        if not consumed:
            return
        self.grew = True
        self.offset += len(consumed)
        self.tail = (self.tail + consumed[-TAIL:])[-TAIL:]

    def close(self) -> None:
        if self.gz is not None:
            self.gz.close()
            self.gz = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _ident(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


class _FileSource:
    """A path followed across rotations: a queue of readers, oldest first; the last one is the
    file at the path (``current``) unless the path has none."""

    def __init__(self, follower: Follower, path: str, from_start: bool) -> None:
        self.f = follower
        self.name = path
        self.readers: list[_Reader] = []
        self.current: _Reader | None = None
        reader = self._open(from_start=from_start)
        if reader is not None:
            self.readers.append(reader)
            self.current = reader

    def _open(self, from_start: bool = True) -> _Reader | None:
        try:
            # O_NONBLOCK: a FIFO at the path must not block the open
            fd = os.open(self.name, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as e:
            self.f.error(f"{self.name}: {e.strerror}")
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self.f.error(f"{self.name}: not a regular file")
            return None
        reader = _Reader(fd, _ident(st), 0, b"", self.f.max_line)
        if not from_start:
            self._start_at_end(reader, st.st_size)
        return reader

    def _start_at_end(self, reader: _Reader, size: int) -> None:
        # back up to the start of the line in progress, so that it is returned whole
        window = min(size, reader.split.max_line + 1)
        last = os.pread(reader.fd, window, size - window)
        nl = last.rfind(b"\n")
        if nl >= 0:
            reader.offset = size - window + nl + 1
        elif size > reader.split.max_line:
            reader.offset = size
            reader.split.skipping = True  # its start is gone; it would be cut anyway
        keep = min(reader.offset, TAIL)
        reader.tail = os.pread(reader.fd, keep, reader.offset - keep)

    def attach(self, now: float) -> None:
        """Compare the file at the path with the open one; switch when they differ."""
        try:
            st: os.stat_result | None = os.stat(self.name)
        except FileNotFoundError:
            st = None
        except OSError as e:
            self.f.error(f"{self.name}: {e.strerror}")
            return
        cur = self.current
        if cur is not None and (st is None or _ident(st) != cur.ident):
            cur.detached_at = now
            self.current = None
            self.f.count("rotations_rename")
        if self.current is not None or st is None:
            return
        for r in self.readers:
            if not r.copy and r.ident == _ident(st):  # the same file is back: resume it
                self.readers.remove(r)
                reader: _Reader | None = r
                break
        else:
            reader = self._open()
        if reader is not None:
            reader.detached_at = None
            self.readers.append(reader)
            self.current = reader

    def poll(self, budget: int, now: float) -> list[str]:
        self.attach(now)
        for r in self.readers:
            r.grew = False
        left = budget
        i = 0
        complete = True
        while i < len(self.readers):
            r = self.readers[i]
            if left <= 0:
                complete = False
                break
            before = len(r.bucket)
            status = r.read(left)
            left -= len(r.bucket) - before
            if r.failure is not None:
                self.f.error(f"{self.name}: {r.failure}")
                r.failure = None
            if status is _Status.TRUNCATED:
                self._truncated(r, now)
                continue  # read it again: now the copy, or the same file from its start
            if status is _Status.BUDGET:
                complete = False
                break
            i += 1
        if complete:
            # a daemon may have appended to a renamed file while the new one was read; those
            # lines are older than the new file's, so they go before them
            for r in self.readers:
                if r is not self.current and not r.copy:
                    while r.read(CHUNK) is _Status.BUDGET:
                        pass
        out: list[str] = []
        for r in list(self.readers):
            out += r.bucket
            r.bucket.clear()
            self.f.count("lines_recovered", r.recovered)
            r.recovered = 0
            if complete and self._finished(r, now):
                r.split.flush(out)
                self._drop(r)
        for r in self.readers:
            self.f.count("lines_cut", r.split.cut)
            r.split.cut = 0
        return out

    def _finished(self, r: _Reader, now: float) -> bool:
        if r is self.current:
            return False
        if r.copy:
            return True
        assert r.detached_at is not None
        return not r.grew and now - r.detached_at >= DETACHED_LINGER

    def _drop(self, r: _Reader) -> None:
        self.f.count("lines_cut", r.split.cut)
        r.split.cut = 0
        r.close()
        self.readers.remove(r)

    def _truncated(self, r: _Reader, now: float) -> None:
        self.f.count("rotations_truncate")
        if r is not self.current:
            # a renamed file cut short: what it held is gone with it
            r.split.flush(r.bucket)
            self._drop(r)
            return
        copy = self._find_copy(r)
        if copy is None:
            self.f.count("truncation_gaps")
            r.offset = 0
            r.tail = b""
            r.split.reset()
            return
        # the reader goes on with the copy, same byte stream; a new one reads the live file
        live = _Reader(r.fd, r.ident, 0, b"", self.f.max_line)
        r.fd, r.gz, r.ident = copy
        r.copy = True
        r.detached_at = now
        self.readers.append(live)
        self.current = live

    def _find_copy(self, r: _Reader) -> tuple[int, gzip.GzipFile | None, tuple[int, int]] | None:
        """The rotated copy that holds the bytes read so far, opened at ``r.offset``."""
        directory, base = os.path.split(self.name)
        candidates: list[tuple[bool, float, str]] = []
        try:
            entries = list(os.scandir(directory or "."))
        except OSError:
            return None
        for e in entries:
            name = e.name
            if len(name) <= len(base) or not name.startswith(base) or name[len(base)] not in ".-_":
                continue
            if name.endswith(_OTHER_COMPRESSION):
                continue
            try:
                st = e.stat()
            except OSError:
                continue
            gz = name.endswith(".gz")
            if not stat.S_ISREG(st.st_mode) or _ident(st) == r.ident:
                continue
            if not gz and st.st_size < r.offset:
                continue
            candidates.append((gz, -st.st_mtime, e.path))
        candidates.sort()  # uncompressed first (logrotate deletes it once compressed), newest first
        for gz, _, path in candidates[:_MAX_COPIES]:
            found = self._try_copy(r, path, gz)
            if found is not None:
                return found
        return None

    def _try_copy(
        self, r: _Reader, path: str, gz: bool
    ) -> tuple[int, gzip.GzipFile | None, tuple[int, int]] | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        zf: gzip.GzipFile | None = None
        try:
            n = len(r.tail)
            if gz:
                # closefd=False: the reader closes fd itself, GzipFile never closes its fileobj
                zf = gzip.GzipFile(fileobj=os.fdopen(fd, "rb", closefd=False), mode="rb")
                zf.seek(r.offset - n)
                head = zf.read(n)
            else:
                head = os.pread(fd, n, r.offset - n)
            if head == r.tail and (gz or os.fstat(fd).st_size >= r.offset):
                return fd, zf, _ident(os.fstat(fd))
        except (OSError, EOFError, zlib.error):
            pass
        if zf is not None:
            zf.close()
        os.close(fd)
        return None

    def close(self) -> None:
        for r in self.readers:
            r.close()
        self.readers.clear()
        self.current = None


class _JournalSource:
    """``journalctl --follow`` as a child process, read without blocking."""

    name = "journal"

    def __init__(self, follower: Follower) -> None:
        self.f = follower
        self.split = _Splitter(follower.max_line)
        self.pending = b""
        self.stderr = b""
        self.proc: subprocess.Popen[bytes] | None = None
        if not os.path.exists(JOURNALD_SOCKET):
            follower.error(f"journal: journald is not running (no {JOURNALD_SOCKET})")
            return
        try:
            self.proc = subprocess.Popen(
                list(JOURNAL_ARGV),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as e:
            follower.error(f"journal: cannot run {JOURNAL_ARGV[0]}: {e.strerror}")
            return
        assert self.proc.stdout is not None and self.proc.stderr is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stderr.fileno(), False)

    def poll(self, budget: int, now: float) -> list[str]:
        out: list[str] = []
        proc = self.proc
        if proc is None:
            return out
        assert proc.stdout is not None and proc.stderr is not None
        self._drain_stderr()
        ended = False
        while len(out) < budget:
            if not self.pending:
                try:
                    data = os.read(proc.stdout.fileno(), CHUNK)
                except BlockingIOError:
                    break
                if not data:
                    ended = True
                    break
                self.pending = data
            used = self.split.feed(self.pending, out, budget)
            self.pending = self.pending[used:]
        self.f.count("lines_cut", self.split.cut)
        self.split.cut = 0
        if ended:
            self.split.flush(out)
            self._ended()
        return out

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with contextlib.suppress(BlockingIOError):
            while data := os.read(self.proc.stderr.fileno(), 4096):
                self.stderr = (self.stderr + data)[-_STDERR_KEPT:]

    def _ended(self) -> None:
        assert self.proc is not None
        self._drain_stderr()
        rc = self._stop()
        said = self.stderr.decode("utf-8", "replace").strip().splitlines()
        why = f": {said[-1]}" if said else ""
        self.f.error(f"journal: {JOURNAL_ARGV[0]} exited with status {rc}{why}")

    def _stop(self) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        self.proc = None
        if proc.poll() is None:
            proc.terminate()  # SIGTERM to proc.pid only
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        return proc.returncode

    def close(self) -> None:
        self._stop()


class Follower:
    """Follows ``paths`` (and the journal) from now on; see the module docstring."""

    def __init__(
        self,
        paths: Sequence[str],
        journal: bool = False,
        *,
        from_start: bool = False,
        max_line: int = 64 * 1024,
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self._stats: dict[str, int] = dict.fromkeys(
            (
                "rotations_rename",
                "rotations_truncate",
                "lines_recovered",
                "truncation_gaps",
                "lines_cut",
            ),
            0,
        )
        self._errors: list[str] = []
        self._sources: list[_FileSource | _JournalSource] = []
        self._turn = 0
        self._closed = False
        try:
            for path in dict.fromkeys(paths):  # a path given twice is followed once
                self._stats[f"lines:{path}"] = 0
                self._sources.append(_FileSource(self, path, from_start))
            if journal:
                self._stats["lines:journal"] = 0
                self._sources.append(_JournalSource(self))
        except BaseException:
            self.close()
            raise

    def poll(self, max_lines: int = 100_000) -> list[FollowedLine]:
        """Every complete line written since the last call, in order per source; at most
        ``max_lines`` (see the module docstring for the one exception). Never blocks."""
        if self._closed:
            raise ValueError("poll() on a closed Follower")
        out: list[FollowedLine] = []
        now = time.monotonic()
        n = len(self._sources)
        # start with a different source each time, so that a busy one cannot starve the others
        order = [self._sources[(self._turn + k) % n] for k in range(n)]
        self._turn += 1
        for src in order:
            left = max_lines - len(out)
            if left <= 0:
                break
            lines = src.poll(left, now)
            self._stats[f"lines:{src.name}"] += len(lines)
            out += [FollowedLine(src.name, text) for text in lines]
        return out

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    @property
    def errors(self) -> list[str]:
        return list(self._errors)

    def count(self, key: str, n: int = 1) -> None:
        self._stats[key] += n

    def error(self, message: str) -> None:
        if message not in self._errors:
            self._errors.append(message)

    def close(self) -> None:
        """Close every file and stop journalctl. Safe to call twice."""
        self._closed = True
        for src in self._sources:
            src.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
