"""An interface whose transmit errors or transmit drops rise: the driver refuses packets.

The ``errs`` and ``drop`` columns of the transmit half of ``/proc/net/dev`` count packets the
driver failed to send or threw away after the qdisc handed them over: a full transmit ring, a
packet larger than a virtual peer accepts (a veth whose peer has a smaller MTU drops it in
``veth_xmit()``, drivers/net/veth.c), a tunnel without a route, a hardware fault. Like a
qdisc drop, a UDP datagram the driver drops is counted in ``Udp.SndbufErrors`` and the sender
is not told (measured here: a veth dropped 229 datagrams for its peer's MTU and
``Udp.SndbufErrors`` rose by 229, while the sender saw no error). Collisions and carrier
errors are the ``nic-half-duplex`` rule's; qdisc drops are not in these columns (see
``qdisc-drops``).

Proof: ``tx errs`` / ``tx drop`` rising between the two samples. Fix: find which counter of the
driver rises (``ethtool -S``), then the matching change: a larger transmit ring
(``ethtool -G IFACE tx N``, up to the maximum ``ethtool -g`` prints), equal MTUs on both ends
of a virtual link, or the hardware fault the driver names.
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

ID = "nic-tx-errors"
DEV = "/proc/net/dev"
MANY = 10  # errors + drops in the interval that make it an error rather than a warning
UDP_SNDBUF = ("Udp.SndbufErrors", "Udp6.SndbufErrors")


def check(f: HostFacts) -> Iterator[Outcome]:
    if not f.links:
        keys = ("s0/proc/net/dev", "s1/proc/net/dev")
        if f.missing(*keys):
            yield NotChecked(ID, describe_missing(f, *keys), keys)
        return
    bad = [x for x in f.links if x.tx_errs or x.tx_drop]
    for link in sorted(bad, key=lambda x: x.tx_errs + x.tx_drop, reverse=True):
        yield _finding(f, link)
    if not bad:
        yield Ok(
            ID,
            f"{len(f.links)} interface{'s' if len(f.links) != 1 else ''} "
            f"({', '.join(x.name for x in f.links)}): no transmit errors or drops in "
            f"{f.seconds:.1f} s",
        )


def _finding(f: HostFacts, link: Link) -> Finding:
    n = link.tx_errs + link.tx_drop
    rate = n / f.seconds if f.seconds > 0 else float(n)
    udp_lost = f.delta(*UDP_SNDBUF)
    ev = [
        Evidence("transmit errors in the interval", link.tx_errs, "packets", DEV),
        Evidence("transmit drops in the interval", link.tx_drop, "packets", DEV),
        Evidence("per second", round(rate, 1), "/s", DEV),
    ]
    if udp_lost:
        ev.append(
            Evidence("Udp.SndbufErrors in the interval", udp_lost, "datagrams", "/proc/net/snmp")
        )
    if link.info is not None and link.info.speed_mbps is not None:
        ev.append(Evidence("speed", link.info.speed_mbps, "Mb/s", f"/sys/class/net/{link.name}"))
    kinds = []
    if link.tx_errs:
        kinds.append(f"{link.tx_errs:,} transmit errors")
    if link.tx_drop:
        kinds.append(f"{link.tx_drop:,} transmit drops")
    return Finding(
        rule=ID,
        title=f"{link.name}: {' and '.join(kinds)} in {f.seconds:.1f} s",
        cause=Cause.SEND_ERROR,
        severity=Severity.ERROR if n >= MANY else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=Subject("interface", link.name),
        explanation=(
            f"The driver of {link.name} refused or lost {n:,} outgoing packets in "
            f"{f.seconds:.1f} s ({rate:,.1f}/s) after the qdisc had handed them over. Senders "
            "are not told: a UDP datagram lost here is counted in Udp.SndbufErrors"
            + (f" ({udp_lost:,} in the interval)" if udp_lost else "")
            + " and the answer never leaves."
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Find which of {link.name}'s driver counters rises, then: a transmit ring as large "
            "as the NIC allows when the ring is full, the same MTU on both ends when the link "
            "is virtual (veth, bridge, tunnel), the cable or NIC when the driver reports "
            "hardware errors.",
            commands=(
                f"ip -s -s link show {link.name}  # TX errors split into aborted, fifo, window...",
                f"ethtool -S {link.name} | grep -iE 'drop|err|fifo|full'",
                f"ethtool -g {link.name}  # then: ethtool -G {link.name} tx <its TX maximum>",
                f"ip link show {link.name}  # compare the mtu with the peer's (veth: "
                "ip -n PEER_NAMESPACE link)",
            ),
        ),
    )


RULE = Rule(
    ID,
    "Interface transmit errors or drops",
    Cause.SEND_ERROR,
    check,
    needs=("s0/proc/net/dev", "s1/proc/net/dev"),
)
