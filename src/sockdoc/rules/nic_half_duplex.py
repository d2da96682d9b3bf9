"""A network link running at half duplex, or one whose collisions or carrier errors rise.

At half duplex a NIC cannot send while it receives: every answer waits for the wire to fall
silent, collides with incoming traffic and is sent again (``tx_colls``), and under load the
transmit queue backs up until the kernel refuses packets. The usual cause is a duplex
mismatch: one side of the cable fixed at 100/full, the other auto-negotiating, which then
falls back to half duplex. Carrier errors (``tx_carrier``) mean the link itself drops out:
a bad cable, port or transceiver. The ISC note on BIND's "error sending response" asks first:
"Are your links/NICs configured for full duplex?"

Proof: ``/sys/class/net/IFACE/duplex`` reads ``half`` (the driver's ethtool link settings,
net/core/net-sysfs.c ``duplex_show()``), or the ``colls`` / ``carrier`` columns of
``/proc/net/dev`` rising between the two samples. Virtual NICs (virtio, veth) report
``unknown`` or ``full`` and never collide. sysfs shows the namespace that mounted it, so these
attributes are not read for another network namespace (``--netns``): check the host then.
Fix: ``ethtool -s IFACE speed N duplex full autoneg on`` (ethtool(8)) and set the switch port
to auto-negotiate as well, or fix both ends to the same speed and full duplex.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts, Link
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import (
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
)

ID = "nic-half-duplex"
DEV = "/proc/net/dev"
DEFAULT_SPEED = 1000  # Mb/s to ask for when the link's speed is not known


def _sys(name: str, attr: str) -> str:
    return f"/sys/class/net/{name}/{attr}"


def _suspect(link: Link) -> bool:
    half = link.info is not None and link.info.duplex == "half"
    return half or link.tx_colls > 0 or link.tx_carrier > 0


def check(f: HostFacts) -> Iterator[Outcome]:
    if not f.links:
        keys = ("s1/proc/net/dev",)
        if f.missing(*keys):
            yield NotChecked(ID, describe_missing(f, *keys), keys)
        return
    bad = [x for x in f.links if _suspect(x)]
    for link in bad:
        yield _finding(f, link)
    if bad:
        return
    known = [x for x in f.links if x.info is not None and x.info.duplex != "unknown"]
    quiet = f"no collisions or carrier errors in {f.seconds:.1f} s"
    if not known and f.netns is not None and not any(x.info for x in f.links):
        names = [x.name for x in f.links if x.name != "lo"]
        yield NotChecked(
            ID,
            f"duplex not read: sysfs shows the host's interfaces, not those of namespace "
            f"{f.netns} (run check on the host); {quiet}",
            tuple(f"host/sys/class/net/{n}/duplex" for n in names),
        )
        return
    shown = ", ".join(
        f"{x.name} {x.info.speed_mbps or '?'} Mb/s {x.info.duplex}"
        for x in known
        if x.info is not None
    )
    unknown = [x.name for x in f.links if x not in known and x.name != "lo"]
    parts = [shown] if shown else []
    if unknown:
        parts.append(f"{', '.join(unknown)} report none (virtual NICs)")
    yield Ok(ID, "duplex: " + "; ".join([*parts, quiet]))


def _finding(f: HostFacts, link: Link) -> Finding:
    info = link.info
    half = info is not None and info.duplex == "half"
    speed = info.speed_mbps if info is not None else None
    ev: list[Evidence] = []
    if info is not None:
        ev.append(Evidence("duplex", info.duplex, "", _sys(link.name, "duplex")))
        ev.append(
            Evidence(
                "speed", speed if speed is not None else "unknown", "Mb/s", _sys(link.name, "speed")
            )
        )
        ev.append(Evidence("operstate", info.operstate, "", _sys(link.name, "operstate")))
    ev += [
        Evidence("collisions in the interval", link.tx_colls, "", DEV),
        Evidence("carrier errors in the interval", link.tx_carrier, "", DEV),
        Evidence("transmit errors in the interval", link.tx_errs, "", DEV),
    ]
    rising = link.tx_colls + link.tx_carrier
    severity = Severity.ERROR if rising else Severity.WARNING
    want = speed if speed is not None and speed >= 100 else DEFAULT_SPEED
    what = []
    if half:
        what.append(f"runs at half duplex ({speed or '?'} Mb/s)")
    if link.tx_colls:
        what.append(f"had {link.tx_colls:,} collisions in {f.seconds:.1f} s")
    if link.tx_carrier:
        what.append(f"lost carrier on {link.tx_carrier:,} transmissions")
    return Finding(
        rule=ID,
        title=f"{link.name}: " + ("half duplex" if half else "collisions / carrier errors"),
        cause=Cause.SEND_ERROR,
        severity=severity,
        confidence=Confidence.HIGH if half or link.tx_colls else Confidence.MEDIUM,
        subject=Subject("interface", link.name),
        explanation=(
            f"{link.name} "
            + " and ".join(what)
            + ". "
            + (
                "At half duplex it cannot send while it receives: answers wait, collide and "
                "are retried, and under load the transmit path refuses packets. A duplex "
                "mismatch with the switch port (one side fixed, the other auto-negotiating) "
                "is the usual cause."
                if half or link.tx_colls
                else "Carrier errors mean the link drops out: cable, port or transceiver."
            )
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Run {link.name} at full duplex: auto-negotiate on both ends (the switch port "
            "too), or fix both ends to the same speed and full duplex"
            + ("; replace the cable or port if carrier errors go on." if link.tx_carrier else "."),
            commands=(
                f"ethtool {link.name}  # Speed, Duplex, Auto-negotiation, Link partner advertised",
                f"ethtool -s {link.name} speed {want} duplex full autoneg on",
                f"ip -s -s link show {link.name}  # TX collisions and carrier errors should stop",
            ),
        ),
    )


RULE = Rule(
    ID,
    "Half-duplex link or collisions",
    Cause.SEND_ERROR,
    check,
    needs=("s1/proc/net/dev",),
)
