"""Dovecot and BIND configuration parsers and BIND's statistics channel, on real captures.

Fixtures (tests/fixtures/daemons/{dovecot,bind}/, see the README in each) were captured on
Debian 12 from dovecot 2.3.19.1 (``doveconf -n`` / ``-a`` / ``-n -P``) and BIND 9.18.49
(``named-checkconf -p`` / ``-px``, ``named -v``, the statistics channel in JSON and XML from a
named that had 7 IPv4 and 3 IPv6 UDP responses refused by an nftables rule, and that named's
``security`` debug log).
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from sockdoc.parsers.bind_stats import (
    SECTIONS,
    BindStats,
    parse_bind_stats,
    parse_bind_stats_json,
    parse_bind_stats_xml,
)
from sockdoc.parsers.doveconf import (
    BUILTIN_SERVICES,
    REDACTED,
    DovecotService,
    InetListener,
    effective_service,
    high_performance_login,
    is_login_service,
    listen_backlog,
    parse_doveconf,
    redact_doveconf,
)
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.named_conf import (
    BUILTIN_CHANNELS,
    BindConfig,
    LogChannel,
    StatsChannel,
    category_channels,
    channel_logs,
    logs_category_at,
    parse_named_conf,
    parse_named_version,
    redact_named_conf,
)

FIXTURES = Path(__file__).parent / "fixtures" / "daemons"
DOVECOT = FIXTURES / "dovecot"
BIND = FIXTURES / "bind"
DOVECOT_CASES = ("debian-default", "imap-limit1", "highperf-login", "listeners-filters")


def dovecot(name: str) -> str:
    return (DOVECOT / name).read_text()


def bind(name: str) -> str:
    return (BIND / name).read_text()


def expect_error(
    parse: Callable[[str], object], text: str, lineno: int | None, fragment: str = ""
) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.lineno == lineno, str(err)
    assert fragment in err.reason, str(err)
    if lineno is not None:
        assert err.line == text.split("\n")[lineno - 1]
    return err


# --- doveconf ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DOVECOT_CASES)
@pytest.mark.parametrize("flag", ["n", "a"])
def test_doveconf_header(case: str, flag: str) -> None:
    conf = parse_doveconf(dovecot(f"{case}.{flag}.txt"))
    assert (conf.version, conf.build) == ("2.3.19.1", "9b53102964")
    expected = "/etc/dovecot/dovecot.conf" if case == "debian-default" else "dovecot.conf"
    assert conf.config_path is not None and conf.config_path.endswith(expected)
    assert conf.warnings == ()


@pytest.mark.parametrize("case", DOVECOT_CASES)
def test_effective_service_from_n_matches_doveconf_a(case: str) -> None:
    """The built-in table plus the -n text gives what doveconf -a prints, for every service."""
    short = parse_doveconf(dovecot(f"{case}.n.txt"))
    full = parse_doveconf(dovecot(f"{case}.a.txt"))
    assert {svc.name for svc in full.services} == set(BUILTIN_SERVICES)
    for svc in full.services:
        assert effective_service(short, svc.name) == effective_service(full, svc.name), svc.name


def test_builtin_table_is_debian_default_a() -> None:
    full = parse_doveconf(dovecot("debian-default.a.txt"))
    for svc in full.services:
        builtin = BUILTIN_SERVICES[svc.name]
        assert svc == replace(builtin, unix_listeners=svc.unix_listeners), svc.name
        assert sorted(svc.unix_listeners) == sorted(builtin.unix_listeners)


def test_debian_default_limits() -> None:
    conf = parse_doveconf(dovecot("debian-default.n.txt"))
    assert conf.services == ()
    assert conf.import_environment == ()
    assert conf.settings["protocols"] == " imap sieve pop3"
    assert conf.settings["ssl_key"] == "# hidden, use -P to show it"
    imap = effective_service(conf, "imap")
    assert (imap.client_limit, imap.process_limit, imap.service_count) == (1, 1024, 1)
    assert imap.unix_listeners == ("imap-master", "login/imap")
    assert imap.vsz_limit == "256 M"
    assert listen_backlog(imap) == 1024
    login = effective_service(conf, "imap-login")
    assert (login.client_limit, login.process_limit, login.service_count) == (1, 100, 1)
    assert login.inet_listeners == (
        InetListener("imap", None, 143, False),
        InetListener("imaps", None, 993, True),
    )
    assert listen_backlog(login) == 100
    assert not high_performance_login(login)
    anvil = effective_service(conf, "anvil")
    assert (anvil.client_limit, anvil.process_limit, anvil.process_min_avail) == (1000, 1, 1)
    namespace = next(sec for sec in conf.sections if sec.kind == "namespace")
    assert namespace.name == "inbox"
    assert [s.name for s in namespace.sections][3] == "Sent Messages"
    assert namespace.get("location") == ""


def test_imap_limit1() -> None:
    for flag in "na":
        conf = parse_doveconf(dovecot(f"imap-limit1.{flag}.txt"))
        parsed = conf.service("imap")
        assert parsed is not None
        assert (parsed.client_limit, parsed.process_limit) == (1, 1)
        imap = effective_service(conf, "imap")
        assert (imap.client_limit, imap.process_limit) == (1, 1)
        # The backlog `ss -xl` showed on login/imap of a live instance of this config.
        assert listen_backlog(imap) == 4


def test_highperf_login() -> None:
    conf = parse_doveconf(dovecot("highperf-login.n.txt"))
    assert conf.import_environment == ("TZ", "DOVECOT_HOSTDOMAIN=mail.example.com")
    assert conf.settings["default_client_limit"] == "2000"
    parsed = conf.service("imap-login")
    assert parsed == DovecotService("imap-login", service_count=0, process_min_avail=4)
    assert high_performance_login(parsed)
    login = effective_service(conf, "imap-login")
    assert (login.client_limit, login.process_limit, login.process_min_avail) == (2000, 100, 4)
    assert high_performance_login(login)
    assert listen_backlog(login) == 200000
    # client_limit = 5 is in the text, but imap's service_count = 1 caps it (service.c).
    imap_text = conf.service("imap")
    assert imap_text is not None and imap_text.client_limit == 5
    imap = effective_service(conf, "imap")
    assert (imap.client_limit, imap.service_count) == (1, 1)
    assert listen_backlog(imap) == 1024
    assert not high_performance_login(imap)
    full = parse_doveconf(dovecot("highperf-login.a.txt"))
    assert full.import_environment == conf.import_environment
    auth = effective_service(full, "auth")
    assert auth.client_limit == 2000


def test_listeners_and_filters() -> None:
    conf = parse_doveconf(dovecot("listeners-filters.n.txt"))
    login = effective_service(conf, "imap-login")
    assert login.inet_listeners == (
        InetListener("imap", None, 10143, False),
        InetListener("imaps", None, 0, True),
        InetListener("extra", "127.0.0.1", 1143, False),
    )
    assert login.unix_listeners == ("my-sock",)
    assert login.vsz_limit == "1 G"
    kinds = [(sec.kind, sec.name) for sec in conf.sections]
    assert ("protocol", "imap") in kinds
    local = next(sec for sec in conf.sections if sec.kind == "local")
    assert local.name == "10.0.0.1"
    assert local.sections[0].get("mail_max_userip_connections") == "20"


def test_login_detection() -> None:
    assert is_login_service(DovecotService("pop3-login"))
    assert is_login_service(DovecotService("my-login"))
    assert not is_login_service(DovecotService("imap-login", type=""))
    assert not high_performance_login(DovecotService("imap-login"))
    assert high_performance_login(DovecotService("submission-login", service_count=100))
    assert not high_performance_login(DovecotService("imap", service_count=0))
    assert high_performance_login(DovecotService("x", type="login", service_count=0))


def test_custom_service_and_unknown() -> None:
    conf = parse_doveconf("default_process_limit = 7\nservice mine {\n  client_limit = 3\n}\n")
    mine = effective_service(conf, "mine")
    assert (mine.client_limit, mine.process_limit, mine.service_count) == (3, 7, 0)
    assert listen_backlog(mine) == 21
    with pytest.raises(KeyError):
        effective_service(conf, "nope")
    with pytest.raises(ValueError, match="must be set"):
        listen_backlog(DovecotService("imap"))


def test_doveconf_stderr_lines_are_kept() -> None:
    text = (
        "doveconf: Warning: please set ssl_dh=</etc/dovecot/dh.pem\n"
        "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n"
        "protocols = imap\n"
    )
    conf = parse_doveconf(text)
    assert conf.version == "2.3.19.1"
    assert conf.warnings == ("doveconf: Warning: please set ssl_dh=</etc/dovecot/dh.pem",)


DOVECOT_SECRETS = (
    "hunter2-env",
    "s3cret-keypass",
    "n0nce-value",
    "policyuser",
    "policy-pw",
    "cG9saWN5dXNlcjpwb2xpY3ktcHc=",
    "doveadm-pw",
    "static-pw",
    "redis-pw",
    "crypt-pw",
)


@pytest.mark.parametrize("name", ["secrets.n.txt", "secrets.nP.txt", "secrets.dovecot.conf"])
def test_redact_doveconf_removes_every_secret(name: str) -> None:
    text = dovecot(name)
    redacted = redact_doveconf(text)
    for secret in DOVECOT_SECRETS:
        assert secret not in redacted, secret
    assert REDACTED in redacted
    assert redacted.count("\n") == text.count("\n")
    assert redact_doveconf(redacted) == redacted


def test_redacted_doveconf_parses_the_same() -> None:
    text = dovecot("secrets.nP.txt")
    conf = parse_doveconf(text)
    after = parse_doveconf(redact_doveconf(text))
    assert after.services == conf.services
    assert (after.version, after.config_path) == (conf.version, conf.config_path)
    assert after.settings.keys() == conf.settings.keys()
    changed = {k for k in conf.settings if conf.settings[k] != after.settings[k]}
    assert changed == {
        "auth_policy_hash_nonce",
        "auth_policy_server_api_header",
        "auth_policy_server_url",
        "doveadm_password",
        "import_environment",
        "ssl_key",
        "ssl_key_password",
    }
    assert after.import_environment == ("TZ", "LDAP_PASSWORD=<redacted>")
    for sec in after.sections:
        if sec.kind == "passdb" and sec.get("driver") == "static":
            assert sec.get("args") == "password=<redacted>"


@pytest.mark.parametrize("case", DOVECOT_CASES)
def test_redact_doveconf_keeps_configs_without_secrets(case: str) -> None:
    for flag in "na":
        text = dovecot(f"{case}.{flag}.txt")
        assert redact_doveconf(text) == text


def test_redact_doveconf_keeps_booleans_and_doveconf_masks() -> None:
    text = (
        "passdb {\n  pass = yes\n}\nauth_debug_passwords = no\nssl_key = # hidden, use -P to"
        " show it\nquota = redis:password=#hidden_use-P_to_show#\nx = https://#hidden_use-P_to"
        "_show#@h/\n"
    )
    assert redact_doveconf(text) == text


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("", None, "empty"),
        ("}\n", 1, "without an open section"),
        ("a = 1\nservice imap {\n  client_limit = 1\n", 2, "not closed"),
        ("service imap {\n  client_limit = -1\n}\n", 2, "negative"),
        ("service imap {\n  process_limit = 1k\n}\n", 2, "not a decimal"),
        ("a = 1\na = 2\n", 2, "appears twice"),
        ("just words\n", 1, "expected"),
        ('service "imap {\n}\n', 1, "expected"),
        ("service imap {\n}\nservice imap {\n}\n", 3, "twice"),
        ("service {\n}\n", 1, "without a name"),
        ("service x {\n  inet_listener a {\n    port = 70000\n  }\n}\n", 3, "out of range"),
        ("service x {\n  inet_listener a {\n    ssl = maybe\n  }\n}\n", 3, "yes nor no"),
        ("default_client_limit = 0\n", 1, "not a positive"),
        ("default_process_limit = many\n", 1, "not a decimal"),
    ],
)
def test_doveconf_bad_input(text: str, lineno: int | None, fragment: str) -> None:
    expect_error(parse_doveconf, text, lineno, fragment)


# --- named.conf -------------------------------------------------------------------------------


def test_named_debian_default() -> None:
    conf = parse_named_conf(bind("debian-default.checkconf-p.txt"))
    assert conf.listen_on == ()
    assert conf.listen_on_v6 == ("any",)
    assert conf.directory == "/var/cache/bind"
    assert (conf.udp_send_buffer, conf.tcp_clients, conf.recursive_clients) == (None, None, None)
    assert conf.statistics_channels == ()
    assert not conf.has_logging and conf.channels == () and conf.categories == {}
    assert [(z.name, z.type) for z in conf.zones] == [
        (".", "hint"),
        ("localhost", "master"),
        ("127.in-addr.arpa", "master"),
        ("0.in-addr.arpa", "master"),
        ("255.in-addr.arpa", "master"),
    ]


def test_named_test_config() -> None:
    conf = parse_named_conf(bind("sockdoc.checkconf-p.txt"))
    assert conf.listen_on == ("127.0.0.1/32",)
    assert conf.listen_on_v6 == ("::1/128",)
    assert [(lst.family, lst.port) for lst in conf.listeners] == [(4, 15353), (6, 15353)]
    assert (conf.udp_send_buffer, conf.udp_receive_buffer) == (65536, 262144)
    assert (conf.tcp_clients, conf.recursive_clients, conf.tcp_listen_queue) == (150, 1000, None)
    assert conf.statistics_channels == (StatsChannel("127.0.0.1", 18053, ("127.0.0.1/32",)),)
    assert conf.channel("security_debug") == LogChannel(
        "security_debug",
        "file",
        path="/tmp/sockdoc-bind/security.log",
        severity="debug 3",
        print_category=True,
        print_severity=True,
        print_time=True,
    )
    general = conf.channel("general_log")
    assert general is not None and (general.severity, general.level) == ("info", -1)
    assert conf.categories == {
        "security": ("security_debug",),
        "lame-servers": ("null",),
        "default": ("default_syslog", "general_log"),
    }
    assert [(k.name, k.algorithm) for k in conf.keys] == [("sockdoc-tsig", "hmac-sha256")]
    assert [(z.name, z.type) for z in conf.zones] == [("example.test", "primary")]


def test_named_p_px_and_the_file_agree() -> None:
    printed = parse_named_conf(bind("sockdoc.checkconf-p.txt"))
    assert parse_named_conf(bind("sockdoc.checkconf-px.txt")) == printed
    raw = parse_named_conf(bind("sockdoc.named.conf"))
    # named-checkconf adds the prefix length to each address; nothing else differs.
    assert raw.listen_on == ("127.0.0.1",) and raw.listen_on_v6 == ("::1",)
    assert replace(
        raw,
        listen_on=printed.listen_on,
        listen_on_v6=printed.listen_on_v6,
        listeners=printed.listeners,
        statistics_channels=printed.statistics_channels,
    ) == replace(printed)


def test_logging_default_config_hides_security_debug() -> None:
    conf = parse_named_conf(bind("debian-default.checkconf-p.txt"))
    assert [ch.name for ch in category_channels(conf, "security")] == [
        "default_debug",
        "default_syslog",
    ]
    assert not logs_category_at(conf, "security", 3)
    assert not logs_category_at(conf, "security", 3, server_debug=2)
    assert logs_category_at(conf, "security", 3, server_debug=3)
    assert logs_category_at(conf, "general", -4)  # error: default_syslog (info)
    assert logs_category_at(conf, "security", -1)
    assert not logs_category_at(conf, "unmatched", -4)


def test_logging_debug_channel_config() -> None:
    conf = parse_named_conf(bind("sockdoc.checkconf-p.txt"))
    assert logs_category_at(conf, "security", 3)
    assert not logs_category_at(conf, "security", 4)
    assert logs_category_at(conf, "security", 4, server_debug=9) is False  # fixed debug 3
    assert not logs_category_at(conf, "lame-servers", -5)
    assert logs_category_at(conf, "general", -1)  # via default: general_log (info)
    assert not logs_category_at(conf, "general", 1)
    # The running named wrote the security category at debug 3 to that channel's file,
    # including one "send failed" line per refused UDP response.
    log = bind("security.log")
    assert "security: debug 3: client @0x" in log
    assert len(re.findall(r"send failed: permission denied", log)) == 10


def test_logging_dynamic_and_explicit_default() -> None:
    conf = parse_named_conf(
        "logging {\n"
        "\tchannel dyn { stderr; severity dynamic; };\n"
        "\tchannel quiet { syslog local0; severity warning; };\n"
        "\tcategory default { dyn; };\n"
        "\tcategory client { quiet; };\n"
        "};\n"
    )
    quiet = conf.channel("quiet")
    assert quiet is not None and (quiet.syslog_facility, quiet.level) == ("local0", -3)
    assert not logs_category_at(conf, "security", 3)
    assert logs_category_at(conf, "security", -1)  # dynamic at server debug 0 takes info
    assert logs_category_at(conf, "security", 3, server_debug=3)
    assert not logs_category_at(conf, "client", -1)
    assert logs_category_at(conf, "client", -3)
    assert not channel_logs(BUILTIN_CHANNELS["null"], -5)
    assert channel_logs(BUILTIN_CHANNELS["default_debug"], 1, server_debug=1)
    assert LogChannel("x", "stderr", severity="debug").level == 1


def test_named_views_keys_and_zones() -> None:
    conf = parse_named_conf(
        'view "inside" {\n'
        '\tmatch-clients { 10.0.0.0/8; ! 10.9.0.0/16; { key "k"; }; };\n'
        '\tkey "k" { algorithm hmac-sha256; secret "c2VjcmV0"; };\n'
        '\tzone "example.com" IN { type secondary; primaries { 192.0.2.1; }; };\n'
        "};\n"
        'options { listen-on port 853 tls "ephemeral" { any; }; };\n'
    )
    assert conf.views == ("inside",)
    assert [(k.name, k.view) for k in conf.keys] == [("k", "inside")]
    assert [(z.name, z.type, z.file, z.view) for z in conf.zones] == [
        ("example.com", "secondary", None, "inside")
    ]
    assert conf.listeners[0].tls == "ephemeral"
    assert conf.listeners[0].port == 853


def test_redact_named_conf() -> None:
    secret = "cSmLkYc9QPmvLFfOsUcj1aolZCseCvjMzI5lR9sNX2w="
    for name in ("sockdoc.checkconf-p.txt", "sockdoc.named.conf", "sockdoc.checkconf-px.txt"):
        text = bind(name)
        redacted = redact_named_conf(text)
        assert secret not in redacted
        assert "????" not in redacted
        assert 'secret "<redacted>";' in redacted
        assert parse_named_conf(redacted) == parse_named_conf(text)
        assert redact_named_conf(redacted) == redacted
    text = bind("debian-default.checkconf-p.txt")
    assert redact_named_conf(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secret abc;", 'secret "<redacted>";'),
        ('secret\t"a\\"b";', 'secret\t"<redacted>";'),
        ('secret "cut short', 'secret "<redacted>"'),
        ('file "/var/secret x";', 'file "/var/secret x";'),
        ("// secret abc\n", "// secret abc\n"),
        ("/* secret abc */", "/* secret abc */"),
        ("key secret { secret x; };", 'key secret { secret "<redacted>"; };'),
        ('dlz "m" { database "mysql {host=h pass=pw}"; };', 'dlz "m" { database "<redacted>"; };'),
        ("tkey-secret x;", "tkey-secret x;"),
    ],
)
def test_redact_named_conf_cases(text: str, expected: str) -> None:
    assert redact_named_conf(text) == expected


def test_named_version() -> None:
    v = parse_named_version(bind("named-v.txt"))
    assert (v.version, v.full, v.major_minor) == ("9.18.49", "9.18.49-1~deb12u3-Debian", (9, 18))
    with pytest.raises(ParseError):
        parse_named_version("named: command not found\n")
    with pytest.raises(ParseError):
        parse_named_version("\n")


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("", None, "empty"),
        ('options {\n\tdirectory "x"\n};\n', 2, "without ';'"),
        ('options {\n\tdirectory "x";\n', 1, "not closed"),
        ("};\n", 1, "without '{'"),
        ("options { };\n;\n", 2, "without a statement"),
        ('options {\n\tdirectory "x;\n};\n', 2, "unterminated string"),
        ("/* a\noptions { };\n", 1, "unterminated comment"),
        ("options {\n\ttcp-clients 1 2;\n};\n", 2, "expected 'tcp-clients NUMBER;'"),
        ("options {\n\tudp-send-buffer -5;\n};\n", 2, "negative"),
        ("options {\n\tlisten-on port 99999 { any; };\n};\n", 2, "out of range"),
        ("options {\n\tlisten-on bogus 1 { any; };\n};\n", 2, "unknown option"),
        ("options {\n\tlisten-on port 53;\n};\n", 2, "expected 'listen-on"),
        ("options { };\noptions { };\n", 2, "second 'options'"),
        ("logging {\n\tchannel c { severity info; };\n};\n", 2, "not exactly one"),
        ("logging {\n\tchannel c { null; stderr; };\n};\n", 2, "not exactly one"),
        ("logging {\n\tchannel c { null; severity loud; };\n};\n", 2, "expected 'severity"),
        ("logging {\n\tchannel c { null; print-time maybe; };\n};\n", 2, "not yes or no"),
        ("logging {\n\tcategory security { nowhere; };\n};\n", 2, "undefined channel"),
        ("logging {\n\tchannel null { null; };\n};\n", 2, "defined twice"),
        ("logging {\n\tfoo bar;\n};\n", 2, "unknown logging statement"),
        ('statistics-channels {\n\tunix "/x";\n};\n', 2, "expected 'inet"),
        ("statistics-channels {\n\tinet * port x;\n};\n", 2, "not a decimal"),
        ("zone {\n};\n", 1, "expected 'zone"),
        ("key { };\n", 1, "expected 'key"),
    ],
)
def test_named_conf_bad_input(text: str, lineno: int | None, fragment: str) -> None:
    expect_error(parse_named_conf, text, lineno, fragment)


def test_stats_channel_default_port_and_no_allow() -> None:
    conf = parse_named_conf("statistics-channels { inet * ; inet ::1 port 8053; };")
    assert conf.statistics_channels == (
        StatsChannel("*", 80, None),
        StatsChannel("::1", 8053, None),
    )


# --- statistics channel -----------------------------------------------------------------------


def test_stats_json_and_xml_agree() -> None:
    js = parse_bind_stats(bind("stats-v1.json"))
    xml = parse_bind_stats(bind("stats-v3.xml"))
    assert (js.format, js.stats_version, xml.format, xml.stats_version) == (
        "json",
        "1.7",
        "xml",
        "3.13",
    )
    for field in ("version", "boot_time", "config_time", "current_time"):
        assert getattr(js, field) == getattr(xml, field), field
    assert js.version == "9.18.49-1~deb12u3-Debian"
    for section in SECTIONS:
        a, b = getattr(js, section), getattr(xml, section)
        assert a, section
        if section in ("nsstats", "sockstats"):
            assert 0 not in a.values(), section  # JSON leaves these zero counters out
        assert set(a) <= set(b), section
        for name in set(a) | set(b):
            assert a.get(name, 0) == b[name], (section, name)
    assert len(xml.sockstats) > len(js.sockstats)


def test_stats_counts_the_refused_sends() -> None:
    for name in ("stats-v1.json", "stats-v3.xml"):
        stats = parse_bind_stats(bind(name))
        assert stats.sockstats["UDP4SendErr"] == 7
        assert stats.sockstats["UDP6SendErr"] == 3
        assert stats.sockstats.get("TCP4AcceptFail", 0) == 0
        assert (stats.nsstats["Requestv4"], stats.nsstats["Requestv6"]) == (23, 8)
        # The 10 refused responses still count as responses and successful queries.
        assert (stats.nsstats["Response"], stats.nsstats["QrySuccess"]) == (30, 28)


def test_stats_server_documents_have_no_socket_counters() -> None:
    full = parse_bind_stats_json(bind("stats-v1.json"))
    for name in ("server-v1.json", "server-v3.xml"):
        stats = parse_bind_stats(bind(name))
        assert stats.sockstats == {}
        assert {k: v for k, v in stats.nsstats.items() if v} == full.nsstats
    net = parse_bind_stats(bind("net-v1.json"))
    assert net.nsstats == {}
    # Fetched over a second HTTP connection: the statistics channel counts its own TCP accept
    # and close in the same sockstats.
    moved = {k: net.sockstats[k] - v for k, v in full.sockstats.items() if net.sockstats[k] != v}
    assert moved == {"TCP4Accept": 1, "TCP4Close": 1}


@pytest.mark.parametrize(
    ("parse", "text", "fragment"),
    [
        (parse_bind_stats, "", "empty"),
        (parse_bind_stats, "HTTP/1.1 404 Not Found\n", "neither JSON nor XML"),
        (parse_bind_stats_json, "[1]", "not a JSON object"),
        (parse_bind_stats_json, '{"sockstats": 3}', "not an object"),
        (parse_bind_stats_json, '{"sockstats": {"UDP4Open": -1}}', "not a count"),
        (parse_bind_stats_json, '{"sockstats": {"UDP4Open": true}}', "not a count"),
        (parse_bind_stats_json, '{"sockstats": {"UDP4Open": 1.5}}', "not a count"),
        (parse_bind_stats_json, '{"version": 9}', "not a string"),
        (parse_bind_stats_json, '{"json-stats-version": "2.0"}', "not 1.x"),
        (parse_bind_stats_json, '{"a": ', "Expecting value"),
        (parse_bind_stats_xml, "<isc version='1.0'/>", "not <statistics>"),
        (parse_bind_stats_xml, "<statistics version='2.2'><server/></statistics>", "not 3.x"),
        (parse_bind_stats_xml, "<statistics version='3.13'/>", "no <server>"),
        (parse_bind_stats_xml, "<statistics version='3.13'><server>", "bad XML"),
        (
            parse_bind_stats_xml,
            '<!DOCTYPE x [<!ENTITY a "b">]><statistics version="3.13"/>',
            "DTD",
        ),
        (
            parse_bind_stats_xml,
            "<statistics version='3.13'><server><counters type='sockstat'>"
            "<counter name='UDP4Open'>x</counter></counters></server></statistics>",
            "not a decimal",
        ),
        (
            parse_bind_stats_xml,
            "<statistics version='3.13'><server><counters type='sockstat'>"
            "<value>1</value></counters></server></statistics>",
            "bad <value>",
        ),
    ],
)
def test_stats_bad_input(parse: Callable[[str], BindStats], text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in str(info.value)


# --- damaged input: only ParseError, never another exception -----------------------------------


def _dovecot_all(text: str) -> None:
    conf = parse_doveconf(text)
    for svc in conf.services:
        eff = effective_service(conf, svc.name)
        listen_backlog(eff)
        high_performance_login(eff)


def _named_all(text: str) -> None:
    conf: BindConfig = parse_named_conf(text)
    for category in ("security", "general", "default", "unmatched"):
        logs_category_at(conf, category, 3)


_NOISE = ["{", "}", ";", '"', "\n", " ", "=", "#", "/*", "//", "\\", "-1", "99999", "<", "é", "\0"]
_FUZZ_CASES = (
    [(_dovecot_all, p.name, "dovecot") for p in sorted(DOVECOT.glob("*.txt"))]
    + [(_named_all, p.name, "bind") for p in sorted(BIND.glob("*.checkconf-p*.txt"))]
    + [(_named_all, "sockdoc.named.conf", "bind")]
    + [(parse_bind_stats, p.name, "bind") for p in sorted(BIND.glob("*.json"))]
    + [(parse_bind_stats, p.name, "bind") for p in sorted(BIND.glob("*.xml"))]
)


def _damage(text: str, rng: random.Random) -> str:
    kind = rng.randrange(7)
    pos = rng.randrange(len(text) + 1)
    if kind == 0:
        return text[:pos]
    if kind == 1:
        return text[:pos] + text[pos + rng.randint(1, 20) :]
    if kind == 2:
        return text[:pos] + rng.choice(_NOISE) + text[pos:]
    if kind == 3:
        return text[:pos] + rng.choice(_NOISE) + text[pos + 1 :]
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if kind == 4:
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 5:
        del lines[i]
    else:
        lines.insert(i, lines[j])
    return "\n".join(lines)


@pytest.mark.parametrize(("parse", "name", "folder"), _FUZZ_CASES)
def test_truncations_raise_only_parse_error(
    parse: Callable[[str], object], name: str, folder: str
) -> None:
    text = (FIXTURES / folder / name).read_text()
    parse(text)
    step = max(1, len(text) // 200)
    for end in range(0, len(text), step):
        with contextlib.suppress(ParseError):
            parse(text[:end])


@pytest.mark.parametrize(("parse", "name", "folder"), _FUZZ_CASES)
def test_damage_raises_only_parse_error(
    parse: Callable[[str], object], name: str, folder: str
) -> None:
    text = (FIXTURES / folder / name).read_text()
    rng = random.Random(name)
    for _ in range(150):
        damaged = _damage(text, rng)
        with contextlib.suppress(ParseError):
            parse(damaged)
        # Redaction runs on whatever a collector read, damaged or not, and never fails.
        redact_doveconf(damaged) if folder == "dovecot" else redact_named_conf(damaged)
