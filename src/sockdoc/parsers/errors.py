"""The one failure a parser reports: data present but unusable.

A parser raises :class:`ParseError` when its text is there but cannot be read as the format it
expects (a truncated line, a word where a number belongs, a header without its values). It never
raises anything else on bad input. Absence (no file, permission denied, a module not loaded) is
not a parse failure: the caller that reads the source deals with it before a parser runs.

Sample content (what ``str()`` gives)::

    /proc/net/snmp:4: Udp: 3 values for 4 names: 'Udp: 1 2 3'

Examples:

>>> e = ParseError("/proc/net/snmp", 4, "Udp: 1 2 3", "Udp: 3 values for 4 names")
>>> str(e)
"/proc/net/snmp:4: Udp: 3 values for 4 names: 'Udp: 1 2 3'"
>>> (e.source, e.lineno, e.line)
('/proc/net/snmp', 4, 'Udp: 1 2 3')
>>> str(ParseError("/proc/net/dev", None, None, "empty"))
'/proc/net/dev: empty'
>>> decimal("-1", "/proc/net/snmp", 8, "Tcp: 1 200 120000 -1", "MaxConn")
-1
>>> decimal("1e3", "x", 1, "1e3", "value")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: x:1: value is not a decimal integer ('1e3'): '1e3'
"""

from __future__ import annotations

import re

# Python's int() also takes "1_000", " 7", "+7" and non-ASCII digits; the kernel prints none
# of those, so anything but an optional minus sign and ASCII digits is a damaged value.
_DECIMAL = re.compile(r"-?[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_MAX_SHOWN = 200


class ParseError(ValueError):
    """Text that is present but unusable: names the source, line number (1-based) and line."""

    def __init__(self, source: str, lineno: int | None, line: str | None, reason: str) -> None:
        self.source = source
        self.lineno = lineno
        self.line = line
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.lineno is None else f"{self.source}:{self.lineno}"
        text = f"{where}: {self.reason}"
        if self.line is not None:
            shown = self.line if len(self.line) <= _MAX_SHOWN else self.line[:_MAX_SHOWN] + "..."
            text += f": {shown!r}"
        return text

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int | None, str | None, str]]:
        # Keeps the exception picklable (scan workers send errors across processes).
        return (ParseError, (self.source, self.lineno, self.line, self.reason))


def decimal(token: str, source: str, lineno: int | None, line: str | None, what: str) -> int:
    """``token`` as a decimal integer (an optional minus sign and ASCII digits), else ParseError."""
    if _DECIMAL.fullmatch(token) is None:
        raise ParseError(source, lineno, line, f"{what} is not a decimal integer ({token!r})")
    return int(token)


def hexadecimal(token: str, source: str, lineno: int | None, line: str | None, what: str) -> int:
    """``token`` as an unsigned hexadecimal integer (no ``0x``), else ParseError."""
    if _HEX.fullmatch(token) is None:
        raise ParseError(source, lineno, line, f"{what} is not hexadecimal ({token!r})")
    return int(token, 16)


def lines_of(text: str, source: str) -> list[str]:
    """The lines of ``text``; ParseError when there is nothing but white space."""
    if not text.strip():
        raise ParseError(source, None, None, "empty")
    # Only "\n" ends a line in /proc and /sys; str.splitlines() would also split at \x0b, \x1c,
    # \u2028 ... and so shift the line numbers of damaged input.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines
