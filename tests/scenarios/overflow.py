"""Run inside a fresh network namespace: make listeners and a UDP socket overflow, for a
bounded time, and hold them so that sockdoc can look.

    overflow.py DIR SECONDS

- a UNIX stream listener DIR/svc.sock with listen(4) and 9 non-blocking connects: the kernel
  queues 5 (backlog + 1), the other 4 fail with EAGAIN;
- a TCP listener 127.0.0.1:7070 with listen(2) and 7 connects: 3 queued, the rest wait in SYN;
- a UDP socket 127.0.0.1:5353 with SO_RCVBUF 4096 that is never read, and a sender that sends
  40 datagrams of 1000 bytes every 100 ms to it: after the first few, all are dropped.

Prints one JSON line at start (pid, paths, ports) and one at the end (counts).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time

directory, seconds = sys.argv[1], float(sys.argv[2])
path = os.path.join(directory, "svc.sock")
unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind(path)
unix.listen(4)
clients = []
eagain = 0
for _ in range(9):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(path)
        clients.append(c)
    except BlockingIOError as exc:
        assert exc.errno == errno.EAGAIN
        eagain += 1
        c.close()

tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 7070))
tcp.listen(2)
tcp_clients = []
for _ in range(7):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        c.connect(("127.0.0.1", 7070))
    tcp_clients.append(c)

rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
rx.bind(("127.0.0.1", 5353))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
with open("/proc/self/comm") as f:
    comm = f.read().strip()
print(
    json.dumps(
        {
            "pid": os.getpid(),
            "comm": comm,
            "unix": path,
            "unix_eagain": eagain,
            "unix_queued": len(clients),
            "tcp": "127.0.0.1:7070",
            "udp": "127.0.0.1:5353",
        }
    ),
    flush=True,
)
sent = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for _ in range(40):
        tx.sendto(b"x" * 1000, ("127.0.0.1", 5353))
        sent += 1
    time.sleep(0.1)
print(json.dumps({"sent": sent}), flush=True)
