"""A daemon process close to its open-files limit: soon it cannot accept or open anything.

Every socket, pipe and file a process holds is a descriptor, and the kernel refuses one more
than the soft ``RLIMIT_NOFILE`` (``Max open files`` in ``/proc/PID/limits``) with EMFILE
("Too many open files"; ``alloc_fd()``, fs/file.c). A server at its limit stops accepting:
``accept()`` fails, the listener's queue fills behind it and clients get refused or time out,
while the daemon logs EMFILE, if it can still open its log. The limit comes from the service
manager (systemd's ``LimitNOFILE=``, default 1024 soft), not from ``/etc/security/limits.conf``,
which applies to login sessions only (pam_limits(8)).

Proof: the number of entries in ``/proc/PID/fd`` against the soft limit, for every process of
the daemons sockdoc knows: warning from 80% on, error from 95%. Fix: a systemd drop-in that
raises ``LimitNOFILE`` to a power of two at least twice the descriptors in use (at least
systemd's default 1024, at most ``fs.nr_open``, the kernel's ceiling for any process), then a
restart, since limits are set when the process starts; for nginx workers also
``worker_rlimit_nofile``, which the workers apply to themselves
(src/os/unix/ngx_process_cycle.c ``ngx_worker_process_init()``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import Daemon, HostFacts, Proc
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import (
    ConfigChange,
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    pow2_at_least,
)

ID = "daemon-fd-limit"
WARN = 0.80
ERROR = 0.95
DEFAULT_NR_OPEN = 1 << 20  # fs.nr_open's default (include/linux/fs.h INR_OPEN_MAX)
# systemd's default soft LimitNOFILE (systemd.exec(5)): never propose less than a default host
MIN_PROPOSED = 1024

# daemon id -> the systemd unit Debian 12 runs it as
UNITS: dict[str, str] = {
    "bind": "named.service",
    "unbound": "unbound.service",
    "dovecot": "dovecot.service",
    "nginx": "nginx.service",
    "postfix": "postfix@-.service",
    "redis": "redis-server.service",
    "haproxy": "haproxy.service",
}
_PDNS_UNITS = {
    "pdns_server": "pdns.service",
    "pdns_recursor": "pdns-recursor.service",
    "dnsdist": "dnsdist.service",
}


def unit_for(d: Daemon) -> str:
    """The systemd unit of daemon ``d`` (from its main process's name where it varies)."""
    main = d.main.comm if d.main is not None else ""
    if d.name == "php-fpm":
        # comm "php-fpm8.2" -> Debian's unit "php8.2-fpm.service"
        version = main.removeprefix("php-fpm")
        return f"php{version}-fpm.service" if version else "php-fpm.service"
    if d.name == "pdns":
        return _PDNS_UNITS.get(main, "pdns.service")
    return UNITS.get(d.name, f"{d.name}.service")


def drop_in(unit: str) -> str:
    return f"/etc/systemd/system/{unit}.d/limits.conf"


def nofile_fix(unit: str, want: int, why: str) -> Fix:
    """``LimitNOFILE=want`` for ``unit`` as a drop-in, with the commands that apply it."""
    return Fix(
        f"Raise the open-files limit of {unit} to {want:,} ({why}) with a systemd drop-in, "
        "then restart it: limits are set when a process starts.",
        config=(
            ConfigChange(
                drop_in(unit),
                f"[Service]\nLimitNOFILE={want}\n",
                f"systemctl daemon-reload && systemctl restart {unit}",
            ),
        ),
    )


def _use(p: Proc) -> float | None:
    if p.open_fds is None or not p.nofile_soft:
        return None
    return p.open_fds / p.nofile_soft


def _finding(f: HostFacts, d: Daemon, worst: Proc, over: list[Proc]) -> Finding:
    assert worst.open_fds is not None and worst.nofile_soft is not None
    frac = worst.open_fds / worst.nofile_soft
    nr_open = f.sysctls.nr_open or DEFAULT_NR_OPEN
    want = min(max(pow2_at_least(2 * worst.open_fds), MIN_PROPOSED), nr_open)
    unit = unit_for(d)
    fix = nofile_fix(unit, want, f"at least twice the {worst.open_fds:,} descriptors in use")
    if d.name == "nginx" and d.main is not None and worst.pid != d.main.pid:
        fix = Fix(
            fix.summary + " nginx workers set their own limit: also set worker_rlimit_nofile.",
            config=(
                *fix.config,
                ConfigChange(
                    "/etc/nginx/nginx.conf (main context)",
                    f"worker_rlimit_nofile {want};\n",
                    "nginx -t && systemctl reload nginx",
                ),
            ),
        )
    evidence = [
        Evidence("open descriptors", worst.open_fds, "", f"/proc/{worst.pid}/fd ({worst.comm})"),
        Evidence("soft limit (Max open files)", worst.nofile_soft, "", f"/proc/{worst.pid}/limits"),
        Evidence("in use", round(100 * frac, 1), "%", "open / soft limit"),
    ]
    if worst.nofile_hard is not None:
        evidence.append(Evidence("hard limit", worst.nofile_hard, "", f"/proc/{worst.pid}/limits"))
    evidence.append(
        Evidence(
            f"processes of {d.name} at {WARN:.0%} or more of their limit",
            len(over),
            "",
            "/proc/PID/fd, /proc/PID/limits",
        )
    )
    evidence.append(Evidence("fs.nr_open (ceiling for LimitNOFILE)", nr_open, "", "/proc/sys"))
    return Finding(
        rule=ID,
        title=f"{d.name}: {worst.comm}[{worst.pid}] uses {frac:.0%} of its open-files limit",
        cause=Cause.FD_LIMIT,
        severity=Severity.ERROR if frac >= ERROR else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=Subject("daemon", d.name, worst.pid, worst.comm),
        explanation=(
            f"{worst.comm}[{worst.pid}] holds {worst.open_fds:,} descriptors against a soft "
            f"limit of {worst.nofile_soft:,}. At the limit every accept(), socket() and open() "
            "fails with EMFILE: new connections wait in the listen queue until it overflows."
        ),
        evidence=tuple(evidence),
        fix=fix,
    )


def check(f: HostFacts) -> Iterator[Outcome]:
    if not f.daemons:
        return
    read = [(d, p) for d in f.daemons for p in d.processes if _use(p) is not None]
    if not read:
        keys = tuple(
            k
            for d in f.daemons
            for p in d.processes
            for k in (f"proc/{p.pid}/limits", f"proc/{p.pid}/fdcount")
        )
        denied = any(s.needs_root for s in f.missing("proc/"))
        yield NotChecked(
            ID,
            "no daemon process had both its descriptor count and its limits read",
            keys,
            denied,
        )
        return
    found = False
    for d in f.daemons:
        over = [p for p in d.processes if (u := _use(p)) is not None and u >= WARN]
        if not over:
            continue
        found = True
        worst = max(over, key=lambda p: _use(p) or 0.0)
        yield _finding(f, d, worst, over)
    if not found:
        d, p = max(read, key=lambda dp: _use(dp[1]) or 0.0)
        yield Ok(
            ID,
            f"{len(read)} processes of {len({d.name for d, _ in read})} daemons checked; "
            f"the highest use is {p.comm}[{p.pid}] ({d.name}) with {p.open_fds:,} of "
            f"{p.nofile_soft:,} descriptors ({_use(p) or 0.0:.0%})",
        )


RULE = Rule(
    ID,
    "Daemon near its open-files limit",
    Cause.FD_LIMIT,
    check,
    needs=("processes",),
)
