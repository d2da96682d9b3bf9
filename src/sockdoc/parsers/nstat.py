"""Kernel counters as iproute2's ``nstat`` prints them: ``nstat -asz --json``.

``-a`` prints absolute values (not the increase since nstat's last run), ``-s`` leaves nstat's
history file alone, ``-z`` keeps zero counters. nstat names a counter by its group and field
run together (``UdpSndbufErrors``, ``TcpExtListenOverflows``); sockdoc's own name for the same
counter has a dot between them (``Udp.SndbufErrors``). The lab uses nstat as an independent
reading of the counters sockdoc parses from ``/proc/net/snmp`` and ``/proc/net/netstat``.

Sample content (shortened)::

    {"kernel":{"UdpInDatagrams":7,"UdpSndbufErrors":23,"TcpExtListenOverflows":0}}

Examples:

>>> c = parse_nstat('{"kernel":{"UdpSndbufErrors":23,"TcpExtListenOverflows":0}}')
>>> c["UdpSndbufErrors"], nstat_name("TcpExt.ListenOverflows")
(23, 'TcpExtListenOverflows')
>>> parse_nstat('{"kernel": 3}')
Traceback (most recent call last):
...
sockdoc.parsers.errors.ParseError: nstat --json:1: no "kernel" object: '{"kernel": 3}'
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sockdoc.parsers.errors import ParseError


def nstat_name(name: str) -> str:
    """nstat's name for sockdoc's ``Proto.Field`` counter name."""
    return name.replace(".", "", 1)


def parse_nstat(text: str, source: str = "nstat --json") -> Mapping[str, int]:
    """Counter name -> value, from nstat's JSON output."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ParseError(source, 1, text[:80], f"not JSON ({exc})") from None
    kernel = doc.get("kernel") if isinstance(doc, dict) else None
    if not isinstance(kernel, dict):
        raise ParseError(source, 1, text[:80], 'no "kernel" object')
    out: dict[str, int] = {}
    for name, value in kernel.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ParseError(source, 1, f"{name}: {value!r}", "a counter that is not an integer")
        out[str(name)] = value
    return out
