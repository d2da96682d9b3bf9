"""``sockdoc collect`` that keeps only the daemons of the namespace it analyses.

    collect_netns.py [sockdoc collect options]

The process table is read from /proc, which shows every namespace's processes: daemons that
other tests run at the same time would enter the bundle (and have their configuration read).
This wrapper drops the rows whose network namespace is not the one entered; everything else
is ``sockdoc collect`` unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sockdoc.cli import main
from sockdoc.collect import processes

_table = processes.daemon_table


def _ours(proc: str = "/proc", extra: Sequence[int] = ()) -> bytes:
    own = processes.own_netns()
    rows = [r for r in _table(proc, extra).decode().splitlines() if r.split("\t")[-1] == own]
    return ("\n".join(rows) + "\n").encode() if rows else b""


processes.daemon_table = _ours
sys.argv = ["sockdoc", "collect", *sys.argv[1:]]
main()
