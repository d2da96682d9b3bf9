"""php-fpm pools: listen address, listen backlog and process manager limits.

Two inputs give the same :class:`PhpFpmPool` tuples:

* :func:`parse_pool_files`: the pool files (``/etc/php/X.Y/fpm/pool.d/*.conf``), INI syntax:
  ``[pool]`` sections, ``key = value``, ``;`` comments (also after an unquoted value), quoted
  values, ``yes``/``no`` words. A section name seen again continues that pool, later values
  win (sapi/fpm/fpm/fpm_conf.c ``fpm_conf_ini_parser_section()``); ``$pool`` in a value is
  the pool's name. ``[global]`` and keys outside a pool are php-fpm.conf's, not a pool's.
* :func:`parse_fpm_dump`: the output of ``php-fpmX.Y -tt`` (stderr), the configuration after
  php-fpm applied its defaults and checks (``fpm_conf_dump()``), one ``NOTICE:`` log line per
  setting. It is printed at log level NOTICE, so ``log_level = warning`` (or higher) in
  php-fpm.conf silences it completely, the "test is successful" line included: empty output
  is a ParseError and the caller falls back to the pool files. With ``log_level = debug``
  each line carries ``pid N, fpm_conf_dump(), line N:``, which is skipped.

The defaults applied to pool files are php-fpm's own (``fpm_conf_process_all_pools()``):

* ``listen.backlog``: ``FPM_BACKLOG_DEFAULT`` (sapi/fpm/fpm/fpm_sockets.h) is -1 on Linux
  since PHP 8.2 (php-src commit 1e562683, pull request 8410) and 511 before. listen(2) turns
  a negative backlog into ``net.core.somaxconn``; ``php-fpm8.2 -tt`` on Debian 12 prints
  ``listen.backlog = -1`` for the stock ``www`` pool. An ``ondemand`` pool's backlog is raised
  to that default when set lower.
* ``pm.start_servers`` of a ``dynamic`` pool: ``min_spare + (max_spare - min_spare) / 2``
  when not set.
* The spare and start counts only matter to ``dynamic``; they are None for ``static`` and
  ``ondemand`` pools, where php-fpm ignores them.

A pool php-fpm would refuse (no ``listen``, no or an unknown ``pm``, ``pm.max_children`` below
1, a ``dynamic`` pool without spare counts) is a ParseError naming its section.
:func:`redact_phpfpm` masks secret-looking ``env[...]`` and ``php_*value[...]`` values.

Sample content (a pool file, shortened)::

    [www]
    user = www-data
    listen = /run/php/php8.2-fpm.sock
    ;listen.backlog = 511
    pm = dynamic
    pm.max_children = 5
    pm.min_spare_servers = 1
    pm.max_spare_servers = 3

Sample content (``php-fpm8.2 -tt``, shortened; a tab before each key)::

    [21-Nov-2026 21:14:31] NOTICE: [www]
    [21-Nov-2026 21:14:31] NOTICE:     listen = /run/php/php8.2-fpm.sock
    [21-Nov-2026 21:14:31] NOTICE:     listen.backlog = -1
    [21-Nov-2026 21:14:31] NOTICE:     pm = dynamic
    [21-Nov-2026 21:14:31] NOTICE:
    [21-Nov-2026 21:14:31] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is ...

Examples:

>>> (pool,) = parse_pool_files([("/etc/php/8.2/fpm/pool.d/www.conf",
...     "[www]\\nlisten = /run/php/$pool.sock\\npm = dynamic\\npm.max_children = 5\\n"
...     "pm.min_spare_servers = 1\\npm.max_spare_servers = 3 ; spare\\n")])
>>> (pool.name, pool.listen, pool.listen_backlog, pool.start_servers, pool.unix_path)
('www', '/run/php/www.sock', None, 2, '/run/php/www.sock')
>>> pool.accept_queue_limit(4096)
4096
>>> (old,) = parse_pool_files([("/etc/php/7.4/fpm/pool.d/a.conf",
...     "[a]\\nlisten = 127.0.0.1:9000\\npm = static\\npm.max_children = 50\\n")])
>>> (old.listen_backlog, old.port, old.start_servers)
(511, 9000, None)
>>> redact_phpfpm("env[DB_PASSWORD] = hunter2\\n")
'env[DB_PASSWORD] = <redacted>\\n'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sockdoc.parsers.errors import ParseError, decimal

# sapi/fpm/fpm/fpm_sockets.h FPM_BACKLOG_DEFAULT on Linux: -1 since PHP 8.2, 511 before.
DEFAULT_BACKLOG = -1
DEFAULT_BACKLOG_BEFORE_8_2 = 511
PM_STYLES = ("static", "dynamic", "ondemand")
MASK = "<redacted>"

_SECTION = re.compile(r"\[(?P<name>[^\]]*)\]\s*(?:;.*)?")
_KEY = re.compile(r"[A-Za-z0-9_.\-]+(?:\[[^\]]*\])?")
_VERSION = re.compile(r"/php/(?P<major>[0-9]+)\.(?P<minor>[0-9]+)/")
# Zend INI: these unquoted words are booleans (Zend/zend_ini_scanner.l).
_TRUE = {"yes", "on", "true"}
_FALSE = {"no", "off", "false", "none", "null"}
# "[21-Nov-2026 21:14:31] NOTICE: " and, at log_level debug, "pid 4823, fpm_conf_dump(),
# line 1720: " after it (sapi/fpm/fpm/zlog.c).
_LOG = re.compile(
    r"(?:\[(?P<time>[^\]]*)\] )?(?P<level>DEBUG|NOTICE|WARNING|ERROR|ALERT): "
    r"(?:pid [0-9]+, [A-Za-z0-9_]+\(\), line [0-9]+: )?(?P<msg>.*)"
)
_DUMP_VALUE = re.compile(r"\t(?P<key>\S+) = (?P<value>.*)")
_SUCCESS = re.compile(r"configuration file .* test is successful")
_POOL_KEYS = {
    "listen",
    "listen.backlog",
    "pm",
    "pm.max_children",
    "pm.start_servers",
    "pm.min_spare_servers",
    "pm.max_spare_servers",
}
_SECRET = re.compile(
    r"passw(?:or)?d|passphrase|secret|token|api[-_]?key|credential|private[-_]?key",
    re.IGNORECASE,
)
_ARRAY_SETTING = re.compile(
    r"(?P<head>(?:env|php_value|php_admin_value|php_flag|php_admin_flag)"
    r"\[(?P<name>[^\]]*)\]\s*=\s*)(?P<value>.*)"
)


@dataclass(frozen=True)
class PhpFpmPool:
    """One pool as php-fpm runs it.

    ``listen`` is the address as configured: a UNIX socket path, ``host:port``, ``[v6]:port``
    or a port alone (all addresses). ``listen_backlog`` is the number php-fpm passes to
    listen(2), None when negative (the kernel then uses ``net.core.somaxconn``). ``pm`` is
    ``static``, ``dynamic`` or ``ondemand``; the spare and start counts are None unless
    ``dynamic``. ``file`` is the pool file (or the dump's source).
    """

    name: str
    listen: str
    listen_backlog: int | None
    pm: str
    max_children: int
    start_servers: int | None
    min_spare: int | None
    max_spare: int | None
    file: str

    @property
    def unix_path(self) -> str | None:
        """The socket path when the pool listens on a UNIX socket."""
        # fpm_sockets.c fpm_sockets_domain_from_address(): a ":" means inet, digits alone a
        # port, anything else a path.
        if ":" in self.listen or self.listen.isdigit():
            return None
        return self.listen

    @property
    def port(self) -> int | None:
        """The TCP port when the pool listens on TCP."""
        if self.listen.isdigit():
            return int(self.listen)
        tail = self.listen.rsplit(":", 1)[-1] if ":" in self.listen else ""
        return int(tail) if tail.isdigit() else None

    def accept_queue_limit(self, somaxconn: int) -> int:
        """The accept queue the kernel grants: the backlog capped at ``net.core.somaxconn``."""
        if self.listen_backlog is None:
            return somaxconn
        return min(self.listen_backlog, somaxconn)


def default_backlog(php_version: tuple[int, int] | None) -> int:
    """php-fpm's ``listen.backlog`` default on Linux; unknown versions count as 8.2+."""
    if php_version is not None and php_version < (8, 2):
        return DEFAULT_BACKLOG_BEFORE_8_2
    return DEFAULT_BACKLOG


def php_version_from_path(path: str) -> tuple[int, int] | None:
    """``(8, 2)`` from a Debian path such as ``/etc/php/8.2/fpm/pool.d/www.conf``."""
    m = _VERSION.search(path)
    return None if m is None else (int(m["major"]), int(m["minor"]))


# ---------------------------------------------------------------- pool files


@dataclass
class _Raw:
    name: str
    file: str
    lineno: int
    line: str
    values: dict[str, tuple[str, str, int, str]] = field(default_factory=dict)


def parse_pool_files(
    files: Sequence[tuple[str, str]], php_version: tuple[int, int] | None = None
) -> tuple[PhpFpmPool, ...]:
    """Pools from ``(path, text)`` pairs, in php-fpm's include order (glob order: sorted).

    ``php_version`` picks the backlog default; when None it is read from the first path
    (``/etc/php/8.2/...``), and a path without one counts as PHP 8.2 or later.
    """
    if php_version is None and files:
        php_version = php_version_from_path(files[0][0])
    pools: dict[str, _Raw] = {}
    for path, text in files:
        _read_ini(path, text, pools)
    backlog = default_backlog(php_version)
    return tuple(_pool(raw, backlog) for raw in pools.values())


def parse_pool_file(
    text: str, source: str = "pool.conf", php_version: tuple[int, int] | None = None
) -> tuple[PhpFpmPool, ...]:
    """The pools of one file (see :func:`parse_pool_files`)."""
    return parse_pool_files([(source, text)], php_version)


def _read_ini(path: str, text: str, pools: dict[str, _Raw]) -> None:
    current: _Raw | None = None
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith("["):
            m = _SECTION.fullmatch(stripped)
            if m is None or not m["name"].strip():
                raise ParseError(path, lineno, line, "expected '[pool name]'")
            name = m["name"].strip()
            if name == "global":
                current = None
                continue
            current = pools.get(name)
            if current is None:
                current = pools[name] = _Raw(name, path, lineno, line)
            continue
        key, eq, rest = stripped.partition("=")
        key = key.strip()
        if not eq or _KEY.fullmatch(key) is None:
            raise ParseError(path, lineno, line, "expected 'key = value'")
        value = _ini_value(rest, path, lineno, line)
        if current is not None and key in _POOL_KEYS:
            current.values[key] = (value.replace("$pool", current.name), path, lineno, line)


def _ini_value(rest: str, path: str, lineno: int, line: str) -> str:
    rest = rest.strip()
    if rest[:1] in ('"', "'"):
        quote = rest[0]
        end = 1
        while end < len(rest) and rest[end] != quote:
            end += 2 if rest[end] == "\\" and quote == '"' else 1
        if end >= len(rest):
            raise ParseError(path, lineno, line, f"no closing {quote}")
        after = rest[end + 1 :].strip()
        if after and not after.startswith(";"):
            raise ParseError(path, lineno, line, f"unexpected text after the closing {quote}")
        body = rest[1:end]
        return re.sub(r'\\(["\\])', r"\1", body) if quote == '"' else body
    value = rest.split(";", 1)[0].strip()
    if value.lower() in _TRUE:
        return "1"
    if value.lower() in _FALSE:
        return ""
    return value


def _pool(raw: _Raw, default: int) -> PhpFpmPool:
    def number(key: str) -> int | None:
        found = raw.values.get(key)
        if found is None:
            return None
        value, path, lineno, line = found
        # fpm_conf_set_integer(): an optional "-" and digits.
        return decimal(value, path, lineno, line, key)

    def fail(reason: str) -> ParseError:
        return ParseError(raw.file, raw.lineno, raw.line, f"pool {raw.name!r}: {reason}")

    listen = raw.values.get("listen", ("",))[0]
    pm = raw.values.get("pm", ("",))[0].lower()
    return _checked(
        raw.name,
        listen,
        number("listen.backlog"),
        pm,
        number("pm.max_children"),
        number("pm.start_servers"),
        number("pm.min_spare_servers"),
        number("pm.max_spare_servers"),
        raw.file,
        default,
        fail,
    )


def _checked(
    name: str,
    listen: str,
    backlog: int | None,
    pm: str,
    max_children: int | None,
    start: int | None,
    min_spare: int | None,
    max_spare: int | None,
    file: str,
    default: int,
    fail: Callable[[str], ParseError],
) -> PhpFpmPool:
    # The checks and defaults of fpm_conf_process_all_pools().
    if not listen:
        raise fail("no listen address")
    if pm not in PM_STYLES:
        raise fail(f"pm is {pm!r}, not static, dynamic or ondemand" if pm else "no pm")
    if max_children is None or max_children < 1:
        raise fail("pm.max_children must be at least 1")
    if backlog is None:
        backlog = default
    if pm == "dynamic":
        if min_spare is None or max_spare is None or min_spare < 1 or max_spare < min_spare:
            raise fail("a dynamic pool needs 1 <= pm.min_spare_servers <= pm.max_spare_servers")
        if start is None or start <= 0:
            start = min_spare + (max_spare - min_spare) // 2
    else:
        start = min_spare = max_spare = None
        if pm == "ondemand" and backlog < default:
            backlog = default
    return PhpFpmPool(
        name=name,
        listen=listen,
        listen_backlog=backlog if backlog >= 0 else None,
        pm=pm,
        max_children=max_children,
        start_servers=start,
        min_spare=min_spare,
        max_spare=max_spare,
        file=file,
    )


# ---------------------------------------------------------------- php-fpm -tt


def parse_fpm_dump(text: str, source: str = "php-fpm -tt") -> tuple[PhpFpmPool, ...]:
    """Pools from ``php-fpmX.Y -tt`` output (its stderr); values are already effective."""
    lines = text.split("\n")
    if not text.strip():
        raise ParseError(
            source, None, None, "empty: php-fpm prints no -tt dump when log_level is above notice"
        )
    sections: list[tuple[str, int, str, dict[str, tuple[str, int, str]]]] = []
    values: dict[str, tuple[str, int, str]] | None = None
    succeeded = False
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        m = _LOG.fullmatch(line)
        if m is None:
            raise ParseError(source, lineno, line, "expected a php-fpm log line ('NOTICE: ...')")
        msg = m["msg"]
        if m["level"] in ("ERROR", "ALERT"):
            raise ParseError(source, lineno, line, "php-fpm rejected its configuration")
        if m["level"] != "NOTICE":
            continue
        if _SUCCESS.fullmatch(msg):
            succeeded = True
            values = None
            continue
        section = _SECTION.fullmatch(msg)
        if section is not None and msg.startswith("["):
            values = {}
            if section["name"] != "global":
                sections.append((section["name"], lineno, line, values))
            continue
        if not msg.strip():
            values = None
            continue
        kv = _DUMP_VALUE.fullmatch(msg)
        if kv is None or values is None:
            raise ParseError(source, lineno, line, "expected '<TAB>key = value' in a section")
        values[kv["key"]] = (kv["value"], lineno, line)
    if not succeeded:
        raise ParseError(source, None, None, "no 'test is successful' line: output cut short")
    if not sections:
        raise ParseError(source, None, None, "no pool in the dump")
    return tuple(
        _dump_pool(name, lineno, line, vals, source) for name, lineno, line, vals in sections
    )


def _dump_pool(
    name: str, lineno: int, line: str, values: dict[str, tuple[str, int, str]], source: str
) -> PhpFpmPool:
    def text(key: str) -> str:
        found = values.get(key)
        if found is None:
            raise ParseError(source, lineno, line, f"pool {name!r}: no {key} in the dump")
        return "" if found[0] == "undefined" else found[0]

    def number(key: str) -> int:
        value = text(key)
        _, at, at_line = values[key]
        return decimal(value, source, at, at_line, key)

    def fail(reason: str) -> ParseError:
        return ParseError(source, lineno, line, f"pool {name!r}: {reason}")

    # The dump shows the values php-fpm settled on, so the default below is never needed.
    return _checked(
        name,
        text("listen"),
        number("listen.backlog"),
        text("pm"),
        number("pm.max_children"),
        number("pm.start_servers"),
        number("pm.min_spare_servers"),
        number("pm.max_spare_servers"),
        source,
        DEFAULT_BACKLOG,
        fail,
    )


# ---------------------------------------------------------------- redaction


def redact_phpfpm(text: str) -> str:
    """Pool files or a ``-tt`` dump with secret-looking values replaced by ``<redacted>``.

    Masked: ``env[NAME]``, ``php_value[NAME]``, ``php_admin_value[NAME]`` (and the ``_flag``
    forms) whose NAME looks like a password, secret, token or key, commented out or not.
    """
    out: list[str] = []
    for line in text.split("\n"):
        m = _ARRAY_SETTING.search(line)
        if m is not None and _SECRET.search(m["name"]) and m["value"].strip():
            out.append(line[: m.start("value")] + MASK)
        else:
            out.append(line)
    return "\n".join(out)
