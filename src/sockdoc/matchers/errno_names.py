"""Turn the error text or number a daemon printed into the symbolic errno (EAGAIN, EMFILE...).

Daemons print errors three ways: the C library's strerror() text (glibc and musl differ for some
codes), a number in parentheses (nginx: ``(11: Resource temporarily unavailable)``), or their own
vocabulary (BIND prints isc_result_totext() of the result the kernel's errno was mapped to).
"""

from __future__ import annotations

import errno as _errno

# glibc string/_strerror.c and sysdeps/gnu/errlist.h; musl src/errno/__strerror.h.
_LIBC_TEXT: dict[str, str] = {
    "resource temporarily unavailable": "EAGAIN",
    "operation would block": "EAGAIN",
    "too many open files": "EMFILE",
    "no file descriptors available": "EMFILE",  # musl's wording for EMFILE
    "too many open files in system": "ENFILE",
    "no buffer space available": "ENOBUFS",
    "connection refused": "ECONNREFUSED",
    "connection reset by peer": "ECONNRESET",
    "operation not permitted": "EPERM",
    "permission denied": "EACCES",
    "no route to host": "EHOSTUNREACH",
    "host is unreachable": "EHOSTUNREACH",  # musl
    "network is unreachable": "ENETUNREACH",
    "no such file or directory": "ENOENT",
    "connection timed out": "ETIMEDOUT",
    "cannot allocate memory": "ENOMEM",
    "out of memory": "ENOMEM",  # musl
    "broken pipe": "EPIPE",
    "message too long": "EMSGSIZE",
    "message too large": "EMSGSIZE",  # musl
    "interrupted system call": "EINTR",
    "transport endpoint is not connected": "ENOTCONN",
    "socket not connected": "ENOTCONN",  # musl
}

# BIND's isc_result_totext() for the results its socket layer makes from errno
# (bind9 lib/isc/unix/socket.c, lib/isc/errno2result.c; 9.18 lib/isc/netmgr/uverr2result.c).
_ISC_TEXT: dict[str, str] = {
    "would block": "EAGAIN",
    "not enough free resources": "ENOBUFS",
    "connection refused": "ECONNREFUSED",
    "connection reset": "ECONNRESET",
    "host unreachable": "EHOSTUNREACH",
    "network unreachable": "ENETUNREACH",
    "out of memory": "ENOMEM",
    "too many open files": "EMFILE",
    # 9.18's netmgr maps libuv's UV_EAGAIN on a UDP send to ISC_R_NOCONN, whose text is this
    # (shared/FACTS.md, read from lib/isc/netmgr/uverr2result.c).
    "no pending connections": "EAGAIN",
}


def from_number(number: int) -> str | None:
    """Linux errno number -> symbolic name (11 -> EAGAIN).

    >>> from_number(11), from_number(24), from_number(100000)
    ('EAGAIN', 'EMFILE', None)
    """
    return _errno.errorcode.get(number)


def from_text(text: str) -> str | None:
    """Error text as printed -> symbolic name, or None when the text names no single errno.

    >>> from_text("Resource temporarily unavailable"), from_text("would block")
    ('EAGAIN', 'EAGAIN')
    >>> from_text("No file descriptors available"), from_text("unset")
    ('EMFILE', None)
    """
    key = text.strip().rstrip(".").lower()
    return _LIBC_TEXT.get(key) or _ISC_TEXT.get(key)


def normalise(value: str) -> str | None:
    """A captured errno group: a number, a symbolic name or a text.

    >>> normalise("11"), normalise("EMFILE"), normalise("Too many open files")
    ('EAGAIN', 'EMFILE', 'EMFILE')
    """
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 6:
        return from_number(int(value))
    if value.isupper() and value.startswith("E") and value.isalnum():
        return value
    return from_text(value)
