"""The Dovecot master forks every process; when it is busy, sockets wait for new processes.

Every login and mail process is forked by the one master process. When it uses a whole CPU,
or in bursts of forks, new processes come too late: logins queue on the service's socket and
fail with ``net_connect_unix(imap) failed: Resource temporarily unavailable`` although no
limit was reached (the Dovecot wiki page SocketUnavailable, "Master process busy"). The cure
is fewer forks: login processes in high-performance mode (``service_count = 0``, one process
serving many logins, ``process_min_avail`` about the number of CPU cores), mail processes
reused for many connections (``service_count = 100`` for imap, pop3 and managesieve; not 0,
in case of memory leaks), and idle processes forked in advance (``process_min_avail``).

Proof: the master's CPU time over the interval (``/proc/PID/stat`` utime + stime, read at
both samples) at 80% of one CPU or more: a warning. When Dovecot's listeners overflowed
(seen full, or the EAGAIN lines in the logs) while the master was not that busy, the same
settings are offered as info: they reduce forking at every burst.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.doveconf import DovecotService, is_login_service
from sockdoc.rules import _dovecot
from sockdoc.rules._dovecot import EAGAIN, MAIL_SERVICES, Dovecot
from sockdoc.rules.base import (
    ConfigChange,
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
)

ID = "dovecot-master-busy"
BUSY = 80.0  # percent of one CPU
DEFAULT_CPUS = 4  # when the CPU count is unknown
REUSE = 100  # the wiki's service_count for mail processes


def advice(dc: Dovecot, cpus: int) -> tuple[list[str], list[str]]:
    """(what to change, config snippets) to make the master fork less; empty when it already
    does all of it."""
    what: list[str] = []
    snippets: list[str] = []
    for svc in dc.services():
        if not is_login_service(svc) or svc.service_count != 1:
            continue
        if not any(inet.port for inet in svc.inet_listeners):
            continue  # not facing clients (imap-urlauth-login): forks only when used
        ready = min(cpus, svc.process_limit or cpus)
        what.append(f"{svc.name} forks one process per login (service_count = 1)")
        snippets.append(
            f"service {svc.name} {{\n  service_count = 0\n  process_min_avail = {ready}\n}}\n"
        )
    for name in MAIL_SERVICES:
        m = dc.service(name)
        if m is None or not dc.enabled(m):
            continue
        lines = []
        if m.service_count == 1:
            what.append(f"{name} forks one process per connection (service_count = 1)")
            lines.append(f"  service_count = {REUSE}\n")
        if not m.process_min_avail:
            ready = _ready(m, cpus)
            what.append(f"{name} keeps no idle process ready (process_min_avail = 0)")
            lines.append(f"  process_min_avail = {ready}\n")
        if lines:
            snippets.append(f"service {name} {{\n{''.join(lines)}}}\n")
    return what, snippets


def _ready(svc: DovecotService, cpus: int) -> int:
    return max(1, min(svc.process_limit or 1, 2 * cpus))


def check(f: HostFacts) -> Iterator[Outcome]:
    dc = _dovecot.find(f)
    if dc is None or dc.daemon is None:
        return
    master = dc.master
    cpu = master.cpu_percent if master is not None else None
    pid = master.pid if master is not None else 0
    owned = [
        s for s in f.listeners if s.owner is not None and s.owner.pid == pid and _dovecot.full(s)
    ]
    failed = _dovecot.log_count(f, EAGAIN)
    overflowed = bool(owned or failed)
    busy = cpu is not None and cpu >= BUSY
    cpus = f.softnet.cpus if f.softnet is not None and f.softnet.cpus else DEFAULT_CPUS
    what, snippets = advice(dc, cpus)
    if not busy and not (overflowed and what):
        if cpu is None:
            yield NotChecked(
                ID,
                "the Dovecot master's CPU time was not read at both samples",
                (f"s0/proc/{pid}/stat", f"s1/proc/{pid}/stat"),
            )
            return
        state = "its listeners did not overflow" if not overflowed else "it already forks little"
        yield Ok(
            ID,
            f"Dovecot master used {cpu:.0f}% of a CPU over {f.seconds:.1f} s; {state}",
        )
        return
    evidence = []
    if cpu is not None:
        evidence.append(
            Evidence(
                "master CPU use",
                round(cpu, 1),
                "% of one CPU",
                f"/proc/{pid}/stat over {f.seconds:.1f} s",
            )
        )
    for s in owned:
        evidence.append(
            Evidence(f"{s.name}: samples with the queue full", s.full_samples, "", "attribution")
        )
    if failed:
        evidence.append(
            Evidence(
                "net_connect_unix ... Resource temporarily unavailable lines", failed, "", "logs"
            )
        )
    evidence.append(Evidence("CPU cores", cpus, "", "/proc/net/softnet_stat"))
    evidence.append(Evidence("fork-reducing settings not in use", len(what), ""))
    if busy:
        title = f"Dovecot master at {cpu:.0f}% CPU: it cannot fork processes fast enough"
        explanation = (
            f"The master (pid {pid}) used {cpu:.0f}% of a CPU over {f.seconds:.1f} s. It forks "
            "every login and mail process; while it is this busy new processes start late and "
            "logins queue on the services' sockets until they overflow."
        )
    else:
        title = "Dovecot listeners overflowed: make the master fork less"
        explanation = (
            "Dovecot's sockets overflowed. Every login here costs the master one or more forks; "
            "at a burst it may not keep up even when no limit is reached: " + "; ".join(what) + "."
        )
    summary = (
        "Make the master fork less: "
        + ("; ".join(what) if what else "the fork-reducing settings are already in use")
        + ". Login high-performance mode may need a larger vsz_limit for the login service."
    )
    yield Finding(
        rule=ID,
        title=title,
        cause=Cause.PROCESS_LIMIT,
        severity=Severity.WARNING if busy else Severity.INFO,
        confidence=Confidence.MEDIUM,
        subject=dc.subject("dovecot master"),
        explanation=explanation,
        evidence=tuple(evidence),
        fix=Fix(
            summary,
            config=tuple(ConfigChange(dc.config_file(), s, dc.reload) for s in snippets),
            commands=() if snippets else (f"top -p {pid}",),
        ),
    )


RULE = Rule(
    ID,
    "Dovecot master too busy to fork",
    Cause.PROCESS_LIMIT,
    check,
    needs=("cmd/doveconf-a", "processes"),
)
