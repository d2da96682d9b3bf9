"""Run a lab scenario: set it up, drive it, watch it, let ``sockdoc check`` diagnose it.

One run, in order:

1. the scenario makes its namespaces, links and qdiscs and names its agents;
2. the servers start, then the clients; from then on the namespace under study is sampled
   every 100 ms (:mod:`sockdoc.lab.probe`);
3. shortly after the start, while the failure is happening, ``sockdoc collect --netns NS``
   runs as a separate process, exactly as an operator would run it, and writes a bundle;
4. when the clients are done (or the scenario's time is up), one last sample, ``nstat`` and
   ``ss`` read the namespace, the agents stop and report their counts;
5. everything is removed (:mod:`sockdoc.lab.sandbox`), and the bundle is diagnosed by the same
   code as ``sockdoc check --bundle``: the scenario's own rule must come first, naming the
   socket or process the scenario made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sockdoc.collect import netns
from sockdoc.engine import Diagnosis
from sockdoc.lab.probe import Probe, Sample
from sockdoc.lab.sandbox import PREFIX, Agent, LabError, Sandbox, sandbox
from sockdoc.lab.scenario import Expect, Knobs, Report, RunData, Setup, Spec
from sockdoc.monitor import from_bundle
from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.nstat import parse_nstat
from sockdoc.parsers.ss_listen import parse_ss_listen
from sockdoc.rules.base import Finding

STEP = 0.1  # seconds between samples of the timeline
CHECK_AFTER = 0.3  # seconds into the workload when `sockdoc collect` starts
CHECK_INTERVAL = 1.0  # its --interval
CHECK_TIMEOUT = 30.0
AGENT_TIMEOUT = 15.0  # for an agent to report after it was told to stop


@dataclass(frozen=True)
class Proof:
    """What ``sockdoc check`` said about the run: its top finding, and whether that is the
    cause the scenario produced (rule, and the socket or process it names)."""

    expect: Expect
    top: Finding | None
    diagnosis: Diagnosis
    bundle: str | None

    @property
    def proved(self) -> bool:
        top = self.top
        if top is None or top.rule != self.expect.rule:
            return False
        if self.expect.subject is not None and top.subject.name != self.expect.subject:
            return False
        return self.expect.pid is None or top.subject.pid == self.expect.pid


@dataclass(frozen=True)
class LabResult:
    spec: Spec
    knobs: Knobs
    facts: tuple[tuple[str, str], ...]
    report: Report
    proof: Proof | None
    seconds: float
    steps: int
    check_error: str | None = None

    @property
    def agree(self) -> bool:
        return all(r.agree is not False for r in self.report.rows)


def validate(spec: Spec, values: Mapping[str, float]) -> dict[str, float]:
    """The scenario's knobs with ``values`` applied, each checked against its bounds."""
    knobs = spec.defaults()
    for name, value in values.items():
        knob = spec.knob(name)
        if not knob.minimum <= value <= knob.maximum:
            raise LabError(
                f"{knob.option} {value:g} is out of range ({knob.minimum:g}..{knob.maximum:g})"
            )
        if knob.integer and value != int(value):
            raise LabError(f"{knob.option} takes a whole number, not {value:g}")
        knobs[knob.name] = value
    return knobs


def _collect_argv(ns: str, pid: int | None, out: str) -> list[str]:
    where = ["--pid", str(pid)] if pid is not None else ["--netns", ns]
    return [
        sys.executable,
        "-m",
        "sockdoc",
        "collect",
        *where,
        "--no-logs",
        "--interval",
        str(CHECK_INTERVAL),
        "-o",
        out,
    ]


class _Drive:
    """The middle of one run: agents started, the namespace sampled, ``collect`` started and
    awaited, the agents stopped; everything :class:`RunData` needs."""

    def __init__(self, box: Sandbox, setup: Setup, check: bool, bundle_path: str) -> None:
        self.box, self.setup, self.check, self.bundle_path = box, setup, check, bundle_path
        self.agents: dict[str, Agent] = {}
        for call in setup.servers:
            self.agents[call.role] = box.spawn(call.ns, call.role, call.args)
        self.start = time.monotonic()
        self.clients = [box.spawn(c.ns, c.role, c.args) for c in setup.clients]
        self.agents.update({a.role: a for a in self.clients})
        self.finite = [a for a, c in zip(self.clients, setup.clients, strict=True) if not c.holds]
        self.path = f"{netns.NETNS_RUN_DIR}/{setup.ns}"
        self.probe = Probe(qdiscs=setup.qdiscs)
        self.samples: list[Sample] = []
        self.collector: subprocess.Popen[bytes] | None = None
        self.check_error: str | None = None

    def sample(self) -> Sample:
        with netns.entered(self.path):
            return self.probe.sample()

    def _start_collector(self) -> None:
        pid = self.agents[self.setup.watch].pid if self.setup.watch else None
        self.collector = subprocess.Popen(
            _collect_argv(self.setup.ns, pid, self.bundle_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def watch(self) -> None:
        """Sample every STEP until the workload is over and ``collect`` has finished."""
        end = self.start + self.setup.duration
        tick = self.start
        while True:
            now = time.monotonic()
            if self.check and self.collector is None and now >= self.start + CHECK_AFTER:
                self._start_collector()
            self.samples.append(self.sample())
            clients_done = all(not a.running() for a in self.finite) and now >= self.start + 0.5
            collected = self.collector is None or self.collector.poll() is not None
            checked = not self.check or self.collector is not None
            if (now >= end or (self.finite and clients_done)) and collected and checked:
                return
            if now >= end + CHECK_TIMEOUT:
                return
            tick += STEP
            time.sleep(max(tick - time.monotonic(), 0))

    def finish(self) -> RunData:
        """Stop the clients, read the final state and the standard tools, stop the servers."""
        for a in self.clients:
            a.stop()
        results = {a.role: a.finish(AGENT_TIMEOUT) for a in self.clients}
        final = self.sample()
        ns = self.setup.ns
        nstat_text = self.box.command(ns, "nstat", "-asz", "--json")
        ss_text = self.box.command(ns, "ss", "-H", "-l", "-n", "-x", "-t")
        somaxconn_text = self.box.command(ns, "sysctl", "-n", "net.core.somaxconn").strip()
        servers = [self.agents[c.role] for c in self.setup.servers]
        for a in servers:
            a.stop()
        for a in servers:
            results[a.role] = a.finish(AGENT_TIMEOUT)
        self._await_collector()
        try:
            nstat, ss = parse_nstat(nstat_text), parse_ss_listen(ss_text)
        except ParseError as exc:
            raise LabError(f"cannot read the cross-check: {exc}") from None
        return RunData(
            knobs={},
            setup=self.setup,
            start=self.start,
            ready={a.role: a.ready for a in self.agents.values()},
            results=results,
            samples=self.samples,
            final=final,
            nstat=nstat,
            ss=ss,
            pids={role: a.pid for role, a in self.agents.items()},
            somaxconn=int(somaxconn_text) if somaxconn_text.isdigit() else None,
        )

    def _await_collector(self) -> None:
        c = self.collector
        if c is None:
            return
        try:
            _, err = c.communicate(timeout=CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            c.kill()
            _, err = c.communicate()
        if c.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            self.check_error = lines[-1] if lines else f"exit {c.returncode}"

    def close(self) -> None:
        if self.collector is not None and self.collector.poll() is None:
            self.collector.kill()
            self.collector.wait()
        self.probe.close()


def run(
    spec: Spec,
    values: Mapping[str, float] | None = None,
    *,
    check: bool = True,
    save_bundle: str | None = None,
    label: str = "",
    prepare: Callable[[str], None] | None = None,
) -> LabResult:
    """Run ``spec`` once with ``values`` for its knobs (the rest at their defaults).

    ``prepare``, if given, is called with the name of the namespace under study after the
    scenario has set it up and before any agent starts: the place to apply a change (``sockdoc
    tune --apply`` inside the namespace) and measure its effect."""
    knobs = validate(spec, values or {})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-{os.getpid()}-bundle-") as tmp:
        bundle_path = os.path.join(save_bundle or tmp, f"{spec.name}{label}.tar.gz")
        with sandbox(spec.name) as box:
            setup = spec.setup(box, knobs)
            if prepare is not None:
                prepare(setup.ns)
            drive = _Drive(box, setup, check, bundle_path)
            try:
                drive.watch()
                data = drive.finish()
            finally:
                drive.close()
            data.knobs = knobs
            report = spec.report(data)
        proof = None
        if check and drive.check_error is None:
            diagnosis = from_bundle(bundle_path, CHECK_INTERVAL).diagnosis
            top = diagnosis.findings[0] if diagnosis.findings else None
            proof = Proof(report.expect, top, diagnosis, bundle_path if save_bundle else None)
    return LabResult(
        spec=spec,
        knobs=knobs,
        facts=setup.facts,
        report=report,
        proof=proof,
        seconds=time.monotonic() - started,
        steps=len(drive.samples),
        check_error=drive.check_error,
    )
