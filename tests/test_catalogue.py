"""The matching engine itself, on small hand-made catalogues (the real ones are proven by
test_samples.py)."""

from __future__ import annotations

import pytest

from sockdoc.causes import Cause
from sockdoc.matchers.base import NotThis, Severity, Signature
from sockdoc.matchers.catalogue import Catalogue, CatalogueError


def sig(id: str, anchors: tuple[str, ...], pattern: str, **kw: object) -> Signature:
    args: dict[str, object] = {
        "daemon": id.split(".", maxsplit=1)[0],
        "cause": Cause.SEND_BUFFER_FULL,
        "severity": Severity.ERROR,
        "meaning": "m",
        "source": "test",
    }
    args.update(kw)
    return Signature(id=id, anchors=anchors, pattern=pattern, **args)  # type: ignore[arg-type]


ENTRIES = (
    sig(
        "d.send",
        ("error sending response",),
        r"client (?P<client_ip>[\d.]+)#(?P<client_port>\d+): "
        r"error sending response: (?P<reason>.+)",
        programs=("named",),
    ),
    sig("g.eagain", ("(11: Resource temporarily unavailable)",), r"\((?P<errno>11): ", priority=10),
    sig(
        "g.unix",
        ("connect() to unix:",),
        r"connect\(\) to unix:(?P<socket>\S+) failed \((?P<errno>\d+): ",
        cause=Cause.UNIX_LISTEN_QUEUE_FULL,
    ),
    NotThis(
        id="g.not-this.recv",
        daemon="g",
        anchors=("recv() failed",),
        pattern=r"recv\(\) failed \(11:",
        hint="a receive timeout",
        source="test",
    ),
)


@pytest.fixture(params=["auto", "python"])
def cat(request: pytest.FixtureRequest) -> Catalogue:
    return Catalogue(ENTRIES, prefer=request.param)


def test_fields_envelope_and_errno(cat: Catalogue) -> None:
    r = cat.classify(
        "Nov 21 03:12:44 ns1 named[812]: client 192.0.2.1#5353: error sending response: would block"
    )
    assert r.signature is not None and r.signature.id == "d.send"
    assert dict(r.fields) == {
        "timestamp": "Nov 21 03:12:44",
        "host": "ns1",
        "program": "named",
        "pid": 812,
        "client_ip": "192.0.2.1",
        "client_port": 5353,
        "reason": "would block",
        "errno": "EAGAIN",
    }


def test_program_restriction(cat: Catalogue) -> None:
    line = "Nov 21 03:12:44 h myapp[1]: client 192.0.2.1#53: error sending response: unset"
    r = cat.classify(line)
    assert not r.matched and r.near == ("d.send",)
    # Without a tag there is nothing to contradict the wording.
    assert cat.classify("client 192.0.2.1#53: error sending response: unset").matched


def test_priority_specific_beats_generic(cat: Catalogue) -> None:
    r = cat.classify("connect() to unix:/run/x.sock failed (11: Resource temporarily unavailable)")
    assert r.signature is not None and r.signature.id == "g.unix"
    assert r.fields["socket"] == "/run/x.sock" and r.fields["errno"] == "EAGAIN"
    r = cat.classify("sendto() failed (11: Resource temporarily unavailable)")
    assert r.signature is not None and r.signature.id == "g.eagain"


def test_false_friend_wins(cat: Catalogue) -> None:
    r = cat.classify("recv() failed (11: Resource temporarily unavailable) while reading")
    assert not r.matched and r.not_this is not None and r.not_this.id == "g.not-this.recv"


def test_nothing_and_binary(cat: Catalogue) -> None:
    assert not cat.classify("").matched
    assert not cat.classify("\udcff\udcfe junk \x00").matched


def test_overlapping_anchors_all_found() -> None:
    a = sig("a.one", ("abc",), "abc")
    b = sig("b.two", ("bcd",), "bcd", priority=60)
    c = sig("c.three", ("b",), "b", priority=70)
    for prefer in ("auto", "python"):
        cat = Catalogue((a, b, c), prefer=prefer)
        assert sorted(cat.entries[i].id for i in cat.candidates(b"xabcdx")) == [
            "a.one",
            "b.two",
            "c.three",
        ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (sig("x.bad", ("a",), r"(?P<nonsense>a)"), "not in FIELDS"),
        (sig("x.bad", (), "a"), "anchor"),
        (sig("x.bad", ("a",), "(a"), "bad pattern"),
        (sig("x.bad", ("a",), "a", source=""), "cites no source"),
    ],
)
def test_malformed_signatures_are_rejected(entry: Signature, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        Catalogue((entry,), validate=True)


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(CatalogueError, match="duplicate"):
        Catalogue((ENTRIES[0], ENTRIES[0]), validate=True)
