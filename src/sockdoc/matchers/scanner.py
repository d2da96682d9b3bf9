"""Find the recognised lines in a chunk of many lines, at the prefilter's speed.

One prefilter pass over the whole chunk finds every anchor occurrence; only the lines holding
one are cut out, decoded and classified. Lines without an anchor (nearly all of a real log)
are never touched by Python code.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.matchers.catalogue import Catalogue, Result


def classify_chunk(cat: Catalogue, chunk: bytes) -> Iterator[Result]:
    """Verdicts for the lines of ``chunk`` that contain an anchor, in order of appearance."""
    hits = cat.prefilter.hits(chunk)
    if not hits:
        return
    lines: dict[int, set[int]] = {}
    for anchor, end in hits:
        start = chunk.rfind(b"\n", 0, end) + 1
        owners = cat.owners(anchor)
        if start in lines:
            lines[start].update(owners)
        else:
            lines[start] = set(owners)
    for start in sorted(lines):
        stop = chunk.find(b"\n", start)
        raw = chunk[start : stop if stop >= 0 else len(chunk)]
        yield cat.classify_candidates(
            raw.decode("utf-8", "surrogateescape").rstrip("\r"), sorted(lines[start])
        )
