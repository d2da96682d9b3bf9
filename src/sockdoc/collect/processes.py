"""Find the processes of the daemons sockdoc knows, with their whole process tree.

A daemon is recognised by its main process's command name (``/proc/PID/comm``); its children
(Dovecot's ``imap``/``imap-login``, nginx's workers, php-fpm's pool processes) are found by
parent pid. The result is a small text table, one process per line, that the facts builder
parses (:func:`sockdoc.parsers.proc_pid` reads the per-process files)::

    PID<TAB>PPID<TAB>DAEMON<TAB>COMM<TAB>NETNS
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

# comm of a daemon's main process -> the daemon id used by the matchers and rules.
# comm is at most 15 bytes (TASK_COMM_LEN - 1): "php-fpm8.2" fits, "pdns_recursor" fits.
MAIN_COMMS: dict[str, str] = {
    "named": "bind",
    "unbound": "unbound",
    "pdns_server": "pdns",
    "pdns_recursor": "pdns",
    "dnsdist": "pdns",
    "dovecot": "dovecot",
    "nginx": "nginx",
    "master": "postfix",  # Postfix's master; checked against its cmdline below
    "redis-server": "redis",
    "haproxy": "haproxy",
}
MAX_PER_DAEMON = 16  # processes of one daemon whose stat/limits/fds are read
MAX_PROCESSES = 5000  # a bound on the table (pre-forked servers can run thousands)


def _daemon_of(comm: str) -> str | None:
    if comm in MAIN_COMMS:
        return MAIN_COMMS[comm]
    if comm.startswith("php-fpm"):
        return "php-fpm"
    return None


def _read(path: str, limit: int = 4096) -> str:
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", "surrogateescape")


def _stat_fields(proc: str, pid: int) -> tuple[str, int] | None:
    """comm and ppid from /proc/PID/stat (comm may hold spaces and parentheses)."""
    try:
        text = _read(f"{proc}/{pid}/stat")
    except OSError:
        return None
    lpar, rpar = text.find("("), text.rfind(")")
    if lpar < 0 or rpar < lpar:
        return None
    rest = text[rpar + 2 :].split()
    if len(rest) < 2 or not rest[1].isdigit() or rest[0] in ("Z", "X"):
        return None  # a zombie is not a daemon any more (and has no fds or limits to read)
    return text[lpar + 1 : rpar], int(rest[1])


def _netns(proc: str, pid: int) -> str:
    try:
        return os.readlink(f"{proc}/{pid}/ns/net")
    except OSError:  # not root: another user's process; unknown rather than wrong
        return "?"


def daemon_table(proc: str = "/proc", extra: Sequence[int] = ()) -> bytes:
    """The process table of every known daemon's tree (see the module docstring). The
    processes in ``extra`` (``check --pid PID``) count as daemons too, named by their
    command name, so that a program sockdoc does not know is examined like one."""
    comm: dict[int, str] = {}
    parent: dict[int, int] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        pid = int(name)
        got = _stat_fields(proc, pid)
        if got is None:
            continue  # exited since listdir
        comm[pid], parent[pid] = got
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    rows: list[str] = []
    seen: set[int] = set()
    for pid in sorted(comm):
        daemon = _daemon_of(comm[pid]) or (comm[pid] if pid in extra else None)
        if daemon is None or pid in seen:
            continue
        if daemon == "postfix" and "postfix" not in _cmdline(proc, pid):
            continue
        # a daemon's child with the same name (nginx worker "nginx") belongs to the tree of the
        # first (lowest, parent) process; walk the tree breadth first
        queue = [pid]
        while queue and len(rows) < MAX_PROCESSES:
            p = queue.pop(0)
            if p in seen:
                continue
            seen.add(p)
            rows.append(f"{p}\t{parent[p]}\t{daemon}\t{comm[p]}\t{_netns(proc, p)}")
            queue.extend(sorted(children.get(p, ())))
    return ("\n".join(rows) + "\n").encode() if rows else b""


def _cmdline(proc: str, pid: int) -> str:
    try:
        return _read(f"{proc}/{pid}/cmdline").replace("\0", " ")
    except OSError:
        return ""


def fd_count(proc: str, pid: int) -> bytes:
    """How many descriptors the process holds open (entries of /proc/PID/fd), as text."""
    # Since Linux 6.2 the size of /proc/PID/fd is the number of open descriptors
    # (fs/proc/fd.c proc_fd_getattr()): one stat instead of listing 100,000 entries.
    # Older kernels report 0 there; then count the entries.
    size = os.stat(f"{proc}/{pid}/fd").st_size
    if size > 0:
        return f"{size}\n".encode()
    return f"{len(os.listdir(f'{proc}/{pid}/fd'))}\n".encode()


def own_netns() -> str:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return "?"


@dataclass(frozen=True)
class DaemonProc:
    pid: int
    ppid: int
    daemon: str
    comm: str
    netns: str


def parse_process_table(text: str) -> tuple[DaemonProc, ...]:
    """The table of :func:`sockdoc.collect.processes.daemon_table` (bad rows are skipped)."""
    rows: list[DaemonProc] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or not parts[0].isdigit() or not parts[1].isdigit():
            continue
        rows.append(DaemonProc(int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4]))
    return tuple(rows)


def watched_pids(table: Sequence[DaemonProc], own_netns: str) -> tuple[int, ...]:
    """The processes whose CPU, limits and descriptors are read: each daemon's main process
    and up to MAX_PER_DAEMON of its tree, one of each command name first."""
    picked: list[int] = []
    per: dict[str, int] = {}
    firsts: dict[tuple[str, str], int] = {}
    for p in sorted(table, key=lambda p: p.pid):
        firsts.setdefault((p.daemon, p.comm), p.pid)
    ordered = sorted(table, key=lambda p: (firsts[(p.daemon, p.comm)] != p.pid, p.pid))
    for p in ordered:
        if own_netns != "?" and p.netns not in ("?", own_netns):
            continue
        if per.get(p.daemon, 0) >= MAX_PER_DAEMON:
            continue
        per[p.daemon] = per.get(p.daemon, 0) + 1
        picked.append(p.pid)
    return tuple(sorted(picked))


def config_flag(cmdline: str, flag: str = "-c") -> str | None:
    """The value of ``-c FILE`` in a command line, if any. The line is NUL-separated, or one
    space-separated title when the daemon rewrote it (nginx: ``nginx: master process
    /usr/sbin/nginx -c /etc/x.conf``; setproctitle overwrites argv).

    >>> config_flag("dovecot\\0-F\\0-c\\0/tmp/d.conf\\0")
    '/tmp/d.conf'
    >>> config_flag("nginx: master process /usr/sbin/nginx -c /t/n.conf -p /t/\\0", "-p")
    '/t/'
    """
    argv = [a for a in cmdline.split("\0") if a]
    if len(argv) == 1:
        argv = argv[0].split()
    for i, arg in enumerate(argv[:-1]):
        if arg == flag and argv[i + 1]:
            return argv[i + 1]
    return None
