"""fd-limit: a server with a low open-files limit stops accepting; clients wait unanswered.

One namespace, over loopback. The server lowers its soft ``RLIMIT_NOFILE`` to ``nofile`` and
holds every client's session open. Once its descriptors reach the limit, ``accept()`` fails
with EMFILE before it takes a connection off the queue (``get_unused_fd_flags()`` comes first
in net/socket.c ``do_accept()``), so new clients complete the TCP handshake, wait in the
listener's accept queue, and get no answer. No kernel counter sees this; the proof is the
process's descriptors against its limit, and the listener's queue.
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

ADDR, PORT = "127.0.0.1", 8080


def setup(box: Sandbox, k: Knobs) -> Setup:
    ns = box.netns("host")
    server = AgentCall(
        ns,
        "fd-server",
        {
            "addr": ADDR,
            "port": PORT,
            "nofile": int(k["nofile"]),
            "backlog": int(k["backlog"]),
            "max_seconds": 60,
        },
        holds=True,
    )
    clients = AgentCall(
        ns,
        "fd-clients",
        {
            "dest": ADDR,
            "port": PORT,
            "clients": int(k["clients"]),
            "timeout_ms": k["timeout_ms"],
            "max_seconds": 60,
        },
        holds=True,
    )
    return Setup(
        ns=ns,
        servers=(server,),
        clients=(clients,),
        duration=float(k["seconds"]),
        watch="fd-server",
        subject=f"{ADDR}:{PORT}",
        facts=(
            (
                "server",
                f"{ADDR}:{PORT} listen({int(k['backlog'])}), "
                f"RLIMIT_NOFILE soft {int(k['nofile'])}, holds every session",
            ),
            (
                "clients",
                f"{int(k['clients'])} sessions, each waits {k['timeout_ms']:g} ms for an answer",
            ),
        ),
    )


def report(run: RunData) -> Report:
    server, clients = run.results["fd-server"], run.results["fd-clients"]
    name = run.setup.subject
    final = run.final.listener(name)
    ss = next((r for r in run.ss if r.local == name), None)
    waiting = int(clients["clients"]) - int(server["accepted"])
    rows = (
        Row(
            "clients left in the accept queue, unanswered",
            int(clients["unanswered"]),
            final.rqueue if final else None,
            "sock_diag idiag_rqueue",
            ss.recv_q if ss else None,
            "ss Recv-Q",
        ),
        Row(
            "clients the server never accepted",
            waiting,
            final.rqueue if final else None,
            "sock_diag idiag_rqueue",
        ),
        Row(
            "accept() failures (EMFILE), retried every 50 ms",
            int(server["emfile"]),
            None,
            "no kernel counter for EMFILE",
        ),
        Row(
            "sessions served",
            int(server["accepted"]),
            int(clients["answered"]),
            "answers the clients got",
        ),
    )
    queues = []
    for s in run.samples:
        sock = s.listener(name)
        queues.append(float(sock.rqueue or 0) if sock else 0.0)
    columns = (
        Column("accept queue", tuple(queues)),
        Column("EMFILE", tuple(map(float, run.buckets(server["emfile_times"])))),
    )
    return Report(
        rows,
        columns,
        metric=float(waiting),
        expect=Expect("daemon-fd-limit", None, run.pids.get("fd-server")),
        notes=(f"RLIMIT_NOFILE soft limit {int(run.knobs['nofile'])}",),
    )


SPEC = Spec(
    name="fd-limit",
    summary="a server at its open-files limit (RLIMIT_NOFILE): EMFILE on accept, clients wait",
    knobs=(
        Knob("nofile", 32, "the server's soft RLIMIT_NOFILE", 8, 1 << 20),
        Knob("clients", 61, "client sessions to open", 1, 100000),
        Knob("backlog", 128, "listen() backlog of the server", 1, 1 << 20),
        Knob("timeout_ms", 300, "how long a client waits for its answer (ms)", 10, 60000, False),
        Knob("seconds", 3, "how long the sessions are held (s)", 1, 60, False),
    ),
    metric="clients never accepted",
    rule="daemon-fd-limit",
    setup=setup,
    report=report,
)
