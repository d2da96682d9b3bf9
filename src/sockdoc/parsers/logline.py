"""Split a log line into its envelope (time, host, program, pid) and the daemon's message.

Reads one line as written by any of:

- RFC 3164 syslog: ``Nov 21 03:12:44 ns1 named[812]: client ...``
- RFC 3339 syslog (rsyslog's high-precision format, ``journalctl -o short-iso``):
  ``2026-11-21T03:12:44.123456+00:00 ns1 named[812]: ...``
- RFC 5424: ``<30>1 2026-11-21T03:12:44Z ns1 named 812 - - client ...``
- BIND's own log file: ``21-Nov-2026 03:12:44.123 security: debug 3: client ...``
- Dovecot's ``log_path`` file: ``Nov 21 03:12:44 imap-login: Error: ...`` (no host)
- nginx's error log: ``2026/11/21 03:12:44 [error] 1234#1234: *56 connect() ...``
- ``journalctl -o json``: one JSON object per line (MESSAGE, SYSLOG_IDENTIFIER, _PID, ...)
- dmesg: ``[12345.678901] TCP: ...``
- anything else: the whole line is the message.

The kernel's own ``[seconds.micros]`` stamp is removed from kernel messages. Nothing here
interprets the time stamp; it is kept as written (``timestamp``) with the format it came in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class LogLine:
    """One line, split. ``format`` names the envelope recognised ("rfc3164", "bind", ...)."""

    message: str
    format: str = "bare"
    timestamp: str | None = None
    host: str | None = None
    program: str | None = None
    pid: int | None = None
    level: str | None = None
    repeat: int = 1


# rsyslog's repeated-message reduction: "message repeated 5 times: [ original ]"
_REPEATED = re.compile(r"message repeated (?P<n>\d{1,9}) times: \[ ?(?P<msg>.*?) ?\]$", re.DOTALL)


_TAG = r"(?P<program>[^\s\[\]:]+)(?:\[(?P<pid>\d{1,10})\])?:[ ]"
# A host is a name, or an IP address (rsyslog writes the address when it cannot resolve one);
# an IPv6 address holds colons, so it is recognised by shape before the plain-name form.
_HOST = r"(?:(?P<host>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?|[^\s:\[\]]+)[ ])?"
_RFC3164 = re.compile(
    r"(?P<ts>[A-Z][a-z]{2}[ ]{1,2}\d{1,2}[ ]\d\d:\d\d:\d\d(?:\.\d+)?)[ ]"
    + _HOST
    + _TAG
    + r"(?P<msg>.*)",
    re.DOTALL,
)
_RFC3339 = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)[ ]"
    + _HOST
    + _TAG
    + r"(?P<msg>.*)",
    re.DOTALL,
)
_RFC5424 = re.compile(
    r"(?:<\d{1,3}>)?1[ ](?P<ts>\S+)[ ](?P<host>\S+)[ ](?P<program>\S+)[ ](?P<pid>\S+)[ ]\S+[ ]"
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?:[ ](?P<msg>.*))?",
    re.DOTALL,
)
_BIND = re.compile(
    r"(?P<ts>\d\d-[A-Z][a-z]{2}-\d{4}[ ]\d\d:\d\d:\d\d(?:\.\d{3})?)[ ](?P<msg>.*)", re.DOTALL
)
_NGINX = re.compile(
    r"(?P<ts>\d{4}/\d\d/\d\d[ ]\d\d:\d\d:\d\d)[ ]\[(?P<level>[a-z]+)\][ ](?P<pid>\d{1,10})#\d+:[ ]"
    r"(?P<msg>.*)",
    re.DOTALL,
)
_KERNEL_STAMP = re.compile(r"\[[ ]*\d+\.\d+\][ ]?")


def _int(value: str | None) -> int | None:
    # bounded and ASCII-only: int() of thousands of digits raises, and str.isdigit() admits "²"
    if value and len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _strip_kernel_stamp(msg: str) -> str:
    m = _KERNEL_STAMP.match(msg)
    return msg[m.end() :] if m else msg


def _from_journal_json(line: str) -> LogLine | None:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested input
        return None
    if not isinstance(obj, dict) or "MESSAGE" not in obj:
        return None
    msg = obj["MESSAGE"]
    # journald exports a message that is not valid UTF-8 as an array of byte values
    # (systemd.journal-fields(7), "JSON" in journalctl(1)).
    if isinstance(msg, list):
        msg = bytes(b for b in msg if isinstance(b, int) and 0 <= b < 256).decode(
            "utf-8", "replace"
        )
    if not isinstance(msg, str):
        return None
    program = obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM")
    if program == "kernel" or obj.get("_TRANSPORT") == "kernel":
        program = "kernel"
        msg = _strip_kernel_stamp(msg)
    stamp = obj.get("__REALTIME_TIMESTAMP")
    return LogLine(
        message=msg,
        format="journal-json",
        timestamp=str(stamp) if stamp is not None else None,
        host=obj.get("_HOSTNAME"),
        program=str(program) if program else None,
        pid=_int(str(obj.get("_PID") or obj.get("SYSLOG_PID") or "")),
    )


def parse(line: str) -> LogLine:
    """Split ``line`` (without its newline).

    >>> parse("Nov 21 03:12:44 ns1 named[812]: client 192.0.2.1#53: error sending response: unset")
    ... # doctest: +NORMALIZE_WHITESPACE
    LogLine(message='client 192.0.2.1#53: error sending response: unset', format='rfc3164',
            timestamp='Nov 21 03:12:44', host='ns1', program='named', pid=812, level=None,
            repeat=1)
    >>> parse("Nov 21 03:12:44 imap-login: Error: x").program
    'imap-login'
    >>> parse("2026/11/21 03:12:44 [error] 1234#1234: *5 connect() failed").pid
    1234
    >>> parse("21-Nov-2026 03:12:44.123 general: error: Sending UDP messages failed").format
    'bind'
    >>> parse("Nov 21 03:12:44 h kernel: [ 12.345678] TCP: out of memory").message
    'TCP: out of memory'
    >>> parse("just text").format
    'bare'
    >>> parse("Nov 21 03:12:44 2001:db8::1 named[812]: x").host
    '2001:db8::1'
    >>> parse("Nov 21 03:12:44 ns1 named[1]: message repeated 5 times: [ a b]").repeat
    5
    """
    if line.startswith("{"):
        jl = _from_journal_json(line)
        if jl is not None:
            return jl
    parsed = _syslog(line) or _own_format(line) or LogLine(message=line)
    rep = _REPEATED.match(parsed.message)
    if rep is not None:
        return replace(parsed, message=rep.group("msg"), repeat=max(1, int(rep.group("n"))))
    return parsed


def _syslog(line: str) -> LogLine | None:
    first = line[:1]
    m: re.Match[str] | None = None
    if first.isalpha():
        m, fmt = _RFC3164.match(line), "rfc3164"
    elif first.isdigit():
        m, fmt = _RFC3339.match(line), "rfc3339"
    if m is None and first in "<1":
        m, fmt = _RFC5424.match(line), "rfc5424"
    if m is None:
        return None
    program = m.group("program")
    msg = (m.group("msg") or "").removeprefix("\ufeff")  # RFC 5424 allows a BOM before MSG
    if program == "kernel":
        msg = _strip_kernel_stamp(msg)
    return LogLine(
        message=msg,
        format=fmt,
        timestamp=m.group("ts"),
        host=None if m.group("host") in (None, "-") else m.group("host"),
        program=None if program == "-" else program,
        pid=_int(m.group("pid")),
    )


def _own_format(line: str) -> LogLine | None:
    """Daemons' own log files (BIND, nginx) and dmesg."""
    first = line[:1]
    if first.isdigit():
        if m := _BIND.match(line):
            return LogLine(message=m.group("msg"), format="bind", timestamp=m.group("ts"))
        if m := _NGINX.match(line):
            return LogLine(
                message=m.group("msg"),
                format="nginx",
                timestamp=m.group("ts"),
                pid=_int(m.group("pid")),
                level=m.group("level"),
            )
    elif first == "[":
        stripped = _strip_kernel_stamp(line)
        if stripped is not line:
            return LogLine(message=stripped, format="dmesg")
    return None
