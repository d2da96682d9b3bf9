"""The files ``sockdoc tune`` writes, rendered from a plan (pure: bytes in, bytes out).

One file per place a setting lives (see :mod:`sockdoc.tune.proposals`):

* the sysctl file (``/etc/sysctl.d/90-sockdoc.conf``, or the namespace's), ``NAME = VALUE``
  lines as sysctl.d(5) reads them;
* Dovecot's ``conf.d/90-sockdoc.conf``: one ``service NAME { }`` section per service;
* a systemd drop-in per unit, ``[Service]`` with ``LimitNOFILE=SOFT:HARD`` (systemd.exec(5):
  the hard limit is kept where it was higher).

Each setting is preceded by a comment with the value it replaces and the findings that asked
for it. A file tune wrote before keeps its other settings (a second tune adds to the first
one's file instead of dropping what it set); the new values replace the old ones' lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sockdoc import __version__
from sockdoc.tune.proposals import Kind, Plan, Setting, shown

HEADER = (
    "# Written by sockdoc tune {version}: the settings a diagnosis called for. Each one\n"
    "# follows a comment with the value it replaced and the findings that asked for it.\n"
    "# 'sockdoc tune --apply' prints the command that undoes it: sockdoc tune --revert ID.\n"
)
_SYSCTL_LINE = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.-]+)\s*=\s*(?P<value>.*?)\s*$")
_SERVICE = re.compile(r"service\s+(?P<name>[A-Za-z0-9_.-]+)\s*\{(?P<body>[^{}]*)\}")
_SETTING = re.compile(r"^\s*(?P<key>[a-z_]+)\s*=\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class TuneFile:
    """A file to write: where (on the host it is for), what kind, its bytes, the settings it
    changes, what makes them take effect, and the lines kept from its previous version."""

    path: str
    kind: Kind
    data: bytes
    settings: tuple[Setting, ...]
    activate: tuple[str, ...]
    kept: tuple[str, ...] = ()


def _why(s: Setting) -> list[str]:
    lines = [
        f"# {s.label}: was {shown(s.current, s.kind)}"
        + ("; lowered on purpose" if s.lowers else "")
    ]
    for r in s.reasons:
        lines.append(f"#   {r.rule} ({r.subject}) asked for {shown(r.asked, s.kind)}")
    return lines


def _sysctl(
    path: str, settings: Sequence[Setting], old: bytes | None, netns: str | None
) -> TuneFile:
    names = {s.name for s in settings}
    kept: list[str] = []
    for line in (old or b"").decode(errors="replace").splitlines():
        if line.lstrip().startswith(("#", ";")):
            continue
        m = _SYSCTL_LINE.match(line)
        if m is not None and m["key"] not in names:
            kept.append(f"{m['key']} = {m['value']}")
    out = [HEADER.format(version=__version__)]
    for s in settings:
        out.append("\n".join([*_why(s), f"{s.name} = {shown(s.value)}"]) + "\n")
    if kept:
        out.append("# kept from the previous version of this file\n" + "\n".join(kept) + "\n")
    run = f"ip netns exec {netns} sysctl -p {path}" if netns else f"sysctl -p {path}"
    return TuneFile(path, "sysctl", "\n".join(out).encode(), tuple(settings), (run,), tuple(kept))


def _dovecot(path: str, settings: Sequence[Setting], old: bytes | None) -> TuneFile:
    previous: dict[str, dict[str, str]] = {}
    for m in _SERVICE.finditer((old or b"").decode(errors="replace")):
        body = previous.setdefault(m["name"], {})
        for line in m["body"].splitlines():
            sm = _SETTING.match(line)
            if sm is not None and not line.lstrip().startswith("#"):
                body[sm["key"]] = sm["value"]
    by_service: dict[str, list[Setting]] = {}
    for s in settings:
        by_service.setdefault(s.scope, []).append(s)
    kept: list[str] = []
    out = [HEADER.format(version=__version__)]
    for name in sorted(set(by_service) | set(previous)):
        new = by_service.get(name, [])
        lines = [f"service {name} {{"]
        for s in new:
            lines += ["  " + c for c in _why(s)]
            lines.append(f"  {s.name} = {shown(s.value)}")
        changed = {s.name for s in new}
        for key, value in previous.get(name, {}).items():
            if key not in changed:
                kept.append(f"service {name} {{ {key} = {value} }}")
                lines.append("  # kept from the previous version of this file")
                lines.append(f"  {key} = {value}")
        lines.append("}")
        out.append("\n".join(lines) + "\n")
    reloads = tuple(dict.fromkeys(t for s in settings for t in s.then))
    return TuneFile(path, "dovecot", "\n".join(out).encode(), tuple(settings), reloads, tuple(kept))


def _systemd(path: str, settings: Sequence[Setting]) -> TuneFile:
    lines = [HEADER.format(version=__version__).rstrip("\n"), "[Service]"]
    for s in settings:
        lines += [*_why(s), f"{s.name}={shown(s.value, 'systemd')}"]
    then = tuple(dict.fromkeys(t for s in settings for t in s.then))
    return TuneFile(path, "systemd", ("\n".join(lines) + "\n").encode(), tuple(settings), then)


def render(plan: Plan, existing: Mapping[str, bytes | None]) -> tuple[TuneFile, ...]:
    """The files for ``plan.changes``; ``existing`` holds each target's current bytes (None:
    no such file), so that a file tune wrote before keeps its other settings."""
    out = []
    for path in plan.files():
        settings = [s for s in plan.changes if s.file == path]
        kind = settings[0].kind
        old = existing.get(path)
        if kind == "sysctl":
            out.append(_sysctl(path, settings, old, plan.netns))
        elif kind == "dovecot":
            out.append(_dovecot(path, settings, old))
        else:
            out.append(_systemd(path, settings))
    return tuple(out)
