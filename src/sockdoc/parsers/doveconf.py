"""Dovecot's configuration as printed by ``doveconf -n`` (changed settings) or ``-a`` (all).

Both print the same syntax (src/config/doveconf.c ``config_dump_human_output()``): a header
comment with the version and the config file, more comments (Pigeonhole version, OS, hostname),
then one ``key = value`` line per setting and nested sections ``kind [name] {`` ... ``}``
(``service imap {``, ``inet_listener imaps {``, ``mailbox "Sent Messages" {``, the filters
``protocol imap {``, ``local 10.0.0.1 {``). A value is printed in double quotes, with ``\\`` before
``"``, ``'`` and ``\\``, when it holds ``#`` or starts or ends with white space; so an unquoted
value starting with ``#`` is doveconf's own mask: ``# hidden, use -P to show it`` (settings named
``*_password``, ``*_key``, ``*_nonce``, ``ssl_dh``) or ``#hidden_use-P_to_show#`` inside a value
(after ``pass``/``key``/``secret`` and in URL user parts). ``doveconf -P`` prints them all.

``-n`` leaves out every setting at its default, so a service missing from it (or a limit missing
from its section) runs with the built-in value: :func:`effective_service` fills those in the way
the master process does. :func:`redact_doveconf` masks what ``-P`` would show, and what doveconf
does not hide itself (``import_environment = LDAP_PASSWORD=...``, ``Authorization: Basic ...``).

Sample content (``doveconf -n``, shortened)::

    # 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf
    # Pigeonhole version 0.5.19 (4eae2f79)
    default_client_limit = 2000
    import_environment = TZ DOVECOT_HOSTDOMAIN=mail.example.com
    protocols = " imap sieve pop3"
    service imap-login {
      process_min_avail = 4
      service_count = 0
    }
    service imap {
      client_limit = 5
    }
    ssl_key = # hidden, use -P to show it

Examples:

>>> conf = parse_doveconf(
...     "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\\n"
...     "default_client_limit = 2000\\n"
...     "protocols = \\" imap pop3\\"\\n"
...     "service imap-login {\\n"
...     "  service_count = 0\\n"
...     "}\\n"
...     "service imap {\\n"
...     "  client_limit = 5\\n"
...     "}\\n"
... )
>>> conf.version, conf.settings["protocols"]
('2.3.19.1', ' imap pop3')
>>> conf.service("imap").client_limit, conf.service("imap").process_limit is None
(5, True)
>>> login = effective_service(conf, "imap-login")
>>> (login.client_limit, login.process_limit, high_performance_login(login))
(2000, 100, True)
>>> imap = effective_service(conf, "imap")
>>> (imap.client_limit, imap.process_limit, imap.service_count, listen_backlog(imap))
(1, 1024, 1, 1024)
>>> redact_doveconf("ssl_key_password = s3cret\\npassdb {\\n  args = password=x user=u\\n}\\n")
'ssl_key_password = <redacted>\\npassdb {\\n  args = password=<redacted> user=u\\n}\\n'
>>> parse_doveconf("service imap {\\n  client_limit = x\\n}\\n")
Traceback (most recent call last):
    ...
sockdoc.parsers.errors.ParseError: doveconf:2: client_limit is not a decimal integer ('x'): ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sockdoc.parsers.errors import ParseError, decimal, lines_of

SOURCE = "doveconf"
REDACTED = "<redacted>"
# doveconf prints a size setting left at "use the default" as UOFF_T_MAX bytes.
UNSET_SIZE = "18446744073709551615 B"

_HEADER = re.compile(
    r"# (?P<version>[0-9]+\.[0-9][0-9A-Za-z.~+-]*)(?: \((?P<build>[0-9a-f]+)\))?: (?P<path>.+)"
)
_SETTING = re.compile(r"(?P<key>[^\s={}\"]+)\s*=(?: ?(?P<value>.*))?")
_SECTION = re.compile(
    r"(?P<kind>[^\s={}\"]+)(?:\s+(?P<name>\"(?:[^\"\\]|\\.)*\"|[^\s{}\"]+))?\s*\{"
)
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class InetListener:
    """One ``inet_listener NAME { }`` of a service; None where the text does not set a field.

    An empty ``address`` (the ``-a`` default) is None: the listener uses the global ``listen``.
    ``port = 0`` disables the listener.
    """

    name: str
    address: str | None = None
    port: int | None = None
    ssl: bool | None = None


@dataclass(frozen=True)
class DovecotService:
    """One ``service NAME { }`` section; None where the text does not set a value.

    ``client_limit = 0`` and ``process_limit = 0`` (what ``-a`` prints for most services) mean
    "use ``default_client_limit`` / ``default_process_limit``"; ``vsz_limit`` is the text as
    printed (``"256 M"``, or :data:`UNSET_SIZE` for "use ``default_vsz_limit``").
    ``unix_listeners`` are socket paths relative to ``base_dir`` (``login/imap``).
    """

    name: str
    type: str | None = None
    protocol: str | None = None
    client_limit: int | None = None
    process_limit: int | None = None
    service_count: int | None = None
    process_min_avail: int | None = None
    vsz_limit: str | None = None
    unix_listeners: tuple[str, ...] = ()
    inet_listeners: tuple[InetListener, ...] = ()


@dataclass(frozen=True)
class DovecotSection:
    """Any section (``namespace inbox``, ``passdb``, ``protocol imap``...) with its contents."""

    kind: str
    name: str | None
    settings: tuple[tuple[str, str], ...]
    sections: tuple[DovecotSection, ...]

    def get(self, key: str) -> str | None:
        """The value of ``key`` in this section (not in sub-sections), None when absent."""
        for k, v in self.settings:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class DovecotConfig:
    """A parsed ``doveconf -n`` / ``-a``.

    ``settings`` holds the top-level settings (values unquoted); ``sections`` every top-level
    section in order, services included; ``import_environment`` the words of that setting
    (empty when it is not printed: Dovecot's default then applies). ``warnings`` keeps lines
    doveconf wrote to stderr (``doveconf: Warning: ...``) when they were captured with stdout.
    """

    version: str | None
    build: str | None
    config_path: str | None
    settings: Mapping[str, str]
    sections: tuple[DovecotSection, ...]
    services: tuple[DovecotService, ...]
    import_environment: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", dict(self.settings))

    def service(self, name: str) -> DovecotService | None:
        """The ``service NAME`` section as printed, None when the text has none."""
        for svc in self.services:
            if svc.name == name:
                return svc
        return None


@dataclass
class _Open:
    kind: str
    name: str | None
    lineno: int
    line: str
    # (key, value, line number, line) of each setting, in order.
    items: list[tuple[str, str, int, str]] = field(default_factory=list)
    children: list[_Open] = field(default_factory=list)

    def section(self) -> DovecotSection:
        return DovecotSection(
            self.kind,
            self.name,
            tuple((k, v) for k, v, _, _ in self.items),
            tuple(child.section() for child in self.children),
        )

    def find(self, key: str) -> tuple[str, int, str] | None:
        for k, v, lineno, line in self.items:
            if k == key:
                return v, lineno, line
        return None


def parse_doveconf(text: str, source: str = SOURCE) -> DovecotConfig:
    """Parse the output of ``doveconf -n`` or ``doveconf -a`` (with or without ``-P``)."""
    root, header, warnings = _read_tree(lines_of(text, source), source)
    services: list[DovecotService] = []
    for child in root.children:
        if child.kind != "service":
            continue
        if not child.name:
            raise ParseError(source, child.lineno, child.line, "service without a name")
        if any(svc.name == child.name for svc in services):
            raise ParseError(source, child.lineno, child.line, f"service {child.name!r} twice")
        services.append(_service(child, source))
    for key, value, lineno, line in root.items:
        # effective_service() divides work by these; check them where the line is known.
        if key in ("default_client_limit", "default_process_limit") and (
            decimal(value, source, lineno, line, key) <= 0
        ):
            raise ParseError(source, lineno, line, f"{key} is not a positive number")
    settings = {k: v for k, v, _, _ in root.items}
    return DovecotConfig(
        version=None if header is None else header["version"],
        build=None if header is None else header["build"],
        config_path=None if header is None else header["path"],
        settings=settings,
        sections=tuple(child.section() for child in root.children),
        services=tuple(services),
        import_environment=tuple(settings.get("import_environment", "").split()),
        warnings=tuple(warnings),
    )


def _read_tree(lines: list[str], source: str) -> tuple[_Open, re.Match[str] | None, list[str]]:
    header: re.Match[str] | None = None
    warnings: list[str] = []
    stack: list[_Open] = [_Open("", None, 0, "")]
    seen_setting = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            # Only a comment before the first setting can be the header.
            if header is None and not seen_setting:
                header = _HEADER.fullmatch(line)
            continue
        if line.startswith("doveconf: "):
            warnings.append(line)
            continue
        seen_setting = True
        top = stack[-1]
        if line == "}":
            if len(stack) == 1:
                raise ParseError(source, lineno, raw, "'}' without an open section")
            stack.pop()
            stack[-1].children.append(top)
            continue
        m = _SETTING.fullmatch(line)
        if m is not None:
            key = m["key"]
            if top.find(key) is not None:
                raise ParseError(source, lineno, raw, f"{key!r} appears twice in one section")
            top.items.append((key, _unquote(m["value"] or ""), lineno, raw))
            continue
        m = _SECTION.fullmatch(line)
        if m is None:
            raise ParseError(source, lineno, raw, "expected 'key = value', 'kind [name] {' or '}'")
        name = m["name"]
        if name is not None and name.startswith('"'):
            name = _unquote(name)
        stack.append(_Open(m["kind"], name, lineno, raw))
    if len(stack) > 1:
        top = stack[-1]
        raise ParseError(source, top.lineno, top.line, "section not closed at the end")
    return stack[0], header, warnings


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return _UNESCAPE.sub(r"\1", value[1:-1])
    return value


def _uint(sec: _Open, key: str, source: str) -> int | None:
    found = sec.find(key)
    if found is None:
        return None
    value, lineno, line = found
    number = decimal(value, source, lineno, line, key)
    if number < 0:
        raise ParseError(source, lineno, line, f"{key} is negative")
    return number


def _service(sec: _Open, source: str) -> DovecotService:
    inet: list[InetListener] = []
    unix: list[str] = []
    for sub in sec.children:
        if sub.kind == "unix_listener":
            unix.append(sub.name or "")
        if sub.kind != "inet_listener":
            continue
        port = _uint(sub, "port", source)
        found = sub.find("port")
        if port is not None and port > 65535 and found is not None:
            raise ParseError(source, found[1], found[2], f"port {port} is out of range")
        ssl = sub.find("ssl")
        if ssl is not None and ssl[0] not in ("yes", "no"):
            raise ParseError(source, ssl[1], ssl[2], "ssl is neither yes nor no")
        address = sub.find("address")
        inet.append(
            InetListener(
                name=sub.name or "",
                address=(address[0] or None) if address is not None else None,
                port=port,
                ssl=None if ssl is None else ssl[0] == "yes",
            )
        )
    found_type = sec.find("type")
    found_protocol = sec.find("protocol")
    found_vsz = sec.find("vsz_limit")
    return DovecotService(
        name=sec.name or "",
        type=None if found_type is None else found_type[0],
        protocol=None if found_protocol is None else found_protocol[0],
        client_limit=_uint(sec, "client_limit", source),
        process_limit=_uint(sec, "process_limit", source),
        service_count=_uint(sec, "service_count", source),
        process_min_avail=_uint(sec, "process_min_avail", source),
        vsz_limit=None if found_vsz is None else found_vsz[0],
        unix_listeners=tuple(unix),
        inet_listeners=tuple(inet),
    )


def _builtin(
    name: str,
    type_: str,
    protocol: str,
    limits: tuple[int, int, int, int],
    unix: tuple[str, ...] = (),
    inet: tuple[tuple[str, int, bool], ...] = (),
) -> DovecotService:
    min_avail, process_limit, client_limit, service_count = limits
    return DovecotService(
        name=name,
        type=type_,
        protocol=protocol,
        client_limit=client_limit,
        process_limit=process_limit,
        service_count=service_count,
        process_min_avail=min_avail,
        vsz_limit=UNSET_SIZE,
        unix_listeners=unix,
        inet_listeners=tuple(InetListener(n, None, port, ssl) for n, port, ssl in inet),
    )


# The services of Dovecot 2.3.19.1 (and Pigeonhole 0.5.19 for managesieve*) at their built-in
# defaults, limits as (process_min_avail, process_limit, client_limit, service_count); 0 means
# "default_*". Read from each program's service_settings in dovecot/core at tag 2.3.19.1
# (src/imap/imap-settings.c, src/imap-login/imap-login-settings.c, src/pop3/pop3-settings.c,
# src/lmtp/lmtp-settings.c, src/auth/auth-settings.c, src/anvil/anvil-settings.c, ...) and
# checked line for line against `doveconf -a` of Debian 12's dovecot 2.3.19.1, whose own
# configuration leaves every service at its default (tests/fixtures/daemons/dovecot/).
BUILTIN_SERVICES: dict[str, DovecotService] = {
    svc.name: svc
    for svc in (
        _builtin("aggregator", "", "", (0, 0, 0, 0), ("replication-notify",)),
        _builtin("anvil", "anvil", "", (1, 1, 0, 0), ("anvil-auth-penalty", "anvil")),
        _builtin("auth-worker", "worker", "", (0, 0, 1, 0), ("auth-worker",)),
        _builtin(
            "auth",
            "",
            "",
            (0, 1, 0, 0),
            (
                "auth-client",
                "auth-login",
                "auth-master",
                "auth-userdb",
                "login/login",
                "token-login/tokenlogin",
            ),
        ),
        _builtin("config", "config", "", (0, 0, 0, 0), ("config",)),
        _builtin("dict-async", "", "", (0, 0, 0, 0), ("dict-async",)),
        _builtin("dict", "", "", (0, 0, 1, 0), ("dict",)),
        _builtin(
            "director",
            "",
            "",
            (0, 1, 0, 0),
            ("director-admin", "director-userdb", "login/director"),
            (("", 0, False),),
        ),
        _builtin("dns-client", "", "", (0, 0, 1, 0), ("dns-client", "login/dns-client")),
        _builtin("doveadm", "", "", (0, 0, 1, 1), ("doveadm-server",)),
        _builtin("health-check", "", "", (0, 0, 1, 0)),
        _builtin("imap-hibernate", "", "imap", (0, 0, 0, 0), ("imap-hibernate",)),
        _builtin(
            "imap-login",
            "login",
            "imap",
            (0, 0, 0, 1),
            (),
            (("imap", 143, False), ("imaps", 993, True)),
        ),
        _builtin("imap-urlauth-login", "login", "imap", (0, 0, 0, 1), ("imap-urlauth",)),
        _builtin("imap-urlauth-worker", "", "imap", (0, 1024, 1, 1), ("imap-urlauth-worker",)),
        _builtin("imap-urlauth", "", "imap", (0, 1024, 1, 1), ("token-login/imap-urlauth",)),
        _builtin("imap", "", "imap", (0, 1024, 1, 1), ("imap-master", "login/imap")),
        _builtin("indexer-worker", "worker", "", (0, 10, 1, 0), ("indexer-worker",)),
        _builtin("indexer", "", "", (0, 1, 0, 0), ("indexer",)),
        _builtin("ipc", "", "", (0, 1, 0, 0), ("ipc", "login/ipc-proxy")),
        _builtin("lmtp", "", "lmtp", (0, 0, 1, 0), ("lmtp",)),
        _builtin("log", "log", "", (0, 1, 0, 0), ("log-errors",)),
        _builtin(
            "managesieve-login", "login", "sieve", (0, 0, 0, 1), (), (("sieve", 4190, False),)
        ),
        _builtin("managesieve", "", "sieve", (0, 0, 1, 1), ("login/sieve",)),
        _builtin("old-stats", "", "", (0, 1, 0, 0), ("old-stats",)),
        _builtin(
            "pop3-login",
            "login",
            "pop3",
            (0, 0, 0, 1),
            (),
            (("pop3", 110, False), ("pop3s", 995, True)),
        ),
        _builtin("pop3", "", "pop3", (0, 1024, 1, 1), ("login/pop3",)),
        _builtin("replicator", "", "", (0, 1, 0, 0), ("replicator-doveadm", "replicator")),
        _builtin(
            "stats", "", "", (0, 1, 0, 0), ("login/stats-writer", "stats-reader", "stats-writer")
        ),
        _builtin(
            "submission-login",
            "login",
            "submission",
            (0, 0, 0, 1),
            (),
            (("submission", 587, False),),
        ),
        _builtin("submission", "", "submission", (0, 1024, 1, 1), ("login/submission",)),
        _builtin("tcpwrap", "", "", (0, 0, 1, 0)),
    )
}
# A service the configuration adds itself starts from the master's service defaults
# (src/master/master-settings.c service_default_settings): every limit 0, so "default_*".
_CUSTOM = DovecotService(
    name="",
    type="",
    protocol="",
    client_limit=0,
    process_limit=0,
    service_count=0,
    process_min_avail=0,
    vsz_limit=UNSET_SIZE,
)
# src/master/master-settings.c master_default_settings.
DEFAULT_CLIENT_LIMIT = 1000
DEFAULT_PROCESS_LIMIT = 100
DEFAULT_VSZ_LIMIT = "256 M"
# src/master/service-listen.c: the listen() backlog never goes below this.
MIN_BACKLOG = 4
_INT_MAX = 2**31 - 1


def effective_service(config: DovecotConfig, name: str) -> DovecotService:
    """Service ``name`` with the values the Dovecot 2.3 master process actually uses.

    Unset values come from the built-in service defaults (:data:`BUILTIN_SERVICES`); a
    ``client_limit`` / ``process_limit`` of 0 becomes ``default_client_limit`` (1000) /
    ``default_process_limit`` (100) of the same config; ``vsz_limit`` left at
    :data:`UNSET_SIZE` becomes ``default_vsz_limit``. As in the master's ``service_create()``
    (src/master/service.c), ``client_limit`` is then capped at ``service_count`` when that is
    not 0: with imap's built-in ``service_count = 1`` a ``client_limit = 5`` has no effect.
    Listeners are the built-in ones, overridden field by field by those of the same name in the
    text, plus those the text adds. KeyError when the service is neither in the text nor built in.
    """
    parsed = config.service(name)
    base = BUILTIN_SERVICES.get(name)
    if parsed is None and base is None:
        raise KeyError(name)
    if base is None:
        base = replace(_CUSTOM, name=name)
    if parsed is None:
        parsed = DovecotService(name=name)
    client_limit = _pick(parsed.client_limit, base.client_limit)
    process_limit = _pick(parsed.process_limit, base.process_limit)
    service_count = _pick(parsed.service_count, base.service_count)
    if client_limit == 0:
        client_limit = _global(config, "default_client_limit", DEFAULT_CLIENT_LIMIT)
    if process_limit == 0:
        process_limit = _global(config, "default_process_limit", DEFAULT_PROCESS_LIMIT)
    if 0 < service_count < client_limit:
        client_limit = service_count
    vsz_limit = parsed.vsz_limit if parsed.vsz_limit is not None else base.vsz_limit
    if vsz_limit is None or vsz_limit == UNSET_SIZE:
        vsz_limit = config.settings.get("default_vsz_limit", DEFAULT_VSZ_LIMIT)
    # In doveconf's order (it sorts "PATH/setting" strings, so "anvil-x" comes before "anvil").
    unix = tuple(
        sorted(set(base.unix_listeners) | set(parsed.unix_listeners), key=lambda p: p + "/")
    )
    return DovecotService(
        name=name,
        type=parsed.type if parsed.type is not None else base.type,
        protocol=parsed.protocol if parsed.protocol is not None else base.protocol,
        client_limit=client_limit,
        process_limit=process_limit,
        service_count=service_count,
        process_min_avail=_pick(parsed.process_min_avail, base.process_min_avail),
        vsz_limit=vsz_limit,
        unix_listeners=unix,
        inet_listeners=_merge_inet(base.inet_listeners, parsed.inet_listeners),
    )


def _pick(value: int | None, default: int | None) -> int:
    if value is not None:
        return value
    return 0 if default is None else default


def _global(config: DovecotConfig, key: str, default: int) -> int:
    text = config.settings.get(key)
    if text is None:
        return default
    value = decimal(text, SOURCE, None, None, key)
    if value <= 0:
        raise ParseError(SOURCE, None, None, f"{key} is {value}, not a positive number")
    return value


def _merge_inet(
    base: tuple[InetListener, ...], parsed: tuple[InetListener, ...]
) -> tuple[InetListener, ...]:
    by_name = {lst.name: lst for lst in parsed}
    merged: list[InetListener] = []
    for lst in base:
        over = by_name.pop(lst.name, None)
        if over is None:
            merged.append(lst)
        else:
            merged.append(
                InetListener(
                    name=lst.name,
                    address=over.address if over.address is not None else lst.address,
                    port=over.port if over.port is not None else lst.port,
                    ssl=over.ssl if over.ssl is not None else lst.ssl,
                )
            )
    # A listener the text adds starts from src/master/master-settings.c
    # inet_listener_default_settings: no address (the global "listen"), port 0, no ssl.
    merged.extend(
        InetListener(
            name=lst.name,
            address=lst.address,
            port=0 if lst.port is None else lst.port,
            ssl=False if lst.ssl is None else lst.ssl,
        )
        for lst in by_name.values()
    )
    return tuple(merged)


def is_login_service(service: DovecotService) -> bool:
    """True for a login process (``type = login``; by name ``*-login`` when the type is unset)."""
    if service.type is not None:
        return service.type == "login"
    builtin = BUILTIN_SERVICES.get(service.name)
    if builtin is not None:
        return builtin.type == "login"
    return service.name.endswith("-login")


def high_performance_login(service: DovecotService) -> bool:
    """True for a login service in "high-performance mode": ``service_count`` other than 1.

    Then one login process serves many connections (up to ``client_limit``), instead of one
    process per connection (the built-in ``service_count = 1``, "high-security mode"). An unset
    ``service_count`` counts as the built-in value; pass :func:`effective_service` to be sure.
    """
    if not is_login_service(service):
        return False
    count = service.service_count
    if count is None:
        builtin = BUILTIN_SERVICES.get(service.name)
        count = 1 if builtin is None else builtin.service_count
    return count != 1


def listen_backlog(service: DovecotService) -> int:
    """The ``listen()`` backlog the master gives each of the service's sockets.

    ``process_limit * client_limit``, at least 4 (src/master/service-listen.c
    ``service_get_backlog()``); the kernel then caps it at ``net.core.somaxconn``. Pass an
    :func:`effective_service`: ValueError when a limit is unset or 0.
    """
    if not service.process_limit or not service.client_limit:
        raise ValueError(f"service {service.name}: process_limit and client_limit must be set")
    return max(min(service.process_limit * service.client_limit, _INT_MAX), MIN_BACKLOG)


# Setting names whose whole value is a secret: doveconf's own list (src/config/doveconf.c
# hide_secrets_from_value(): *_password, *_key, *_nonce) plus *_secret, *_token and the policy
# server's HTTP header (auth_policy_server_api_header = Authorization: Basic ...), which
# doveconf prints in clear. "pass = yes" in a passdb and *_passwords booleans stay.
_SECRET_NAME = re.compile(r"(?:^|_)(?:password|key|nonce|secret|token)$|_api_header$")
# NAME=VALUE inside a value (passdb args, dict URIs, import_environment), any case.
_SECRET_PAIR = re.compile(
    r"(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z0-9_.-]*(?:pass|secret|key|token|nonce|pwd)[A-Za-z0-9_.-]*=)"
    r"(?P<value>[^\s\"]+)",
    re.IGNORECASE,
)
# scheme://user:password@host
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/@\"]+)@")
_KEY = re.compile(r"[^\s={}\"#]+")
_HIDDEN = "# hidden, use -P to show it"
_HIDDEN_PART = "#hidden_use-P_to_show#"


def redact_doveconf(text: str) -> str:
    """``text`` (doveconf output) with passwords, keys and other secrets replaced by
    ``<redacted>``; every other byte is kept, so the service limits still parse the same.

    Never raises: a line that does not parse is still searched for ``NAME=secret`` pairs and URL
    user parts.
    """
    out: list[str] = []
    for line in text.split("\n"):
        eq = line.find("=")
        key = line[:eq].strip() if eq >= 0 else ""
        if key and _KEY.fullmatch(key):
            value = line[eq + 1 :]
            shown = value[1:] if value.startswith(" ") else value
            if _SECRET_NAME.search(key) and shown.strip() and shown.rstrip() != _HIDDEN:
                out.append(line[: eq + 1] + " " + REDACTED)
            else:
                out.append(line[: eq + 1] + _redact_parts(value))
        else:
            out.append(_redact_parts(line))
    return "\n".join(out)


def _redact_parts(text: str) -> str:
    if "=" not in text and "://" not in text:
        return text
    text = _URL_USERINFO.sub(
        lambda m: m[0] if m["userinfo"] == _HIDDEN_PART else f"{m['scheme']}{REDACTED}@", text
    )
    return _SECRET_PAIR.sub(
        lambda m: m[0] if m["value"] == _HIDDEN_PART else m["name"] + REDACTED, text
    )
