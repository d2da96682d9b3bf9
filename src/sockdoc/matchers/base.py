"""What a log signature is.

A daemon module (``matchers/<daemon>.py``) exports ``SIGNATURES``: a tuple of :class:`Signature`
(a recognised wording of the failure family) and :class:`NotThis` (a false friend: a line that
looks like one but is not, with a hint saying why). The catalogue compiles all of them once.

Matching works in two steps so that the cost per line does not grow with the catalogue:
``anchors`` are literal substrings fed to one multi-pattern prefilter; only the signatures whose
anchor occurs in a line have their ``pattern`` (a Python regex, searched in the message part of
the line) evaluated. Named groups in ``pattern`` become fields and must be names from
:data:`FIELDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from sockdoc.causes import Cause, Check


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    def __str__(self) -> str:
        return self.value


class Confidence(str, Enum):
    """How surely the wording identifies the cause (generic fallbacks are LOW)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def __str__(self) -> str:
        return self.value


# Field name -> (type, description). A pattern's named groups must come from here; int fields
# are converted, errno is normalised to its symbolic name (EAGAIN) by the catalogue.
FIELDS: Mapping[str, tuple[type, str]] = MappingProxyType(
    {
        "timestamp": (str, "time stamp as written in the line"),
        "host": (str, "syslog host name"),
        "program": (str, "syslog program (tag)"),
        "pid": (int, "process id of the writer"),
        "process": (str, "daemon-internal process or service that wrote it (imap-login)"),
        "client_ip": (str, "remote address"),
        "client_port": (int, "remote port"),
        "local_ip": (str, "local address"),
        "local_port": (int, "local port"),
        "qname": (str, "DNS query name"),
        "service": (str, "daemon service name (imap, pop3-login, a php-fpm pool)"),
        "socket": (str, "UNIX socket path or socket name"),
        "upstream": (str, "upstream/backend address or socket"),
        "user": (str, "user name"),
        "iface": (str, "network interface"),
        "table": (str, "kernel table name (nf_conntrack, arp_cache)"),
        "limit": (int, "the configured limit that was hit"),
        "required": (int, "the value the daemon says it needs"),
        "count": (int, "a count printed in the line (suppressed callbacks, clients)"),
        "duration_us": (int, "a duration printed in the line, in microseconds"),
        "errno": (str, "symbolic errno (EAGAIN), derived from the reason or the number"),
        "reason": (str, "the error text as printed"),
    }
)


def _frozen(m: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Signature:
    """One wording of the failure family, with what it means and how to tell its causes apart.

    ``id`` is stable and never reused ("<daemon>.<slug>"). ``programs``, when given, restricts the
    signature to lines whose syslog tag is one of them (when the line has a tag at all), which
    keeps e.g. BIND wordings from matching another program's text. ``fixed`` adds constant
    fields (e.g. ``errno``). ``source`` cites the daemon source or documentation that the
    wording, meaning and checks were reviewed against. When several signatures match one line
    the highest ``priority`` wins (specific 50, generic fallback 10, false friends 80).
    """

    id: str
    daemon: str
    cause: Cause
    anchors: tuple[str, ...]
    pattern: str
    severity: Severity
    meaning: str
    source: str
    checks: tuple[Check, ...] = ()
    versions: str = ""
    confidence: Confidence = Confidence.HIGH
    priority: int = 50
    programs: tuple[str, ...] = ()
    fixed: Mapping[str, str] = field(default_factory=_frozen)


@dataclass(frozen=True)
class NotThis:
    """A false friend: looks like the failure family but is not. Matching it yields
    ``matched: false`` with ``hint`` explaining what the line really is."""

    id: str
    daemon: str
    anchors: tuple[str, ...]
    pattern: str
    hint: str
    source: str
    priority: int = 80
    programs: tuple[str, ...] = ()


Entry = Signature | NotThis


@dataclass(frozen=True)
class ReasonFamily:
    """One wording whose trailing error text decides the cause: ``prefix`` followed by REASON
    (BIND's "error sending response: would block", Unbound's "sendto failed: ..."). Calling it
    with a slug, the regex alternation of the reasons and what they mean gives one Signature
    with id ``<id_prefix>.<slug>`` and the reason captured as ``reason``."""

    id_prefix: str
    daemon: str
    anchors: tuple[str, ...]
    prefix: str
    source: str
    programs: tuple[str, ...]
    severity: Severity = Severity.WARNING

    def __call__(
        self,
        slug: str,
        reasons: str,
        cause: Cause,
        meaning: str,
        checks: tuple[Check, ...],
        versions: str,
        confidence: Confidence = Confidence.HIGH,
        priority: int = 50,
    ) -> Signature:
        return Signature(
            id=f"{self.id_prefix}.{slug}",
            daemon=self.daemon,
            cause=cause,
            anchors=self.anchors,
            pattern=self.prefix + r"(?P<reason>" + reasons + r")\s*$",
            severity=self.severity,
            meaning=meaning,
            source=self.source,
            checks=checks,
            versions=versions,
            confidence=confidence,
            priority=priority,
            programs=self.programs,
        )
