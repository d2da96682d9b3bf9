"""Roots: every read ends in a status with its reason; bundles open safely or not at all."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from sockdoc.collect import bundle
from sockdoc.collect.root import BundleError, BundleRoot, Got, LiveRoot, Recorder, unpack


@pytest.fixture
def live() -> LiveRoot:
    return LiveRoot(file_timeout=1.0)


def test_file_ok_absent_and_too_large(live: LiveRoot, tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"hello\n")
    assert live.file("k", str(f)).data == b"hello\n"
    missing = live.file("k", str(tmp_path / "nope"))
    assert (missing.status, missing.data) == ("absent", None)
    big = live.file("k", str(f), limit=3)
    assert big.status == "error" and "larger than 3 bytes" in big.reason


def test_proc_sys_reads_in_pieces(live: LiveRoot) -> None:
    # one read() of a few MiB from a sysctl file fails with ENOMEM (proc_sys_call_handler)
    got = live.file("k", "/proc/sys/net/core/somaxconn")
    assert got.ok and got.text().strip().isdigit()


@pytest.mark.skipif(os.geteuid() != 0, reason="root reads everything: test as root only")
def test_file_denied_names_root(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_text("x")
    f.chmod(0)
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        os.setgid(65534)
        os.setuid(65534)
        got = LiveRoot().file("k", str(f))
        os._exit(0 if got.status == "denied" and got.needs_root else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_command_statuses(live: LiveRoot) -> None:
    ok = live.command("k", [sys.executable, "-c", "print('hi')"])
    assert ok.status == "ok" and ok.text() == "hi\n"
    absent = live.command("k", ["sockdoc-no-such-tool"])
    assert absent.status == "absent" and "not installed" in absent.reason
    failed = live.command("k", [sys.executable, "-c", "import sys; sys.exit('broken config')"])
    assert failed.status == "error" and failed.reason == "broken config"
    slow = live.command("k", [sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert slow.status == "timeout" and "0.5 s" in slow.reason
    redacted = live.command(
        "k", [sys.executable, "-c", "print('pw=1')"], post=lambda b: b.replace(b"1", b"<redacted>")
    )
    assert redacted.text() == "pw=<redacted>\n"


def test_compute_maps_exceptions(live: LiveRoot) -> None:
    def boom() -> bytes:
        raise TimeoutError("slow")

    assert live.compute("k", "x", boom).status == "timeout"
    assert live.compute("k", "x", lambda: b"1").data == b"1"


def _bundle(tmp_path: Path) -> str:
    rec = Recorder(LiveRoot())
    rec.file("a/b", "/proc/net/snmp")
    rec.command("cmd/none", ["sockdoc-no-such-tool"])
    path = tmp_path / "b.tar.gz"
    bundle.write(rec.got, str(path), seconds=0.1, netns=None)
    return str(path)


def test_bundle_replays_data_and_statuses(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    with bundle.opened(path) as root:
        assert root.file("a/b", "ignored").ok
        gone = root.command("cmd/none", ["x"])
        assert (gone.status, gone.reason) == ("absent", "sockdoc-no-such-tool is not installed")
        assert root.file("never", "x") == Got(
            "never", "absent", None, "not in the bundle", False, 0.0, "x"
        )
        assert root.manifest is not None and root.manifest.sources["a/b"]["sha256"]


def test_existing_output_is_kept_as_backup(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    first = Path(path).read_bytes()
    _bundle(tmp_path)
    assert Path(path + ".bak").read_bytes() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sockdoc-bundle-")]


def _tar(tmp_path: Path, members: dict[str, bytes]) -> str:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return str(path)


@pytest.mark.parametrize(
    "members",
    [
        {"../escape": b"x"},
        {"/abs/manifest.json": b"{}"},
        {"top/data/x": b"1"},  # no manifest
        {"top/manifest.json": b"not json"},
    ],
)
def test_unsafe_or_foreign_archives_are_refused(tmp_path: Path, members: dict[str, bytes]) -> None:
    path = _tar(tmp_path, members)
    with pytest.raises(BundleError), bundle.opened(path) as root:
        BundleRoot(root.layers)
    assert not (tmp_path / "escape").exists()


def test_not_a_tarball(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(BundleError):
        unpack(str(junk), str(tmp_path / "out"))
