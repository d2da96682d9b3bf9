"""Find the recognised lines in a region of many lines, at the prefilter's speed.

One prefilter pass over the whole region finds every anchor occurrence; only the lines holding
one are cut out, decoded and classified. Lines without an anchor (nearly all of a real log)
are never touched by Python code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sockdoc.matchers.catalogue import Catalogue, Result

Buffer = bytes | bytearray


@dataclass(frozen=True)
class Skipped:
    """A candidate line that was not classified, and why."""

    reason: str


def _candidate_lines(
    cat: Catalogue, buf: Buffer, lo: int, hi: int
) -> Iterator[tuple[int, int, set[int]]]:
    """(start, stop, entry indices) of each line holding an anchor. Hits are visited in order
    of their end, and each line is searched for its ends once, so a line full of anchors costs
    time linear in its length."""
    with memoryview(buf) as view, view[lo:hi] as region:
        hits = cat.prefilter.hits(region)
    if not hits:
        return
    hits.sort(key=lambda h: h[1])
    start = stop = -1
    owners: set[int] = set()
    for anchor, end in hits:
        at = lo + end
        if at <= stop:
            owners.update(cat.owners(anchor))
            continue
        if owners:
            yield start, stop, owners
        search_from = stop + 1 if stop >= 0 else lo
        start = buf.rfind(b"\n", search_from, at) + 1 or search_from
        stop = buf.find(b"\n", at, hi)
        if stop < 0:
            stop = hi
        owners = set(cat.owners(anchor))
    if owners:
        yield start, stop, owners


def classify_region(
    cat: Catalogue, buf: Buffer, lo: int = 0, hi: int | None = None, *, max_line: int = 1 << 20
) -> Iterator[Result | Skipped]:
    """Verdicts for the lines of ``buf[lo:hi]`` that contain an anchor, in order. A candidate
    line longer than ``max_line``, or one the classifier fails on, is reported as Skipped
    instead: one line never ends a scan."""
    if hi is None:
        hi = len(buf)
    for start, stop, owners in _candidate_lines(cat, buf, lo, hi):
        if stop - start > max_line:
            yield Skipped(f"line longer than {max_line >> 20} MiB")
            continue
        line = buf[start:stop].decode("utf-8", "surrogateescape").rstrip("\r")
        try:
            yield cat.classify_candidates(line, sorted(owners))
        except (ValueError, OverflowError, RecursionError) as exc:
            yield Skipped(f"line sockdoc could not process ({type(exc).__name__})")
