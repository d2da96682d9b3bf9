"""Which process holds each socket: the table the owner lookup writes (one per line,
``INODE<TAB>PID<TAB>COMM``), ending with a ``# denied N vanished M`` line that says how many
processes could not be looked into (not root) or exited during the lookup.

Examples:

>>> o = parse_owners("4711\\t812\\tdovecot\\n4712\\t901\\tnamed\\n# denied 3 vanished 0\\n")
>>> o.owners[4711], o.denied
(Owner(pid=812, comm='dovecot'), 3)
>>> parse_owners("4711 x\\n")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: owners:1: not INODE<TAB>PID<TAB>COMM: '4711 x'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from sockdoc.parsers.errors import ParseError

_TAIL = re.compile(r"# denied (\d+) vanished (\d+)")


class Owner(NamedTuple):
    pid: int
    comm: str


@dataclass(frozen=True)
class Owners:
    owners: Mapping[int, Owner]
    denied: int
    vanished: int


def parse_owners(text: str, source: str = "owners") -> Owners:
    owners: dict[int, Owner] = {}
    denied = vanished = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            m = _TAIL.fullmatch(line)
            if m:
                denied, vanished = int(m.group(1)), int(m.group(2))
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise ParseError(source, lineno, line, "not INODE<TAB>PID<TAB>COMM")
        owners[int(parts[0])] = Owner(int(parts[1]), parts[2])
    return Owners(owners, denied, vanished)
