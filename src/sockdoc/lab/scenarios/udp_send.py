"""udp-send: a UDP responder answers bursts of large responses through a slow egress.

Two namespaces joined by a veth pair; the server side's egress is shaped by ``tc tbf`` with a
queue long enough that packets wait instead of being dropped. A datagram waiting in the qdisc
still counts against its socket's send buffer (``sk_wmem_alloc`` is released only when the
packet leaves the qdisc and veth orphans it, drivers/net/veth.c), so when a burst of answers is
larger than SO_SNDBUF can hold, the responder's non-blocking ``sendto()`` fails with EAGAIN and
the kernel counts ``Udp.SndbufErrors`` (net/ipv4/udp.c ``udp_sendmsg()``), exactly the
situation of a name server logging send failures. What it answers: given my burst and answer
size, how large must the send buffer be?
"""

from __future__ import annotations

from sockdoc.lab.sandbox import Sandbox
from sockdoc.lab.scenario import (
    AgentCall,
    Column,
    Expect,
    Knob,
    Knobs,
    Report,
    Row,
    RunData,
    Setup,
    Spec,
)

SERVER, CLIENT = "10.77.0.1", "10.77.0.2"
PORT = 5300
DEV = "lab0"


def setup(box: Sandbox, k: Knobs) -> Setup:
    server, client = box.netns("server"), box.netns("client")
    box.veth(server, SERVER, client, CLIENT)
    rate = int(k["rate_kbit"])
    # burst: a few full packets, so the shaper releases answers one by one; limit: long
    # enough that nothing is dropped in the qdisc unless asked (--qdisc-limit)
    box.tc(
        server,
        "qdisc",
        "add",
        "dev",
        DEV,
        "root",
        "tbf",
        "rate",
        f"{rate}kbit",
        "burst",
        "16kb",
        "limit",
        str(int(k["qdisc_limit"])),
    )
    period = int(k["period_ms"])
    bursts = int(k["bursts"])
    responder = AgentCall(
        server,
        "udp-responder",
        {
            "addr": SERVER,
            "port": PORT,
            "size": int(k["size"]),
            "sndbuf": int(k["sndbuf"]),
            "max_seconds": 60,
        },
        holds=True,
    )
    requester = AgentCall(
        client,
        "udp-requester",
        {
            "dest": SERVER,
            "port": PORT,
            "burst": int(k["burst"]),
            "bursts": bursts,
            "period_ms": period,
            "drain_ms": 3000,
            "max_seconds": 60,
        },
    )
    return Setup(
        ns=server,
        servers=(responder,),
        clients=(requester,),
        duration=bursts * period / 1000 + 0.5,
        qdiscs=True,
        facts=(
            (
                "bottleneck",
                f"tbf {rate} kbit/s on the server's egress, limit {int(k['qdisc_limit']):,} B",
            ),
            (
                "workload",
                f"{int(k['burst'])} answers of {int(k['size'])} B "
                f"every {period} ms, {bursts} bursts",
            ),
        ),
    )


def report(run: RunData) -> Report:
    responder = run.results["udp-responder"]
    requester = run.results["udp-requester"]
    q = run.final.qdisc(DEV)
    sent, failed = int(responder["sent"]), int(responder["failed"])
    lost_after = sent - int(requester["answers"])
    rows = (
        run.counted("answers the kernel refused (EAGAIN/ENOBUFS)", failed, "Udp.SndbufErrors"),
        Row(
            "answers dropped after leaving the socket",
            lost_after,
            q.drops if q else None,
            f"tc qdisc {DEV} drops",
        ),
        run.counted("answers sent", sent, "Udp.OutDatagrams"),
    )
    backlog = []
    for s in run.samples:
        qd = s.qdisc(DEV)
        backlog.append(float(qd.backlog_bytes) if qd else 0.0)
    wmem = []
    for s in run.samples:
        sock = s.udp_socket(f"{SERVER}:{PORT}")
        wmem.append(float(sock.mem.wmem_alloc) if sock and sock.mem else 0.0)
    columns = (
        Column("refused sends", tuple(map(float, run.buckets(responder["fail_times"])))),
        Column("SndbufErrors", tuple(map(float, run.deltas("Udp.SndbufErrors")))),
        Column("socket wmem B", tuple(wmem)),
        Column("qdisc backlog B", tuple(backlog)),
    )
    per_burst = [int(v) for v in responder["per_burst"].values()]
    bursts = int(run.knobs["bursts"])
    mean = sum(per_burst) / bursts if bursts else 0.0
    notes = (
        f"effective SO_SNDBUF {int(responder['sndbuf']):,} B (the kernel doubles the request)",
        f"refused per burst: mean {mean:.1f}, "
        f"max {max(per_burst, default=0)} of {int(run.knobs['burst'])}",
    )
    return Report(
        rows,
        columns,
        metric=mean,
        expect=Expect("udp-send-buffer-errors", None, run.pids.get("udp-responder")),
        notes=notes,
    )


SPEC = Spec(
    name="udp-send",
    summary="UDP answers in bursts through a slow egress (tbf): send buffer full, EAGAIN",
    knobs=(
        Knob(
            "sndbuf", 65536, "SO_SNDBUF the responder asks for (bytes; the kernel doubles it)", 1024
        ),
        Knob(
            "size", 1232, "bytes per answer (1232: the EDNS size of DNS Flag Day 2020)", 64, 65000
        ),
        Knob("burst", 97, "answers per burst", 1, 100000),
        Knob("period_ms", 500, "milliseconds between bursts", 10, 10000),
        Knob("bursts", 7, "number of bursts", 1, 1000),
        Knob("rate_kbit", 8000, "egress rate of the bottleneck (kbit/s)", 8, 10_000_000),
        Knob("qdisc_limit", 4_000_000, "bytes the bottleneck queues before dropping", 1600),
    ),
    metric="refused sends per burst",
    rule="udp-send-buffer-errors",
    setup=setup,
    report=report,
)
