"""udp-receive: a fast sender and a slow reader; the reader's receive buffer overflows.

One namespace, over loopback. The reader takes ``read_rate`` datagrams a second from a socket
whose SO_RCVBUF is ``rcvbuf``; the sender sends faster. Once the queued datagrams' memory passes
the buffer, the kernel drops each new one and counts it three times: ``Udp.RcvbufErrors`` and
``Udp.InErrors`` for the namespace and the socket's own ``sk_drops`` (net/ipv4/udp.c
``__udp_enqueue_schedule_skb()``, ``__udp_queue_rcv_skb()``). Loopback loses nothing else, so
sent - received is exactly the drops.
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

ADDR, PORT = "127.0.0.1", 5353


def setup(box: Sandbox, k: Knobs) -> Setup:
    ns = box.netns("host")
    count, rate = int(k["count"]), float(k["rate"])
    reader = AgentCall(
        ns,
        "udp-reader",
        {
            "addr": ADDR,
            "port": PORT,
            "rcvbuf": int(k["rcvbuf"]),
            "read_rate": k["read_rate"],
            "max_seconds": 60,
        },
        holds=True,
    )
    sender = AgentCall(
        ns,
        "udp-sender",
        {
            "dest": ADDR,
            "port": PORT,
            "size": int(k["size"]),
            "count": count,
            "rate": rate,
            "max_seconds": 60,
        },
    )
    return Setup(
        ns=ns,
        servers=(reader,),
        clients=(sender,),
        duration=count / rate + 0.3,
        facts=(
            ("reader", f"SO_RCVBUF {int(k['rcvbuf']):,} B, reads {k['read_rate']:g} datagrams/s"),
            ("sender", f"{count:,} datagrams of {int(k['size'])} B at {rate:g}/s"),
        ),
    )


def report(run: RunData) -> Report:
    reader, sender = run.results["udp-reader"], run.results["udp-sender"]
    dropped = int(sender["sent"]) - int(reader["received"])
    sock = run.final.udp_socket(f"{ADDR}:{PORT}")
    sk_drops = sock.mem.drops if sock and sock.mem else None
    rows = (
        run.counted("datagrams dropped: receive buffer full", dropped, "Udp.RcvbufErrors"),
        Row(
            "datagrams dropped at the reader's socket",
            dropped,
            sk_drops,
            "sock_diag SK_MEMINFO_DROPS",
        ),
        run.counted("datagrams in error", dropped, "Udp.InErrors"),
    )
    rmem = []
    for s in run.samples:
        u = s.udp_socket(f"{ADDR}:{PORT}")
        rmem.append(float(u.mem.rmem_alloc) if u and u.mem else 0.0)
    columns = (
        Column("sent", tuple(map(float, run.buckets(sender["send_times"])))),
        Column("RcvbufErrors", tuple(map(float, run.deltas("Udp.RcvbufErrors")))),
        Column("socket rmem B", tuple(rmem)),
    )
    notes = (f"effective SO_RCVBUF {int(reader['rcvbuf']):,} B (the kernel doubles the request)",)
    return Report(
        rows,
        columns,
        metric=float(dropped),
        expect=Expect("udp-receive-buffer-errors", f"{ADDR}:{PORT}", run.pids.get("udp-reader")),
        notes=notes,
    )


SPEC = Spec(
    name="udp-receive",
    summary="a slow UDP reader and a fast sender: receive buffer full, datagrams dropped",
    knobs=(
        Knob("rcvbuf", 32768, "SO_RCVBUF of the reader (bytes; the kernel doubles it)", 1024),
        Knob(
            "read_rate",
            200,
            "datagrams the reader takes per second (0: none until the end)",
            0,
            1e6,
            False,
        ),
        Knob("size", 1000, "bytes per datagram", 1, 65000),
        Knob("count", 1499, "datagrams to send", 1, 10_000_000),
        Knob("rate", 500, "datagrams sent per second", 1, 1e6, False),
    ),
    metric="datagrams dropped",
    rule="udp-receive-buffer-errors",
    setup=setup,
    report=report,
)
