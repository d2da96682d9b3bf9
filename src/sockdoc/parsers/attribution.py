"""Which socket hit its limit during the interval: the attribution sampler's record.

System-wide counters (``ListenOverflows``, ``Udp.RcvbufErrors``) do not say which socket
overflowed. While ``check`` waits between its two counter samples, the sampler
(:mod:`sockdoc.collect.sampler`) asks sock_diag many times a second for every listener and UDP
socket and keeps, per socket, the peak queue or buffer use, how many samples found it at its
limit, and its own drop counter at the first and last sample. This module is the record's
format (JSON) and its parser.

A listener is *full* when its accept queue is longer than its backlog: the kernel refuses the
next connection once ``sk_ack_backlog > sk_max_ack_backlog`` (``sk_acceptq_is_full()``,
include/net/sock.h; ``unix_recvq_full()`` for UNIX sockets). A UDP socket's receive side is
full when the memory charged to it leaves no room for one more datagram (a datagram is
admitted only if it fits whole; see ``near_full()`` in the sampler), its send side likewise
with ``SO_SNDBUF``.

Sample content::

    {"seconds": 2.0, "rounds": 48, "hz": 24.0, "cpu_seconds": 0.05, "tracks": [
      {"kind": "unix-listen", "name": "/run/dovecot/imap", "inode": 4711, "samples": 48,
       "limit": 4, "peak": 5, "full": 31, "drops_first": null, "drops_last": null}]}

Examples:

>>> a = parse_attribution('{"seconds": 2.0, "rounds": 48, "hz": 24.0, "cpu_seconds": 0.05, '
...     '"tracks": [{"kind": "unix-listen", "name": "/run/dovecot/imap", "inode": 4711, '
...     '"samples": 48, "limit": 4, "peak": 5, "full": 31}]}')
>>> t = a.tracks[0]
>>> (t.name, t.full, t.full_fraction, t.drops)
('/run/dovecot/imap', 31, 0.6458333333333334, None)
>>> parse_attribution('{"tracks": 3}')
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: attribution: tracks is not a list
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sockdoc.parsers.errors import ParseError

TrackKind = Literal["tcp-listen", "unix-listen", "udp"]
KINDS: tuple[TrackKind, ...] = ("tcp-listen", "unix-listen", "udp")


@dataclass(frozen=True)
class Track:
    """One socket seen during sampling. For listeners ``limit`` is the backlog and ``peak``
    the longest accept queue; for UDP they are ``SO_RCVBUF`` and the peak receive memory, and
    ``send_limit``/``send_peak``/``send_full`` the same for the send side."""

    kind: TrackKind
    name: str  # "127.0.0.1:53", "[::]:443", "/run/dovecot/imap", "@abstract"
    inode: int
    samples: int
    limit: int
    peak: int
    full: int
    drops_first: int | None = None
    drops_last: int | None = None
    send_limit: int | None = None
    send_peak: int | None = None
    send_full: int = 0

    @property
    def full_fraction(self) -> float:
        return self.full / self.samples if self.samples else 0.0

    @property
    def drops(self) -> int | None:
        """Drops counted by this socket during sampling (None: the kernel does not say)."""
        if self.drops_first is None or self.drops_last is None:
            return None
        return max(self.drops_last - self.drops_first, 0)


@dataclass(frozen=True)
class Attribution:
    seconds: float
    rounds: int
    hz: float
    cpu_seconds: float
    tracks: tuple[Track, ...]


def to_json(a: Attribution) -> str:
    doc = asdict(a)
    doc["tracks"] = [asdict(t) for t in a.tracks]
    return json.dumps(doc, separators=(",", ":"))


_INT_FIELDS = ("inode", "samples", "limit", "peak", "full")
_OPT_FIELDS = ("drops_first", "drops_last", "send_limit", "send_peak")


def _int(v: Any, what: str, optional: bool = False) -> Any:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ParseError("attribution", None, None, f"{what} is not an integer")
    return v


def _num(doc: dict[str, Any], key: str) -> float:
    v = doc.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ParseError("attribution", None, None, f"{key} is not a number")
    return float(v)


def parse_attribution(text: str) -> Attribution:
    """Parse the sampler's JSON record (see the module docstring)."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError("attribution", None, None, f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ParseError("attribution", None, None, "not a JSON object")
    raw = doc.get("tracks", [])
    if not isinstance(raw, list):
        raise ParseError("attribution", None, None, "tracks is not a list")
    tracks: list[Track] = []
    for i, t in enumerate(raw):
        if (
            not isinstance(t, dict)
            or t.get("kind") not in KINDS
            or not isinstance(t.get("name"), str)
        ):
            raise ParseError("attribution", None, None, f"track {i} has no kind or name")
        values = {k: _int(t.get(k), f"track {i} {k}") for k in _INT_FIELDS}
        values.update({k: _int(t.get(k), f"track {i} {k}", True) for k in _OPT_FIELDS})
        values["send_full"] = _int(t.get("send_full", 0), f"track {i} send_full")
        tracks.append(Track(kind=t["kind"], name=t["name"], **values))
    return Attribution(
        seconds=_num(doc, "seconds"),
        rounds=int(_num(doc, "rounds")),
        hz=_num(doc, "hz"),
        cpu_seconds=_num(doc, "cpu_seconds"),
        tracks=tuple(tracks),
    )
