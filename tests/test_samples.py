"""Every annotated sample line classifies as annotated; every signature is exercised.

The sample files are the proof of the matchers (fail2ban's samplestestcase.py is the model): a
signature without a sample, a sample without an annotation, or an annotation that disagrees with
the catalogue fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sockdoc.matchers import all_entries, daemon_modules
from sockdoc.matchers.base import NotThis, Signature
from sockdoc.matchers.catalogue import Catalogue, default

SAMPLES = Path(__file__).parent / "samples"
ID_FORM = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


@dataclass(frozen=True)
class Sample:
    file: str
    lineno: int
    line: str
    expect: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.file}:{self.lineno}"


def read_samples(path: Path) -> Iterator[Sample]:
    expect: dict[str, Any] | None = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        if raw.startswith("#> "):
            assert expect is None, f"{path.name}:{n}: two annotations in a row"
            expect = json.loads(raw[3:])
            continue
        if raw.startswith("#"):
            continue
        assert expect is not None, f"{path.name}:{n}: log line without an annotation above it"
        yield Sample(path.name, n, raw, expect)
        expect = None
    assert expect is None, f"{path.name}: annotation at the end without a line"


def all_samples() -> list[Sample]:
    return [s for p in sorted(SAMPLES.glob("*.log")) for s in read_samples(p)]


SAMPLE_LIST = all_samples()


@pytest.mark.parametrize("module", daemon_modules())
def test_every_module_has_a_sample_file(module: str) -> None:
    assert (SAMPLES / f"{module}.log").is_file(), f"tests/samples/{module}.log is missing"


@pytest.mark.parametrize("prefer", ["auto", "python"])
def test_every_sample_classifies_as_annotated(prefer: str) -> None:
    cat = default(prefer)
    failures: list[str] = []
    for s in SAMPLE_LIST:
        r = cat.classify(s.line)
        want_match = s.expect.get("matched", True)
        got = r.signature.id if r.signature else (r.not_this.id if r.not_this else None)
        if r.matched != want_match:
            failures.append(f"{s}: matched={r.matched} ({got}), annotated {want_match}: {s.line}")
            continue
        if "signature" in s.expect and got != s.expect["signature"]:
            failures.append(f"{s}: got {got}, annotated {s.expect['signature']}")
            continue
        if r.signature is not None:
            if "cause" in s.expect and r.signature.cause.value != s.expect["cause"]:
                failures.append(f"{s}: cause {r.signature.cause.value} != {s.expect['cause']}")
            for name, want in s.expect.get("fields", {}).items():
                if r.fields.get(name) != want:
                    failures.append(f"{s}: field {name}={r.fields.get(name)!r}, want {want!r}")
    assert not failures, "\n".join(failures)


def test_every_signature_is_exercised() -> None:
    annotated = {s.expect["signature"] for s in SAMPLE_LIST if "signature" in s.expect}
    missing = [e.id for e in all_entries() if e.id not in annotated]
    assert not missing, f"signatures without an annotated sample: {missing}"


def test_every_signature_annotation_names_a_cause() -> None:
    bad = [str(s) for s in SAMPLE_LIST if s.expect.get("matched", True) and "cause" not in s.expect]
    assert not bad, f"matched samples must annotate the cause: {bad}"


def test_catalogue_compiles_and_is_complete() -> None:
    entries = all_entries()
    cat = Catalogue(entries, validate=True)
    assert len(cat) == len(entries)
    sigs = [e for e in entries if isinstance(e, Signature)]
    assert sigs, "no signatures at all"
    for e in entries:
        if isinstance(e, Signature):
            assert e.meaning.strip() and e.daemon, e.id
        else:
            assert isinstance(e, NotThis) and e.hint.strip(), e.id
        assert ID_FORM.fullmatch(e.id), f"{e.id}: ids look like 'daemon.slug-words'"
