"""Text lines from the outside world (stdin for now), decoded without ever failing.

Log lines are bytes of unknown encoding: invalid UTF-8 is kept as surrogate escapes so that no
byte is lost and nothing raises.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from sockdoc.collect.logfiles import MAX_LINE


def stdin_lines(skipped: list[int]) -> Iterator[str]:
    """Lines of standard input, newline removed. A line longer than 1 MiB is not buffered: it
    is passed over and counted in ``skipped[0]``."""
    stream = sys.stdin.buffer
    while raw := stream.readline(MAX_LINE + 1):
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            skipped[0] += 1
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            continue
        yield raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
