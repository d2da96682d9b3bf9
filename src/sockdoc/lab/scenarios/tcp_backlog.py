"""tcp-backlog: a TCP listener that accepts slowly; its accept queue overflows.

One namespace, over loopback. The server listens with ``backlog`` (clamped to the namespace's
``net.core.somaxconn``) and accepts ``accept_rate`` connections a second. Every ``period_ms``
a burst of clients connects. A listener holds backlog + 1 established connections
(``sk_acceptq_is_full()``); while it is full, each new SYN is dropped and counted in
``TcpExt.ListenOverflows`` and ``TcpExt.ListenDrops`` and in the listener's own ``sk_drops``
(net/ipv4/tcp_input.c ``tcp_conn_request()``). The clients close a connection still unanswered
200 ms after its SYN, before the first retransmission at 1 s, so each one is exactly one drop.
SYN cookies do not help here: they stand in for a full SYN queue, not a full accept queue.
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

ADDR, PORT = "127.0.0.1", 7070


def setup(box: Sandbox, k: Knobs) -> Setup:
    ns = box.netns("host")
    box.sysctl(ns, "net.core.somaxconn", int(k["somaxconn"]))
    bursts, period = int(k["bursts"]), int(k["period_ms"])
    server = AgentCall(
        ns,
        "tcp-server",
        {
            "addr": ADDR,
            "port": PORT,
            "backlog": int(k["backlog"]),
            "accept_rate": k["accept_rate"],
            "max_seconds": 60,
        },
        holds=True,
    )
    clients = AgentCall(
        ns,
        "tcp-clients",
        {
            "dest": ADDR,
            "port": PORT,
            "burst": int(k["burst"]),
            "bursts": bursts,
            "period_ms": period,
            "wait_ms": 200,
            "max_seconds": 60,
        },
    )
    return Setup(
        ns=ns,
        servers=(server,),
        clients=(clients,),
        duration=bursts * period / 1000 + 0.3,
        subject=f"{ADDR}:{PORT}",
        facts=(
            (
                "listener",
                f"{ADDR}:{PORT} listen({int(k['backlog'])}), "
                f"somaxconn {int(k['somaxconn'])}, accepts {k['accept_rate']:g}/s",
            ),
            ("clients", f"{int(k['burst'])} connects every {period} ms, {bursts} bursts"),
        ),
    )


def report(run: RunData) -> Report:
    clients = run.results["tcp-clients"]
    k = run.knobs
    backlog = min(int(k["backlog"]), run.somaxconn_or(k["somaxconn"]))
    name = run.setup.subject
    queues, kernel_backlog = [], None
    for s in run.samples:
        sock = s.listener(name)
        queues.append(float(sock.rqueue or 0) if sock else 0.0)
        if sock is not None:
            kernel_backlog = sock.wqueue
    final = run.final.listener(name)
    sk_drops = (
        final.mem.drops if final is not None and hasattr(final, "mem") and final.mem else None
    )
    ss = next((r for r in run.ss if r.local == name), None)
    dropped = int(clients["dropped"])
    rows = (
        run.counted("SYNs dropped: accept queue full", dropped, "TcpExt.ListenOverflows"),
        Row(
            "SYNs dropped at this listener",
            dropped,
            sk_drops,
            "sock_diag SK_MEMINFO_DROPS",
            run.nstat.get("TcpExtListenDrops"),
            "nstat TcpExtListenDrops",
        ),
        Row(
            "listen backlog: min(backlog, somaxconn)",
            backlog,
            kernel_backlog,
            "sock_diag idiag_wqueue",
            ss.send_q if ss else None,
            "ss Send-Q",
        ),
        run.counted("connections established", int(clients["established"]), "Tcp.PassiveOpens"),
    )
    columns = (
        Column("accept queue", tuple(queues)),
        Column("ListenOverflows", tuple(map(float, run.deltas("TcpExt.ListenOverflows")))),
        Column("SYNs dropped", tuple(map(float, run.buckets(clients["drop_times"])))),
    )
    cookies = run.final.counter("TcpExt.SyncookiesSent")
    notes = (f"SYN cookies sent: {cookies}",)
    return Report(
        rows,
        columns,
        metric=float(dropped),
        expect=Expect("tcp-listen-queue-full", name, run.pids.get("tcp-server")),
        notes=notes,
    )


SPEC = Spec(
    name="tcp-backlog",
    summary="a TCP listener that accepts slowly: accept queue full, SYNs dropped",
    knobs=(
        Knob("backlog", 5, "listen() backlog of the server", 0, 1 << 20),
        Knob(
            "accept_rate", 20, "connections the server accepts per second (0: none)", 0, 1e6, False
        ),
        Knob("burst", 29, "connects per burst", 1, 100000),
        Knob("period_ms", 300, "milliseconds between bursts", 250, 10000),
        Knob("bursts", 11, "number of bursts", 1, 1000),
        Knob("somaxconn", 4096, "net.core.somaxconn in the namespace", 1, 1 << 20),
    ),
    metric="SYNs dropped",
    rule="tcp-listen-queue-full",
    setup=setup,
    report=report,
)
