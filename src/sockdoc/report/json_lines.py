"""JSON output: one compact object per line (JSON Lines), so scripts can stream it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO

from sockdoc.explain import Explanation


def write_explanations(items: Iterable[Explanation], out: IO[str]) -> None:
    for item in items:
        # surrogateescape'd bytes from undecodable input are written as \\udcXX escapes.
        out.write(json.dumps(item.to_json(), ensure_ascii=True) + "\n")
