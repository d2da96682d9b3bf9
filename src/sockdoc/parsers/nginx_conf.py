"""nginx's configuration as ``nginx -T`` prints it: workers, listening sockets, upstreams.

``nginx -T`` checks the configuration, then prints every file it read, each once, in the order
it first opened them: a header line ``# configuration file PATH:``, the file's bytes unchanged,
and one more newline (src/core/nginx.c, the ``ngx_dump_config`` loop). Includes are *not*
expanded in that output: an ``include`` directive stays in its file and the included file
follows as its own section. This parser splits the sections, tokenizes each with nginx's own
rules (src/core/ngx_conf_file.c ``ngx_conf_read_token()``: quotes, backslash escapes, ``#``
comments only at the start of a word, ``${`` inside a word) and walks the main file, replacing
each ``include`` with the sections its path or glob names, relative paths taken from the main
file's directory (the "conf prefix"), glob matches in sorted order as glob(3) returns them.

What it reports:

* ``worker_processes`` (``auto`` sets ``worker_processes_auto``), ``worker_rlimit_nofile``
  and the ``events`` block's ``worker_connections``, as written (None when absent); the
  ``effective_*`` properties apply nginx's defaults.
* every ``listen`` of a ``server`` block in ``http``, ``stream`` or ``mail``, with its file.
  ``backlog`` is the ``backlog=`` option as written; ``effective_backlog`` is what nginx passes
  to listen(2): the option, or :data:`DEFAULT_BACKLOG`. The kernel caps that at
  ``net.core.somaxconn`` (see :meth:`NginxListen.accept_queue_limit`). Several ``listen``
  lines for one address share one socket; :meth:`NginxConfig.sockets` merges them.
* ``upstream_servers``: the ``server`` addresses of ``upstream`` blocks and the targets of
  ``proxy_pass``, ``fastcgi_pass``, ``uwsgi_pass``, ``scgi_pass``, ``grpc_pass`` and
  ``memcached_pass``, reduced to ``host[:port]`` or ``unix:PATH`` (a target naming an
  ``upstream`` block is covered by that block's servers; a target holding a variable is left
  out, it is only known per request).

The check lines nginx writes to stderr may come first (as ``2>&1`` gives) or last. A failed
check (``[emerg]`` ..., ``test failed``) is a ParseError on the line that says so.
:func:`parse_nginx_files` reads the same from files the caller read itself.
:func:`redact_nginx` masks secrets before a dump is stored.

Sample content (``nginx -T 2>&1``, shortened)::

    nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
    nginx: configuration file /etc/nginx/nginx.conf test is successful
    # configuration file /etc/nginx/nginx.conf:
    worker_processes auto;
    events {
            worker_connections 768;
    }
    http {
            include /etc/nginx/sites-enabled/*;
    }

    # configuration file /etc/nginx/sites-enabled/default:
    server {
            listen 80 default_server;
            listen [::]:80 default_server;
    }

Examples:

>>> conf = parse_nginx_dump(
...     "# configuration file /etc/nginx/nginx.conf:\\n"
...     "worker_processes auto;\\n"
...     "events { worker_connections 768; }\\n"
...     "http { include sites/*; upstream php { server unix:/run/php/fpm.sock; } }\\n"
...     "\\n"
...     "# configuration file /etc/nginx/sites/default:\\n"
...     "server { listen 80 default_server; listen [::1]:8080 backlog=4096;\\n"
...     "         location / { fastcgi_pass php; } }\\n"
... )
>>> (conf.worker_processes, conf.worker_processes_auto, conf.worker_connections)
(None, True, 768)
>>> [(li.address, li.port, li.backlog, li.effective_backlog) for li in conf.listens]
[('*', 80, None, 511), ('::1', 8080, 4096, 4096)]
>>> conf.listens[0].file
'/etc/nginx/sites/default'
>>> conf.upstream_servers
('unix:/run/php/fpm.sock',)
>>> parse_listen(("unix:/run/app.sock", "backlog=1024")).unix_path
'/run/app.sock'
>>> redact_nginx('proxy_set_header Authorization "Basic dXNlcjpwYXNz";\\n')
'proxy_set_header Authorization "<redacted>";\\n'
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from sockdoc.parsers.errors import ParseError

# src/os/unix/ngx_linux_config.h: ``#define NGX_LISTEN_BACKLOG 511``, used by the http, stream
# and mail ``listen`` handlers when no ``backlog=`` is given (FreeBSD and macOS builds use -1).
DEFAULT_BACKLOG = 511
# src/event/ngx_event.c ``DEFAULT_CONNECTIONS`` (ngx_event_core_init_conf()).
DEFAULT_WORKER_CONNECTIONS = 512
# src/core/nginx.c ngx_core_module_init_conf(): ``worker_processes`` defaults to 1.
DEFAULT_WORKER_PROCESSES = 1
# src/http/ngx_http_core_module.c ngx_http_core_listen(): ``u.default_port = 80``.
DEFAULT_HTTP_PORT = 80

MASK = "<redacted>"
_MODULES = ("http", "stream", "mail")
_PASS = {
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
}
_SCHEME = re.compile(r"(?:https?|grpcs?|s?uwsgi)://", re.IGNORECASE)
_MAX_INCLUDE_DEPTH = 32

_HEADER = re.compile(r"# configuration file (?P<name>.+):")
# Messages written before the error log is open: "nginx: [warn] ..." or, once a log is set,
# "2026/11/21 21:15:38 [emerg] 3568#3568: ..." (src/core/ngx_log.c).
_STDERR = re.compile(r"(?:nginx: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )(?:\[(?P<level>[a-z]+)\].*|.*)")
_FATAL_LEVELS = {"emerg", "alert", "crit"}

_WS = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\n]*")
# After a closing quote nginx wants white space, ";", "{" or ")" (need_space in
# ngx_conf_read_token()).
_QUOTED = re.compile(
    r"""(?P<q>["'])(?P<body>(?:\\[\s\S]|(?!(?P=q))[^\\])*)(?P=q)(?=[ \t\r\n;{)]|\Z)"""
)
# An unquoted word ends at white space, ";" or "{"; a backslash takes the next character
# literally; "{" right after "$" belongs to the word ("${name}").
_WORD = re.compile(r"(?:\\[\s\S]|\$\{+|[^ \t\r\n;{\\])+")
_ESCAPE = re.compile(r"""\\(["'\\tnr])""")
_ESCAPED = {"t": "\t", "n": "\n", "r": "\r"}

_DECIMAL = re.compile(r"[0-9]+")
_VARIABLE_ONLY = re.compile(r"\$(?:[A-Za-z0-9_]+|\{[A-Za-z0-9_]+\})")
_SECRET_WORD = re.compile(
    r"passw(?:or)?d|passphrase|secret|token|api[-_]?key|credential|authorization|cookie",
    re.IGNORECASE,
)
# Directive names: "server_tokens" is no secret, so no "token" here.
_SECRET_NAME = re.compile(r"passw(?:or)?d|passphrase|secret|credential", re.IGNORECASE)
_SECRET_PROSE = re.compile(r"passw(?:or)?d|passphrase|secret", re.IGNORECASE)
_SECRET_ASSIGN = re.compile(
    r"(?P<key>(?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key)=)[^&\s\"']*",
    re.IGNORECASE,
)
_HEADER_SETTERS = {
    "proxy_set_header",
    "grpc_set_header",
    "add_header",
    "add_trailer",
    "fastcgi_param",
    "uwsgi_param",
    "scgi_param",
}
_KEEP_FLAGS = {"always", "if_not_empty"}


@dataclass(frozen=True)
class NginxListen:
    """One ``listen`` directive of a ``server`` block.

    ``address`` is ``*`` for a port alone, the host or IP as written (IPv6 without brackets),
    or ``unix:PATH``. ``port`` is None only for UNIX sockets (http defaults to 80).
    ``backlog`` is the ``backlog=`` option as written, None when absent. ``module`` is
    ``http``, ``stream`` or ``mail``; ``udp`` is set by stream's ``udp`` and http's ``quic``
    (no accept queue).
    """

    address: str
    port: int | None
    unix_path: str | None
    backlog: int | None
    default_server: bool
    reuseport: bool
    file: str
    line: int = 0
    module: str = "http"
    udp: bool = False

    @property
    def effective_backlog(self) -> int | None:
        """What nginx passes to listen(2); None for UDP, which has no accept queue."""
        if self.udp:
            return None
        return DEFAULT_BACKLOG if self.backlog is None else self.backlog

    def accept_queue_limit(self, somaxconn: int) -> int | None:
        """The accept queue the kernel grants: the backlog capped at ``net.core.somaxconn``."""
        backlog = self.effective_backlog
        return None if backlog is None else min(backlog, somaxconn)

    @property
    def key(self) -> tuple[str, bool, str, int | None]:
        """What identifies the socket: module, UDP or not, address and port."""
        return (self.module, self.udp, self.address, self.port)


@dataclass(frozen=True)
class NginxConfig:
    """The parts of one nginx configuration sockdoc checks. Values as written, None if absent."""

    worker_processes: int | None
    worker_processes_auto: bool
    worker_connections: int | None
    worker_rlimit_nofile: int | None
    listens: tuple[NginxListen, ...]
    upstream_servers: tuple[str, ...]
    files: tuple[str, ...] = ()

    def effective_worker_processes(self, cpus: int) -> int:
        """Worker count: as written, ``cpus`` for ``auto``, 1 when absent."""
        if self.worker_processes_auto:
            return cpus
        if self.worker_processes is None:
            return DEFAULT_WORKER_PROCESSES
        return self.worker_processes

    @property
    def effective_worker_connections(self) -> int:
        """Connections per worker (clients and upstreams together); 512 when absent."""
        if self.worker_connections is None:
            return DEFAULT_WORKER_CONNECTIONS
        return self.worker_connections

    def sockets(self) -> tuple[NginxListen, ...]:
        """One entry per listening address (``listens`` repeats an address once per server).

        nginx opens one socket per address and takes its options from the ``listen`` that
        sets them, so the merged entry keeps the first explicit backlog and ORs the flags.
        A wildcard and a specific address on the same port stay separate entries here.
        """
        merged: dict[tuple[str, bool, str, int | None], NginxListen] = {}
        for li in self.listens:
            seen = merged.get(li.key)
            if seen is None:
                merged[li.key] = li
                continue
            merged[li.key] = replace(
                seen,
                backlog=seen.backlog if seen.backlog is not None else li.backlog,
                default_server=seen.default_server or li.default_server,
                reuseport=seen.reuseport or li.reuseport,
            )
        return tuple(merged.values())


# ---------------------------------------------------------------- entry points


def parse_nginx_dump(text: str, source: str = "nginx -T") -> NginxConfig:
    """Parse the output of ``nginx -T`` (stdout, optionally with stderr)."""
    lines = text.split("\n")
    files = _split_dump(lines, source)
    return _Config(files, lines, source, dump=True).result()


def parse_nginx_files(files: Sequence[tuple[str, str]]) -> NginxConfig:
    """Parse configuration files read by the caller: ``(path, text)``, the main file first.

    Every file an ``include`` names must be among them; errors name the file and its line.
    """
    if not files:
        raise ParseError("nginx", None, None, "no configuration files")
    parts = [_File(path, body, 0, path) for path, body in files]
    return _Config(parts, None, parts[0].name, dump=False).result()


def parse_listen(
    args: Sequence[str], file: str = "-", line: int = 0, module: str = "http"
) -> NginxListen:
    """One ``listen`` directive from its arguments (``("[::1]:8000", "ipv6only=on")``).

    Raises ValueError (a ParseError is raised by the config parsers, which know the line).
    """
    if not args:
        raise ValueError("listen without an address")
    address, port, unix_path = _listen_address(args[0], module)
    backlog: int | None = None
    default_server = reuseport = udp = False
    for option in args[1:]:
        if option in ("default_server", "default"):
            default_server = True
        elif option == "reuseport":
            reuseport = True
        elif (option == "udp" and module == "stream") or (option == "quic" and module == "http"):
            udp = True  # HTTP/3 ("quic", nginx 1.25) is UDP as well
        elif option.startswith("backlog="):
            value = option[len("backlog=") :]
            # ngx_atoi(): digits only; nginx rejects 0 as well.
            if _DECIMAL.fullmatch(value) is None or int(value) == 0:
                raise ValueError(f"invalid backlog {option!r}")
            backlog = int(value)
    return NginxListen(
        address=address,
        port=port,
        unix_path=unix_path,
        backlog=backlog,
        default_server=default_server,
        reuseport=reuseport,
        file=file,
        line=line,
        module=module,
        udp=udp,
    )


def _listen_address(value: str, module: str) -> tuple[str, int | None, str | None]:
    # src/core/ngx_inet.c ngx_parse_url() with u.listen set: "unix:PATH", "[IPv6]:port",
    # "host:port", "port" alone (wildcard address), or "host" alone (http: port 80).
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if not path:
            raise ValueError("unix: without a path")
        return value, None, path
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"no ']' in {value!r}")
        host, rest = value[1:end], value[end + 1 :]
        if not host:
            raise ValueError(f"empty IPv6 address in {value!r}")
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the IPv6 address")
        return host, _port(rest[1:] if rest else None, value, module), None
    host, sep, port = value.partition(":")
    if sep:
        if not host or ":" in port:
            raise ValueError(f"invalid address {value!r}")
        return host, _port(port, value, module), None
    if _DECIMAL.fullmatch(value):
        return "*", _port(value, value, module), None
    if not value:
        raise ValueError("empty address")
    return value, _port(None, value, module), None


def _port(text: str | None, value: str, module: str) -> int:
    if text is None:
        if module != "http":
            raise ValueError(f"no port in {value!r}")
        return DEFAULT_HTTP_PORT
    if _DECIMAL.fullmatch(text) is None or not 1 <= int(text) <= 65535:
        raise ValueError(f"invalid port in {value!r}")
    return int(text)


# ---------------------------------------------------------------- dump sections


@dataclass
class _File:
    name: str
    text: str
    first_line: int  # 0-based index in the input of the file's first line
    err_source: str


def _split_dump(lines: list[str], source: str) -> list[_File]:
    first = next((i for i, line in enumerate(lines) if _HEADER.fullmatch(line)), None)
    if first is None:
        for i, line in enumerate(lines):
            _check_stderr(line, i + 1, source)
        if not any(line.strip() for line in lines):
            raise ParseError(source, None, None, "empty")
        raise ParseError(source, None, None, "no '# configuration file' header: not nginx -T")
    # stderr captured after stdout lands behind the last file; no configuration line looks
    # like "nginx: ..." or a log time stamp (nginx -T would have refused it).
    end = len(lines)
    while end > first + 1 and (not lines[end - 1] or _STDERR.fullmatch(lines[end - 1])):
        end -= 1
    for i in [*range(first), *range(end, len(lines))]:
        _check_stderr(lines[i], i + 1, source)
    files: list[_File] = []
    current: list[str] = []
    for i in range(first, end):
        m = _HEADER.fullmatch(lines[i])
        if m is not None:
            if files:
                files[-1].text = "\n".join(current)
            files.append(_File(m["name"], "", i + 1, source))
            current = []
        else:
            current.append(lines[i])
    files[-1].text = "\n".join(current)
    return files


def _check_stderr(line: str, lineno: int, source: str) -> None:
    if not line.strip():
        return
    m = _STDERR.fullmatch(line)
    if m is None:
        raise ParseError(
            source, lineno, line, "expected nginx's messages before the first configuration file"
        )
    if m["level"] in _FATAL_LEVELS or line.endswith("test failed"):
        raise ParseError(source, lineno, line, "nginx rejected its configuration")


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", ";", "{", "}", "#"
    value: str
    start: int
    end: int
    quoted: bool = False


def _tokens(text: str) -> Iterator[_Token]:
    """nginx's tokens; ValueError(offset, reason) where nginx would stop."""
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch in " \t\r\n":
            m = _WS.match(text, pos)
            assert m is not None
            pos = m.end()
            continue
        if ch == "#":
            m = _COMMENT.match(text, pos)
            assert m is not None
            yield _Token("#", m.group(), pos, m.end())
            pos = m.end()
        elif ch in ";{}":
            yield _Token(ch, ch, pos, pos + 1)
            pos += 1
        elif ch in "\"'":
            m = _QUOTED.match(text, pos)
            if m is None:
                raise _TokenError(pos, f"unterminated {ch} or no space after it")
            yield _Token("word", _unescape(m["body"]), pos, m.end(), quoted=True)
            pos = m.end()
        else:
            m = _WORD.match(text, pos)
            if m is None:
                raise _TokenError(pos, "a backslash at the end of the file")
            yield _Token("word", _unescape(m.group()), pos, m.end())
            pos = m.end()


class _TokenError(ValueError):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def _unescape(word: str) -> str:
    if "\\" not in word:
        return word
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m[1], m[1]), word)


# ---------------------------------------------------------------- directives


@dataclass(frozen=True)
class _Directive:
    name: str
    args: tuple[str, ...]
    offset: int
    block: tuple[_Directive, ...] | None


class _Parsed:
    """One file: its directives, and offsets turned into line numbers for errors."""

    def __init__(self, file: _File, lines: list[str] | None) -> None:
        self.file = file
        self.input_lines = lines
        self._newlines = [i for i, c in enumerate(file.text) if c == "\n"]
        self.directives = self._parse()

    def file_line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def error(self, offset: int, reason: str) -> ParseError:
        line_in_file = self.file_line(offset)
        text_lines = self.file.text.split("\n")
        line = text_lines[line_in_file - 1] if line_in_file <= len(text_lines) else None
        if self.input_lines is None:  # parse_nginx_files: the file is the source
            return ParseError(self.file.name, line_in_file, line, reason)
        return ParseError(
            self.file.err_source,
            self.file.first_line + line_in_file,
            line,
            f"{self.file.name}:{line_in_file}: {reason}",
        )

    def _parse(self) -> tuple[_Directive, ...]:
        stack: list[tuple[list[_Directive], str, tuple[str, ...], int]] = []
        current: list[_Directive] = []
        words: list[_Token] = []
        try:
            for tok in _tokens(self.file.text):
                if tok.kind == "word":
                    words.append(tok)
                elif tok.kind in ";{":
                    if not words:
                        raise self.error(tok.start, f"unexpected {tok.kind!r}")
                    name, args = words[0].value, tuple(w.value for w in words[1:])
                    if tok.kind == ";":
                        current.append(_Directive(name, args, words[0].start, None))
                    else:
                        stack.append((current, name, args, words[0].start))
                        current = []
                    words = []
                elif tok.kind == "}":
                    if words:
                        raise self.error(tok.start, "unexpected '}' before ';'")
                    if not stack:
                        raise self.error(tok.start, "unexpected '}'")
                    parent, name, args, offset = stack.pop()
                    parent.append(_Directive(name, args, offset, tuple(current)))
                    current = parent
        except _TokenError as err:
            raise self.error(err.offset, err.reason) from None
        if words:
            raise self.error(words[0].start, "unexpected end of file, expecting ';' or '}'")
        if stack:
            raise self.error(stack[-1][3], f"block {stack[-1][1]!r} is not closed")
        return tuple(current)


class _Config:
    """Walks the main file, expanding includes, and collects what NginxConfig reports."""

    def __init__(
        self, files: list[_File], lines: list[str] | None, source: str, *, dump: bool
    ) -> None:
        self.files = {f.name: f for f in files}
        self.order = [f.name for f in files]
        self.lines = lines
        self.source = source
        self.dump = dump
        self.parsed: dict[str, _Parsed] = {}
        main = files[0].name
        self.prefix = main[: main.rfind("/") + 1]
        self.singles: dict[str, tuple[str, _Parsed, int]] = {}
        self.listens: list[NginxListen] = []
        self.upstream_names: set[str] = set()
        self.servers: list[str] = []
        self.passes: list[str] = []

    def result(self) -> NginxConfig:
        self._walk(self._parse(self.order[0]), (), 0)
        processes, auto = self._number("worker_processes", allow_auto=True)
        connections, _ = self._number("worker_connections")
        rlimit, _ = self._number("worker_rlimit_nofile")
        targets = self.servers + [t for t in self.passes if t not in self.upstream_names]
        upstreams = dict.fromkeys(targets)  # first occurrence order, no repeats
        return NginxConfig(
            worker_processes=processes,
            worker_processes_auto=auto,
            worker_connections=connections,
            worker_rlimit_nofile=rlimit,
            listens=tuple(self.listens),
            upstream_servers=tuple(upstreams),
            files=tuple(self.order),
        )

    def _parse(self, name: str) -> _Parsed:
        parsed = self.parsed.get(name)
        if parsed is None:
            parsed = self.parsed[name] = _Parsed(self.files[name], self.lines)
        return parsed

    def _walk(self, parsed: _Parsed, ctx: tuple[str, ...], depth: int) -> None:
        self._walk_block(parsed, parsed.directives, ctx, depth)

    def _walk_block(
        self, parsed: _Parsed, block: tuple[_Directive, ...], ctx: tuple[str, ...], depth: int
    ) -> None:
        for d in block:
            if d.name == "include" and d.block is None:
                self._include(parsed, d, ctx, depth)
                continue
            self._directive(parsed, d, ctx)
            if d.block is not None:
                self._walk_block(parsed, d.block, (*ctx, d.name), depth)

    def _include(self, parsed: _Parsed, d: _Directive, ctx: tuple[str, ...], depth: int) -> None:
        if len(d.args) != 1:
            raise parsed.error(d.offset, "include takes one path")
        if depth >= _MAX_INCLUDE_DEPTH:
            raise parsed.error(d.offset, "includes nested too deep (a loop?)")
        # src/core/ngx_conf_file.c ngx_conf_include(): a relative path is taken from the conf
        # prefix; a path with "*?[" is a glob, the others must exist.
        path = d.args[0] if d.args[0].startswith("/") else self.prefix + d.args[0]
        if not any(c in path for c in "*?["):
            if path not in self.files:
                where = "the dump" if self.dump else "the files given"
                raise parsed.error(d.offset, f"included file {path} is not in {where}")
            self._walk(self._parse(path), ctx, depth + 1)
            return
        for name in sorted(n for n in self.order if _glob_match(path, n)):
            self._walk(self._parse(name), ctx, depth + 1)

    def _directive(self, parsed: _Parsed, d: _Directive, ctx: tuple[str, ...]) -> None:
        if (ctx == () and d.name in ("worker_processes", "worker_rlimit_nofile")) or (
            ctx == ("events",) and d.name == "worker_connections"
        ):
            if d.name in self.singles:
                raise parsed.error(d.offset, f"{d.name} appears twice")
            if len(d.args) != 1:
                raise parsed.error(d.offset, f"{d.name} takes one value")
            self.singles[d.name] = (d.args[0], parsed, d.offset)
        elif d.name == "listen" and ctx[-1:] == ("server",) and ctx[0] in _MODULES:
            try:
                self.listens.append(
                    parse_listen(d.args, parsed.file.name, parsed.file_line(d.offset), ctx[0])
                )
            except ValueError as err:
                raise parsed.error(d.offset, str(err)) from None
        elif d.name == "upstream" and d.block is not None and ctx in (("http",), ("stream",)):
            if len(d.args) != 1:
                raise parsed.error(d.offset, "upstream takes one name")
            self.upstream_names.add(d.args[0])
        elif d.name == "server" and d.block is None and ctx[-1:] == ("upstream",):
            if not d.args:
                raise parsed.error(d.offset, "server without an address")
            self.servers.append(d.args[0])
        elif d.name in _PASS and ctx[:1] in (("http",), ("stream",)):
            if len(d.args) != 1:
                raise parsed.error(d.offset, f"{d.name} takes one address")
            target = _pass_target(d.args[0])
            if target is not None:
                self.passes.append(target)

    def _number(self, name: str, *, allow_auto: bool = False) -> tuple[int | None, bool]:
        found = self.singles.get(name)
        if found is None:
            return None, False
        value, parsed, offset = found
        if allow_auto and value == "auto":
            return None, True
        if _DECIMAL.fullmatch(value) is None:
            raise parsed.error(offset, f"{name} is not a number ({value!r})")
        return int(value), False


def _glob_match(pattern: str, name: str) -> bool:
    # glob(3): a wildcard never matches "/" nor a leading "." of a name.
    pparts, nparts = pattern.split("/"), name.split("/")
    if len(pparts) != len(nparts):
        return False
    for p, n in zip(pparts, nparts, strict=True):
        if n.startswith(".") and not p.startswith("."):
            return False
        if not fnmatch.fnmatchcase(n, p):
            return False
    return True


def _pass_target(value: str) -> str | None:
    """``host[:port]`` or ``unix:PATH`` of a ``*_pass`` target; None when it has a variable."""
    if "$" in value:
        return None
    m = _SCHEME.match(value)
    rest = value[m.end() :] if m else value
    if rest.startswith("unix:"):
        path = rest[len("unix:") :]
        if m is not None:  # "http://unix:/run/app.sock:/uri": the path ends at ":"
            path = path.split(":", 1)[0]
        return "unix:" + path if path else None
    host = rest.split("/", 1)[0] if m is not None else rest
    return host or None


# ---------------------------------------------------------------- redaction


def redact_nginx(text: str) -> str:
    """``text`` (a dump or a file) with likely secrets replaced by ``<redacted>``.

    Masked: values of directives named like a secret (``secure_link_secret``; ``*_file``
    paths are kept), headers and FastCGI/uwsgi/SCGI params named like credentials
    (Authorization, Cookie, tokens, API keys, passwords; a value that is only a variable such
    as ``$http_authorization`` is kept), ``env`` and ``set`` of such names,
    ``password=``/``token=`` query parameters anywhere, and comments that mention any of
    these. A section nginx could not tokenize is masked line by line instead. Line structure
    is kept, so line numbers still match.
    """
    lines = text.split("\n")
    out: list[str] = []
    body: list[str] = []
    in_file = False
    for line in lines:
        if _HEADER.fullmatch(line):
            if in_file:
                out.append(_redact_file("\n".join(body)))
                body = []
            out.append(line)
            in_file = True
        elif in_file:
            body.append(line)
        else:
            out.append(line)
    if in_file:
        out.append(_redact_file("\n".join(body)))
    elif out and not any(_STDERR.fullmatch(line) for line in out if line.strip()):
        return _redact_file(text)  # a plain configuration file
    return "\n".join(out)


def _redact_file(text: str) -> str:
    try:
        tokens = list(_tokens(text))
    except _TokenError:
        return "\n".join(_redact_line(line) for line in text.split("\n"))
    edits: list[tuple[int, int, str]] = []
    words: list[_Token] = []
    for tok in tokens:
        if tok.kind == "#":
            if _secret_comment(tok.value[1:]):
                edits.append((tok.start, tok.end, "# " + MASK))
        elif tok.kind == "word":
            words.append(tok)
        else:
            if words:
                edits.extend(_redact_directive(words))
            words = []
    if words:
        edits.extend(_redact_directive(words))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _redact_directive(words: list[_Token]) -> list[tuple[int, int, str]]:
    name = words[0].value.lower()
    args = words[1:]
    masked: list[_Token] = []
    if _SECRET_NAME.search(name) and not name.endswith(("_file", "_path", "_dir")):
        masked = args
    elif name in _HEADER_SETTERS and len(args) >= 2 and _SECRET_WORD.search(args[0].value):
        masked = [a for a in args[1:] if a.value not in _KEEP_FLAGS]
    elif name == "set" and len(args) >= 2 and _SECRET_WORD.search(args[0].value):
        masked = args[1:]
    edits = [_mask(tok) for tok in masked if not _VARIABLE_ONLY.fullmatch(tok.value)]
    if name == "env":
        for tok in args:
            var, eq, _ = tok.value.partition("=")
            if eq and _SECRET_WORD.search(var):
                edits.append((tok.start, tok.end, f"{var}={MASK}"))
    done = {start for start, _, _ in edits}
    for tok in words:
        if tok.start not in done and _SECRET_ASSIGN.search(tok.value):
            new = _SECRET_ASSIGN.sub(lambda m: m["key"] + MASK, tok.value)
            edits.append((tok.start, tok.end, f'"{new}"' if tok.quoted else new))
    return edits


def _secret_comment(comment: str) -> bool:
    """A commented-out directive that would be masked, or prose naming a password."""
    if _SECRET_PROSE.search(comment) or _SECRET_ASSIGN.search(comment):
        return True
    try:
        words = [t for t in _tokens(comment) if t.kind == "word"]
    except _TokenError:
        return bool(_SECRET_WORD.search(comment))
    return bool(words) and bool(_redact_directive(words))


def _mask(tok: _Token) -> tuple[int, int, str]:
    return (tok.start, tok.end, f'"{MASK}"' if tok.quoted else MASK)


def _redact_line(line: str) -> str:
    if not _SECRET_WORD.search(line) and not _SECRET_ASSIGN.search(line):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    first = line.strip().split(None, 1)[0] if line.strip() else ""
    if first.startswith("#"):
        return f"{indent}# {MASK}"
    return f"{indent}{first} {MASK};"
