"""Find the recognised lines in a region of many lines, at the prefilter's speed.

One prefilter pass over the whole region finds every anchor occurrence; only the lines holding
one are cut out, decoded and classified. Lines without an anchor (nearly all of a real log)
are never touched by Python code. The region may be a slice of a memory-mapped file, so that
nothing is copied.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator

from sockdoc.matchers.catalogue import Catalogue, Result

Buffer = bytes | bytearray | mmap.mmap


def classify_region(
    cat: Catalogue, buf: Buffer, lo: int = 0, hi: int | None = None, *, max_line: int = 1 << 20
) -> Iterator[Result | int]:
    """Verdicts for the lines of ``buf[lo:hi]`` that contain an anchor, in order. A candidate
    line longer than ``max_line`` is not decoded: its length is yielded instead (to be counted
    as skipped)."""
    if hi is None:
        hi = len(buf)
    with memoryview(buf) as view, view[lo:hi] as region:
        hits = cat.prefilter.hits(region)
    if not hits:
        return
    lines: dict[int, set[int]] = {}
    for anchor, end in hits:
        start = buf.rfind(b"\n", lo, lo + end) + 1 or lo
        owners = cat.owners(anchor)
        if start in lines:
            lines[start].update(owners)
        else:
            lines[start] = set(owners)
    for start in sorted(lines):
        stop = buf.find(b"\n", start, hi)
        if stop < 0:
            stop = hi
        if stop - start > max_line:
            yield stop - start
            continue
        raw = buf[start:stop]
        yield cat.classify_candidates(
            raw.decode("utf-8", "surrogateescape").rstrip("\r"), sorted(lines[start])
        )
