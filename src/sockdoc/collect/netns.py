"""Entering another network namespace (``--netns NAME``, ``--pid PID``).

Kernel counters under ``/proc/net``, sockets seen by sock_diag, and most ``net.*`` sysctls
belong to the network namespace of the reading thread; ``setns(2)`` moves the calling thread
(and any thread or child process it creates later) into another one. sockdoc enters once,
before it starts any thread, after reading the few host-only values (see
:data:`sockdoc.collect.specs.HOST_ONLY_SYSCTLS`). Needs CAP_SYS_ADMIN (root).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000  # include/uapi/linux/sched.h
NETNS_RUN_DIR = "/run/netns"  # where `ip netns add` bind-mounts named namespaces (ip-netns(8))


class NetnsError(OSError):
    """The namespace does not exist or cannot be entered; the message says which and why."""


def path_for(name: str | None, pid: int | None) -> str | None:
    if name is not None:
        if "/" in name or name in (".", ".."):
            raise NetnsError(f"--netns {name!r}: give a name as listed by 'ip netns list'")
        return f"{NETNS_RUN_DIR}/{name}"
    if pid is not None:
        return f"/proc/{pid}/ns/net"
    return None


def enter(path: str) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NetnsError(f"no network namespace at {path}") from None
    except PermissionError:
        raise NetnsError(f"cannot open {path}: permission denied (needs root)") from None
    try:
        if hasattr(os, "setns"):  # Python 3.12+
            os.setns(fd, CLONE_NEWNET)
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            hint = " (needs root)" if err == 1 else ""
            raise NetnsError(err, f"cannot enter {path}: {os.strerror(err)}{hint}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def entered(path: str) -> Iterator[None]:
    """Run the body in the network namespace at ``path``, then return to the current one.

    Only the calling thread moves (setns(2)); ``/proc/net`` follows the process's main thread,
    so call this from the main thread when the body reads ``/proc/net``."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter(path)
        try:
            yield
        finally:
            enter(f"/proc/self/fd/{home}")
    finally:
        os.close(home)
