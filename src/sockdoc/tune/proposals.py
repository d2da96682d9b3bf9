"""The settings a diagnosis calls for: one line per setting, its value now, the value proposed,
and the findings (with their evidence) that ask for it.

Every finding of severity warning or above contributes what its fix names exactly:

* ``Fix.sysctls``: a kernel setting (``net.core.somaxconn``, ``net.core.wmem_max``...);
* a ``ConfigChange`` that is a systemd drop-in with ``LimitNOFILE=`` (daemon-fd-limit,
  dovecot-fd-limit): the unit's open-files limit;
* a ``ConfigChange`` made only of Dovecot ``service NAME { KEY = NUMBER }`` blocks
  (``process_limit``, ``process_min_avail``, ``client_limit``, ``service_count``).

Anything else a fix asks for (``named.conf``'s ``udp-send-buffer``, nginx's
``worker_rlimit_nofile``, a firewall rule) is listed as a manual change: tune does not edit a
daemon's own configuration files. Info findings are advice and propose nothing.

Besides what the rules compute, tune adds what the evidence shows for a TCP listener whose
backlog was cut to ``net.core.somaxconn`` and that dropped connections: the queue that would
have held every connection of the sampled interval, its longest queue plus the connections it
dropped (had those been queued, the queue could not have been longer), as a power of two and
at most 65,536. And when the Dovecot limits it proposes give a service's sockets a listen
backlog (``process_limit x client_limit``, src/master/service-listen.c) above
``net.core.somaxconn``, it raises somaxconn to match, as the rules do for their own values.

Proposals for one setting are merged: the largest wins, and a setting already at least as
large as the proposal is kept, never lowered (a smaller ``wmem_max`` would cap what a daemon
already asks for). For a tuple (``tcp_mem``; ``LimitNOFILE`` as soft:hard) each part is
compared on its own. Two Dovecot settings order differently: ``service_count = 0`` means "no
limit" and ranks above any number, and ``client_limit`` is the one setting tune lowers: the
dovecot-client-limit finding proposes ``client_limit = 1`` for a mail service together with a
``process_limit`` that keeps its capacity (one session per process, the Dovecot wiki's
SocketUnavailable page).

Where each setting is written: sysctls in ``/etc/sysctl.d/90-sockdoc.conf``, or, for a
network namespace, in ``/etc/netns/NAME/sysctl.d/90-sockdoc.conf`` (the per-namespace
configuration that ``ip netns exec`` shows in place of ``/etc``, ip-netns(8); the host's boot
does not read it). A namespace has its own ``somaxconn``, ``tcp_max_syn_backlog``,
``tcp_syncookies`` and ``max_dgram_qlen`` only: the other kernel settings are the host's
(read-only, absent, or shared there) and are listed as skipped for a namespace. Dovecot's
settings go to ``conf.d/90-sockdoc.conf`` beside the configuration in use (Debian's
``dovecot.conf`` includes ``conf.d/*.conf``; sections of the same service merge, later files
win), a unit's limit to ``/etc/systemd/system/UNIT.d/90-sockdoc.conf``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sockdoc.engine import Diagnosis
from sockdoc.facts.host import HostFacts, Listener
from sockdoc.matchers.base import Severity
from sockdoc.parsers import doveconf
from sockdoc.parsers.sysctl import SYSCTLS
from sockdoc.rules import _dovecot
from sockdoc.rules.base import SYSCTL_D, ConfigChange, Evidence, Finding, pow2_at_least

Kind = Literal["sysctl", "dovecot", "systemd"]
Value = int | tuple[int, ...]

FILE_NAME = "90-sockdoc.conf"
SYSCTL_FILE = SYSCTL_D
NETNS_ETC = "/etc/netns"  # ip-netns(8): per-namespace files that `ip netns exec` bind-mounts
DEBIAN_DOVECOT_DIR = "/etc/dovecot"
PID_NETNS = "pid:"  # how a diagnosis names the namespace of --pid
SYSTEMD_DIR = "/etc/systemd/system"

# The kernel settings each network namespace has its own copy of (writable there); the rest
# are the host's (net/core/sysctl_net_core.c registers netdev_* and, read-only, wmem/rmem for
# a child namespace; tcp_mem/udp_mem and fs.* are global).
NETNS_SYSCTLS = frozenset(
    {
        "net.core.somaxconn",
        "net.ipv4.tcp_max_syn_backlog",
        "net.ipv4.tcp_syncookies",
        "net.unix.max_dgram_qlen",
    }
)
LISTEN_SYSCTLS = frozenset({"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"})
# A backlog tune derives from what it saw is met with at most this much: a deeper queue only
# hides a server that has stopped accepting (the rules cap derived values the same way).
MAX_DERIVED_BACKLOG = 65536
DOVECOT_SETTINGS = ("client_limit", "process_limit", "process_min_avail", "service_count")
LISTENER_RULES = ("tcp-listen-queue-full", "listen-backlog-capped")
TUNE = "tune"  # the rule name of what tune itself derives from the evidence

_DROP_IN = re.compile(r"/etc/systemd/system/(?P<unit>[^/\s]+)\.d/[^/\s]+\.conf")
_NOFILE = re.compile(r"^LimitNOFILE=(?P<soft>\d+)(?::(?P<hard>\d+))?\s*$", re.MULTILINE)
_BLOCK = re.compile(r"service\s+(?P<name>[A-Za-z0-9_.-]+)\s*\{(?P<body>[^{}]*)\}")
_LINE = re.compile(r"(?P<key>[a-z_]+)\s*=\s*(?P<value>\d+)")


@dataclass(frozen=True)
class Reason:
    """Why a value is proposed: the finding (rule and subject) or tune's own computation
    (rule ``tune``), the value it asked for, in its words, and the evidence behind it."""

    rule: str
    subject: str
    asked: Value
    why: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives (``file``; ``scope`` is the Dovecot service or the systemd
    unit, empty for a sysctl), its value now (None: not read), the value proposed, why, and
    what must follow for it to take effect (tune never restarts or reloads a daemon)."""

    kind: Kind
    scope: str
    name: str
    current: Value | None
    value: Value
    file: str
    reasons: tuple[Reason, ...]
    then: tuple[str, ...] = ()
    lowers: bool = False  # client_limit = 1: lowered on purpose (see the module docstring)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.name)

    @property
    def label(self) -> str:
        if self.kind == "dovecot":
            return f"service {self.scope} {{ {self.name} }}"
        if self.kind == "systemd":
            return f"{self.scope} {self.name}"
        return self.name


@dataclass(frozen=True)
class Manual:
    """A change a finding asks for that tune does not write: the operator makes it."""

    rule: str
    subject: str
    file: str
    text: str
    reload: str


@dataclass(frozen=True)
class Advice:
    """A finding whose fix tune does not write: an info finding's advice, or a fix that is
    not a setting (accept faster, a program's own socket option)."""

    rule: str
    subject: str
    summary: str


@dataclass(frozen=True)
class Skipped:
    """A proposed setting left out, and why (host-wide in a namespace, refused as unsafe)."""

    setting: Setting
    why: str
    refused: bool = False


@dataclass(frozen=True)
class Plan:
    """What tune proposes for one diagnosis (see the module docstring)."""

    changes: tuple[Setting, ...]
    kept: tuple[Setting, ...]  # proposals the current value already meets (value: proposed)
    skipped: tuple[Skipped, ...]
    manual: tuple[Manual, ...]
    advice: tuple[Advice, ...]
    netns: str | None
    findings: int  # findings of severity warning or above that were read
    notes: tuple[str, ...] = field(default=())
    elsewhere: tuple[Advice, ...] = field(default=())  # fixes with no setting to write

    @property
    def refused(self) -> tuple[Skipped, ...]:
        return tuple(s for s in self.skipped if s.refused)

    def files(self) -> tuple[str, ...]:
        """The files the changes go to, in order of first appearance."""
        return tuple(dict.fromkeys(s.file for s in self.changes))


def sysctl_file(netns: str | None) -> str:
    """Where the kernel settings are written: the host's sysctl.d, or the namespace's. The
    namespace of a process (``pid:N``, a container's) has no name: its file is the one the
    container's own ``/etc`` would hold.

    >>> sysctl_file(None), sysctl_file("pid:42")
    ('/etc/sysctl.d/90-sockdoc.conf', '/etc/sysctl.d/90-sockdoc.conf')
    >>> sysctl_file("web")
    '/etc/netns/web/sysctl.d/90-sockdoc.conf'
    """
    if netns is None or netns.startswith(PID_NETNS):
        return SYSCTL_FILE
    return f"{NETNS_ETC}/{netns}/sysctl.d/{FILE_NAME}"


def drop_in_file(unit: str) -> str:
    return f"{SYSTEMD_DIR}/{unit}.d/{FILE_NAME}"


def dovecot_file(config_path: str | None) -> str:
    """``conf.d/90-sockdoc.conf`` beside the Dovecot configuration in use.

    >>> dovecot_file(None), dovecot_file("/srv/mail/dovecot.conf")
    ('/etc/dovecot/conf.d/90-sockdoc.conf', '/srv/mail/conf.d/90-sockdoc.conf')
    """
    base = posixpath.dirname(config_path) if config_path else DEBIAN_DOVECOT_DIR
    return f"{base}/conf.d/{FILE_NAME}"


def shown(value: Value | None, kind: Kind = "sysctl") -> str:
    """A value as its file spells it: ``4096``, ``1 2 3`` (sysctl), ``4096:524288`` (a
    systemd soft:hard limit); ``?`` when not read.

    >>> shown((1, 2, 3)), shown((4096, 524288), "systemd"), shown(None), shown(8)
    ('1 2 3', '4096:524288', '?', '8')
    """
    if value is None:
        return "?"
    if isinstance(value, int):
        return str(value)
    if kind == "systemd":
        return ":".join(str(v) for v in value)
    return " ".join(str(v) for v in value)


def parse_number(raw: int | str) -> Value | None:
    """A sysctl value from a fix: an int, or a tuple for several numbers; None otherwise.

    >>> parse_number(4096), parse_number("1 2 3"), parse_number("auto")
    (4096, (1, 2, 3), None)
    """
    if isinstance(raw, int):
        return raw
    parts = raw.split()
    if not parts or not all(p.isdigit() for p in parts):
        return None
    numbers = tuple(int(p) for p in parts)
    return numbers[0] if len(numbers) == 1 else numbers


def _parts(v: Value) -> tuple[int, ...]:
    return (v,) if isinstance(v, int) else v


def _from_parts(parts: Sequence[int]) -> Value:
    return parts[0] if len(parts) == 1 else tuple(parts)


def _count_rank(n: int) -> float:
    """service_count: 0 means no limit, above any number."""
    return float("inf") if n == 0 else float(n)


def merge(kind: Kind, name: str, values: Sequence[Value]) -> Value:
    """The value that satisfies every proposal: the largest (part by part for a tuple).

    >>> merge("sysctl", "net.core.somaxconn", [16, 4096, 128])
    4096
    >>> merge("sysctl", "net.ipv4.tcp_mem", [(1, 5, 3), (2, 4, 3)])
    (2, 5, 3)
    >>> merge("dovecot", "service_count", [100, 0]), merge("dovecot", "client_limit", [4, 1])
    (0, 1)
    """
    if kind == "dovecot" and name == "client_limit":
        return min(_parts(v)[0] for v in values)
    if kind == "dovecot" and name == "service_count":
        return max((_parts(v)[0] for v in values), key=_count_rank)
    width = max(len(_parts(v)) for v in values)
    same = [_parts(v) for v in values if len(_parts(v)) == width]
    return _from_parts([max(p[i] for p in same) for i in range(width)])


def outcome(kind: Kind, name: str, proposed: Value, current: Value | None) -> Value | None:
    """The value to set so that no part goes down, or None when ``current`` already meets
    ``proposed`` (the one exception: Dovecot's client_limit is set as proposed).

    >>> outcome("sysctl", "net.core.somaxconn", 4096, 8), outcome("sysctl", "x", 16, 4096)
    (4096, None)
    >>> outcome("sysctl", "net.ipv4.tcp_mem", (10, 50, 30), (20, 40, 60))
    (20, 50, 60)
    >>> outcome("dovecot", "service_count", 100, 0), outcome("dovecot", "client_limit", 1, 10)
    (None, 1)
    """
    if current is None:
        return proposed
    if kind == "dovecot" and name == "client_limit":
        return None if proposed == current else proposed
    if kind == "dovecot" and name == "service_count":
        p, c = _parts(proposed)[0], _parts(current)[0]
        return proposed if _count_rank(p) > _count_rank(c) else None
    now, want = _parts(current), _parts(proposed)
    if len(now) != len(want):
        return proposed
    new = tuple(max(a, b) for a, b in zip(now, want, strict=True))
    return None if new == now else _from_parts(new)


def current_sysctl(facts: HostFacts, name: str) -> Value | None:
    """The value the diagnosis read for a sysctl (None for one it does not read)."""
    entry = SYSCTLS.get(name)
    if entry is None:
        return None
    value: int | tuple[int, ...] | None = getattr(facts.sysctls, entry[0])
    return value


# --- what each finding asks for ---------------------------------------------------------------


Key = tuple[Kind, str, str]


class _Collect:
    def __init__(self, facts: HostFacts, netns: str | None) -> None:
        self.facts = facts
        self.netns = netns
        self.dovecot = _dovecot.find(facts)
        self.asked: dict[Key, list[Reason]] = {}
        self.current: dict[Key, Value | None] = {}
        self.files: dict[Key, str] = {}
        self.then: dict[Key, list[str]] = {}
        self.manual: list[Manual] = []
        self.advice: list[Advice] = []
        self.elsewhere: list[Advice] = []
        self.notes: list[str] = []
        self.seen_listeners: set[int] = set()

    def add(
        self,
        key: Key,
        reason: Reason,
        current: Value | None,
        file: str,
        then: Iterable[str] = (),
    ) -> None:
        self.asked.setdefault(key, []).append(reason)
        self.current.setdefault(key, current)
        self.files.setdefault(key, file)
        known = self.then.setdefault(key, [])
        known.extend(t for t in then if t not in known)

    def finding(self, f: Finding) -> None:
        if f.severity is Severity.INFO:
            if f.fix.sysctls or f.fix.config:
                self.advice.append(Advice(f.rule, str(f.subject), f.fix.summary))
            return
        subject = str(f.subject)
        if not f.fix.sysctls and not f.fix.config:
            self.elsewhere.append(Advice(f.rule, subject, f.fix.summary))
        for name, raw in f.fix.sysctls:
            value = parse_number(raw)
            if value is None:
                self.manual.append(
                    Manual(f.rule, subject, sysctl_file(self.netns), f"{name} = {raw}", "")
                )
                continue
            self.add(
                ("sysctl", "", name),
                Reason(f.rule, subject, value, f.fix.summary, f.evidence),
                current_sysctl(self.facts, name),
                sysctl_file(self.netns),
                _after_sysctl(f, name),
            )
        for change in f.fix.config:
            if not (self._limit(f, change) or self._dovecot_blocks(f, change)):
                self.manual.append(Manual(f.rule, subject, change.file, change.text, change.reload))
        if f.rule in LISTENER_RULES and f.subject.kind == "socket":
            self._listener_demand(f)

    def _limit(self, f: Finding, change: ConfigChange) -> bool:
        """A systemd drop-in with LimitNOFILE (and nothing else but its section header)."""
        m = _DROP_IN.fullmatch(change.file.strip())
        n = _NOFILE.search(change.text)
        rest = _NOFILE.sub("", change.text).replace("[Service]", "").strip()
        if m is None or n is None or rest:
            return False
        unit = m["unit"]
        want = int(n["soft"])
        proc = next(
            (p for d in self.facts.daemons for p in d.processes if p.pid == f.subject.pid),
            None,
        )
        current: Value | None = None
        hard = want
        if proc is not None and proc.nofile_soft is not None:
            current = (proc.nofile_soft, proc.nofile_hard or proc.nofile_soft)
            hard = max(want, proc.nofile_hard or want)
        self.add(
            ("systemd", unit, "LimitNOFILE"),
            Reason(f.rule, str(f.subject), (want, hard), f.fix.summary, f.evidence),
            current,
            drop_in_file(unit),
            (change.reload,) if change.reload else (),
        )
        return True

    def _dovecot_blocks(self, f: Finding, change: ConfigChange) -> bool:
        """Dovecot ``service NAME { KEY = NUMBER }`` blocks (and nothing else)."""
        dc = self.dovecot
        blocks = list(_BLOCK.finditer(change.text))
        if dc is None or not blocks or _BLOCK.sub("", change.text).strip():
            return False
        parsed: list[tuple[str, str, int]] = []
        for b in blocks:
            lines = [x.strip() for x in b["body"].splitlines() if x.strip()]
            for line in lines:
                m = _LINE.fullmatch(line)
                if m is None or m["key"] not in DOVECOT_SETTINGS:
                    return False
                parsed.append((b["name"], m["key"], int(m["value"])))
        file = dovecot_file(dc.config.config_path)
        for service, name, value in parsed:
            svc = dc.service(service)
            now = getattr(svc, name) if svc is not None else None
            self.add(
                ("dovecot", service, name),
                Reason(f.rule, str(f.subject), value, f.fix.summary, f.evidence),
                now if isinstance(now, int) else None,
                file,
                (change.reload,) if change.reload else (),
            )
        return True

    def _listener_demand(self, f: Finding) -> None:
        """somaxconn for a TCP listener cut to it that dropped connections (module doc)."""
        somax = self.facts.sysctls.somaxconn
        s = _listener(self.facts, f)
        if somax is None or s is None or s.inode in self.seen_listeners:
            return
        if s.backlog < somax or not s.drops:
            return  # below the ceiling: the program's own backlog setting is what to raise
        self.seen_listeners.add(s.inode)
        peak = s.peak if s.peak is not None else s.queue
        demand = peak + s.drops
        want = min(pow2_at_least(demand), MAX_DERIVED_BACKLOG)
        seconds = self.facts.seconds
        why = (
            f"{s.name} got a backlog of {s.backlog:,} (net.core.somaxconn) and dropped "
            f"{s.drops:,} connections in {seconds:.1f} s: a queue of its longest {peak:,} plus "
            f"those {s.drops:,} would have held them all; {demand:,} as a power of two"
            + (f", at most {MAX_DERIVED_BACKLOG:,}" if want < pow2_at_least(demand) else "")
            + "."
        )
        evidence = (
            Evidence("backlog granted (ss -l Send-Q)", s.backlog, "", "sock_diag"),
            Evidence("net.core.somaxconn", somax, "", "/proc/sys/net/core/somaxconn"),
            Evidence(
                "longest queue seen",
                peak,
                "",
                "attribution sampler" if s.peak is not None else "sock_diag",
            ),
            Evidence(
                f"connections dropped in {seconds:.1f} s",
                s.drops,
                "",
                "sock_diag SK_MEMINFO drops",
            ),
        )
        self.add(
            ("sysctl", "", "net.core.somaxconn"),
            Reason(TUNE, str(f.subject), want, why, evidence),
            somax,
            sysctl_file(self.netns),
            _after_sysctl(f, "net.core.somaxconn"),
        )

    def dovecot_backlogs(self) -> None:
        """somaxconn for the listen backlog the proposed Dovecot limits give (module doc)."""
        dc = self.dovecot
        somax = self.facts.sysctls.somaxconn
        if dc is None or somax is None:
            return
        services = sorted(
            {
                scope
                for kind, scope, name in self.asked
                if kind == "dovecot" and name in ("process_limit", "client_limit")
            }
        )
        for name in services:
            svc = dc.service(name)
            if svc is None or not dc.socket_names(svc):
                continue
            limit = self._merged_or(("dovecot", name, "process_limit"), svc.process_limit)
            clients = self._merged_or(("dovecot", name, "client_limit"), svc.client_limit)
            if limit is None or clients is None:
                continue
            backlog = max(limit * clients, doveconf.MIN_BACKLOG)
            if backlog <= somax:
                continue
            want = min(pow2_at_least(backlog), MAX_DERIVED_BACKLOG)
            why = (
                f"the proposed limits give service {name}'s sockets a listen backlog of "
                f"process_limit {limit:,} x client_limit {clients:,} = {backlog:,}, above "
                f"net.core.somaxconn {somax:,}, which would cut it"
            )
            self.add(
                ("sysctl", "", "net.core.somaxconn"),
                Reason(TUNE, f"dovecot {name}", want, why + ".", ()),
                somax,
                sysctl_file(self.netns),
                ("restart Dovecot after the sysctl, so that its sockets listen again",),
            )

    def _merged_or(self, key: Key, now: int | None) -> int | None:
        reasons = self.asked.get(key)
        if not reasons:
            return now
        merged = merge(key[0], key[2], [r.asked for r in reasons])
        value = outcome(key[0], key[2], merged, now)
        return _parts(value)[0] if value is not None else now


def _listener(facts: HostFacts, f: Finding) -> Listener | None:
    for s in facts.listeners:
        if s.kind != "tcp" or s.name != f.subject.name:
            continue
        if f.subject.pid is None or s.owner is None or s.owner.pid == f.subject.pid:
            return s
    return None


def _after_sysctl(f: Finding, name: str) -> tuple[str, ...]:
    """What must follow a sysctl for this finding to be fixed: the restarts and reloads its
    fix names, and for a listen-queue setting the restart of the listener's program."""
    out = [c for c in f.fix.commands if "restart" in c or "reload" in c]
    if name in LISTEN_SYSCTLS and f.subject.kind == "socket" and not out:
        out.append(
            f"restart the program listening on {f.subject} so that it listens again: a "
            "listener keeps the backlog it got from listen()"
        )
    if name in ("net.core.wmem_default", "net.core.rmem_default"):
        out.append(
            f"{name} applies to sockets made afterwards: restart the daemon whose sockets "
            "overflowed"
        )
    return tuple(out)


# --- merging ----------------------------------------------------------------------------------

_KIND_ORDER = {"sysctl": 0, "dovecot": 1, "systemd": 2}


def propose(diagnosis: Diagnosis, netns: str | None = None) -> Plan:
    """The plan for ``diagnosis``; ``netns`` names the network namespace it is for (from
    ``--netns``, else the one the diagnosis looked at), which moves the sysctls to that
    namespace's file and skips the host-wide ones."""
    facts = diagnosis.facts
    c = _Collect(facts, netns)
    counted = 0
    for f in diagnosis.findings:
        if f.severity is not Severity.INFO:
            counted += 1
        c.finding(f)
    c.dovecot_backlogs()
    changes: list[Setting] = []
    kept: list[Setting] = []
    skipped: list[Skipped] = []
    for key, reasons in c.asked.items():
        kind, scope, name = key
        proposed = merge(kind, name, [r.asked for r in reasons])
        current = c.current[key]
        value = outcome(kind, name, proposed, current)
        setting = Setting(
            kind,
            scope,
            name,
            current,
            proposed if value is None else value,
            c.files[key],
            tuple(sorted(reasons, key=lambda r: (r.rule == TUNE, r.rule, r.subject))),
            tuple(c.then.get(key, ())),
            lowers=_lowers(kind, name, value, current),
        )
        if value is None:
            kept.append(setting)
        elif kind == "sysctl" and netns is not None and name not in NETNS_SYSCTLS:
            skipped.append(Skipped(setting, host_wide(name, netns)))
        else:
            changes.append(setting)
    if netns is not None and netns.startswith(PID_NETNS) and changes:
        c.notes.append(
            f"The namespace is process {netns[len(PID_NETNS) :]}'s (a container's): put the "
            "sysctl file in the container's /etc/sysctl.d, or give the values to its runtime "
            "(docker run --sysctl NAME=VALUE)."
        )
    if c.dovecot is not None and any(s.kind == "dovecot" for s in changes):
        path = c.dovecot.config.config_path
        if path is not None and path != _dovecot.DEBIAN_MAIN_CONF:
            c.notes.append(
                f"Dovecot runs with {path}: make sure it reads the snippet (add "
                f"'!include_try conf.d/{FILE_NAME}' at its end if it does not include "
                "conf.d/*.conf)."
            )

    def order(s: Setting) -> tuple[str, int, str, str]:
        return (s.file, _KIND_ORDER[s.kind], s.scope, s.name)

    return Plan(
        changes=tuple(sorted(changes, key=order)),
        kept=tuple(sorted(kept, key=order)),
        skipped=tuple(skipped),
        manual=tuple(_unique(c.manual)),
        advice=tuple(c.advice),
        netns=netns,
        findings=counted,
        notes=tuple(c.notes),
        elsewhere=tuple(c.elsewhere),
    )


def _lowers(kind: Kind, name: str, value: Value | None, current: Value | None) -> bool:
    if kind != "dovecot" or name != "client_limit" or value is None or current is None:
        return False
    return _parts(value)[0] < _parts(current)[0]


def host_wide(name: str, netns: str) -> str:
    return (
        f"{name} is the host's setting, not network namespace {netns}'s (read-only, absent or "
        "shared there): set it on the host"
    )


def with_current(plan: Plan, now: dict[Key, Value | None]) -> Plan:
    """``plan`` against values read again just before applying (they may have changed since
    the diagnosis): a setting the system already meets moves to ``kept``."""
    changes: list[Setting] = []
    kept = list(plan.kept)
    for s in plan.changes:
        if s.key not in now:
            changes.append(s)
            continue
        fresh = now[s.key]
        proposed = merge(s.kind, s.name, [r.asked for r in s.reasons])
        value = outcome(s.kind, s.name, proposed, fresh)
        if value is None:
            kept.append(replace(s, current=fresh, value=proposed))
        else:
            changes.append(replace(s, current=fresh, value=value))
    return replace(plan, changes=tuple(changes), kept=tuple(kept))


def _unique(items: Iterable[Manual]) -> list[Manual]:
    seen: set[tuple[str, str]] = set()
    out = []
    for m in items:
        if (m.file, m.text) in seen:
            continue
        seen.add((m.file, m.text))
        out.append(m)
    return out
