"""sockdoc tune on the command line: --write for review, --json, exit codes, usage errors, and
--apply / --revert of files in a temporary root (byte for byte, modes too), including an
apply killed in the middle of writing."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest
from tunekit import applies, bundle_dir, plan_for, sha256, tree, tune, tune_here, tune_popen

from sockdoc.tune import files
from sockdoc.tune.apply import PAUSE_ENV, TMP_SUFFIX

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
NGINX_DROP_IN = "etc/systemd/system/nginx.service.d/90-sockdoc.conf"


def test_show_json_and_exit_codes(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "listen-backlog-capped/fires")
    got = tune("--bundle", str(b))
    assert got.returncode == 1, got.stderr  # like diff(1): there is something to change
    assert "- net.core.somaxconn = 128\n+ net.core.somaxconn = 8192\n" in got.stdout
    here = tune_here("--bundle", str(b), "--json")
    doc = json.loads(here.stdout)
    assert [(c["name"], c["value"]) for c in doc["changes"]] == [("net.core.somaxconn", 8192)]
    here = tune_here("--bundle", str(BUNDLES / "overflow.tar.gz"))
    assert here.exit_code == 0 and "No setting to change." in here.stdout


def test_write_for_review(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "dovecot-client-limit/fires")
    out = tmp_path / "review"
    got = tune_here("--bundle", str(b), "--write", str(out), "--root", str(tmp_path / "none"))
    assert got.exit_code == 0, got.output
    written = out / "tmp/dvlab/clients/conf.d/90-sockdoc.conf"
    assert f"wrote {written}" in got.stdout
    assert list(tree(out)) == ["tmp/dvlab/clients/conf.d/90-sockdoc.conf"]
    body = [x.strip() for x in written.read_text().splitlines() if not x.lstrip().startswith("#")]
    assert body == [
        "",
        "service imap {",
        "client_limit = 1",
        "process_limit = 20",
        "process_min_avail = 1",
        "}",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apply", "--write", "x"], "give --write DIR or --apply, not both"),
        (["--revert", "x", "--apply"], "--revert takes only --root and --yes"),
        (["--apply", "--pid", "1"], "--apply works in a named namespace"),
        (["--write", "/"], "--write / would replace the live files"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    got = tune_here("--bundle", str(tmp_path), *args)
    assert got.exit_code == 2 and message in got.stderr


def test_apply_of_a_namespace_bundle_needs_its_namespace(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "listen-backlog-capped/fires")
    got = tune_here("--bundle", str(b), "--apply", "--yes", "--root", str(tmp_path / "root"))
    assert got.exit_code == 2
    assert "the diagnosis is of network namespace sdcap: give --netns NAME" in got.stderr
    assert not (tmp_path / "root").exists()


def test_apply_and_revert_in_a_root_byte_for_byte(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "daemon-fd-limit/fires")
    root = tmp_path / "root"
    old = root / NGINX_DROP_IN
    old.parent.mkdir(parents=True)
    old.write_bytes(b"[Service]\nLimitNOFILE=64\n# an admin's comment\n")
    old.chmod(0o640)
    other = root / "etc/other.conf"
    other.write_bytes(b"untouched\n")
    before = tree(root)
    got = tune_here("--bundle", str(b), "--apply", "--yes", "--root", str(root))
    assert got.exit_code == 0, got.output
    (apply_id,) = applies(root)
    assert f"undo with: sockdoc tune --revert {apply_id} --root {root}" in got.stdout
    assert "systemctl daemon-reload && systemctl restart nginx.service" in got.stdout
    assert "nginx -t && systemctl reload nginx" not in got.stdout.split("to do by hand")[1]
    after = tree(root)
    assert set(after) == set(before) and after["etc/other.conf"] == before["etc/other.conf"]
    assert "LimitNOFILE=1024:1024\n" in old.read_text()
    assert stat.S_IMODE(old.stat().st_mode) == 0o640  # the replaced file's mode is kept
    backup = root / "var/lib/sockdoc/tune" / apply_id / "files/0.orig"
    assert backup.read_bytes() == b"[Service]\nLimitNOFILE=64\n# an admin's comment\n"
    manifest = json.loads((backup.parent.parent / "manifest.json").read_text())
    assert manifest["status"] == "applied" and manifest["files"][0]["existed"] is True
    got = tune_here("--revert", apply_id, "--root", str(root))
    assert got.exit_code == 0, got.output
    assert tree(root) == before  # every file byte for byte, with its mode
    again = tune("--revert", apply_id, "--root", str(root))
    assert again.returncode == 3 and "was reverted already" in again.stderr


def test_revert_removes_what_did_not_exist_and_refuses_a_changed_file(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "dovecot-process-limit/fires")
    root = tmp_path / "root"
    root.mkdir()
    got = tune_here("--bundle", str(b), "--apply", "--yes", "--root", str(root))
    assert got.exit_code == 0, got.output
    (apply_id,) = applies(root)
    snippet = root / "tmp/dvlab/bad/conf.d/90-sockdoc.conf"
    assert "process_limit = 30\n" in snippet.read_text()
    snippet.write_text(snippet.read_text() + "# edited after the apply\n")
    refused = tune("--revert", apply_id, "--root", str(root))
    assert refused.returncode == 3
    assert (
        "changed since apply" in refused.stderr
        and "/tmp/dvlab/bad/conf.d/90-sockdoc.conf" in refused.stderr
    )
    got = tune_here("--revert", apply_id, "--root", str(root), "--yes")
    assert got.exit_code == 0, got.output
    assert not (root / "tmp").exists()  # the file and the directories made for it are gone


def test_declined_confirmation_changes_nothing(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "daemon-fd-limit/fires")
    root = tmp_path / "root"
    root.mkdir()
    got = tune_here("--bundle", str(b), "--apply", "--root", str(root), stdin="n\n")
    assert got.exit_code == 1 and "nothing changed" in got.stderr
    assert tree(root) == {} and applies(root) == []


def _wait_for_tmp(directory: Path, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(directory.glob(f".*{TMP_SUFFIX}")) if directory.is_dir() else []
        if found:
            return found[0]
        time.sleep(0.02)
    raise TimeoutError(directory)


def test_a_kill_during_apply_leaves_the_old_file_or_the_new(tmp_path: Path) -> None:
    b = bundle_dir(tmp_path, "daemon-fd-limit/fires")
    root = tmp_path / "root"
    target = root / NGINX_DROP_IN
    target.parent.mkdir(parents=True)
    old = b"[Service]\nLimitNOFILE=64\n"
    target.write_bytes(old)
    old_sha = sha256(target)
    # the test hook holds the apply after the new bytes are flushed, before the rename
    proc = tune_popen(
        "--bundle", str(b), "--apply", "--yes", "--root", str(root), env={PAUSE_ENV: "30"}
    )
    try:
        tmp = _wait_for_tmp(target.parent)
        assert not tmp.name.endswith(".conf")  # no reader of *.conf picks it up
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert sha256(target) == old_sha
    (interrupted,) = applies(root)
    plan, _ = plan_for("daemon-fd-limit/fires")
    (rendered,) = files.render(plan, {})
    # a kill at other moments, without the hook, spread over the time a whole apply takes:
    # always one version or the other, whole
    started = time.monotonic()
    whole = tune("--bundle", str(b), "--apply", "--yes", "--root", str(tmp_path / "timing"))
    took = time.monotonic() - started
    assert whole.returncode == 0, whole.stderr
    seen = set()
    for share in (0.85, 0.97):
        p = tune_popen("--bundle", str(b), "--apply", "--yes", "--root", str(root), env={})
        time.sleep(share * took)
        p.kill()
        p.communicate(timeout=10)
        data = target.read_bytes()
        assert data in (old, rendered.data)
        seen.add("old" if data == old else "new")
        target.write_bytes(old)
    # the interrupted apply can be reverted: the file is the old one, byte for byte
    got = tune_here("--revert", interrupted, "--root", str(root), "--yes")
    assert got.exit_code == 0, got.output
    assert sha256(target) == old_sha
    assert not list(target.parent.glob(f".*{TMP_SUFFIX}"))  # what the kill left is cleaned
    print(f"kills without the hook left: {sorted(seen)} (a whole apply took {took:.2f} s)")
