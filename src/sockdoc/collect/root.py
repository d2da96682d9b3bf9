"""Where evidence comes from: the live host, or a bundle collected from one.

Every piece of evidence has a *key* (``s0/proc/net/snmp``, ``cmd/doveconf-n``,
``s1/sock_diag/unix_listen``); a :class:`Root` returns a :class:`Got` for a key: the raw bytes
and a status. :class:`LiveRoot` binds each key to a file, a command, a netlink dump or a
computation on this host; :class:`BundleRoot` looks the key up in an unpacked bundle. Everything
above this module is the same code for both, so ``check --bundle`` sees exactly what ``check``
saw (the insights-core "specs" idea: where data comes from is declared apart from what it is).

Status is one of ``ok | absent | denied | timeout | error``; anything but ``ok`` carries the
reason, and ``needs_root`` says whether running as root would have helped. Permission denied
never reads as "no problem".
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal, Protocol

Post = Callable[[bytes], bytes]
Status = Literal["ok", "absent", "denied", "timeout", "error"]
STATUSES: tuple[Status, ...] = ("ok", "absent", "denied", "timeout", "error")

FILE_LIMIT = 4 << 20  # bytes read from one file; /proc/net/* are far smaller on any host
COMMAND_LIMIT = 16 << 20
_PIECE = 64 << 10
FILE_TIMEOUT = 2.0  # a /proc/PID read can hang on a process stuck in the kernel (D state)
COMMAND_TIMEOUT = 10.0


@dataclass(frozen=True)
class Got:
    """One source's outcome: its bytes when ``status == "ok"``, else why not."""

    key: str
    status: Status
    data: bytes | None = None
    reason: str = ""
    needs_root: bool = False
    seconds: float = 0.0
    origin: str = ""  # the file, command or query behind the key, for the operator

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.data is not None

    def text(self) -> str:
        """The data as text (undecodable bytes kept as surrogate escapes); "" when not ok."""
        return "" if self.data is None else self.data.decode("utf-8", "surrogateescape")


class Root(Protocol):
    """What the collectors read from. All methods return a :class:`Got`, never raise."""

    kind: str  # "live" or "bundle"

    def file(self, key: str, path: str, limit: int = FILE_LIMIT, post: Post | None = None) -> Got:
        """The file's bytes; ``post`` (a redaction) is applied before anything keeps them."""
        ...

    def command(
        self,
        key: str,
        argv: Sequence[str],
        timeout: float = COMMAND_TIMEOUT,
        post: Post | None = None,
    ) -> Got: ...

    def compute(self, key: str, origin: str, fn: Callable[[], bytes]) -> Got:
        """The bytes ``fn`` produces on a live host (a netlink dump, a directory listing, a
        sampling run); a bundle returns what it stored under ``key``. ``fn`` may raise
        OSError/TimeoutError, which become the status."""
        ...


def _denied_reason(exc: OSError) -> str:
    return f"{exc.strerror or exc}" + ("" if os.geteuid() == 0 else " (needs root)")


def status_of(exc: BaseException) -> tuple[Status, str, bool]:
    """Map an exception from a read to (status, reason, needs_root)."""
    not_root = os.geteuid() != 0
    if isinstance(exc, PermissionError):
        return "denied", _denied_reason(exc), not_root
    if isinstance(exc, FileNotFoundError | NotADirectoryError | ProcessLookupError):
        return "absent", exc.strerror or str(exc), False
    if isinstance(exc, OSError) and exc.errno == errno.EINVAL:
        # sysfs speed/duplex of a virtual or down link: the driver does not report it
        return "absent", "not reported (EINVAL)", False
    if isinstance(exc, TimeoutError | FutureTimeout | subprocess.TimeoutExpired):
        return "timeout", str(exc) or "timed out", False
    return "error", f"{type(exc).__name__}: {exc}", False


class LiveRoot:
    """This host, as the calling process sees it (its network namespace).

    File reads run in a small thread pool so that one hung read (a process in D state) costs
    its timeout, not the run; the stuck thread is abandoned (daemon) when the run ends."""

    kind = "live"

    def __init__(self, file_timeout: float = FILE_TIMEOUT) -> None:
        self.file_timeout = file_timeout
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sockdoc-read")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def file(self, key: str, path: str, limit: int = FILE_LIMIT, post: Post | None = None) -> Got:
        started = time.monotonic()

        def read() -> bytes:
            # procfs sysctl handlers allocate the whole requested count (ENOMEM for a few
            # MiB: proc_sys_call_handler()), so read in modest pieces
            parts: list[bytes] = []
            size = 0
            with open(path, "rb", buffering=0) as f:
                while size <= limit:
                    piece = f.read(_PIECE)
                    if not piece:
                        break
                    parts.append(piece)
                    size += len(piece)
            if size > limit:
                raise _TooLarge(f"{path} is larger than {limit} bytes")
            return b"".join(parts)

        # /proc/net and /proc/sys never block; only per-process files go through the pool
        blocking_risk = path.startswith("/proc/") and path[6:7].isdigit()
        try:
            if blocking_risk:
                data = self._executor().submit(read).result(timeout=self.file_timeout)
            else:
                data = read()
        except FutureTimeout:
            return Got(
                key,
                "timeout",
                None,
                f"no answer after {self.file_timeout} s",
                False,
                time.monotonic() - started,
                path,
            )
        except (OSError, _TooLarge) as exc:
            status, reason, root = status_of(exc)
            return Got(key, status, None, reason, root, time.monotonic() - started, path)
        if post is not None:
            data = post(data)
        return Got(key, "ok", data, "", False, time.monotonic() - started, path)

    def command(
        self,
        key: str,
        argv: Sequence[str],
        timeout: float = COMMAND_TIMEOUT,
        post: Post | None = None,
    ) -> Got:
        started = time.monotonic()
        origin = " ".join(argv)
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C",
        }
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            status, reason, root = status_of(exc)
            if status == "absent":
                reason = f"{argv[0]} is not installed"
            return Got(key, status, None, reason, root, time.monotonic() - started, origin)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return Got(
                key,
                "timeout",
                None,
                f"{argv[0]} gave no answer within {timeout} s",
                False,
                time.monotonic() - started,
                origin,
            )
        seconds = time.monotonic() - started
        if len(out) > COMMAND_LIMIT:
            return Got(
                key,
                "error",
                None,
                f"output larger than {COMMAND_LIMIT} bytes",
                False,
                seconds,
                origin,
            )
        if proc.returncode != 0:
            first = err.decode("utf-8", "replace").strip().splitlines()
            why = first[0][:300] if first else f"exit status {proc.returncode}"
            if "ermission denied" in why or "Operation not permitted" in why:
                return Got(key, "denied", None, why, os.geteuid() != 0, seconds, origin)
            return Got(key, "error", None, why, False, seconds, origin)
        # some tools (nginx -T) print part of their answer on stderr; keep both
        data = out if not err or out else err
        if post is not None:
            data = post(data)
        return Got(key, "ok", data, "", False, seconds, origin)

    def compute(self, key: str, origin: str, fn: Callable[[], bytes]) -> Got:
        started = time.monotonic()
        try:
            data = fn()
        except Exception as exc:  # a collector's bug or a library's surprise is one source lost
            status, reason, root = status_of(exc)
            return Got(key, status, None, reason, root, time.monotonic() - started, origin)
        return Got(key, "ok", data, "", False, time.monotonic() - started, origin)


class _TooLarge(Exception):
    pass


# --- recording and bundles -------------------------------------------------------------------

MANIFEST = "manifest.json"
DATA = "data"
BUNDLE_FORMAT = 1


class Recorder:
    """Wraps a root and remembers every :class:`Got` it returned, in order (for bundles)."""

    def __init__(self, inner: Root) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.got: dict[str, Got] = {}

    def _keep(self, got: Got) -> Got:
        self.got[got.key] = got
        return got

    def file(self, key: str, path: str, limit: int = FILE_LIMIT, post: Post | None = None) -> Got:
        return self._keep(self.inner.file(key, path, limit, post))

    def command(
        self,
        key: str,
        argv: Sequence[str],
        timeout: float = COMMAND_TIMEOUT,
        post: Post | None = None,
    ) -> Got:
        return self._keep(self.inner.command(key, argv, timeout, post))

    def compute(self, key: str, origin: str, fn: Callable[[], bytes]) -> Got:
        return self._keep(self.inner.compute(key, origin, fn))


def _safe_key(key: str) -> str:
    p = PurePosixPath(key)
    if p.is_absolute() or ".." in p.parts or not key:
        raise BundleError(f"unsafe key in bundle: {key!r}")
    return key


class BundleError(ValueError):
    """A bundle that cannot be read: not a tar.gz, no manifest, an unsafe member name."""


@dataclass(frozen=True)
class Manifest:
    format: int
    tool: str
    host: str
    kernel: str
    created: float
    seconds: float
    netns: str | None
    sources: Mapping[str, Mapping[str, object]]
    extra: Mapping[str, object] = field(default_factory=dict)


def manifest_json(
    got: Mapping[str, Got],
    *,
    tool: str,
    host: str,
    kernel: str,
    created: float,
    seconds: float,
    netns: str | None,
    digests: Mapping[str, str],
    extra: Mapping[str, object],
) -> bytes:
    sources = {
        key: {
            "status": g.status,
            "reason": g.reason,
            "needs_root": g.needs_root,
            "seconds": round(g.seconds, 6),
            "origin": g.origin,
            "bytes": len(g.data) if g.data is not None else None,
            "sha256": digests.get(key),
        }
        for key, g in got.items()
    }
    doc = {
        "format": BUNDLE_FORMAT,
        "tool": tool,
        "host": host,
        "kernel": kernel,
        "created": created,
        "seconds": round(seconds, 3),
        "netns": netns,
        "extra": dict(extra),
        "sources": sources,
    }
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def parse_manifest(data: bytes, where: str) -> Manifest:
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
            raise TypeError("no sources table")
        return Manifest(
            format=int(doc["format"]),
            tool=str(doc.get("tool", "")),
            host=str(doc.get("host", "")),
            kernel=str(doc.get("kernel", "")),
            created=float(doc.get("created", 0.0)),
            seconds=float(doc.get("seconds", 0.0)),
            netns=doc.get("netns") if isinstance(doc.get("netns"), str) else None,
            sources=doc["sources"],
            extra=extra if isinstance(extra := doc.get("extra"), dict) else {},
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"{where}: manifest.json is not a sockdoc manifest ({exc})") from None


class BundleRoot:
    """An unpacked bundle: ``manifest.json`` plus ``data/<key>`` files. Several directories may
    be layered (later ones override earlier ones, key by key): the rule fixtures are a small
    overlay on a real captured base bundle."""

    kind = "bundle"

    def __init__(self, layers: Sequence[str]) -> None:
        if not layers:
            raise BundleError("no bundle directory")
        self.layers = tuple(layers)
        self.sources: dict[str, Mapping[str, object]] = {}
        self.manifest: Manifest | None = None
        for layer in self.layers:
            path = os.path.join(layer, MANIFEST)
            try:
                with open(path, "rb") as f:
                    m = parse_manifest(f.read(), layer)
            except FileNotFoundError:
                if self.manifest is None:
                    raise BundleError(f"{layer}: no manifest.json (not a sockdoc bundle)") from None
                continue
            self.manifest = m if self.manifest is None else _merge(self.manifest, m)
            self.sources.update(m.sources)

    def _lookup(self, key: str, origin: str) -> Got:
        _safe_key(key)
        meta = self.sources.get(key)
        for layer in reversed(self.layers):
            path = os.path.join(layer, DATA, key)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                status = str(meta.get("status", "ok")) if meta else "ok"
                if status != "ok":  # an overlay may add a file for a source the base lacked
                    status = "ok"
                return Got(key, "ok", data, "", False, _seconds(meta), _origin(meta, origin))
        if meta is not None and meta.get("status") in STATUSES and meta.get("status") != "ok":
            st: Status = meta["status"]  # type: ignore[assignment]
            return Got(
                key,
                st,
                None,
                str(meta.get("reason", "")),
                bool(meta.get("needs_root")),
                _seconds(meta),
                _origin(meta, origin),
            )
        return Got(key, "absent", None, "not in the bundle", False, 0.0, origin)

    def has(self, key: str) -> bool:
        """Whether the bundle recorded ``key`` at all (read or not)."""
        return key in self.sources or any(
            os.path.isfile(os.path.join(layer, DATA, key)) for layer in self.layers
        )

    def file(self, key: str, path: str, limit: int = FILE_LIMIT, post: Post | None = None) -> Got:
        return self._lookup(key, path)

    def command(
        self,
        key: str,
        argv: Sequence[str],
        timeout: float = COMMAND_TIMEOUT,
        post: Post | None = None,
    ) -> Got:
        return self._lookup(key, " ".join(argv))

    def compute(self, key: str, origin: str, fn: Callable[[], bytes]) -> Got:
        return self._lookup(key, origin)


def _seconds(meta: Mapping[str, object] | None) -> float:
    v = meta.get("seconds") if meta else None
    return float(v) if isinstance(v, int | float) else 0.0


def _origin(meta: Mapping[str, object] | None, default: str) -> str:
    v = meta.get("origin") if meta else None
    return v if isinstance(v, str) and v else default


def _merge(a: Manifest, b: Manifest) -> Manifest:
    extra = dict(a.extra)
    extra.update(b.extra)
    return Manifest(
        a.format,
        a.tool,
        a.host,
        a.kernel,
        a.created,
        a.seconds,
        a.netns,
        {**a.sources, **b.sources},
        extra,
    )


MAX_MEMBER = 64 << 20
MAX_MEMBERS = 20_000


def unpack(archive: str, into: str) -> str:
    """Unpack a bundle ``.tar.gz`` into directory ``into`` safely (regular files only, no
    absolute or ``..`` names, bounded sizes) and return the bundle directory."""
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed by the with below)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (tarfile.TarError, OSError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(f"{archive}: not a readable .tar.gz bundle ({first})") from None
    with tar:
        count = 0
        top: str | None = None
        try:
            for member in _members(tar):
                count += 1
                if count > MAX_MEMBERS:
                    raise BundleError(f"{archive}: more than {MAX_MEMBERS} members")
                name = _safe_key(member.name)
                first = PurePosixPath(name).parts[0]
                top = top or first
                if not member.isfile():
                    continue
                if member.size > MAX_MEMBER:
                    raise BundleError(f"{archive}: {name} is larger than {MAX_MEMBER} bytes")
                src = tar.extractfile(member)
                if src is None:
                    continue
                dest = os.path.join(into, name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with src, open(dest, "wb") as out:
                    out.write(src.read())
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, FileNotFoundError | PermissionError):
                raise
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BundleError(f"{archive}: damaged bundle ({first})") from None
    if top is None:
        raise BundleError(f"{archive}: empty archive")
    directory = os.path.join(into, top)
    if not os.path.isfile(os.path.join(directory, MANIFEST)):
        raise BundleError(f"{archive}: no {top}/manifest.json (not a sockdoc bundle)")
    return directory


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        member = tar.next()
        if member is None:
            return
        yield member
