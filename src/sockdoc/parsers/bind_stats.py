"""BIND 9's statistics channel: JSON (``/json/v1...``) and XML (``/xml/v3...``).

named serves its counters over HTTP when ``statistics-channels`` is configured. The full
documents (``/json/v1``, ``/xml/v3``) hold every section; ``/json/v1/server`` and
``/xml/v3/server`` hold the server counters (``nsstats``, opcodes, rcodes, query types) but no
socket counters, which are in ``/json/v1/net`` and ``/xml/v3/net``. Both formats carry the same
counter names (bin/named/statschannel.c: ``UDP4SendErr`` is "UDP/IPv4 send errors").

The two formats differ in one way that matters: in ``nsstats`` and ``sockstats`` (and the
query types) JSON leaves out every counter that is 0, and the whole section when all of its
counters are 0, while XML lists them all (statschannel.c ``dump_counters()`` skips zeros unless
asked to be verbose; opcodes and rcodes are always verbose). So read a counter as
``stats.sockstats.get("UDP4SendErr", 0)``, and know from the URL whether the section was asked
for. A missing section is an empty mapping here.

Seen on BIND 9.18.49 (lib/isc/netmgr/udp.c, checked on a live named): ``UDP4SendErr`` /
``UDP6SendErr`` count UDP responses the kernel refused (the send callback's error, or a failed
retry once libuv's send queue holds more than 64 KiB). Each such response is also counted in
``nsstats`` ``Response`` and ``QrySuccess``, which count responses handed to the socket, not
responses delivered.

Sample content (``/json/v1``, shortened)::

    {
      "json-stats-version":"1.7",
      "boot-time":"2026-11-21T21:16:34.975Z",
      "current-time":"2026-11-21T21:16:51.851Z",
      "version":"9.18.49-1~deb12u3-Debian",
      "nsstats":{ "Requestv4":23, "Response":30 },
      "sockstats":{ "UDP4Open":2, "UDP4SendErr":7, "UDP6SendErr":3 }
    }

Sample content (``/xml/v3``, shortened; named prints it on one line)::

    <statistics version="3.13"><server><boot-time>2026-11-21T21:16:34.975Z</boot-time>
    <version>9.18.49-1~deb12u3-Debian</version><counters type="sockstat">
    <counter name="UDP4Open">2</counter><counter name="UDP4SendErr">7</counter></counters>
    </server></statistics>

Examples:

>>> js = parse_bind_stats('{"json-stats-version":"1.7","version":"9.18.49",'
...                       '"sockstats":{"UDP4SendErr":7}}')
>>> js.format, js.version, js.sockstats["UDP4SendErr"], js.nsstats.get("Response", 0)
('json', '9.18.49', 7, 0)
>>> xml = parse_bind_stats('<statistics version="3.13"><server><version>9.18.49</version>'
...                        '<counters type="sockstat"><counter name="UDP4SendErr">7</counter>'
...                        '<counter name="UDP6SendErr">0</counter></counters></server>'
...                        '</statistics>')
>>> xml.stats_version, dict(xml.sockstats)
('3.13', {'UDP4SendErr': 7, 'UDP6SendErr': 0})
>>> parse_bind_stats('{"sockstats":{"UDP4SendErr":"7"}}')
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: statistics-channel: sockstats.UDP4SendErr is '7', not a count
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sockdoc.parsers.errors import ParseError, decimal

SOURCE = "statistics-channel"

# JSON key and XML <counters type=...> of each section kept, by field of BindStats.
SECTIONS: dict[str, tuple[str, str]] = {
    "nsstats": ("nsstats", "nsstat"),
    "sockstats": ("sockstats", "sockstat"),
    "opcodes": ("opcodes", "opcode"),
    "rcodes": ("rcodes", "rcode"),
    "qtypes": ("qtypes", "qtype"),
}
_TIMES = ("boot-time", "config-time", "current-time")
# named never sends a DTD; refusing one keeps entity expansion out of the XML parser.
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class BindStats:
    """Counters from one statistics-channel document; each section maps counter name -> int.

    ``format`` is ``"json"`` or ``"xml"``; ``stats_version`` the document's schema version
    (``"1.7"`` for JSON v1, ``"3.13"`` for XML v3); ``version`` named's version string. A JSON
    document omits zero ``nsstats`` / ``sockstats`` counters, so read with ``.get(name, 0)``.
    """

    format: str
    stats_version: str | None = None
    version: str | None = None
    boot_time: str | None = None
    config_time: str | None = None
    current_time: str | None = None
    nsstats: Mapping[str, int] = field(default_factory=dict)
    sockstats: Mapping[str, int] = field(default_factory=dict)
    opcodes: Mapping[str, int] = field(default_factory=dict)
    rcodes: Mapping[str, int] = field(default_factory=dict)
    qtypes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in SECTIONS:
            object.__setattr__(self, name, dict(getattr(self, name)))


def parse_bind_stats(text: str, source: str = SOURCE) -> BindStats:
    """Parse a statistics-channel document, JSON or XML by its first character."""
    start = text.lstrip()[:1]
    if start == "{":
        return parse_bind_stats_json(text, source)
    if start == "<":
        return parse_bind_stats_xml(text, source)
    if not start:
        raise ParseError(source, None, None, "empty")
    raise ParseError(source, 1, text.split("\n", 1)[0], "neither JSON nor XML")


def parse_bind_stats_json(text: str, source: str = SOURCE) -> BindStats:
    """Parse ``/json/v1`` or one of its parts (``/json/v1/server``, ``/json/v1/net``)."""
    if not text.strip():
        raise ParseError(source, None, None, "empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(source, err.lineno, _line(text, err.lineno), err.msg) from None
    except RecursionError:
        raise ParseError(source, None, None, "JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise ParseError(source, None, None, "the document is not a JSON object")
    strings = {key: _string(doc, key, source) for key in ("json-stats-version", "version", *_TIMES)}
    if strings["json-stats-version"] is not None and not strings["json-stats-version"].startswith(
        "1."
    ):
        raise ParseError(source, None, None, "json-stats-version is not 1.x")
    sections = {name: _json_counters(doc, key, source) for name, (key, _) in SECTIONS.items()}
    return BindStats(
        format="json",
        stats_version=strings["json-stats-version"],
        version=strings["version"],
        boot_time=strings["boot-time"],
        config_time=strings["config-time"],
        current_time=strings["current-time"],
        **sections,
    )


def _line(text: str, lineno: int) -> str | None:
    lines = text.split("\n")
    return lines[lineno - 1] if 0 < lineno <= len(lines) else None


def _string(doc: dict[str, Any], key: str, source: str) -> str | None:
    value = doc.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ParseError(source, None, None, f"{key} is {value!r}, not a string")


def _json_counters(doc: dict[str, Any], key: str, source: str) -> dict[str, int]:
    section = doc.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ParseError(source, None, None, f"{key} is not an object")
    out: dict[str, int] = {}
    for name, value in section.items():
        # bool is an int in Python; a counter is never true/false.
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParseError(source, None, None, f"{key}.{name} is {value!r}, not a count")
        out[name] = value
    return out


def parse_bind_stats_xml(text: str, source: str = SOURCE) -> BindStats:
    """Parse ``/xml/v3`` or one of its parts (``/xml/v3/server``, ``/xml/v3/net``)."""
    if not text.strip():
        raise ParseError(source, None, None, "empty")
    dtd = _DTD.search(text)
    if dtd is not None:
        lineno = text.count("\n", 0, dtd.start()) + 1
        raise ParseError(source, lineno, _line(text, lineno), "a DTD (named never sends one)")
    try:
        # Safe without defusedxml: the DTD check above leaves no entities to expand, and
        # ElementTree never fetches external resources.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as err:
        lineno = err.position[0]
        raise ParseError(source, lineno, _line(text, lineno), f"bad XML: {err}") from None
    if root.tag != "statistics":
        raise ParseError(source, None, None, f"root element is <{root.tag}>, not <statistics>")
    stats_version = root.get("version")
    if stats_version is None or not stats_version.startswith("3."):
        raise ParseError(source, None, None, f"statistics version {stats_version!r} is not 3.x")
    server = root.find("server")
    if server is None:
        raise ParseError(source, None, None, "no <server> element")
    times = {key: _text(server, key) for key in ("version", *_TIMES)}
    by_type = {xml_type: name for name, (_, xml_type) in SECTIONS.items()}
    sections: dict[str, dict[str, int]] = {name: {} for name in SECTIONS}
    for counters in server.findall("counters"):
        name = by_type.get(counters.get("type") or "")
        if name is None:
            continue
        for counter in counters:
            label = counter.get("name")
            if counter.tag != "counter" or not label:
                raise ParseError(
                    source, None, None, f"<counters type={name!r}>: bad <{counter.tag}>"
                )
            number = decimal((counter.text or "").strip(), source, None, None, f"{name}.{label}")
            if number < 0:
                raise ParseError(source, None, None, f"{name}.{label} is negative")
            sections[name][label] = number
    return BindStats(
        format="xml",
        stats_version=stats_version,
        version=times["version"],
        boot_time=times["boot-time"],
        config_time=times["config-time"],
        current_time=times["current-time"],
        **sections,
    )


def _text(parent: ET.Element, tag: str) -> str | None:
    child = parent.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()
