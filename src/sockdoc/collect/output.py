"""Writing a file the user asked for (a plot, a report): atomically, keeping what was there.

The data goes to a temporary file in the same directory, is flushed to disk, and replaces the
target with one ``rename(2)``; so a reader, or a crash, sees the old file or the new one, never
a part. An existing target is kept as ``FILE.bak``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sockdoc-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if os.path.exists(path):
            os.replace(path, path + ".bak")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
