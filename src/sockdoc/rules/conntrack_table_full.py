"""The netfilter connection-tracking table full, or evicting and dropping to make room.

With ``nf_conntrack`` in use (any stateful firewall rule, NAT, Docker), every new flow needs an
entry in one table of at most ``net.netfilter.nf_conntrack_max`` entries. When it is full, the
kernel first evicts a flow that never saw a reply (``early_drop``); when it finds none, it
drops the packet and logs ``nf_conntrack: table full, dropping packet``
(``__nf_conntrack_alloc()``, net/netfilter/nf_conntrack_core.c). A DNS server is the classic
victim: every query from a new client port is a new UDP "flow" that stays in the table for
``nf_conntrack_udp_timeout`` (30 s), so 10,000 queries per second keep 300,000 entries alive.
Dropped queries are never answered, and the answers of evicted ones may be refused on the way
out. The count is per network namespace but the limit is the host's: a namespace can fill it
by itself (measured here: 262,144 entries in a child namespace, 7,919 ``early_drop``).

Proof: ``nf_conntrack_count`` at 90% of ``nf_conntrack_max`` or more, or ``drop`` /
``early_drop`` of ``/proc/net/stat/nf_conntrack`` rising. Fix: a larger table, a power of two at
least twice the entries in use, with as many hash buckets (``nf_conntrack_buckets``, writable
only in the initial namespace, or ``options nf_conntrack hashsize=N`` at module load); each
entry costs about 320 bytes. Better for a DNS server: do not track its traffic at all
(``notrack`` in a ``raw``-priority nftables chain), which needs no memory and no lookups.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import Conntrack, HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.rules.base import (
    ConfigChange,
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
    pow2_at_least,
)

ID = "conntrack-table-full"
FULL = 0.90
ENTRY_BYTES = 320  # struct nf_conn plus its extensions, x86_64 (slabinfo nf_conntrack)
STAT = "/proc/net/stat/nf_conntrack"
COUNT = "/proc/sys/net/netfilter/nf_conntrack_count"
MAX = "/proc/sys/net/netfilter/nf_conntrack_max"
DNS_DAEMONS = ("bind", "unbound", "pdns", "pdns-recursor", "dnsmasq")
KEYS = ("s1/proc/sys/net/netfilter/nf_conntrack_count", "s1/proc/net/stat/nf_conntrack")

NOTRACK_DNS = """table inet dns_notrack {
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        udp dport 53 notrack
    }
    chain output {
        type filter hook output priority raw; policy accept;
        udp sport 53 notrack
    }
}"""


def target_max(count: int, current_max: int) -> int:
    """The ``nf_conntrack_max`` to propose: a power of two at least twice the entries in use
    (and above today's limit).

    >>> target_max(262144, 262144)
    524288
    >>> target_max(240000, 262144)
    524288
    """
    return pow2_at_least(max(2 * count, current_max + 1))


def _serves_dns(f: HostFacts) -> bool:
    if any(f.daemon(d) is not None for d in DNS_DAEMONS):
        return True
    return any(u.name.endswith(":53") for u in f.udp)


def check(f: HostFacts) -> Iterator[Outcome]:
    ct = f.conntrack
    if ct is None:
        missing = f.missing(*KEYS)
        if any(s.status not in ("absent",) for s in missing):
            yield NotChecked(ID, describe_missing(f, *KEYS), KEYS)
        # absent: nf_conntrack is not loaded, nothing is tracked
        return
    if ct.count is None or ct.max is None or ct.max <= 0:
        yield NotChecked(
            ID,
            describe_missing(f, *KEYS, "proc/sys/net/netfilter/nf_conntrack_max")
            or "nf_conntrack_count or nf_conntrack_max not read",
            KEYS,
        )
        return
    frac = ct.count / ct.max
    if frac < FULL and not ct.drop and not ct.early_drop:
        yield Ok(
            ID,
            f"connection tracking: {ct.count:,} of {ct.max:,} entries ({frac:.1%}), no drops "
            f"or evictions in {f.seconds:.1f} s",
        )
        return
    yield _finding(f, ct, ct.count, ct.max, frac)


def _finding(f: HostFacts, ct: Conntrack, count: int, limit: int, frac: float) -> Finding:
    target = target_max(count, limit)
    dns = _serves_dns(f)
    ev = [
        Evidence("entries in use", count, "", COUNT),
        Evidence("nf_conntrack_max", limit, "", MAX),
        Evidence("in use", round(100 * frac, 1), "%", "count / max"),
        Evidence("packets dropped, table full (interval)", ct.drop, "", STAT),
        Evidence("flows evicted to make room (interval)", ct.early_drop, "", STAT),
        Evidence("insertions that lost a race (interval)", ct.insert_failed, "", STAT),
    ]
    if ct.drop_total is not None:
        ev.append(Evidence("packets dropped since boot", ct.drop_total, "", STAT))
    if f.netns:
        ev.append(Evidence("network namespace", f.netns, "", "count is per namespace"))
    failing = ct.drop or ct.early_drop
    what = []
    if ct.drop:
        what.append(f"dropped {ct.drop:,} packets for lack of room")
    if ct.early_drop:
        what.append(f"evicted {ct.early_drop:,} unanswered flows to make room")
    commands = (
        "conntrack -S  # per CPU: drop, early_drop, insert_failed (package conntrack)",
        "conntrack -L -p udp | wc -l; conntrack -L -p tcp | wc -l  # who fills it",
        f"echo 'options nf_conntrack hashsize={target}' > /etc/modprobe.d/nf_conntrack.conf"
        "  # the same bucket count at the next boot",
    )
    config = (
        (
            ConfigChange(
                "dns-notrack.nft (or the same chains in /etc/nftables.conf)",
                NOTRACK_DNS,
                "nft -f dns-notrack.nft",
            ),
        )
        if dns
        else ()
    )
    return Finding(
        rule=ID,
        title=(
            f"Connection-tracking table {frac:.0%} full ({count:,} of {limit:,})"
            if frac >= FULL
            else f"Connection-tracking table filled up during the interval ({count:,} of "
            f"{limit:,} now)"
        ),
        cause=Cause.CONNTRACK_FULL,
        severity=Severity.ERROR if failing else Severity.WARNING,
        confidence=Confidence.HIGH,
        subject=Subject("table", "nf_conntrack"),
        explanation=(
            f"The connection-tracking table holds {count:,} entries of at most {limit:,}"
            + (f" and in {f.seconds:.1f} s it " + " and ".join(what) if what else "")
            + ". Packets of new flows that find no room are dropped before any firewall rule "
            "or socket sees them: queries go unanswered and answers are not sent."
            + (
                " This host serves DNS: each query from a new client port is a flow of its "
                "own that stays tracked for nf_conntrack_udp_timeout seconds."
                if dns
                else ""
            )
        ),
        evidence=tuple(ev),
        fix=Fix(
            f"Raise nf_conntrack_max to {target:,} (a power of two at least twice the "
            f"{count:,} entries in use; about {target * ENTRY_BYTES // (1 << 20):,} MiB when "
            f"full) with as many hash buckets"
            + (
                ", and stop tracking DNS traffic: untracked packets need no entry at all "
                "(if the ruleset filters on 'ct state', accept 'ct state untracked' too)."
                if dns
                else "."
            )
            + (" The limit is the host's: set it in the initial namespace." if f.netns else ""),
            sysctls=(
                ("net.netfilter.nf_conntrack_max", target),
                ("net.netfilter.nf_conntrack_buckets", target),
            ),
            config=config,
            commands=commands,
        ),
    )


RULE = Rule(
    ID,
    "Connection-tracking table full",
    Cause.CONNTRACK_FULL,
    check,
    needs=KEYS,
)
