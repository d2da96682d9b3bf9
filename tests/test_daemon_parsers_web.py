"""The nginx and php-fpm configuration parsers on real captured output, damaged input and fuzz.

Fixtures (tests/fixtures/daemons/{nginx,phpfpm}/, see the README.md there): ``nginx -T`` of
Debian 12's stock configuration and of a test configuration (upstreams, includes, a stream
server), a failed ``nginx -T``; Debian's stock php-fpm pool, an edited pool, and
``php-fpm8.2 -tt`` of both at log levels notice, debug and warning, and of a refused pool.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.nginx_conf import (
    DEFAULT_BACKLOG,
    MASK,
    NginxConfig,
    NginxListen,
    parse_listen,
    parse_nginx_dump,
    parse_nginx_files,
    redact_nginx,
)
from sockdoc.parsers.phpfpm_conf import (
    DEFAULT_BACKLOG_BEFORE_8_2,
    PhpFpmPool,
    default_backlog,
    parse_fpm_dump,
    parse_pool_file,
    parse_pool_files,
    php_version_from_path,
    redact_phpfpm,
)

FIXTURES = Path(__file__).parent / "fixtures" / "daemons"
POOL_D = "/etc/php/8.2/fpm/pool.d"


def nginx_fixture(name: str) -> str:
    return (FIXTURES / "nginx" / name).read_text()


def fpm_fixture(name: str) -> str:
    return (FIXTURES / "phpfpm" / name).read_text()


def dump_sections(text: str) -> list[tuple[str, str]]:
    """The (path, text) pairs of an ``nginx -T`` dump, as a collector reading files would."""
    parts = re.split(r"^# configuration file (.+):\n", text, flags=re.MULTILINE)
    # nginx adds one newline after each file.
    return [(parts[i], parts[i + 1][:-1]) for i in range(1, len(parts), 2)]


def http(body: str) -> str:
    return f"# configuration file /etc/nginx/nginx.conf:\nevents {{}}\nhttp {{\n{body}\n}}\n"


def expect_error(
    parse: Callable[[str], object], text: str, lineno: int | None, fragment: str
) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.lineno == lineno, str(err)
    assert fragment in err.reason, str(err)
    assert "\n" not in str(err)
    if lineno is not None:
        assert err.line == text.split("\n")[lineno - 1]
    return err


# ---------------------------------------------------------------- nginx: real dumps


def test_nginx_debian_default() -> None:
    conf = parse_nginx_dump(nginx_fixture("debian-default.T.txt"))
    assert conf.files == (
        "/etc/nginx/nginx.conf",
        "/etc/nginx/mime.types",
        "/etc/nginx/sites-enabled/default",
    )
    assert (conf.worker_processes, conf.worker_processes_auto) == (None, True)
    assert conf.effective_worker_processes(cpus=2) == 2
    assert conf.worker_connections == conf.effective_worker_connections == 768
    assert conf.worker_rlimit_nofile is None
    assert [(li.address, li.port, li.default_server, li.line) for li in conf.listens] == [
        ("*", 80, True, 22),
        ("::", 80, True, 23),
    ]
    for li in conf.listens:
        assert li.file == "/etc/nginx/sites-enabled/default"
        assert (li.backlog, li.effective_backlog) == (None, DEFAULT_BACKLOG)
        assert li.accept_queue_limit(4096) == 511
        assert li.accept_queue_limit(128) == 128
    assert conf.upstream_servers == ()


def test_nginx_test_configuration() -> None:
    conf = parse_nginx_dump(nginx_fixture("test-prefix.T.txt"), "nginx -T -c test")
    assert (conf.worker_processes, conf.worker_processes_auto) == (2, False)
    assert (conf.worker_connections, conf.worker_rlimit_nofile) == (4096, 8192)
    main, extra = "/tmp/ngxt/nginx.conf", "/tmp/ngxt/conf.d/extra.conf"
    assert conf.files == (main, "/etc/nginx/fastcgi_params", "/etc/nginx/uwsgi_params", extra)
    assert conf.listens == (
        NginxListen("*", 8080, None, 8192, False, False, main, 28, "http", False),
        NginxListen("unix:/run/test.sock", None, "/run/test.sock", 1024, False, False, main, 29),
        # The relative glob include sits at the end of http, before the stream block.
        NginxListen("127.0.0.1", 8081, None, None, True, True, extra, 2),
        NginxListen("::1", 8081, None, 64, False, False, extra, 3),
        NginxListen("*", 5353, None, None, False, True, main, 62, "stream", True),
    )
    # What ss -ltn showed for this configuration (fixture README): the backlog capped by
    # somaxconn 4096, and the defaults.
    limits = [li.accept_queue_limit(4096) for li in conf.listens]
    assert limits == [4096, 1024, 511, 64, None]
    assert conf.upstream_servers == (
        "unix:/run/php/php8.2-fpm.sock",
        "127.0.0.1:9001",
        "[::1]:9002",
        "127.0.0.1:9003",
        "unix:/run/app.sock",
        "127.0.0.1:9004",
        "127.0.0.1:9000",
        "127.0.0.1:53",
    )


def test_nginx_listen_lines_point_at_their_directive() -> None:
    text = nginx_fixture("test-prefix.T.txt")
    files = dict(dump_sections(text))
    for li in parse_nginx_dump(text).listens:
        assert files[li.file].split("\n")[li.line - 1].lstrip().startswith("listen ")


def test_nginx_stderr_first_last_or_absent() -> None:
    text = nginx_fixture("test-prefix.T.txt")
    expected = parse_nginx_dump(text)
    lines = text.split("\n")
    assert lines[0].startswith("nginx: ")
    assert parse_nginx_dump("\n".join(lines[2:])) == expected
    assert parse_nginx_dump("\n".join(lines[2:]) + "\n" + "\n".join(lines[:2])) == expected
    warn = 'nginx: [warn] conflicting server name "a" on 0.0.0.0:80, ignored'
    assert parse_nginx_dump("\n".join([warn, *lines])) == expected
    assert parse_nginx_dump("\n".join([*lines[2:], warn, *lines[:2]])) == expected
    expect_error(parse_nginx_dump, "\n".join([*lines, "nginx: [emerg] x"]), len(lines) + 1, "")


def test_nginx_failed_check() -> None:
    text = nginx_fixture("broken.T.txt")
    err = expect_error(parse_nginx_dump, text, 1, "rejected")
    assert "[emerg]" in str(err)
    stdout_lost = "\n".join(text.split("\n")[1:])
    expect_error(parse_nginx_dump, stdout_lost, 1, "rejected")


def test_nginx_files_read_by_the_caller_give_the_same() -> None:
    for name in ("debian-default.T.txt", "test-prefix.T.txt"):
        text = nginx_fixture(name)
        assert parse_nginx_files(dump_sections(text)) == parse_nginx_dump(text)


def test_nginx_files_missing_include_names_the_file() -> None:
    sections = dump_sections(nginx_fixture("test-prefix.T.txt"))
    without = [s for s in sections if s[0] != "/etc/nginx/uwsgi_params"]
    with pytest.raises(ParseError) as info:
        parse_nginx_files(without)
    assert info.value.source == "/tmp/ngxt/nginx.conf"
    assert info.value.line is not None and "uwsgi_params" in info.value.line
    assert "not in the files given" in info.value.reason
    with pytest.raises(ParseError):
        parse_nginx_files([])


def test_nginx_sockets_merge_listens_of_one_address() -> None:
    conf = parse_nginx_dump(
        http(
            "server { listen 80; server_name a; }\n"
            "server { listen 80 backlog=4096 default_server; server_name b; }\n"
            "server { listen 127.0.0.1:80; listen unix:/run/a.sock; }"
        )
    )
    assert len(conf.listens) == 4
    sockets = conf.sockets()
    assert [(s.address, s.port, s.backlog, s.default_server) for s in sockets] == [
        ("*", 80, 4096, True),
        ("127.0.0.1", 80, None, False),
        ("unix:/run/a.sock", None, None, False),
    ]


def test_nginx_defaults_apply_when_absent() -> None:
    conf = parse_nginx_dump("# configuration file /etc/nginx/nginx.conf:\nevents {\n}\n")
    assert (conf.worker_processes, conf.worker_processes_auto) == (None, False)
    assert conf.effective_worker_processes(cpus=8) == 1
    assert (conf.worker_connections, conf.effective_worker_connections) == (None, 512)
    assert (conf.listens, conf.upstream_servers) == ((), ())


# ---------------------------------------------------------------- nginx: listen forms


@pytest.mark.parametrize(
    ("args", "address", "port", "unix_path", "backlog", "default_server", "reuseport"),
    [
        (("127.0.0.1:8000",), "127.0.0.1", 8000, None, None, False, False),
        (("8000",), "*", 8000, None, None, False, False),
        (("*:8000",), "*", 8000, None, None, False, False),
        (("[::1]:8000", "ipv6only=on"), "::1", 8000, None, None, False, False),
        (("localhost:8000", "backlog=64"), "localhost", 8000, None, 64, False, False),
        (("unix:/var/run/nginx.sock",), "unix:/var/run/nginx.sock", None, "/var/run/nginx.sock",
         None, False, False),
        (("80",), "*", 80, None, None, False, False),
        (("[::]:443", "ssl", "backlog=4096"), "::", 443, None, 4096, False, False),
        (("unix:/run/x.sock",), "unix:/run/x.sock", None, "/run/x.sock", None, False, False),
        (("127.0.0.1",), "127.0.0.1", 80, None, None, False, False),
        (("[::1]",), "::1", 80, None, None, False, False),
        (("example.org",), "example.org", 80, None, None, False, False),
        (("443", "ssl", "http2", "default_server", "reuseport"), "*", 443, None, None, True,
         True),
        (("8080", "default", "deferred", "so_keepalive=on"), "*", 8080, None, None, True, False),
        (("0.0.0.0:65535", "backlog=1"), "0.0.0.0", 65535, None, 1, False, False),
        (("*:443", "ssl", "proxy_protocol", "rcvbuf=1m", "fastopen=16"), "*", 443, None, None,
         False, False),
    ],
)  # fmt: skip
def test_listen_forms(
    args: tuple[str, ...],
    address: str,
    port: int | None,
    unix_path: str | None,
    backlog: int | None,
    default_server: bool,
    reuseport: bool,
) -> None:
    li = parse_listen(args)
    assert (li.address, li.port, li.unix_path) == (address, port, unix_path)
    assert (li.backlog, li.default_server, li.reuseport, li.udp) == (
        backlog,
        default_server,
        reuseport,
        False,
    )
    # The same through a whole configuration.
    conf = parse_nginx_dump(http(f"server {{\n  listen {' '.join(args)};\n}}"))
    assert conf.listens == (replace(li, file="/etc/nginx/nginx.conf", line=4),)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "without an address"),
        (("unix:",), "without a path"),
        (("[::1:80",), "no ']'"),
        (("[]:80",), "empty IPv6"),
        (("[::1]80",), "after the IPv6"),
        (("127.0.0.1:",), "invalid port"),
        (("127.0.0.1:0",), "invalid port"),
        (("127.0.0.1:65536",), "invalid port"),
        (("127.0.0.1:http",), "invalid port"),
        ((":80",), "invalid address"),
        (("::1:80",), "invalid address"),
        (("80", "backlog=0"), "invalid backlog"),
        (("80", "backlog=-1"), "invalid backlog"),
        (("80", "backlog=lots"), "invalid backlog"),
    ],
)
def test_listen_invalid(args: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_listen(args)


def test_listen_stream_and_mail_need_a_port() -> None:
    conf = parse_nginx_dump(
        "# configuration file /n.conf:\nevents {}\n"
        "stream { server { listen 127.0.0.1:53 udp; listen 8443 backlog=100; } }\n"
        "mail { server { listen 143; } }\n"
    )
    assert [(li.module, li.udp, li.effective_backlog) for li in conf.listens] == [
        ("stream", True, None),
        ("stream", False, 100),
        ("mail", False, 511),
    ]
    expect_error(
        parse_nginx_dump,
        "# configuration file /n.conf:\nstream { server {\nlisten localhost; } }\n",
        3,
        "no port",
    )
    # "udp" is a stream option only; in http it is just an unknown option. HTTP/3 is UDP.
    assert not parse_listen(("80", "udp")).udp
    quic = parse_listen(("443", "quic", "reuseport"))
    assert (quic.udp, quic.effective_backlog, quic.accept_queue_limit(4096)) == (True, None, None)


def test_listen_outside_a_server_block_is_not_a_listen() -> None:
    conf = parse_nginx_dump(
        http(
            "upstream u { server 127.0.0.1:1; }\n"
            "map $x $y { listen 1; }\n"
            "server { location / { } listen 81; }"
        )
    )
    assert [li.port for li in conf.listens] == [81]


# ---------------------------------------------------------------- nginx: syntax


def test_nginx_tokenizer_quotes_comments_and_escapes() -> None:
    conf = parse_nginx_dump(
        http(
            "log_format q '$a \"b\" {c} ; d # e';\n"
            'server_name "x;y" a#b;  # a comment with listen 1;\n'
            "server {\n"
            '    listen "8081" backlog=7;\n'
            "    set $v ${host}x}y;\n"
            "    return 200 'it\\'s {\\n}';\n"
            '    if ($a = "b") { return 404; }\n'
            '    listen "unix:/run/sp ace.sock";\n'
            "}"
        )
    )
    assert [(li.port, li.backlog, li.unix_path) for li in conf.listens] == [
        (8081, 7, None),
        (None, None, "/run/sp ace.sock"),
    ]


def test_nginx_upstream_targets() -> None:
    conf = parse_nginx_dump(
        http(
            "upstream php { server unix:/run/php/a.sock; server unix:/run/php/a.sock; }\n"
            "upstream b { server b1.example:8080 weight=2; zone b 64k; keepalive 4; }\n"
            "server { listen 80;\n"
            "  location /a { fastcgi_pass php; }\n"
            "  location /b { proxy_pass https://b; }\n"
            "  location /c { proxy_pass http://$host$uri; }\n"
            "  location /d { grpc_pass grpc://127.0.0.1:50051; }\n"
            "  location /e { uwsgi_pass uwsgi://unix:/run/u.sock; }\n"
            "  location /f { scgi_pass localhost:4000; }\n"
            "  location /g { proxy_pass http://b:8080/x; }\n"
            "}"
        )
    )
    assert conf.upstream_servers == (
        "unix:/run/php/a.sock",
        "b1.example:8080",
        "127.0.0.1:50051",
        "unix:/run/u.sock",
        "localhost:4000",
        "b:8080",
    )


def test_nginx_glob_include_skips_hidden_and_other_directories() -> None:
    conf = parse_nginx_dump(
        "# configuration file /etc/nginx/nginx.conf:\n"
        "events {}\nhttp { include sites/*.conf; include /etc/nginx/one.conf; }\n\n"
        "# configuration file /etc/nginx/sites/b.conf:\nserver { listen 2; }\n\n"
        "# configuration file /etc/nginx/sites/.hidden.conf:\nserver { listen 3; }\n\n"
        "# configuration file /etc/nginx/sites/sub/c.conf:\nserver { listen 4; }\n\n"
        "# configuration file /etc/nginx/sites/a.conf:\nserver { listen 1; }\n\n"
        "# configuration file /etc/nginx/one.conf:\nserver { listen 5; }\n\n"
    )
    # glob(3) order is sorted, whatever the dump's order.
    assert [li.port for li in conf.listens] == [1, 2, 5]


def test_nginx_include_twice_is_read_twice() -> None:
    conf = parse_nginx_dump(
        "# configuration file /n.conf:\nhttp { server { include l.conf; }\n"
        "server { include /l.conf; } }\n\n"
        "# configuration file /l.conf:\nlisten 8;\n"
    )
    assert [(li.port, li.file, li.line) for li in conf.listens] == [
        (8, "/l.conf", 1),
        (8, "/l.conf", 1),
    ]


DUMP_ERRORS = [
    ("# configuration file /n.conf:\nhttp {\n  server {\n}\n", 2, "not closed"),
    ("# configuration file /n.conf:\nevents {}\n}\n", 3, "unexpected '}'"),
    ("# configuration file /n.conf:\nevents {}\nuser x\n", 3, "unexpected end of file"),
    ("# configuration file /n.conf:\nuser x }\n", 2, "before ';'"),
    ("# configuration file /n.conf:\n;\n", 2, "unexpected ';'"),
    ("# configuration file /n.conf:\n{ }\n", 2, "unexpected '{'"),
    ("# configuration file /n.conf:\nuser 'x;\n", 2, "unterminated"),
    ('# configuration file /n.conf:\nuser "x"y;\n', 2, "unterminated"),
    ("# configuration file /n.conf:\nuser x\\", 2, "backslash"),
    (
        "# configuration file /n.conf:\nevents {\nworker_connections 1;\nworker_connections 2;\n}",
        4,
        "twice",
    ),
    ("# configuration file /n.conf:\nevents {\nworker_connections lots;\n}\n", 3, "not a number"),
    ("# configuration file /n.conf:\nworker_processes -1;\n", 2, "not a number"),
    ("# configuration file /n.conf:\nworker_rlimit_nofile 1 2;\n", 2, "one value"),
    ("# configuration file /n.conf:\nhttp { server {\nlisten 80 backlog=0; } }\n", 3, "backlog"),
    ("# configuration file /n.conf:\nhttp {\nupstream {}\n}\n", 3, "one name"),
    ("# configuration file /n.conf:\nhttp { upstream u {\nserver;\n} }\n", 3, "without"),
    ("# configuration file /n.conf:\nhttp { server {\nproxy_pass; } }\n", 3, "one address"),
    ("# configuration file /n.conf:\ninclude;\n", 2, "one path"),
    ("# configuration file /n.conf:\ninclude /x.conf;\n", 2, "not in the dump"),
    ("# configuration file /n.conf:\ninclude /n.conf;\n", 2, "too deep"),
    ("garbage\n# configuration file /n.conf:\n", 1, "nginx's messages"),
    ("nginx: [emerg] bad\n", 1, "rejected"),
    ("nginx: configuration file /n.conf test failed\n", 1, "rejected"),
    ("events {}\n", 1, "nginx's messages"),
    ("nginx: [warn] low\n", None, "not nginx -T"),
    ("", None, "empty"),
    ("\n \n", None, "empty"),
]


@pytest.mark.parametrize(("text", "lineno", "fragment"), DUMP_ERRORS)
def test_nginx_malformed(text: str, lineno: int | None, fragment: str) -> None:
    expect_error(parse_nginx_dump, text, lineno, fragment)


def test_nginx_error_names_the_included_file_and_its_line() -> None:
    lines = nginx_fixture("test-prefix.T.txt").split("\n")
    lines[181] = lines[181].replace("backlog=64", "backlog=x")  # extra.conf line 3
    err = expect_error(parse_nginx_dump, "\n".join(lines), 182, "invalid backlog")
    assert err.reason.startswith("/tmp/ngxt/conf.d/extra.conf:3: ")
    assert err.source == "nginx -T"


# ---------------------------------------------------------------- nginx: redaction


def test_redact_nginx_keeps_real_dumps_parseable_and_unchanged() -> None:
    for name in ("debian-default.T.txt", "test-prefix.T.txt", "broken.T.txt"):
        text = nginx_fixture(name)
        assert redact_nginx(text) == text


SECRETS = """# configuration file /etc/nginx/nginx.conf:
events {}
env DB_PASSWORD=hunter2;
env PATH;
http {
    # proxy_set_header Authorization "Basic c2VjcmV0";
    # the admin password is hunter2
    # server_tokens off;
    server_tokens off;
    secure_link_secret s3cr3t;
    ssl_password_file /etc/nginx/ssl.pass;
    auth_basic_user_file /etc/nginx/htpasswd;
    server {
        listen 80;
        proxy_set_header Authorization "Basic c2VjcmV0";
        proxy_set_header X-Api-Key abc123;
        proxy_set_header Cookie $http_cookie;
        proxy_set_header Host $host;
        fastcgi_param DB_PASSWORD 's3cr3t';
        fastcgi_param HTTP_AUTHORIZATION $http_authorization if_not_empty;
        add_header Set-Cookie "sid=abc" always;
        set $api_token tok-123;
        proxy_pass http://127.0.0.1:8080/cb?token=abc&x=1;
    }
}
"""

REDACTED = """# configuration file /etc/nginx/nginx.conf:
events {}
env DB_PASSWORD=<redacted>;
env PATH;
http {
    # <redacted>
    # <redacted>
    # server_tokens off;
    server_tokens off;
    secure_link_secret <redacted>;
    ssl_password_file /etc/nginx/ssl.pass;
    auth_basic_user_file /etc/nginx/htpasswd;
    server {
        listen 80;
        proxy_set_header Authorization "<redacted>";
        proxy_set_header X-Api-Key <redacted>;
        proxy_set_header Cookie $http_cookie;
        proxy_set_header Host $host;
        fastcgi_param DB_PASSWORD "<redacted>";
        fastcgi_param HTTP_AUTHORIZATION $http_authorization if_not_empty;
        add_header Set-Cookie "<redacted>" always;
        set $api_token <redacted>;
        proxy_pass http://127.0.0.1:8080/cb?token=<redacted>&x=1;
    }
}
"""


def test_redact_nginx_masks_secrets() -> None:
    out = redact_nginx(SECRETS)
    assert out == REDACTED
    for secret in ("hunter2", "c2VjcmV0", "s3cr3t", "abc123", "sid=abc", "tok-123"):
        assert secret not in out
    assert parse_nginx_dump(out) == parse_nginx_dump(SECRETS)
    # A plain file (no dump headers) is masked the same way.
    plain = SECRETS.split("\n", 1)[1]
    assert redact_nginx(plain) == REDACTED.split("\n", 1)[1]


def test_redact_nginx_untokenizable_section_is_masked_by_line() -> None:
    text = (
        "# configuration file /n.conf:\n"
        "proxy_set_header Authorization 'Basic abc;\n"
        "    # password: abc\n"
        "worker_processes 1;\n"
    )
    assert redact_nginx(text) == (
        f"# configuration file /n.conf:\nproxy_set_header {MASK};\n    # {MASK}\n"
        "worker_processes 1;\n"
    )


# ---------------------------------------------------------------- php-fpm: pool files


def test_pool_debian_default() -> None:
    (pool,) = parse_pool_file(fpm_fixture("www.conf"), f"{POOL_D}/www.conf")
    assert pool == PhpFpmPool(
        name="www",
        listen="/run/php/php8.2-fpm.sock",
        listen_backlog=None,
        pm="dynamic",
        max_children=5,
        start_servers=2,
        min_spare=1,
        max_spare=3,
        file=f"{POOL_D}/www.conf",
    )
    assert (pool.unix_path, pool.port) == ("/run/php/php8.2-fpm.sock", None)
    # -1 on PHP 8.2: listen(2) gives somaxconn.
    assert pool.accept_queue_limit(4096) == 4096
    assert pool.accept_queue_limit(128) == 128


def test_pool_default_backlog_by_version() -> None:
    text = fpm_fixture("www.conf")
    (old,) = parse_pool_file(text, "/etc/php/7.4/fpm/pool.d/www.conf")
    assert old.listen_backlog == DEFAULT_BACKLOG_BEFORE_8_2 == 511
    assert old.accept_queue_limit(4096) == 511
    (explicit,) = parse_pool_file(text, "/etc/php/7.4/fpm/pool.d/www.conf", (8, 3))
    assert explicit.listen_backlog is None
    (unknown,) = parse_pool_file(text, "/srv/www.conf")
    assert unknown.listen_backlog is None
    assert php_version_from_path("/etc/php/8.2/fpm/pool.d/www.conf") == (8, 2)
    assert php_version_from_path("/srv/www.conf") is None
    assert (default_backlog(None), default_backlog((8, 1)), default_backlog((8, 2))) == (
        -1,
        511,
        -1,
    )


def test_pool_edited() -> None:
    (pool,) = parse_pool_file(fpm_fixture("app.conf"), f"{POOL_D}/app.conf")
    assert (pool.name, pool.listen, pool.listen_backlog, pool.pm, pool.max_children) == (
        "app",
        "127.0.0.1:9001",
        4096,
        "static",
        50,
    )
    # static: php-fpm ignores the spare counts still written in the file.
    assert (pool.start_servers, pool.min_spare, pool.max_spare) == (None, None, None)
    assert (pool.unix_path, pool.port) == (None, 9001)
    assert pool.accept_queue_limit(1024) == 1024


def test_pool_files_agree_with_the_tt_dump() -> None:
    files = [(f"{POOL_D}/{n}", fpm_fixture(n)) for n in ("app.conf", "www.conf")]
    from_files = parse_pool_files(files)
    from_dump = parse_fpm_dump(fpm_fixture("tt-test.txt"))
    assert [replace(p, file="") for p in from_files] == [replace(p, file="") for p in from_dump]
    assert [p.file for p in from_dump] == ["php-fpm -tt", "php-fpm -tt"]


def test_php_fpm_conf_has_no_pool() -> None:
    assert parse_pool_file(fpm_fixture("php-fpm.conf"), "/etc/php/8.2/fpm/php-fpm.conf") == ()


def test_pool_ini_syntax_and_merging() -> None:
    first = (
        "; comment\n"
        "[global]\n"
        "listen = /ignored.sock\n"
        "[site] ; the site pool\n"
        'listen = "/run/php/$pool.sock" ; quoted\n'
        "listen.backlog=100\n"
        "pm = ondemand\n"
        "pm.max_children = 7\n"
        "catch_workers_output = yes\n"
        "env[PATH] = '/usr/bin;/bin'\n"
        'access.format = "%R \\"%m\\" ;"\n'
        "   pm.min_spare_servers = 4\n"
    )
    second = "[site]\npm.max_children = 9\n[other]\nlisten = 9000\npm = STATIC\npm.max_children=1"
    pools = parse_pool_files([("/p/a.conf", first), ("/p/b.conf", second)], (8, 2))
    site, other = pools
    assert (site.name, site.listen, site.listen_backlog, site.pm) == (
        "site",
        "/run/php/site.sock",
        100,
        "ondemand",
    )
    assert (site.max_children, site.min_spare, site.file) == (9, None, "/p/a.conf")
    assert (other.listen, other.port, other.unix_path, other.pm) == ("9000", 9000, None, "static")
    assert other.file == "/p/b.conf"
    # ondemand before PHP 8.2: php-fpm raises a backlog below 511 to 511.
    (old,) = parse_pool_file(first, "/p/a.conf", (7, 4))
    assert old.listen_backlog == 511


def test_pool_dynamic_start_servers_default() -> None:
    text = "[d]\nlisten = /s\npm = dynamic\npm.max_children = 20\n"
    text += "pm.min_spare_servers = 2\npm.max_spare_servers = 9\n"
    (pool,) = parse_pool_file(text)
    assert (pool.start_servers, pool.min_spare, pool.max_spare) == (5, 2, 9)
    (pool,) = parse_pool_file(text + "pm.start_servers = 0\n")
    assert pool.start_servers == 5
    (pool,) = parse_pool_file(text + "pm.start_servers = 3\n")
    assert pool.start_servers == 3
    (pool,) = parse_pool_file(text + "listen.backlog = -1\n", php_version=(7, 4))
    assert pool.listen_backlog is None


@pytest.mark.parametrize(
    ("listen", "unix_path", "port"),
    [
        ("/run/php/php8.2-fpm.sock", "/run/php/php8.2-fpm.sock", None),
        ("127.0.0.1:9000", None, 9000),
        ("9000", None, 9000),
        ("[::]:9000", None, 9000),
        ("localhost:9000", None, 9000),
        ("relative.sock", "relative.sock", None),
    ],
)
def test_pool_listen_forms(listen: str, unix_path: str | None, port: int | None) -> None:
    (pool,) = parse_pool_file(f"[p]\nlisten = {listen}\npm = static\npm.max_children = 1\n")
    assert (pool.listen, pool.unix_path, pool.port) == (listen, unix_path, port)


POOL_ERRORS = [
    ("[p]\npm = static\npm.max_children = 1\n", 1, "no listen address"),
    ("[p]\nlisten = /s\npm.max_children = 1\n", 1, "no pm"),
    ("[p]\nlisten = /s\npm = lazy\npm.max_children = 1\n", 1, "'lazy'"),
    ("[p]\nlisten = /s\npm = static\n", 1, "max_children"),
    ("[p]\nlisten = /s\npm = static\npm.max_children = 0\n", 1, "max_children"),
    ("[p]\nlisten = /s\npm = dynamic\npm.max_children = 5\n", 1, "dynamic pool needs"),
    (
        "[p]\nlisten = /s\npm = dynamic\npm.max_children = 5\n"
        "pm.min_spare_servers = 3\npm.max_spare_servers = 2\n",
        1,
        "dynamic pool needs",
    ),
    ("[p]\nlisten = /s\nlisten.backlog = 1k\n", 3, "not a decimal integer"),
    ("[p]\nlisten = /s\npm.max_children = \n", 3, "not a decimal integer"),
    ("[p]\nlisten\n", 2, "key = value"),
    ("[p]\n# hash comment\n", 2, "key = value"),
    ('[p]\nlisten = "/s\n', 2, "no closing"),
    ("[p]\nlisten = '/s' x\n", 2, "after the closing"),
    ("[ ]\n", 1, "pool name"),
    ("[p\n", 1, "pool name"),
]


@pytest.mark.parametrize(("text", "lineno", "fragment"), POOL_ERRORS)
def test_pool_malformed(text: str, lineno: int, fragment: str) -> None:
    err = expect_error(lambda t: parse_pool_file(t, "/p.conf"), text, lineno, fragment)
    assert err.source == "/p.conf"


# ---------------------------------------------------------------- php-fpm: -tt dumps


def test_tt_debian_default() -> None:
    (pool,) = parse_fpm_dump(fpm_fixture("tt-debian-default.txt"))
    (from_file,) = parse_pool_file(fpm_fixture("www.conf"), f"{POOL_D}/www.conf")
    assert pool == replace(from_file, file="php-fpm -tt")


def test_tt_debug_log_level_gives_the_same() -> None:
    assert parse_fpm_dump(fpm_fixture("tt-log-level-debug.txt")) == parse_fpm_dump(
        fpm_fixture("tt-test.txt")
    )


def test_tt_silenced_or_failed() -> None:
    err = expect_error(parse_fpm_dump, fpm_fixture("tt-log-level-warning.txt"), None, "empty")
    assert "log_level" in err.reason
    err = expect_error(parse_fpm_dump, fpm_fixture("tt-failed.txt"), 1, "rejected")
    assert "process manager is missing" in str(err)


def test_tt_cut_short() -> None:
    lines = fpm_fixture("tt-test.txt").split("\n")
    expect_error(parse_fpm_dump, "\n".join(lines[:70]), None, "cut short")
    only_global = "\n".join(lines[:19] + lines[-3:])
    expect_error(parse_fpm_dump, only_global, None, "no pool")
    without_pm = "\n".join(line for line in lines if "\tpm = " not in line)
    expect_error(parse_fpm_dump, without_pm, 20, "no pm in the dump")
    expect_error(parse_fpm_dump, "stray\n", 1, "php-fpm log line")
    expect_error(parse_fpm_dump, "[t] NOTICE: \tpm = static\n", 1, "in a section")


def test_tt_warnings_are_skipped() -> None:
    lines = fpm_fixture("tt-test.txt").split("\n")
    warning = "[21-Nov-2026 21:14:52] WARNING: [pool www] pm.start_servers is not set."
    text = "\n".join([warning, *lines])
    assert parse_fpm_dump(text) == parse_fpm_dump(fpm_fixture("tt-test.txt"))


# ---------------------------------------------------------------- php-fpm: redaction


def test_redact_phpfpm() -> None:
    text = (
        "env[DB_PASSWORD] = hunter2\n"
        ";env[API_TOKEN] = abc\n"
        "php_admin_value[mail.secret_key]=xyz\n"
        "env[PATH] = /usr/bin\n"
        "[21-Nov-2026 21:15:09] NOTICE: \tenv[DB_PASSWORD] = hunter2\n"
        "env[EMPTY_SECRET] =\n"
    )
    assert redact_phpfpm(text) == (
        "env[DB_PASSWORD] = <redacted>\n"
        ";env[API_TOKEN] = <redacted>\n"
        "php_admin_value[mail.secret_key]=<redacted>\n"
        "env[PATH] = /usr/bin\n"
        "[21-Nov-2026 21:15:09] NOTICE: \tenv[DB_PASSWORD] = <redacted>\n"
        "env[EMPTY_SECRET] =\n"
    )
    for name in ("www.conf", "app.conf", "tt-test.txt"):
        assert redact_phpfpm(fpm_fixture(name)) == fpm_fixture(name)


# ---------------------------------------------------------------- fuzz

_NOISE = ["", " ", "\t", "\n", ";", "{", "}", "[", "]", "=", "#", "'", '"', "\\", "$", ":",
          "x", "0", "9", "-", "unix:", "\x00", "é"]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(text) + 1)
        kind = rng.randrange(5)
        if kind == 0:
            text = text[:pos] + rng.choice(_NOISE) + text[pos:]
        elif kind == 1:
            text = text[:pos] + rng.choice(_NOISE) + text[pos + 1 :]
        elif kind == 2:
            text = text[:pos] + text[pos + rng.randint(1, 30) :]
        else:
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if kind == 3:
                lines.insert(i, lines[j])
            else:
                del lines[i]
            text = "\n".join(lines)
    return text


FUZZED: list[tuple[str, Callable[[str], object]]] = [
    ("nginx/debian-default.T.txt", parse_nginx_dump),
    ("nginx/test-prefix.T.txt", parse_nginx_dump),
    ("phpfpm/www.conf", lambda t: parse_pool_file(t, f"{POOL_D}/www.conf")),
    ("phpfpm/app.conf", lambda t: parse_pool_file(t, f"{POOL_D}/app.conf")),
    ("phpfpm/tt-test.txt", parse_fpm_dump),
    ("phpfpm/tt-log-level-debug.txt", parse_fpm_dump),
]


@pytest.mark.parametrize(("name", "parse"), FUZZED, ids=[name for name, _ in FUZZED])
def test_fuzz_truncations_give_a_result_or_parse_error(
    name: str, parse: Callable[[str], object]
) -> None:
    original = (FIXTURES / name).read_text()
    parse(original)
    rng = random.Random(f"sockdoc-web-{name}")
    cuts = [rng.randrange(len(original) + 1) for _ in range(200)]
    for text in [original[:cut] for cut in cuts] + [_mutate(original, rng) for _ in range(300)]:
        try:
            result = parse(text)
        except ParseError as err:
            assert err.lineno is None or err.lineno >= 1
            assert "\n" not in str(err)
        else:
            assert isinstance(result, (NginxConfig, tuple))


@pytest.mark.parametrize("name", ["nginx/debian-default.T.txt", "nginx/test-prefix.T.txt"])
def test_fuzz_redaction_never_fails(name: str) -> None:
    original = (FIXTURES / name).read_text()
    rng = random.Random(f"sockdoc-redact-{name}")
    for _ in range(200):
        text = _mutate(original, rng)
        out = redact_nginx(text)
        assert out.count("\n") == text.count("\n")
        assert redact_phpfpm(text).count("\n") == text.count("\n")
