"""Writing and opening bundles: everything ``check`` read, as a ``.tar.gz``.

Layout (one top directory, ``sockdoc-HOST-YYYYMMDDTHHMMSSZ/``)::

    manifest.json     tool version, host, kernel, times, per-source status and sha256
    data/<key>        the bytes of each source that was read (see sockdoc.collect.specs)

Writing is atomic (a temporary file in the target directory, fsync, rename); a file already
at the target is kept as ``FILE.bak``. Opening unpacks into a temporary directory with the
checks of :func:`sockdoc.collect.root.unpack`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import platform
import socket
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping

from sockdoc import __version__
from sockdoc.collect.output import write_atomic
from sockdoc.collect.root import DATA, MANIFEST, BundleRoot, Got, _safe_key, manifest_json, unpack


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def write(
    got: Mapping[str, Got],
    path: str,
    *,
    seconds: float,
    netns: str | None,
    extra: Mapping[str, object] | None = None,
) -> str:
    """Write a bundle of ``got`` to ``path``; return the name of its top directory."""
    now = time.time()
    host = socket.gethostname()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    top = f"sockdoc-{host}-{stamp}"
    digests = {k: hashlib.sha256(g.data).hexdigest() for k, g in got.items() if g.data is not None}
    manifest = manifest_json(
        got,
        tool=f"sockdoc {__version__}",
        host=host,
        kernel=platform.release(),
        created=now,
        seconds=seconds,
        netns=netns,
        digests=digests,
        extra=extra or {},
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        _add(tar, f"{top}/{MANIFEST}", manifest, now)
        for key, g in got.items():
            if g.data is not None:
                _add(tar, f"{top}/{DATA}/{_safe_key(key)}", g.data, now)
    # a bundle may hold what only root could read: only its owner may read it
    write_atomic(path, buf.getvalue(), mode=0o600)
    return top


@contextlib.contextmanager
def opened(path: str) -> Iterator[BundleRoot]:
    """A :class:`BundleRoot` for a ``.tar.gz`` bundle or an unpacked bundle directory."""
    if os.path.isdir(path):
        yield BundleRoot([path])
        return
    with tempfile.TemporaryDirectory(prefix="sockdoc-bundle-") as tmp:
        yield BundleRoot([unpack(path, tmp)])
