"""Turn the time stamp of a log line (as split by :mod:`sockdoc.parsers.logline`) into epoch
seconds.

Time stamps without a zone (RFC 3164 syslog, BIND's and nginx's own files, Dovecot's log_path)
are taken as local time of the machine running sockdoc, as syslog writes them. RFC 3164 has no
year: it is taken from a reference time (the file's modification time), and a date later than
the reference by more than a day belongs to the year before (a December line in a file last
written in January).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC3164 = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$")
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$"
)
_BIND = re.compile(r"(\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$")
_NGINX = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)$")


def _frac(digits: str | None) -> int:
    return int((digits or "0")[:6].ljust(6, "0"))


def _local(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> float | None:
    try:
        return datetime(y, mo, d, h, mi, s, us).astimezone().timestamp()
    except (ValueError, OverflowError):
        return None


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


# Time stamps outside these bounds are treated as unreadable: the reporters must be able to
# print every value, and no real log line comes from before 1970 or after 9998.
_EARLIEST, _LATEST = 0.0, 253_370_764_800.0


def to_epoch(stamp: str | None, fmt: str, reference: float) -> float | None:
    """Epoch seconds of ``stamp`` written in envelope format ``fmt``, or None when it cannot be
    read (never an exception: a line's time stamp is data from outside).

    (The test suite runs with TZ=UTC, see conftest.py.)

    >>> ref = to_epoch("2026-11-21T12:00:00Z", "rfc3339", 0)
    >>> utc = to_epoch("2026-11-21T03:12:44Z", "rfc3339", 0)
    >>> to_epoch("Nov 21 03:12:44", "rfc3164", ref) == utc
    True
    >>> to_epoch("Dec 31 23:59:59", "rfc3164", ref) < ref  # December is last year's
    True
    >>> to_epoch("21-Nov-2026 03:12:44.500", "bind", 0) % 1
    0.5
    >>> to_epoch("1763694764123456", "journal-json", 0)
    1763694764.123456
    >>> to_epoch("garbage", "rfc3164", 0) is None
    True
    >>> to_epoch("2026-11-21T03:12:44+99:00", "rfc3339", 0) is None
    True
    >>> to_epoch("9" * 400, "journal-json", 0) is None
    True
    """
    if not stamp or len(stamp) > 64:
        return None
    try:
        t = _parse(stamp, fmt, reference)
    except (ValueError, OverflowError):
        return None
    return t if t is not None and _EARLIEST <= t <= _LATEST else None


def _parse(stamp: str, fmt: str, reference: float) -> float | None:
    if fmt == "journal-json":
        return int(stamp) / 1e6 if stamp.isascii() and stamp.isdigit() else None
    if fmt in ("rfc3339", "rfc5424"):
        m = _ISO.match(stamp)
        if not m:
            return None
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        zone = _zone(m.group(8))
        if zone is None:
            return _local(y, mo, d, h, mi, s, _frac(m.group(7)))
        try:
            return datetime(y, mo, d, h, mi, s, _frac(m.group(7)), tzinfo=zone).timestamp()
        except ValueError:
            return None
    if fmt == "rfc3164":
        m = _RFC3164.match(stamp)
        if not m or m.group(1) not in _MONTHS:
            return None
        ref = datetime.fromtimestamp(reference)
        args = (
            _MONTHS[m.group(1)],
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            _frac(m.group(6)),
        )
        t = _local(ref.year, *args)
        if t is None or t > reference + 86400:
            # a date ahead of the file's mtime, or Feb 29 in a year without one: last year's
            t = _local(ref.year - 1, *args)
        return t
    if fmt == "bind":
        m = _BIND.match(stamp)
        if not m or m.group(2) not in _MONTHS:
            return None
        return _local(
            int(m.group(3)),
            _MONTHS[m.group(2)],
            int(m.group(1)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6)),
            _frac(m.group(7)),
        )
    if fmt == "nginx":
        m = _NGINX.match(stamp)
        if not m:
            return None
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        return _local(y, mo, d, h, mi, s, 0)
    return None


_AGO = re.compile(r"(\d+)\s*([smhdw])(?:\s*ago)?$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_user_time(text: str, now: float) -> float:
    """A ``--since``/``--until`` value: ISO date/time (local unless it has a zone), or a span
    back from now ("90m", "2h", "1d ago"). Raises ValueError with a readable message.

    >>> parse_user_time("2h", 10_000.0)
    2800.0
    >>> t = "2026-11-21T03:00:00Z"
    >>> parse_user_time(t, 0) == to_epoch(t, "rfc3339", 0)
    True
    >>> parse_user_time("2026-11-21", 0) == parse_user_time("2026-11-21 00:00", 0)
    True
    """
    t = text.strip()
    m = _AGO.match(t)
    if m:
        return now - int(m.group(1)) * _UNIT[m.group(2)]
    if len(t) == 10:
        t += "T00:00:00"
    elif len(t) == 16:
        t += ":00"
    value = to_epoch(t, "rfc3339", now)
    if value is None:
        raise ValueError(
            f"cannot read time {text!r}:"
            " use e.g. '2026-11-21 03:00', '2026-11-21T03:00:00Z' or '2h'"
        )
    return value
