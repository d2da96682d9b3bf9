"""sockdoc tune --apply / --revert in a real network namespace (the kernel values read back
there, and nothing else changed), and in the lab: a scenario's failures fall after tune
applied what the scenario's own bundle called for. Needs root; under CI=true these run."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

from netnskit import namespace, require_root
from tunekit import applies, bundle_dir, sha256, tune_here

from sockdoc.lab.runner import run
from sockdoc.lab.scenarios import SCENARIOS


def net_sysctls(ns: str) -> dict[str, str]:
    """Every net.* sysctl of namespace ``ns``."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-a"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    ).stdout
    out_map: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, value = line.partition(" = ")
        if name.startswith("net.") and sep:
            out_map[name] = value
    return out_map


def set_in(ns: str, name: str, value: int) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-w", f"{name}={value}"],
        check=True,
        capture_output=True,
        timeout=10,
    )


def host_somaxconn() -> str:
    return Path("/proc/sys/net/core/somaxconn").read_text().strip()


def test_apply_and_revert_in_a_namespace(tmp_path: Path) -> None:
    require_root()
    b = bundle_dir(tmp_path, "listen-backlog-capped/fires")
    root = tmp_path / "root"
    host = host_somaxconn()
    with namespace("sdtune") as ns:
        set_in(ns, "net.core.somaxconn", 8)
        target = root / "etc/netns" / ns / "sysctl.d/90-sockdoc.conf"
        target.parent.mkdir(parents=True)
        old = b"# from an earlier tune\nnet.ipv4.tcp_syncookies = 1\n"
        target.write_bytes(old)
        target.chmod(0o600)
        before = net_sysctls(ns)
        got = tune_here("--bundle", str(b), "--apply", "--yes", "--netns", ns, "--root", str(root))
        assert got.exit_code == 0, got.output
        after = net_sysctls(ns)
        changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        assert changed == {"net.core.somaxconn": ("8", "8192")}  # exactly what was proposed
        assert host_somaxconn() == host  # the host's own value is not touched
        text = target.read_text()
        assert "net.core.somaxconn = 8192\n" in text and "net.ipv4.tcp_syncookies = 1\n" in text
        assert f"net.core.somaxconn = 8192 in network namespace {ns} (was 8)" in got.stdout
        (apply_id,) = applies(root)
        got = tune_here("--revert", apply_id, "--root", str(root))
        assert got.exit_code == 0, got.output
        assert "set net.core.somaxconn back to 8" in got.stdout
        assert net_sysctls(ns) == before
        assert target.read_bytes() == old and stat.S_IMODE(target.stat().st_mode) == 0o600
        assert sha256(target) == hashlib.sha256(old).hexdigest()


KNOBS = {
    "backlog": 4096,  # the server asks for 4096...
    "somaxconn": 8,  # ...and the namespace cuts it to 8
    "burst": 1000,
    "accept_rate": 10000,
    "period_ms": 250,
    "bursts": 16,  # 4 s: the collector (started 0.3 s in, 1 s long) sees 3 or more bursts
}


def test_lab_failures_fall_after_tune_apply(tmp_path: Path) -> None:
    require_root()
    spec = SCENARIOS["tcp-backlog"]
    first = run(spec, KNOBS, check=True, save_bundle=str(tmp_path))
    assert first.proof is not None and first.proof.bundle is not None
    bundle = first.proof.bundle
    got = tune_here("--bundle", bundle, "--json")
    (change,) = json.loads(got.stdout)["changes"]
    assert change["name"] == "net.core.somaxconn" and change["current"] == 8
    assert change["value"] >= 4096
    root = tmp_path / "root"
    applied: list[str] = []

    def prepare(ns: str) -> None:
        out = tune_here("--bundle", bundle, "--apply", "--yes", "--netns", ns, "--root", str(root))
        assert out.exit_code == 0, out.output
        applied.append(out.stdout)

    second = run(spec, KNOBS, check=False, prepare=prepare)
    rows = {r.event: r for r in second.report.rows}
    backlog = rows["listen backlog: min(backlog, somaxconn)"]
    before, after = first.report.metric, second.report.metric
    established = (first.report.rows[3].app, rows["connections established"].app)
    print(
        f"\ntcp-backlog {KNOBS}: SYNs dropped {before:.0f} before tune, {after:.0f} after "
        f"(net.core.somaxconn {change['current']} -> {change['value']}, listen backlog "
        f"{backlog.kernel}); connections established {established[0]} -> {established[1]}"
    )
    assert backlog.kernel == 4096  # the server got the backlog it asked for
    assert second.agree, [r for r in second.report.rows if r.agree is False]
    assert before >= 4000 and after <= before / 20
    assert applied and f"somaxconn = {change['value']}" in applied[0]
    assert os.path.exists(root / "var/lib/sockdoc/tune")
