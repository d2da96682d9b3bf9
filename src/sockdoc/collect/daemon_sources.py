"""Per-daemon configuration, version and statistics, for the daemons found running.

A daemon started with its own configuration file (``dovecot -c FILE``, ``named -c FILE``,
``nginx -c FILE``) is asked about that file, not the packaged default. Configuration text is
redacted by its parser module's ``redact_*`` before anything keeps it (the sos idea: the
collector of a source masks its secrets). Only daemons that are running are asked: an idle
``doveconf`` on a host without Dovecot would be noise in "could not check".
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence

from sockdoc.collect import specs
from sockdoc.collect.processes import DaemonProc, config_flag
from sockdoc.collect.root import Recorder
from sockdoc.parsers import doveconf, named_conf, nginx_conf, phpfpm_conf
from sockdoc.parsers.errors import ParseError

PHP_POOLS = "/etc/php/*/fpm/pool.d/*.conf"
MAX_POOL_FILES = 64

VERSION_COMMANDS: dict[str, list[str]] = {
    "bind": ["named", "-v"],
    "dovecot": ["dovecot", "--version"],
    "nginx": ["nginx", "-v"],
    "unbound": ["unbound", "-V"],
    "redis": ["redis-server", "--version"],
    "haproxy": ["haproxy", "-v"],
    "postfix": ["postconf", "-h", "mail_version"],
}


def _text_post(fn: Callable[[str], str]) -> Callable[[bytes], bytes]:
    def post(data: bytes) -> bytes:
        return fn(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    return post


def _main(table: Sequence[DaemonProc], daemon: str) -> DaemonProc | None:
    """The daemon's top process (its parent is not the same daemon)."""
    pids = {p.pid for p in table if p.daemon == daemon}
    for p in sorted(table, key=lambda p: p.pid):
        if p.daemon == daemon and p.ppid not in pids:
            return p
    return None


def _conf_file(rec: Recorder, pid: int, flag: str = "-c") -> str | None:
    got = rec.got.get(specs.proc_pid(pid, "cmdline"))
    if got is None or not got.ok:
        got = rec.file(specs.proc_pid(pid, "cmdline"), f"/proc/{pid}/cmdline")
    return config_flag(got.text(), flag) if got.ok else None


def collect(rec: Recorder, table: Sequence[DaemonProc], pids: Sequence[int]) -> tuple[str, ...]:
    """Read each running daemon's sources; return the BIND statistics URLs to sample."""
    watched = set(pids)
    table = [p for p in table if p.pid in watched]
    daemons = {p.daemon for p in table}
    for daemon in sorted(daemons):
        argv = VERSION_COMMANDS.get(daemon)
        if argv:
            rec.command(specs.daemon_command(f"{daemon}-version"), argv, timeout=5.0)
    urls: list[str] = []
    bind = _main(table, "bind")
    if bind is not None:
        conf = _conf_file(rec, bind.pid)
        argv = ["named-checkconf", "-p", *([conf] if conf else [])]
        got = rec.command(
            specs.daemon_command("named-checkconf"),
            argv,
            post=_text_post(named_conf.redact_named_conf),
        )
        if got.ok:
            try:
                cfg = named_conf.parse_named_conf(got.text())
            except ParseError:
                cfg = None
            if cfg is not None:
                urls = [_stats_url(c.address, c.port) for c in cfg.statistics_channels][:2]
    dovecot = _main(table, "dovecot")
    if dovecot is not None:
        conf = _conf_file(rec, dovecot.pid)
        base = ["doveconf", *(["-c", conf] if conf else [])]
        post = _text_post(doveconf.redact_doveconf)
        rec.command(specs.daemon_command("doveconf-n"), [*base, "-n"], post=post)
        rec.command(specs.daemon_command("doveconf-a"), [*base, "-a"], post=post)
    nginx = _main(table, "nginx")
    if nginx is not None:
        conf = _conf_file(rec, nginx.pid)
        prefix = _conf_file(rec, nginx.pid, "-p")
        argv = ["nginx", "-T", *(["-c", conf] if conf else []), *(["-p", prefix] if prefix else [])]
        rec.command(specs.daemon_command("nginx-T"), argv, post=_text_post(nginx_conf.redact_nginx))
    if "php-fpm" in daemons:
        listing = rec.compute(
            "conf/php-fpm/list", PHP_POOLS, lambda: "\n".join(_pool_files()).encode()
        )
        for i, path in enumerate(listing.text().splitlines()[:MAX_POOL_FILES]):
            rec.file(specs.phpfpm_pool(i), path, post=_text_post(phpfpm_conf.redact_phpfpm))
    return tuple(urls)


def _pool_files() -> list[str]:
    return sorted(glob.glob(PHP_POOLS))[:MAX_POOL_FILES]


def _stats_url(addr: str, port: int) -> str:
    # a channel bound to any address is reached on loopback
    if addr in ("*", "0.0.0.0", "any"):  # noqa: S104 (a value read, not a bind)
        addr = "127.0.0.1"
    elif addr in ("::", "[::]"):
        addr = "::1"
    host = f"[{addr}]" if ":" in addr and not addr.startswith("[") else addr
    # the whole document (about 16 KB) holds both nsstats and sockstats; /json/v1/server has
    # no socket counters and /json/v1/net no query counters
    return f"http://{host}:{port}/json/v1"
