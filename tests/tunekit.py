"""Helpers for the tune tests: plans from rule fixtures, bundles to hand to the command line,
running ``sockdoc tune`` as a program, and byte-exact comparisons of files."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result
from rulekit import BASE, RULES_DIR, facts_for

from sockdoc.cli import cli
from sockdoc.engine import diagnose
from sockdoc.facts.host import HostFacts
from sockdoc.tune import proposals, safety
from sockdoc.tune.proposals import Plan

UNSET = "unset"


def plan_for(
    *overlays: str, netns: str | None = UNSET, meminfo: str | None = None
) -> tuple[Plan, HostFacts]:
    """The screened plan for the base bundle with ``overlays``; ``netns`` defaults to the
    namespace the fixture was captured in (what ``tune --bundle`` does)."""
    facts = facts_for(*overlays)
    target = facts.netns if netns == UNSET else netns
    plan = proposals.propose(diagnose(facts), target)
    return safety.screen(plan, safety.bounds(facts, meminfo)), facts


def bundle_dir(tmp: Path, *overlays: str) -> Path:
    """The base bundle with ``overlays`` laid over it, as one directory ``--bundle`` reads
    (the overlays have no manifest of their own: their data files replace the base's)."""
    out = tmp / ("bundle-" + "-".join(o.replace("/", "_") for o in overlays))
    shutil.copytree(BASE, out)
    for o in overlays:
        shutil.copytree(RULES_DIR / o / "data", out / "data", dirs_exist_ok=True)
    return out


def tune(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sockdoc", "tune", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def tune_here(*args: str, stdin: str = "") -> Result:
    """``sockdoc tune`` in this process (no interpreter start-up). click's own exit codes:
    2 for a usage error, but 1 (not sockdoc's 3) for a one-line error."""
    return CliRunner().invoke(cli, ["tune", *args], input=stdin)


def tune_popen(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sockdoc", "tune", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path, skip: str = "var/lib/sockdoc") -> dict[str, str]:
    """Every file under ``root`` (but the state directory) with its SHA-256 and mode."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(skip) or not p.is_file():
            continue
        out[rel] = f"{sha256(p)} {oct(p.stat().st_mode & 0o7777)}"
    return out


def applies(root: Path) -> list[str]:
    """The apply ids recorded under ``root``."""
    state = root / "var/lib/sockdoc/tune"
    return sorted(p.name for p in state.iterdir() if p.is_dir()) if state.is_dir() else []
