"""A local firewall rule dropping a daemon's outgoing packets: its sends fail with EPERM.

When a rule in the ``output`` path drops a packet the host itself sends, the verdict travels
back to the sender: ``sendmsg()`` returns EPERM ("Operation not permitted", or "permission
denied" in BIND's wording; ``NF_DROP`` becomes ``-EPERM`` in ``nf_hook_slow()``,
net/netfilter/core.c). The daemon logs it per client (BIND 9.18: ``client @0x... ADDR#PORT
(QNAME): send failed: permission denied``, category ``security`` at ``debug 3``) and the
client waits for an answer that never comes. A ``reject`` rule answers with an ICMP error
instead, which some daemons report as "host unreachable". The ISC note on BIND's send errors
asks: "Is there a firewall deployed ... are you using ipfilters/iptables?"

Proof: log lines that ``sockdoc scan`` classifies as ``firewall-blocked``, with their count,
signatures, daemons, time span and an example (from the logs the collector scanned). Fix: find
the rule whose counter rises with the failures (``nft list ruleset``, ``iptables -L OUTPUT -v
-n``) and accept the daemon's replies before it (its source port: 53 for DNS servers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers import all_entries
from sockdoc.matchers.base import Confidence, Severity, Signature
from sockdoc.rules.base import Evidence, Finding, Fix, NotChecked, Ok, Outcome, Rule, Subject

ID = "firewall-blocks-output"
CAUSE = Cause.FIREWALL_BLOCKED
LOGS = "logs/scan"
# daemons whose replies leave from a well-known port (the bind one is read from its config)
REPLY_PORTS = {"bind": 53, "unbound": 53, "pdns": 53, "dnsmasq": 53, "nginx": 80}


def _signatures() -> set[str]:
    return {e.id for e in all_entries() if isinstance(e, Signature) and e.cause is CAUSE}


def _ports(f: HostFacts, daemons: list[str]) -> list[int]:
    ports: set[int] = set()
    for d in daemons:
        if d == "bind":
            conf = f.configs.get("bind")
            listeners = getattr(conf, "listeners", ()) or ()
            ports.update(x.port if x.port is not None else 53 for x in listeners)
        if d in REPLY_PORTS and not ports:
            ports.add(REPLY_PORTS[d])
    return sorted(ports)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def check(f: HostFacts) -> Iterator[Outcome]:
    logs = f.logs
    if logs is None:
        src = f.source(LOGS)
        if src is not None and src.status != "absent":
            yield NotChecked(ID, f"logs not scanned: {src.status} ({src.reason})", (LOGS,))
        return
    n = logs.count_for_cause(CAUSE.value)
    if n == 0:
        yield Ok(
            ID,
            f"no send refused by a firewall in the logs ({len(logs.inputs)} inputs scanned, "
            f"{logs.matched:,} lines of the failure family)",
        )
        return
    sigs = _signatures()
    by_sig = [(s, c) for s, c in logs.by_signature if s in sigs and c]
    daemons = sorted({s.split(".", 1)[0] for s, _ in by_sig})
    incidents = [i for i in logs.incidents if any(c == CAUSE.value for c, _ in i.causes)]
    example = next((x for s, _ in by_sig if (x := logs.example_for(s))), None)
    ev = [Evidence("log lines: send refused by a firewall", n, "lines", "sockdoc scan")]
    ev += [Evidence(f"signature {s}", c, "lines", "sockdoc scan") for s, c in by_sig[:5]]
    if incidents:
        first, last = min(i.start for i in incidents), max(i.end for i in incidents)
        ev.append(
            Evidence("first / last minute", f"{_when(first)} / {_when(last)}", "", "sockdoc scan")
        )
        ev.append(
            Evidence(
                "peak per minute",
                max(i.peak_per_minute for i in incidents),
                "lines",
                "sockdoc scan incidents",
            )
        )
    if example:
        ev.append(Evidence("example", example[:300], "", "logs"))
    ports = _ports(f, daemons)
    where = "  # the table and chain that 'nft list ruleset' shows with 'hook output'"
    allow_nft = [
        f"nft insert rule inet filter output {proto} sport {p} accept{where}"
        for p in ports
        for proto in ("udp", "tcp")
    ]
    allow_ipt = [f"iptables -I OUTPUT -p udp --sport {p} -j ACCEPT" for p in ports]
    who = ", ".join(daemons) or "a daemon"
    yield Finding(
        rule=ID,
        title=f"{n:,} sends refused by a local firewall ({who})",
        cause=CAUSE,
        severity=Severity.ERROR,
        confidence=Confidence.HIGH,
        subject=Subject("daemon", daemons[0]) if len(daemons) == 1 else Subject("host", "output"),
        explanation=(
            f"{who} logged {n:,} sends that the kernel refused with EPERM: a rule on this "
            "host's output path (nftables or iptables) drops the packets, so the clients "
            "never get an answer. The daemon is not overloaded; the firewall stops it."
        ),
        evidence=tuple(ev),
        fix=Fix(
            "Find the output rule that drops these packets (its counter rises with the log "
            "lines) and accept the daemon's replies before it"
            + (f" (source port {', '.join(map(str, ports))})" if ports else "")
            + "; keep the change in the saved ruleset (/etc/nftables.conf or the iptables "
            "save file).",
            commands=(
                "nft list ruleset  # look for drop/reject in chains with 'hook output'",
                "iptables -S OUTPUT",
                "iptables -L OUTPUT -v -n  # run twice: the DROP/REJECT rule whose packets rise",
                *allow_nft,
                *allow_ipt,
            ),
        ),
    )


RULE = Rule(ID, "Output blocked by a local firewall", CAUSE, check, needs=(LOGS,))
