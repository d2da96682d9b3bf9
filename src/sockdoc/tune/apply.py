"""Writing, applying and reverting tune's files: the only part of tune that touches the system.

``--write DIR``: the files under ``DIR`` (``DIR/etc/sysctl.d/90-sockdoc.conf``...), for review.

``--apply``: each file is written in place atomically: the new bytes go to a temporary file in
the same directory (a name no configuration reader picks up: it does not end in ``.conf``),
are flushed to disk, and replace the target with one ``rename(2)``, after which the directory
is flushed too; a crash or a kill leaves the old file or the new one, never a part. Before
anything is written, every file that will be replaced is copied to a state directory,
``/var/lib/sockdoc/tune/ID/`` (ID: the UTC time and a random suffix), with a manifest
(``manifest.json``: each file, whether it existed, its mode, owner and SHA-256 before and
after, the directories made for it, and the kernel values before and after). Then the sysctl
file is loaded with ``sysctl -p FILE`` (inside ``ip netns exec NAME`` for a namespace) and the
values are read back. Nothing is restarted or reloaded: the caller prints what needs it.

``--revert ID``: every file of that apply is put back byte for byte (mode and owner too), a
file that did not exist before is removed, the directories made for it are removed when
empty, and the kernel values are set back to what they were. A file changed since the apply
is not overwritten unless forced.

``--root DIR`` puts all of that (files and state) under ``DIR``, for tests; the kernel is then
changed only inside ``--netns``, never the host's.

Test hook: ``SOCKDOC_TUNE_PAUSE_BEFORE_RENAME=SECONDS`` makes ``--apply`` sleep after each of
its files is written to its temporary name and flushed, just before the rename, so that a test
can kill the process there. It is for tests only; nothing else reads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import secrets
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sockdoc import __version__
from sockdoc.parsers.sysctl import sysctl_path
from sockdoc.tune.files import TuneFile
from sockdoc.tune.proposals import Key, Plan, Value, parse_number, shown

STATE_DIR = "/var/lib/sockdoc/tune"
MANIFEST = "manifest.json"
PAUSE_ENV = "SOCKDOC_TUNE_PAUSE_BEFORE_RENAME"
TMP_SUFFIX = ".sockdoc-tmp"
COMMAND_TIMEOUT = 20.0


class TuneError(Exception):
    """Tune could not do what was asked; the message says what and why, in one line."""


def under(root: str, path: str) -> str:
    """``path`` (absolute, as on the host) inside ``root``."""
    return os.path.join(root, path.lstrip("/")) if root != "/" else path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_existing(paths: Iterable[str], root: str = "/") -> dict[str, bytes | None]:
    """The bytes of each target now (None: absent)."""
    return {p: _read(under(root, p)) for p in paths}


def meminfo() -> str | None:
    try:
        with open("/proc/meminfo") as f:
            return f.read()
    except OSError:
        return None


def write_atomic(
    path: str,
    data: bytes,
    mode: int = 0o644,
    owner: tuple[int, int] | None = None,
    *,
    hook: bool = False,
) -> None:
    """Replace ``path`` with ``data`` in one rename (see the module docstring); ``hook``: this
    is a file of the apply, where the test hook may pause."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=TMP_SUFFIX, dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            os.fsync(f.fileno())
        pause = os.environ.get(PAUSE_ENV) if hook else None
        if pause:
            time.sleep(float(pause))  # test hook: a kill here must leave the old file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(directory)


def remove_stale(path: str) -> list[str]:
    """Remove the temporary files a killed apply left beside ``path`` (call it holding the
    lock: no other apply is writing then); the ones removed."""
    directory, name = os.path.split(path)
    gone = []
    for tmp in glob.glob(
        os.path.join(glob.escape(directory), f".{glob.escape(name)}.*{TMP_SUFFIX}")
    ):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
            gone.append(tmp)
    return gone


def _sync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_review(files: Iterable[TuneFile], directory: str) -> list[str]:
    """Write each file under ``directory`` (its path below it); the paths written."""
    written = []
    for f in files:
        target = under(directory, f.path) if directory != "/" else f.path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        write_atomic(target, f.data)
        written.append(target)
    return written


# --- the kernel -------------------------------------------------------------------------------


def _in_netns(netns: str | None, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else argv


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise TuneError(f"cannot run {argv[0]}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise TuneError(f"{shlex.join(argv)} did not finish in {COMMAND_TIMEOUT:.0f} s") from None


def read_sysctls(names: Iterable[str], netns: str | None) -> dict[str, str | None]:
    """The text of each sysctl now (numbers separated by one space), in ``netns`` if given;
    None for one that cannot be read."""
    out: dict[str, str | None] = {}
    for name in names:
        if netns is None:
            try:
                with open(f"/proc/sys/{sysctl_path(name)}") as f:
                    out[name] = " ".join(f.read().split())
            except OSError:
                out[name] = None
            continue
        got = _run(_in_netns(netns, ["sysctl", "-n", name]))
        out[name] = " ".join(got.stdout.split()) if got.returncode == 0 else None
    return out


def live_values(plan: Plan, netns: str | None) -> dict[Key, Value | None]:
    """The sysctls of ``plan.changes`` as the target has them now."""
    names = [s.name for s in plan.changes if s.kind == "sysctl"]
    texts = read_sysctls(names, netns)
    return {
        ("sysctl", "", n): (parse_number(t) if t is not None else None) for n, t in texts.items()
    }


def _set_sysctls(values: Mapping[str, str], netns: str | None) -> list[str]:
    """``sysctl -w`` each value; the errors, one line each."""
    errors = []
    for name, value in values.items():
        got = _run(_in_netns(netns, ["sysctl", "-w", f"{name}={value}"]))
        if got.returncode != 0:
            errors.append(f"{name}: {(got.stderr or got.stdout).strip()}")
    return errors


def _netns_exists(netns: str) -> bool:
    return os.path.exists(f"/run/netns/{netns}")


# --- apply ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What an apply did: its id, the revert command, the files written, the kernel values
    before and after, what ``sysctl -p`` said, and what failed."""

    id: str
    revert: str
    written: tuple[str, ...]
    before: Mapping[str, str | None]
    after: Mapping[str, str | None]
    sysctl_output: str
    errors: tuple[str, ...]
    kernel: bool  # the sysctl file was loaded into the kernel


def new_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def revert_command(apply_id: str, root: str) -> str:
    extra = f" --root {shlex.quote(root)}" if root != "/" else ""
    return f"sockdoc tune --revert {apply_id}{extra}"


def _state(root: str) -> str:
    return under(root, STATE_DIR)


@contextlib.contextmanager
def _locked(root: str) -> Any:
    state = _state(root)
    os.makedirs(state, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(state, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TuneError(f"another sockdoc tune holds {state}/.lock") from None
        yield
    finally:
        os.close(fd)


def _write_manifest(directory: str, doc: dict[str, Any]) -> None:
    write_atomic(
        os.path.join(directory, MANIFEST), (json.dumps(doc, indent=2) + "\n").encode(), 0o600
    )


def _missing_dirs(path: str, root: str) -> list[str]:
    """The directories above ``path`` that do not exist yet, outermost first (host paths)."""
    missing: list[str] = []
    d = os.path.dirname(path)
    while d not in ("/", "") and not os.path.isdir(under(root, d)):
        missing.append(d)
        d = os.path.dirname(d)
    return list(reversed(missing))


def _owner(entry: Mapping[str, Any]) -> tuple[int, int] | None:
    owner = entry.get("owner")
    return (int(owner[0]), int(owner[1])) if owner else None


def _back_up(
    files: tuple[TuneFile, ...], root: str, state: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy every file that will be replaced into ``state``; the manifest entries, and the
    directories that will have to be made (host paths, outermost first)."""
    entries: list[dict[str, Any]] = []
    made: list[str] = []
    for i, f in enumerate(files):
        target = under(root, f.path)
        old = _read(target)
        entry: dict[str, Any] = {
            "path": f.path,
            "existed": old is not None,
            "sha256_before": sha256(old) if old is not None else None,
            "sha256_after": sha256(f.data),
            "backup": None,
            "mode": None,
            "owner": None,
        }
        if old is not None:
            st = os.stat(target)
            backup = os.path.join("files", f"{i}.orig")
            write_atomic(os.path.join(state, backup), old, 0o600)
            entry.update(backup=backup, mode=st.st_mode & 0o7777, owner=[st.st_uid, st.st_gid])
        made += [d for d in _missing_dirs(f.path, root) if d not in made]
        entries.append(entry)
    return entries, made


def _load(files: tuple[TuneFile, ...], root: str, netns: str | None) -> tuple[list[str], list[str]]:
    """``sysctl -p`` each sysctl file (in ``netns``); what it printed, and the errors."""
    output: list[str] = []
    errors: list[str] = []
    for f in files:
        if f.kind != "sysctl":
            continue
        got = _run(_in_netns(netns, ["sysctl", "-p", under(root, f.path)]))
        if got.stdout.strip():
            output.append(got.stdout.strip())
        if got.returncode != 0:
            errors.append(f"sysctl -p {f.path}: {(got.stderr or got.stdout).strip()}")
    return output, errors


def apply(
    files: tuple[TuneFile, ...],
    *,
    root: str = "/",
    netns: str | None = None,
    announce: Callable[[str], None] = lambda _s: None,
) -> Applied:
    """Apply ``files`` (see the module docstring); ``announce`` is told the id and the revert
    command before anything is written."""
    kernel = netns is not None or root == "/"
    if netns is not None and not _netns_exists(netns):
        raise TuneError(f"no network namespace {netns} (ip netns list)")
    for f in files:
        if os.path.islink(under(root, f.path)):
            raise TuneError(f"{under(root, f.path)} is a symbolic link: tune does not replace it")
    sysctls = [s for f in files if f.kind == "sysctl" for s in f.settings]
    # the lines a file keeps from its previous version are loaded again too: record them
    kept = [k.split("=", 1)[0].strip() for f in files if f.kind == "sysctl" for k in f.kept]
    names = list(dict.fromkeys([s.name for s in sysctls] + kept))
    with _locked(root):
        apply_id = new_id()
        state = os.path.join(_state(root), apply_id)
        os.makedirs(os.path.join(state, "files"), mode=0o700)
        entries, made = _back_up(files, root, state)
        before = read_sysctls(names, netns) if kernel else {}
        doc: dict[str, Any] = {
            "format": 1,
            "id": apply_id,
            "tool": f"sockdoc {__version__}",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "status": "applying",
            "root": root,
            "netns": netns,
            "files": entries,
            "created_dirs": made,
            "sysctl": {"kernel": kernel, "before": before, "after": {}, "output": ""},
        }
        _write_manifest(state, doc)
        revert = revert_command(apply_id, root)
        announce(f"apply {apply_id}: undo it with: {revert}")
        written = []
        for f, entry in zip(files, entries, strict=True):
            target = under(root, f.path)
            remove_stale(target)
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            write_atomic(target, f.data, entry["mode"] or 0o644, _owner(entry), hook=True)
            written.append(target)
        output, errors = _load(files, root, netns) if kernel else ([], [])
        after = read_sysctls(names, netns) if kernel else {}
        for s in sysctls if kernel else ():
            if after.get(s.name) != shown(s.value):
                errors.append(
                    f"{s.name} reads {after.get(s.name)} after applying, not {shown(s.value)}"
                )
        doc["status"] = "applied"
        doc["sysctl"].update(after=after, output="\n".join(output), errors=errors)
        _write_manifest(state, doc)
    return Applied(
        apply_id,
        revert,
        tuple(written),
        before,
        after,
        "\n".join(output),
        tuple(errors),
        kernel,
    )


# --- revert -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reverted:
    """What a revert did: the files restored and removed, the kernel values set back."""

    id: str
    restored: tuple[str, ...]
    removed: tuple[str, ...]
    sysctls: Mapping[str, str]
    notes: tuple[str, ...]
    errors: tuple[str, ...] = ()


def load_manifest(apply_id: str, root: str = "/") -> tuple[str, dict[str, Any]]:
    if "/" in apply_id or apply_id in ("", ".", ".."):
        raise TuneError(f"not an apply id: {apply_id!r}")
    state = os.path.join(_state(root), apply_id)
    try:
        with open(os.path.join(state, MANIFEST)) as f:
            doc: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        raise TuneError(f"no apply {apply_id} in {_state(root)}") from None
    except ValueError as exc:
        raise TuneError(f"{state}/{MANIFEST} is unreadable: {exc}") from None
    return state, doc


def _conflicts(
    entries: list[dict[str, Any]],
    root: str,
    values: tuple[Mapping[str, str], Mapping[str, str | None], str | None] | None,
) -> list[str]:
    """What changed since the apply: files that are neither the old nor the new version, and
    kernel values (``values``: before, after, namespace) that are neither."""
    out = []
    for e in entries:
        now = _read(under(root, e["path"]))
        if (sha256(now) if now is not None else None) not in (
            e["sha256_before"],
            e["sha256_after"],
        ):
            out.append(e["path"])
    if values is not None:
        before, after, netns = values
        now_values = read_sysctls(before, netns)
        out += [
            f"{k} (now {v})" for k, v in now_values.items() if v not in (before[k], after.get(k))
        ]
    return out


def _restore(entries: list[dict[str, Any]], root: str, state: str) -> tuple[list[str], list[str]]:
    """Put every file back (restored) or remove it (removed: it did not exist)."""
    restored, removed = [], []
    for e in reversed(entries):
        target = under(root, e["path"])
        remove_stale(target)
        if e["existed"]:
            with open(os.path.join(state, e["backup"]), "rb") as f:
                old = f.read()
            if sha256(old) != e["sha256_before"]:
                raise TuneError(f"the backup of {e['path']} in {state} is damaged")
            write_atomic(target, old, e["mode"] or 0o644, _owner(e))
            restored.append(e["path"])
        elif os.path.lexists(target):
            os.unlink(target)
            _sync_dir(os.path.dirname(target))
            removed.append(e["path"])
    return restored, removed


def revert(apply_id: str, *, root: str = "/", force: bool = False) -> Reverted:
    """Undo apply ``apply_id`` (see the module docstring)."""
    with _locked(root):
        state, doc = load_manifest(apply_id, root)
        if doc.get("status") == "reverted" and not force:
            raise TuneError(f"apply {apply_id} was reverted already ({doc.get('reverted')})")
        entries: list[dict[str, Any]] = doc.get("files", [])
        sysctl = doc.get("sysctl") or {}
        before = {k: v for k, v in (sysctl.get("before") or {}).items() if v is not None}
        netns = doc.get("netns")
        kernel = bool(sysctl.get("kernel") and before)
        gone = kernel and netns is not None and not _netns_exists(netns)
        kernel = kernel and not gone
        values = (before, sysctl.get("after") or {}, netns) if kernel else None
        conflicts = [] if force else _conflicts(entries, root, values)
        if conflicts:
            raise TuneError(
                f"changed since apply {apply_id}: {', '.join(conflicts)} (--yes puts the old "
                "version back all the same)"
            )
        restored, removed = _restore(entries, root, state)
        for d in reversed(doc.get("created_dirs", [])):
            with contextlib.suppress(OSError):
                os.rmdir(under(root, d))
        notes = (
            [f"network namespace {netns} is gone: its kernel values went with it"] if gone else []
        )
        errors = _set_sysctls(before, netns) if kernel else []
        failed = {e.split(":", 1)[0] for e in errors}
        set_back = {k: v for k, v in before.items() if k not in failed} if kernel else {}
        doc["status"] = "reverted"
        doc["reverted"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_manifest(state, doc)
    return Reverted(
        apply_id, tuple(restored), tuple(removed), set_back, tuple(notes), tuple(errors)
    )
