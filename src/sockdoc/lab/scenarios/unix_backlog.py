"""unix-backlog: a Dovecot-like service whose UNIX listen queue overflows in a login storm.

A master listens on a UNIX stream socket with backlog ``client_limit * process_limit`` (what
Dovecot 2.3's master asks for, src/master/service-listen.c), which the kernel clamps to the
namespace's ``net.core.somaxconn`` (net/socket.c ``__sys_listen_socket()``). ``process_limit``
workers share the listener, each serving ``client_limit`` clients at a time for
``service_ms``. Login-like clients arrive at ``rate`` per second, connect non-blocking and, on
EAGAIN, retry for 500 ms before giving up, as imap-login does; those give-ups are the
``net_connect_unix(imap) failed: Resource temporarily unavailable`` lines. A UNIX listener
holds backlog + 1 connections (``unix_recvq_full()``, net/unix/af_unix.c) and the kernel
keeps no counter of refused UNIX connects: the queue itself is the evidence.
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


def setup(box: Sandbox, k: Knobs) -> Setup:
    ns = box.netns("host")
    box.sysctl(ns, "net.core.somaxconn", int(k["somaxconn"]))
    path = f"{box.directory()}/imap"
    backlog = int(k["client_limit"] * k["process_limit"])
    logins, rate = int(k["logins"]), float(k["rate"])
    master = AgentCall(
        ns,
        "unix-master",
        {
            "path": path,
            "backlog": backlog,
            "process_limit": int(k["process_limit"]),
            "client_limit": int(k["client_limit"]),
            "service_ms": k["service_ms"],
            "max_seconds": 60,
        },
        holds=True,
    )
    storm = AgentCall(
        ns,
        "unix-storm",
        {"path": path, "logins": logins, "rate": rate, "retry_ms": 500, "max_seconds": 60},
    )
    return Setup(
        ns=ns,
        servers=(master,),
        clients=(storm,),
        duration=logins / rate + 0.6 + k["service_ms"] / 1000,
        subject=path,
        facts=(
            (
                "service",
                f"process_limit {int(k['process_limit'])} x "
                f"client_limit {int(k['client_limit'])}, {k['service_ms']:g} ms per client",
            ),
            ("listener", f"{path}: listen({backlog}), net.core.somaxconn {int(k['somaxconn'])}"),
            ("logins", f"{logins} at {rate:g}/s, each retrying EAGAIN for 500 ms"),
        ),
    )


def report(run: RunData) -> Report:
    storm = run.results["unix-storm"]
    path = run.setup.subject
    k = run.knobs
    asked = int(k["client_limit"] * k["process_limit"])
    somaxconn = run.somaxconn_or(k["somaxconn"])
    backlog = min(asked, somaxconn)
    queues = []
    kernel_backlog = None
    for s in run.samples:
        sock = s.listener(path)
        queues.append(float(sock.rqueue or 0) if sock else 0.0)
        if sock is not None:
            kernel_backlog = sock.wqueue
    ss = next((r for r in run.ss if r.local == path), None)
    rows = (
        Row(
            "listen backlog: min(client_limit x process_limit, somaxconn)",
            backlog,
            kernel_backlog,
            "sock_diag UNIX_DIAG_RQLEN",
            ss.send_q if ss else None,
            "ss Send-Q",
        ),
        Row(
            "most connections ever queued (backlog + 1 when full)",
            # a login gives up only after 500 ms of a full queue: then the 100 ms samples
            # must have seen it full
            backlog + 1 if int(storm["failed"]) else None,
            int(max(queues, default=0)),
            "sock_diag, peak of 100 ms samples",
        ),
        Row(
            "logins that gave up after 500 ms of EAGAIN",
            int(storm["failed"]),
            None,
            "no kernel counter for UNIX connects refused",
        ),
        Row("connects refused with EAGAIN (incl. retries)", int(storm["eagain"]), None, ""),
        Row(
            "logins connected at once / after retrying",
            int(storm["first_try"]),
            None,
            f"after retrying: {int(storm['after_retry'])}",
        ),
    )
    columns = (
        Column("queue", tuple(queues)),
        Column("logins failed", tuple(map(float, run.buckets(storm["fail_times"])))),
    )
    notes: tuple[str, ...] = (
        f"{int(storm['answered'])} of {int(storm['logins'])} logins were served",
    )
    if asked > somaxconn:
        notes += (f"listen({asked}) was clamped to somaxconn {somaxconn}",)
    return Report(
        rows,
        columns,
        metric=float(storm["failed"]),
        expect=Expect("unix-listen-queue-full", path, run.pids.get("unix-master")),
        notes=notes,
    )


SPEC = Spec(
    name="unix-backlog",
    summary="a Dovecot-like master's UNIX listen queue overflows in a login storm: EAGAIN",
    knobs=(
        Knob("process_limit", 2, "worker processes", 1, 1000),
        Knob("client_limit", 1, "clients each worker serves at a time", 1, 10000),
        Knob("service_ms", 200, "how long a worker serves one client (ms)", 0, 60000, False),
        Knob("logins", 101, "logins in the storm", 1, 100000),
        Knob("rate", 40, "logins started per second", 0.1, 100000, False),
        Knob("somaxconn", 4096, "net.core.somaxconn in the namespace", 1, 1 << 20),
    ),
    metric="logins failed",
    rule="unix-listen-queue-full",
    setup=setup,
    report=report,
)
