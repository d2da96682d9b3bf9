"""Cost of classifying one line (what `explain` and every recognised line of `scan` pay), and
that it does not grow with the catalogue: the same lines against the real catalogue and against
one four times larger (each signature copied under new ids and anchors).

    python bench/line_bench.py
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_samples import SAMPLE_LIST

from sockdoc.matchers import all_entries
from sockdoc.matchers.base import Entry
from sockdoc.matchers.catalogue import Catalogue

ORDINARY = [
    "Nov 21 03:12:44 ns1 sshd[1234]: Accepted publickey for deploy from 198.51.100.7 port 50122",
    "Nov 21 03:12:44 ns1 named[812]: client @0x7f3c2c0 192.0.2.1#5353 (www.example.com): query: "
    "www.example.com IN A +E(0)K (192.0.2.53)",
    "Nov 21 03:12:44 mx2 postfix/smtpd[2211]: connect from mail.example.net[198.51.100.9]",
]


def copies(entries: tuple[Entry, ...], n: int) -> list[Entry]:
    out: list[Entry] = list(entries)
    for k in range(1, n):
        out.extend(
            dataclasses.replace(
                e, id=f"{e.id}-copy{k}", anchors=tuple(f"{a}~{k}" for a in e.anchors)
            )
            for e in entries
        )
    return out


def per_line_us(cat: Catalogue, lines: list[str], rounds: int) -> float:
    for line in lines:  # compile lazily-built regexes before timing
        cat.classify(line)
    started = time.perf_counter()
    for _ in range(rounds):
        for line in lines:
            cat.classify(line)
    return (time.perf_counter() - started) / (rounds * len(lines)) * 1e6


def main() -> None:
    family = [s.line for s in SAMPLE_LIST if s.expect.get("matched", True)]
    entries = all_entries()
    print(f"{len(family)} recognised sample lines, {len(ORDINARY)} ordinary lines")
    for prefer in ("auto", "python"):
        for factor in (1, 4):
            cat = Catalogue(copies(entries, factor), prefer=prefer)
            ordinary = per_line_us(cat, ORDINARY, 20000)
            matched = per_line_us(cat, family, 20)
            name = cat.prefilter.name
            print(
                f"  {name:<9} {len(cat):>4} entries: ordinary line {ordinary:6.1f} us,"
                f" recognised line {matched:6.1f} us"
            )


if __name__ == "__main__":
    main()
