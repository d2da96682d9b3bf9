"""Small helpers shared by rules: naming owners, choosing sysctl targets."""

from __future__ import annotations

from sockdoc.facts.host import HostFacts, Listener, UdpSocket
from sockdoc.rules.base import Evidence, Subject

MIB = 1 << 20
MAX_BUFFER = 64 * MIB  # never propose a socket buffer ceiling above this


def socket_subject(s: Listener | UdpSocket) -> Subject:
    return Subject(
        "socket",
        s.name,
        s.owner.pid if s.owner else None,
        s.owner.comm if s.owner else None,
    )


def owner_text(s: Listener | UdpSocket, facts: HostFacts) -> str:
    if s.owner is not None:
        return f"{s.owner.comm}[{s.owner.pid}]"
    if facts.owners_denied:
        return "unknown owner (run as root to see it)"
    return "unknown owner"


def sampled(facts: HostFacts) -> str:
    a = facts.attribution
    if a is None:
        return "not sampled"
    return f"{a.rounds} samples over {a.seconds:.1f} s ({a.hz:.0f} Hz)"


def counter_evidence(facts: HostFacts, *names: str) -> tuple[Evidence, ...]:
    out = []
    for n in names:
        r = facts.rate(n)
        if r is None:
            continue
        src = "/proc/net/netstat" if n.startswith("TcpExt.") else "/proc/net/snmp"
        out.append(Evidence(f"{n} per second", round(r.per_second, 1), "/s", src))
        out.append(Evidence(f"{n} since boot", r.after, "", src))
    return tuple(out)


def raises_only(
    facts: HostFacts, pairs: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, int | str], ...]:
    """The sysctls among ``pairs`` whose proposed value is above the current one: a fix never
    lowers a setting (a smaller wmem_max would cap what a daemon already asks for)."""
    current = {
        "net.core.wmem_max": facts.sysctls.wmem_max,
        "net.core.wmem_default": facts.sysctls.wmem_default,
        "net.core.rmem_max": facts.sysctls.rmem_max,
        "net.core.rmem_default": facts.sysctls.rmem_default,
        "net.core.somaxconn": facts.sysctls.somaxconn,
    }
    return tuple((k, v) for k, v in pairs if (now := current.get(k)) is None or v > now)
