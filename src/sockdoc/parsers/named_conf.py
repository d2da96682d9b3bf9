"""BIND 9's configuration as printed by ``named-checkconf -p`` (and the ``named.conf`` syntax).

``named-checkconf -p`` prints the whole configuration, includes resolved, in one canonical form:
statements ending in ``;``, blocks in braces, names and paths in double quotes, addresses with
their prefix length (``127.0.0.1/32``), sizes in bytes. The grammar is that of ``named.conf``
itself (``//``, ``#`` and ``/* */`` comments are skipped too), so a hand-written file without
``include`` parses the same. ``-px`` prints TSIG secrets as ``"????..."``; :func:`redact_named_conf`
masks them (and DLZ ``database`` strings) in any text of this syntax.

What sockdoc needs from it: the listening addresses, the socket buffer and client quota options,
the statistics channels, and which logging channel a category reaches, with named's implicit
defaults (BIND 9.18 ARM, "The category Phrase": a category that is not configured goes to
``default``; without ``category default``, named uses ``default_syslog`` and ``default_debug``,
and ``default_debug`` writes only while the server's debug level (``named -d N``, ``rndc
trace``) is above zero). ``named -g`` sends all logging to stderr instead; that is a command
line fact this parser does not see.

Sample content (``named-checkconf -p``, shortened)::

    logging {
        channel "security_debug" {
            file "/var/log/named/security.log" versions 3 size 10485760;
            severity debug 3;
            print-time yes;
        };
        category "security" {
            "security_debug";
        };
    };
    options {
        directory "/var/cache/bind";
        listen-on port 53 {
            127.0.0.1/32;
        };
        udp-send-buffer 65536;
    };
    statistics-channels {
        inet 127.0.0.1 port 8053 allow {
            127.0.0.1/32;
        };
    };

Examples:

>>> conf = parse_named_conf(
...     'options {\\n\\tlisten-on port 5353 {\\n\\t\\t127.0.0.1/32;\\n\\t};\\n'
...     '\\tudp-send-buffer 65536;\\n};\\n'
...     'statistics-channels {\\n\\tinet 127.0.0.1 port 8053 allow {\\n'
...     '\\t\\t127.0.0.1/32;\\n\\t};\\n};\\n'
... )
>>> conf.listen_on, conf.udp_send_buffer, conf.tcp_clients
(('127.0.0.1/32',), 65536, None)
>>> conf.statistics_channels
(StatsChannel(address='127.0.0.1', port=8053, allow=('127.0.0.1/32',)),)
>>> logs_category_at(conf, "security", 3)
False
>>> logs_category_at(conf, "security", 3, server_debug=3)
True
>>> debug = parse_named_conf(
...     'logging { channel sec { file "sec.log"; severity debug 3; };'
...     ' category security { sec; }; };'
... )
>>> logs_category_at(debug, "security", 3), logs_category_at(debug, "security", 4)
(True, False)
>>> redact_named_conf('key "k" {\\n\\talgorithm "hmac-sha256";\\n\\tsecret "c2VjcmV0";\\n};\\n')
'key "k" {\\n\\talgorithm "hmac-sha256";\\n\\tsecret "<redacted>";\\n};\\n'
>>> parse_named_conf("options {\\n\\ttcp-clients many;\\n};\\n")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: named.conf:2: tcp-clients is not a decimal integer ('many'): ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sockdoc.parsers.errors import ParseError, decimal

SOURCE = "named.conf"
REDACTED = "<redacted>"

# lib/isc/include/isc/log.h: ISC_LOG_CRITICAL (-5) ... ISC_LOG_INFO (-1); "debug N" is N.
SEVERITY_LEVELS: dict[str, int] = {
    "critical": -5,
    "error": -4,
    "warning": -3,
    "notice": -2,
    "info": -1,
}
# named-checkconf -p prints "print-time" as yes/no or one of these formats (all print a time).
_TIME_FORMATS = frozenset({"local", "iso8601", "iso8601-utc"})
_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})
# Options sockdoc reads as integers, by field of BindConfig.
_INT_OPTIONS: dict[str, str] = {
    "udp-send-buffer": "udp_send_buffer",
    "udp-receive-buffer": "udp_receive_buffer",
    "tcp-clients": "tcp_clients",
    "recursive-clients": "recursive_clients",
    "tcp-listen-queue": "tcp_listen_queue",
}


@dataclass(frozen=True)
class ListenOn:
    """One ``listen-on`` / ``listen-on-v6`` statement (``port`` None: 53, or 853/443 with tls)."""

    family: int
    port: int | None
    addresses: tuple[str, ...]
    tls: str | None = None
    http: str | None = None


@dataclass(frozen=True)
class StatsChannel:
    """One ``inet`` of ``statistics-channels``. ``port`` is 80 when the text names none (ARM);
    ``allow`` None when there is no allow clause (then named accepts any address)."""

    address: str
    port: int
    allow: tuple[str, ...] | None


@dataclass(frozen=True)
class LogChannel:
    """A logging channel: ``destination`` is ``file``, ``syslog``, ``stderr`` or ``null``.

    ``severity`` is the text (``info``, ``debug 3``, ``dynamic``; ``info`` when unset, as in
    bin/named/logconf.c). ``debug_only`` marks named's built-in ``default_debug``, which writes
    nothing while the server's debug level is 0.
    """

    name: str
    destination: str
    path: str | None = None
    severity: str = "info"
    print_category: bool = False
    print_severity: bool = False
    print_time: bool = False
    syslog_facility: str | None = None
    debug_only: bool = False

    @property
    def level(self) -> int | None:
        """The severity as an ISC log level (``info`` -1, ``debug 3`` 3); None for dynamic."""
        if self.severity == "dynamic":
            return None
        words = self.severity.split()
        if words[0] == "debug":
            return int(words[1]) if len(words) > 1 else 1
        return SEVERITY_LEVELS[words[0]]


# named's predefined channels (BIND 9.18 ARM "The logging Statement"; lib/isc/log.c
# isc_logconfig_create() and bin/named/log.c named_log_setdefaultchannels()).
BUILTIN_CHANNELS: dict[str, LogChannel] = {
    ch.name: ch
    for ch in (
        LogChannel("default_syslog", "syslog", severity="info", syslog_facility="daemon"),
        LogChannel(
            "default_debug",
            "file",
            path="named.run",
            severity="dynamic",
            print_time=True,
            debug_only=True,
        ),
        LogChannel("default_stderr", "stderr", severity="info", print_time=True),
        LogChannel("null", "null", severity="dynamic"),
    )
}
# What named uses for a category nobody configured (bin/named/log.c
# named_log_setdefaultcategory() and named_log_setunmatchedcategory()).
IMPLICIT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "default": ("default_debug", "default_syslog"),
    "unmatched": ("null",),
}


@dataclass(frozen=True)
class TsigKey:
    """A ``key`` statement: its name and algorithm (never its secret)."""

    name: str
    algorithm: str | None
    view: str | None = None


@dataclass(frozen=True)
class Zone:
    """A ``zone`` statement (``view`` None at top level)."""

    name: str
    type: str | None
    file: str | None
    view: str | None = None


@dataclass(frozen=True)
class BindConfig:
    """What sockdoc reads from a ``named-checkconf -p`` text.

    ``listen_on`` / ``listen_on_v6`` are the address match elements of all ``listen-on`` /
    ``listen-on-v6`` statements (empty when absent: named then listens on all addresses, port
    53); ``listeners`` keeps each statement with its port. Integer options are None when the
    text does not set them (named's defaults: tcp-clients 150, recursive-clients 1000,
    tcp-listen-queue 10, socket buffers from the kernel's defaults). ``channels`` are the
    channels the text defines; ``categories`` the channel names configured per category.
    """

    listen_on: tuple[str, ...] = ()
    listen_on_v6: tuple[str, ...] = ()
    listeners: tuple[ListenOn, ...] = ()
    udp_send_buffer: int | None = None
    udp_receive_buffer: int | None = None
    tcp_clients: int | None = None
    recursive_clients: int | None = None
    tcp_listen_queue: int | None = None
    directory: str | None = None
    statistics_channels: tuple[StatsChannel, ...] = ()
    has_logging: bool = False
    channels: tuple[LogChannel, ...] = ()
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keys: tuple[TsigKey, ...] = ()
    zones: tuple[Zone, ...] = ()
    views: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", dict(self.categories))

    def channel(self, name: str) -> LogChannel | None:
        """The channel ``name``: one the text defines, else named's built-in one, else None."""
        for ch in self.channels:
            if ch.name == name:
                return ch
        return BUILTIN_CHANNELS.get(name)


# --- tokens and statements -------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+)
    | (?P<newline>\n)
    | (?P<comment>(?://|\#)[^\n]*)
    | (?P<block>/\*(?:[^*]|\*(?!/))*\*/)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<punct>[{};])
    | (?P<word>(?!/[*/])[^\s{};"]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class _Stmt:
    """One statement: words (strings unquoted) and blocks, in order."""

    items: tuple[str | tuple[_Stmt, ...], ...]
    lineno: int

    @property
    def name(self) -> str:
        first = self.items[0]
        return first if isinstance(first, str) else ""

    def words(self) -> tuple[str, ...]:
        return tuple(item for item in self.items if isinstance(item, str))

    def block(self, index: int = 0) -> tuple[_Stmt, ...] | None:
        blocks = [item for item in self.items if not isinstance(item, str)]
        return blocks[index] if index < len(blocks) else None


def _tokens(text: str, source: str, lines: list[str]) -> list[tuple[str, str, int]]:
    """(kind, value, line number) of each token: kind is "word" or one of "{", "}", ";"."""
    out: list[tuple[str, str, int]] = []
    pos, lineno = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            what = "unterminated string" if text[pos] == '"' else "unterminated comment"
            if text.startswith("/*", pos) or text[pos] == '"':
                raise ParseError(source, lineno, _line(lines, lineno), what)
            raise ParseError(source, lineno, _line(lines, lineno), "unreadable character")
        kind = m.lastgroup or ""
        value = m[0]
        if kind == "punct":
            out.append((value, value, lineno))
        elif kind == "word":
            out.append(("word", value, lineno))
        elif kind == "string":
            out.append(("word", _UNESCAPE.sub(r"\1", value[1:-1]), lineno))
        lineno += value.count("\n")
        pos = m.end()
    return out


def _line(lines: list[str], lineno: int) -> str | None:
    return lines[lineno - 1] if 0 < lineno <= len(lines) else None


def _statements(text: str, source: str) -> list[_Stmt]:
    if not text.strip():
        raise ParseError(source, None, None, "empty")
    lines = text.split("\n")
    tokens = _tokens(text, source, lines)
    # A stack of (statements of this block, items of the open statement, its first line,
    # line of the "{" that opened the block).
    stack: list[tuple[list[_Stmt], list[str | tuple[_Stmt, ...]], int, int]] = [([], [], 0, 0)]
    for kind, value, lineno in tokens:
        stmts, items, first, opened = stack[-1]
        if kind == "word":
            if not items:
                stack[-1] = (stmts, items, lineno, opened)
            items.append(value)
        elif kind == "{":
            if not items:
                stack[-1] = (stmts, items, lineno, opened)
            stack.append(([], [], 0, lineno))
        elif kind == "}":
            if len(stack) == 1:
                raise ParseError(source, lineno, _line(lines, lineno), "'}' without '{'")
            if items:
                raise ParseError(source, first, _line(lines, first), "statement without ';'")
            stack.pop()
            stack[-1][1].append(tuple(stmts))
        else:
            if not items:
                raise ParseError(source, lineno, _line(lines, lineno), "';' without a statement")
            stmts.append(_Stmt(tuple(items), first))
            stack[-1] = (stmts, [], 0, opened)
    stmts, items, first, opened = stack[-1]
    if len(stack) > 1:
        raise ParseError(source, opened, _line(lines, opened), "'{' not closed at the end")
    if items:
        raise ParseError(source, first, _line(lines, first), "statement without ';' at the end")
    return stmts


# --- the parser --------------------------------------------------------------------------------


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.split("\n")

    def error(self, stmt: _Stmt, reason: str) -> ParseError:
        return ParseError(self.source, stmt.lineno, _line(self.lines, stmt.lineno), reason)

    def uint(self, stmt: _Stmt, word: str, what: str) -> int:
        value = decimal(word, self.source, stmt.lineno, _line(self.lines, stmt.lineno), what)
        if value < 0:
            raise self.error(stmt, f"{what} is negative")
        return value

    def port(self, stmt: _Stmt, word: str) -> int:
        value = self.uint(stmt, word, "port")
        if value > 65535:
            raise self.error(stmt, f"port {value} is out of range")
        return value

    def flag(self, stmt: _Stmt, word: str) -> bool:
        low = word.lower()
        if low in _TRUE or low in _TIME_FORMATS:
            return True
        if low in _FALSE:
            return False
        raise self.error(stmt, f"{stmt.name} is {word!r}, not yes or no")

    def only_block(self, stmt: _Stmt, words: int) -> tuple[_Stmt, ...]:
        """The block of ``NAME [ARG] { ... };``, checking the shape."""
        block = stmt.block()
        if block is None or len(stmt.items) != words + 1 or len(stmt.words()) != words:
            raise self.error(stmt, f"expected '{stmt.name} {'NAME ' * (words - 1)}{{ ... }};'")
        return block


def parse_named_conf(text: str, source: str = SOURCE) -> BindConfig:
    """Parse ``named-checkconf -p`` output (or a ``named.conf`` without ``include``)."""
    reader = _Reader(text, source)
    top = _statements(text, source)
    fields: dict[str, Any] = {}
    keys: list[TsigKey] = []
    zones: list[Zone] = []
    views: list[str] = []
    seen: set[str] = set()
    for stmt in top:
        name = stmt.name
        if name in ("options", "logging", "statistics-channels") and name in seen:
            raise reader.error(stmt, f"second {name!r} statement")
        seen.add(name)
        if name == "options":
            fields.update(_options(reader, reader.only_block(stmt, 1)))
        elif name == "logging":
            fields.update(_logging(reader, reader.only_block(stmt, 1)))
        elif name == "statistics-channels":
            fields["statistics_channels"] = _stats_channels(reader, reader.only_block(stmt, 1))
        elif name == "view":
            view = _name_of(reader, stmt)
            views.append(view)
            for inner in reader.only_block(stmt, len(stmt.words())):
                keys.extend(_key(reader, inner, view))
                zones.extend(_zone(reader, inner, view))
        else:
            keys.extend(_key(reader, stmt, None))
            zones.extend(_zone(reader, stmt, None))
    return replace(BindConfig(), keys=tuple(keys), zones=tuple(zones), views=tuple(views), **fields)


def _name_of(reader: _Reader, stmt: _Stmt) -> str:
    words = stmt.words()
    if len(words) < 2:
        raise reader.error(stmt, f"{stmt.name} without a name")
    return words[1]


def _key(reader: _Reader, stmt: _Stmt, view: str | None) -> list[TsigKey]:
    if stmt.name != "key":
        return []
    algorithm = None
    for inner in reader.only_block(stmt, 2):
        if inner.name == "algorithm" and len(inner.items) == 2:
            algorithm = inner.words()[1]
    return [TsigKey(_name_of(reader, stmt), algorithm, view)]


def _zone(reader: _Reader, stmt: _Stmt, view: str | None) -> list[Zone]:
    if stmt.name != "zone":
        return []
    words = stmt.words()
    block = stmt.block()
    if block is None or len(words) not in (2, 3) or stmt.items[-1] is not block:
        raise reader.error(stmt, "expected 'zone NAME [CLASS] { ... };'")
    settings = {inner.name: inner.words()[1:] for inner in block}
    ztype = settings.get("type") or (None,)
    zfile = settings.get("file") or (None,)
    return [Zone(words[1], ztype[0], zfile[0], view)]


def _options(reader: _Reader, block: tuple[_Stmt, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    listeners: list[ListenOn] = []
    for stmt in block:
        name = stmt.name
        if name in _INT_OPTIONS:
            if len(stmt.items) != 2 or not isinstance(stmt.items[1], str):
                raise reader.error(stmt, f"expected '{name} NUMBER;'")
            fields[_INT_OPTIONS[name]] = reader.uint(stmt, stmt.items[1], name)
        elif name == "directory" and len(stmt.items) == 2 and isinstance(stmt.items[1], str):
            fields["directory"] = stmt.items[1]
        elif name in ("listen-on", "listen-on-v6"):
            listeners.append(_listen_on(reader, stmt))
    fields["listeners"] = tuple(listeners)
    fields["listen_on"] = tuple(a for lst in listeners if lst.family == 4 for a in lst.addresses)
    fields["listen_on_v6"] = tuple(a for lst in listeners if lst.family == 6 for a in lst.addresses)
    return fields


def _listen_on(reader: _Reader, stmt: _Stmt) -> ListenOn:
    block = stmt.block()
    if block is None or stmt.items[-1] is not block or len(stmt.words()) % 2 != 1:
        raise reader.error(stmt, f"expected '{stmt.name} [port N] ... {{ ADDRESSES }};'")
    opts = dict(zip(stmt.words()[1::2], stmt.words()[2::2], strict=True))
    unknown = set(opts) - {"port", "dscp", "tls", "http"}
    if unknown:
        raise reader.error(stmt, f"{stmt.name}: unknown option {sorted(unknown)[0]!r}")
    return ListenOn(
        family=6 if stmt.name == "listen-on-v6" else 4,
        port=None if "port" not in opts else reader.port(stmt, opts["port"]),
        addresses=_match_list(block),
        tls=opts.get("tls"),
        http=opts.get("http"),
    )


def _match_list(block: tuple[_Stmt, ...]) -> tuple[str, ...]:
    """Each element of an address match list as text (``! 10.0.0.0/8``, ``key "k"``)."""
    return tuple(_element(stmt) for stmt in block)


def _element(stmt: _Stmt) -> str:
    parts = [
        item if isinstance(item, str) else "{ " + " ".join(_element(s) + ";" for s in item) + " }"
        for item in stmt.items
    ]
    return " ".join(parts)


def _stats_channels(reader: _Reader, block: tuple[_Stmt, ...]) -> tuple[StatsChannel, ...]:
    out: list[StatsChannel] = []
    for stmt in block:
        words = stmt.words()
        if stmt.name != "inet" or len(words) < 2:
            raise reader.error(stmt, "expected 'inet ADDRESS [port N] [allow { ... }];'")
        port = 80
        allow: tuple[str, ...] | None = None
        i = 2
        while i < len(stmt.items):
            item = stmt.items[i]
            nxt = stmt.items[i + 1] if i + 1 < len(stmt.items) else None
            if item == "port" and isinstance(nxt, str):
                port = reader.port(stmt, nxt)
            elif item == "allow" and isinstance(nxt, tuple):
                allow = _match_list(nxt)
            else:
                raise reader.error(stmt, "expected 'inet ADDRESS [port N] [allow { ... }];'")
            i += 2
        if not isinstance(stmt.items[1], str):
            raise reader.error(stmt, "inet without an address")
        out.append(StatsChannel(stmt.items[1], port, allow))
    return tuple(out)


def _logging(reader: _Reader, block: tuple[_Stmt, ...]) -> dict[str, Any]:
    channels: list[LogChannel] = []
    categories: dict[str, tuple[str, ...]] = {}
    for stmt in block:
        if stmt.name == "channel":
            channel = _channel(reader, stmt)
            if channel.name in BUILTIN_CHANNELS or any(c.name == channel.name for c in channels):
                raise reader.error(stmt, f"channel {channel.name!r} defined twice")
            channels.append(channel)
        elif stmt.name == "category":
            name = _name_of(reader, stmt)
            inner = reader.only_block(stmt, 2)
            names: list[str] = []
            for ref in inner:
                if len(ref.items) != 1 or not isinstance(ref.items[0], str):
                    raise reader.error(ref, "expected 'CHANNEL;'")
                names.append(ref.items[0])
            categories[name] = categories.get(name, ()) + tuple(names)
        else:
            raise reader.error(stmt, f"unknown logging statement {stmt.name!r}")
    defined = {c.name for c in channels} | set(BUILTIN_CHANNELS)
    for stmt in block:
        if stmt.name == "category":
            for ref in stmt.block() or ():
                if ref.name not in defined:
                    raise reader.error(ref, f"undefined channel {ref.name!r}")
    return {"has_logging": True, "channels": tuple(channels), "categories": categories}


def _channel(reader: _Reader, stmt: _Stmt) -> LogChannel:
    name = _name_of(reader, stmt)
    destinations: list[tuple[str, str | None, str | None]] = []
    options: dict[str, Any] = {}
    for inner in reader.only_block(stmt, 2):
        words = inner.words()
        if len(words) != len(inner.items):
            raise reader.error(inner, f"unexpected block in channel {name!r}")
        if inner.name == "file" and len(words) >= 2:
            destinations.append(("file", words[1], None))
        elif inner.name == "syslog" and len(words) <= 2:
            destinations.append(("syslog", None, words[1] if len(words) == 2 else "daemon"))
        elif inner.name in ("stderr", "null") and len(words) == 1:
            destinations.append((inner.name, None, None))
        elif inner.name == "severity":
            options["severity"] = _severity(reader, inner)
        elif inner.name in ("print-time", "print-category", "print-severity") and len(words) == 2:
            options[inner.name.replace("-", "_")] = reader.flag(inner, words[1])
        elif inner.name == "buffered" and len(words) == 2:
            reader.flag(inner, words[1])
        else:
            raise reader.error(inner, f"unexpected {inner.name!r} in channel {name!r}")
    if len(destinations) != 1:
        raise reader.error(stmt, f"channel {name!r}: not exactly one of file, syslog, stderr, null")
    destination, path, facility = destinations[0]
    return replace(LogChannel(name, destination, path=path, syslog_facility=facility), **options)


def _severity(reader: _Reader, stmt: _Stmt) -> str:
    words = [w.lower() for w in stmt.words()[1:]]
    if len(words) == 1 and (words[0] in SEVERITY_LEVELS or words[0] in ("dynamic", "debug")):
        return words[0]
    if len(words) == 2 and words[0] == "debug":
        return f"debug {reader.uint(stmt, words[1], 'debug level')}"
    raise reader.error(
        stmt, "expected 'severity critical|error|warning|notice|info|debug [N]|dynamic;'"
    )


# --- the questions rules ask ------------------------------------------------------------------


def category_channels(config: BindConfig, category: str) -> tuple[LogChannel, ...]:
    """The channels a message of ``category`` goes to, with named's implicit defaults.

    A configured category uses only its own channels; any other uses ``default`` (configured,
    or ``default_debug`` + ``default_syslog``); ``unmatched`` goes to ``null`` unless configured.
    """
    names = config.categories.get(category)
    if names is None:
        names = IMPLICIT_CATEGORIES.get(category)
    if names is None:
        names = config.categories.get("default", IMPLICIT_CATEGORIES["default"])
    out: list[LogChannel] = []
    for name in names:
        channel = config.channel(name)
        if channel is not None:
            out.append(channel)
    return tuple(out)


def channel_logs(channel: LogChannel, level: int, server_debug: int = 0) -> bool:
    """Whether ``channel`` writes a message at ISC ``level`` (``info`` -1, ``debug 3`` 3) while
    the server runs at debug level ``server_debug`` (lib/isc/log.c ``isc_log_doit()``)."""
    if channel.destination == "null":
        return False
    if channel.debug_only and server_debug == 0:
        return False
    threshold = channel.level
    if threshold is None:
        threshold = server_debug
    return level <= threshold


def logs_category_at(
    config: BindConfig, category: str, debug_level: int, *, server_debug: int = 0
) -> bool:
    """Whether a message of ``category`` at ``debug <debug_level>`` reaches a real channel.

    ``server_debug`` is named's global debug level (``-d N``, ``rndc trace``; 0 normally).
    Negative levels are the named severities of :data:`SEVERITY_LEVELS` (info is -1). With
    Debian's default configuration, BIND 9.18's ``client ...: send failed: ...`` (category
    ``security``, ``debug 3``) is written nowhere unless the server runs at debug level >= 3.
    """
    return any(
        channel_logs(ch, debug_level, server_debug) for ch in category_channels(config, category)
    )


# --- redaction ----------------------------------------------------------------------------------

# Skip strings and comments as wholes (so "secret" inside a path or a comment is left alone),
# and mask the value after "secret" (TSIG/controls keys) and a DLZ "database" (its connection
# string may hold a password). A string cut short at the end still counts as a string.
_REDACT = re.compile(
    r"""
    (?P<skip>"(?:[^"\\]|\\.)*(?:"|\Z) | (?://|\#)[^\n]* | /\*(?:[^*]|\*(?!/))*(?:\*/|\Z))
    | (?P<keyword>(?<![\w-])(?:secret|database)\s+)
      (?P<value>"(?:[^"\\]|\\.)*(?:"|\Z) | [^\s;{}"]+)
    """,
    re.VERBOSE | re.DOTALL,
)


def redact_named_conf(text: str) -> str:
    """``text`` (named.conf syntax) with every ``secret "..."`` and DLZ ``database "..."`` value
    replaced by ``"<redacted>"``. Never raises; everything else is kept byte for byte."""

    def mask(m: re.Match[str]) -> str:
        if m["skip"] is not None:
            return m[0]
        return f'{m["keyword"]}"{REDACTED}"'

    return _REDACT.sub(mask, text)


# --- named -v ------------------------------------------------------------------------------------

_VERSION = re.compile(r"BIND (?P<full>(?P<version>[0-9]+\.[0-9]+\.[0-9]+)\S*)(?: .*)?")


@dataclass(frozen=True)
class NamedVersion:
    """``named -v``: ``version`` is upstream's (``9.18.49``), ``full`` the packaged string."""

    version: str
    full: str
    line: str

    @property
    def major_minor(self) -> tuple[int, int]:
        """``(9, 18)``."""
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)


def parse_named_version(text: str, source: str = "named -v") -> NamedVersion:
    """Parse ``named -v`` (``BIND 9.18.49-1~deb12u3-Debian (Extended Support Version) <id:>``).

    >>> parse_named_version("BIND 9.18.49-1~deb12u3-Debian (Extended Support Version) <id:>\\n")
    ... # doctest: +NORMALIZE_WHITESPACE
    NamedVersion(version='9.18.49', full='9.18.49-1~deb12u3-Debian',
                 line='BIND 9.18.49-1~deb12u3-Debian (Extended Support Version) <id:>')
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ParseError(source, None, None, "empty")
    m = _VERSION.fullmatch(lines[0].strip())
    if m is None:
        raise ParseError(source, 1, lines[0], "expected 'BIND 9.x.y...'")
    return NamedVersion(m["version"], m["full"], lines[0].strip())
