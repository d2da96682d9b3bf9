"""The compiled catalogue: every signature of every daemon, matched against a line at once.

A line is first split into envelope and message (:mod:`sockdoc.parsers.logline`). One prefilter
pass finds which anchors occur; only the signatures owning those anchors have their regex tried,
best priority first. So the cost of a line that matches nothing (almost all of them) does not
grow with the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from sockdoc.matchers import all_entries, errno_names
from sockdoc.matchers.base import FIELDS, Entry, NotThis, Signature
from sockdoc.matchers.prefilter import Prefilter, build
from sockdoc.parsers.logline import LogLine, parse

FieldValue = str | int


class CatalogueError(ValueError):
    """A signature is malformed (a bug in a matcher module, caught at compile time)."""


@dataclass(frozen=True)
class Result:
    """The verdict on one line. ``signature`` is set when matched; ``not_this`` when a false
    friend caught it; ``near`` lists signature ids whose anchor occurred but whose pattern did
    not match (for the "no match" hint)."""

    line: str
    envelope: LogLine
    signature: Signature | None = None
    not_this: NotThis | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=lambda: MappingProxyType({}))
    near: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return self.signature is not None


def _check_entry(entry: Entry, regex: re.Pattern[str]) -> None:
    unknown = set(regex.groupindex) - set(FIELDS)
    if unknown:
        raise CatalogueError(f"{entry.id}: pattern groups not in FIELDS: {sorted(unknown)}")
    if not entry.anchors or any(not a for a in entry.anchors):
        raise CatalogueError(f"{entry.id}: needs at least one non-empty anchor")
    if not entry.source:
        raise CatalogueError(f"{entry.id}: cites no source")
    if isinstance(entry, Signature):
        for name in entry.fixed:
            if name not in FIELDS:
                raise CatalogueError(f"{entry.id}: fixed field {name!r} not in FIELDS")


def _convert(name: str, raw: str) -> FieldValue | None:
    kind = FIELDS[name][0]
    if kind is int:
        # bounded and ASCII-only: int() of thousands of digits raises, isdigit() admits "²"
        return int(raw) if len(raw) <= 18 and raw.isascii() and raw.isdigit() else None
    if name == "errno":
        return errno_names.normalise(raw)
    return raw


class Catalogue:
    """Signatures compiled once; :meth:`classify` is cheap per line.

    A signature's regex is compiled the first time its anchor is seen (start-up stays short
    with hundreds of signatures); ``validate=True`` compiles and checks all of them at once.
    """

    def __init__(
        self, entries: Sequence[Entry], *, prefer: str = "auto", validate: bool = False
    ) -> None:
        seen: set[str] = set()
        for e in entries:
            if e.id in seen:
                raise CatalogueError(f"duplicate signature id {e.id}")
            seen.add(e.id)
        # Best first: priority, then catalogue order (stable).
        self.entries: tuple[Entry, ...] = tuple(sorted(entries, key=lambda e: -e.priority))
        self._regex: list[re.Pattern[str] | None] = [None] * len(self.entries)
        if validate:
            for i in range(len(self.entries)):
                self._compiled(i)
        anchors: dict[bytes, list[int]] = {}
        for i, e in enumerate(self.entries):
            for a in e.anchors:
                anchors.setdefault(a.encode(), []).append(i)
        self.anchors: tuple[bytes, ...] = tuple(anchors)
        self._owners: tuple[tuple[int, ...], ...] = tuple(tuple(v) for v in anchors.values())
        self.prefilter: Prefilter = build(self.anchors, prefer=prefer)

    def _compiled(self, i: int) -> re.Pattern[str]:
        rx = self._regex[i]
        if rx is None:
            e = self.entries[i]
            try:
                rx = re.compile(e.pattern)
            except re.error as exc:
                raise CatalogueError(f"{e.id}: bad pattern: {exc}") from exc
            _check_entry(e, rx)
            self._regex[i] = rx
        return rx

    def __len__(self) -> int:
        return len(self.entries)

    def signatures(self) -> Iterable[Signature]:
        return (e for e in self.entries if isinstance(e, Signature))

    def candidates(self, data: bytes) -> list[int]:
        """Indices of entries whose anchors occur in ``data``, best first."""
        owners = self._owners
        found: set[int] = set()
        for anchor, _end in self.prefilter.hits(data):
            found.update(owners[anchor])
        return sorted(found)

    def classify(self, line: str) -> Result:
        """Classify one line (its trailing newline, if any, is ignored)."""
        line = line.rstrip("\r\n")
        return self.classify_candidates(
            line, self.candidates(line.encode("utf-8", "surrogateescape"))
        )

    def owners(self, anchor: int) -> tuple[int, ...]:
        """Entries (indices) that own anchor number ``anchor``."""
        return self._owners[anchor]

    def classify_candidates(self, line: str, cands: Sequence[int]) -> Result:
        """Classify ``line`` given the entries whose anchors it contains (best first)."""
        env = parse(line)
        if not cands:
            return Result(line=line, envelope=env)
        near: list[str] = []
        program = env.program
        for i in cands:
            entry = self.entries[i]
            if program and entry.programs and not program.startswith(entry.programs):
                near.append(entry.id)
                continue
            rx = self._compiled(i)
            m = rx.search(env.message)
            if m is None and env.message is not line:
                m = rx.search(line)
            if m is None:
                near.append(entry.id)
                continue
            if isinstance(entry, NotThis):
                return Result(line=line, envelope=env, not_this=entry)
            return Result(
                line=line, envelope=env, signature=entry, fields=self._fields(entry, env, m)
            )
        return Result(line=line, envelope=env, near=tuple(near))

    @staticmethod
    def _fields(sig: Signature, env: LogLine, m: re.Match[str]) -> Mapping[str, FieldValue]:
        out: dict[str, FieldValue] = {}
        for name, value in (
            ("timestamp", env.timestamp),
            ("host", env.host),
            ("program", env.program),
            ("pid", env.pid),
        ):
            if value is not None:
                out[name] = value
        for name, raw in m.groupdict().items():
            if raw is None:
                continue
            value = _convert(name, raw)
            if value is not None:
                out[name] = value
        if "errno" not in out and "reason" in out:
            guessed = errno_names.from_text(str(out["reason"]))
            if guessed:
                out["errno"] = guessed
        out.update(sig.fixed)
        return MappingProxyType(out)


@lru_cache(maxsize=2)
def default(prefer: str = "auto") -> Catalogue:
    """The catalogue of every matcher module, compiled once per process."""
    return Catalogue(all_entries(), prefer=prefer)


def classify(line: str) -> Result:
    return default().classify(line)
