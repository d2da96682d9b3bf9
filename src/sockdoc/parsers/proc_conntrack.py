"""Connection tracking statistics: ``/proc/net/stat/nf_conntrack``.

A header line of names, then one line per possible CPU with each value in hexadecimal
(``ct_cpu_seq_show()`` in net/netfilter/nf_conntrack_standalone.c). The first column,
``entries``, is the table's current size and is the same on every line; the others are
per-CPU event counters to be summed. ``drop`` counts packets dropped because a new entry
could not be made (table full, ``nf_conntrack: table full, dropping packet``), ``early_drop``
entries evicted to make room, ``insert_failed`` entries that lost an insertion race.

Sample content (two CPUs, shortened)::

    entries  clashres found new invalid ignore insert insert_failed drop
    0000001c  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000017
    0000001c  00000000 00000000 00000000 00000001 00000000 00000000 00000002 00000000

Examples:

>>> st = parse_conntrack_stat(
...     "entries  invalid insert_failed drop early_drop\\n"
...     "0000001c  00000003 00000000 00000017 00000000\\n"
...     "0000001c  00000001 00000002 00000000 00000000\\n")
>>> (st.entries, st.get("drop"), st.get("insert_failed"), st.get("search_restart"))
(28, 23, 2, None)
"""

from __future__ import annotations

from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError, hexadecimal, lines_of


@dataclass(frozen=True)
class ConntrackStat:
    entries: int
    totals: tuple[tuple[str, int], ...]  # counter name -> sum over CPUs (entries excluded)

    def get(self, name: str) -> int | None:
        for key, value in self.totals:
            if key == name:
                return value
        return None


def parse_conntrack_stat(text: str, source: str = "/proc/net/stat/nf_conntrack") -> ConntrackStat:
    lines = lines_of(text, source)
    if not lines:
        raise ParseError(source, None, None, "empty")
    names = lines[0].split()
    if not names or names[0] != "entries":
        raise ParseError(source, 1, lines[0], "header does not start with 'entries'")
    sums = [0] * len(names)
    entries = 0
    for lineno, line in enumerate(lines[1:], 2):
        values = line.split()
        if len(values) != len(names):
            raise ParseError(source, lineno, line, f"{len(values)} values for {len(names)} names")
        numbers = [hexadecimal(v, source, lineno, line, names[i]) for i, v in enumerate(values)]
        entries = numbers[0]
        for i in range(1, len(numbers)):
            sums[i] += numbers[i]
    return ConntrackStat(entries, tuple((names[i], sums[i]) for i in range(1, len(names))))
