"""Text lines from the outside world (stdin for now), decoded without ever failing.

Log lines are bytes of unknown encoding: invalid UTF-8 is kept as surrogate escapes so that no
byte is lost and nothing raises.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator


def stdin_lines() -> Iterator[str]:
    """Lines of standard input, newline removed."""
    for raw in sys.stdin.buffer:
        yield raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
