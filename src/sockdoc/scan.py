"""``sockdoc scan``: run the catalogue over log inputs, in parallel where it pays.

Large plain files are cut into ranges at line boundaries and scanned by worker processes (one
per core); compressed inputs are decompressed in a thread (ISA-L releases the GIL) while the
main thread matches. Each worker fills its own :class:`Summary`; the summaries are merged.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sockdoc.collect import logfiles
from sockdoc.collect.logfiles import Input, Skips
from sockdoc.facts.log_summary import ScanFacts, Summary
from sockdoc.matchers.catalogue import Catalogue, default
from sockdoc.matchers.scanner import Buffer, Skipped, classify_region
from sockdoc.parsers.timestamps import to_epoch

PARALLEL_MIN = 64 << 20  # below this, starting workers costs more than it saves

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ScanOptions:
    since: float | None = None
    until: float | None = None
    jobs: int = 0  # 0 = one per available core
    top: int = 10
    gap_minutes: int = 5


@dataclass(frozen=True)
class ScanResult:
    facts: ScanFacts
    inputs: tuple[str, ...]
    skips: dict[str, int]
    skip_examples: dict[str, str]
    unreadable: int
    engine: str
    seconds: float
    top: int = 10


def _scan_regions(
    cat: Catalogue,
    regions: Iterable[tuple[Buffer, int, int]],
    summary: Summary,
    skips: Skips,
    where: str,
    reference: float,
    tick: Progress,
) -> None:
    for buf, lo, hi in regions:
        summary.bytes += hi - lo
        for result in classify_region(cat, buf, lo, hi, max_line=logfiles.MAX_LINE):
            if isinstance(result, Skipped):
                skips.add(result.reason, where)
                continue
            env = result.envelope
            summary.add(result, to_epoch(env.timestamp, env.format, reference))
        tick(hi - lo)


# Worker processes: the catalogue is compiled once per process; progress goes through a shared
# counter handed over at fork time.
_progress_counter: Any = None


def _init_worker(counter: Any) -> None:
    global _progress_counter  # noqa: PLW0603 - per-process state set once by the pool
    _progress_counter = counter


def _worker_tick(n: int) -> None:
    if _progress_counter is not None:
        with _progress_counter.get_lock():
            _progress_counter.value += n


def _scan_range(
    path: str, start: int, end: int, reference: float, since: float | None, until: float | None
) -> tuple[Summary, Skips]:
    skips = Skips()
    summary = Summary(since=since, until=until)
    regions = logfiles.read_windows(path, start, end, skips)
    _scan_regions(default(), regions, summary, skips, path, reference, _worker_tick)
    return summary, skips


def _jobs(requested: int) -> int:
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def total_size(inputs: Sequence[Input]) -> int:
    return sum(i.size for i in inputs)


class _Workers:
    """Worker processes scanning ranges of large plain files, one range per worker."""

    def __init__(self, big: Sequence[Input], jobs: int, options: ScanOptions) -> None:
        ctx = multiprocessing.get_context("fork")
        self.counter: Any = ctx.Value("q", 0)
        self.pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(self.counter,)
        )
        self.futures: list[Future[tuple[Summary, Skips]]] = []
        for inp in big:
            bounds = [inp.size * k // jobs for k in range(jobs + 1)]
            self.futures.extend(
                self.pool.submit(
                    _scan_range,
                    inp.path,
                    bounds[k],
                    bounds[k + 1],
                    inp.mtime,
                    options.since,
                    options.until,
                )
                for k in range(jobs)
            )

    def collect(self, summary: Summary, skips: Skips, tick: Progress) -> None:
        last = 0
        while not all(f.done() for f in self.futures):
            time.sleep(0.1)
            value = int(self.counter.value)
            tick(value - last)
            last = value
        for f in self.futures:
            part, part_skips = f.result()
            summary.merge(part)
            skips.merge(part_skips)
        tick(int(self.counter.value) - last)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def _scan_input(
    cat: Catalogue, inp: Input, summary: Summary, skips: Skips, now: float, tick: Progress
) -> None:
    """Scan one input in this process: plain files read in windows, streams in chunks."""
    try:
        if inp.compression == "plain":
            regions = logfiles.read_windows(inp.path, 0, inp.size, skips)
            _scan_regions(cat, regions, summary, skips, inp.label, inp.mtime, tick)
            return
        opened = logfiles.open_input(inp)
    except OSError as exc:
        skips.add(f"unreadable: {exc.strerror or exc}", inp.label)
        return
    done = 0

    def tick_file(_n: int) -> None:
        # progress counts bytes of the file on disk, not decompressed bytes
        nonlocal done
        now_at = opened.consumed()
        tick(now_at - done)
        done = now_at

    try:
        regions = logfiles.read_regions(opened.stream, inp.label, skips)
        _scan_regions(cat, regions, summary, skips, inp.label, inp.mtime or now, tick_file)
    finally:
        opened.close()


def scan(
    inputs: Sequence[Input],
    skips: Skips,
    options: ScanOptions,
    *,
    journal: Iterable[tuple[bytearray, int, int]] | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan every input; unreadable ones were already counted in ``skips`` by discovery."""
    started = time.monotonic()
    tick: Progress = progress or (lambda _n: None)
    cat = default()
    summary = Summary(since=options.since, until=options.until)
    jobs = _jobs(options.jobs)
    big = [i for i in inputs if i.compression == "plain" and i.size >= PARALLEL_MIN and jobs > 1]
    workers = _Workers(big, jobs, options) if big else None
    try:
        now = time.time()
        for inp in inputs:
            if inp not in big:
                _scan_input(cat, inp, summary, skips, now, tick)
        if journal is not None:
            _scan_regions(cat, journal, summary, skips, "journal", now, tick)
        if workers is not None:
            workers.collect(summary, skips, tick)
    finally:
        if workers is not None:
            workers.close()
    unreadable = sum(
        n for reason, n in skips.counts.items() if reason.startswith(("unreadable", "no such"))
    )
    return ScanResult(
        facts=summary.finish(top=options.top, gap_minutes=options.gap_minutes),
        inputs=tuple(i.label for i in inputs),
        skips=dict(skips.counts),
        skip_examples=dict(skips.examples),
        unreadable=unreadable,
        engine=cat.prefilter.name,
        seconds=time.monotonic() - started,
        top=options.top,
    )
