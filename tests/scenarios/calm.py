"""Run inside a fresh network namespace: the same three sockets as overflow.py, served well.

    calm.py DIR SECONDS

A UNIX listener (listen(128)) and a TCP listener (listen(128)) that accept every connection,
and a UDP socket whose datagrams (40 every 100 ms) are all read. Prints one JSON line at start.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import time

directory, seconds = sys.argv[1], float(sys.argv[2])
path = os.path.join(directory, "svc.sock")
unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind(path)
unix.listen(128)
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 7070))
tcp.listen(128)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 5353))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sel = selectors.DefaultSelector()
for s in (unix, tcp, rx):
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
with open("/proc/self/comm") as f:
    comm = f.read().strip()
print(
    json.dumps(
        {
            "pid": os.getpid(),
            "comm": comm,
            "unix": path,
            "tcp": "127.0.0.1:7070",
            "udp": "127.0.0.1:5353",
        }
    ),
    flush=True,
)
held = []
received = 0
deadline = time.monotonic() + seconds
next_burst = 0.0
while time.monotonic() < deadline:
    now = time.monotonic()
    if now >= next_burst:
        for _ in range(40):
            tx.sendto(b"x" * 1000, ("127.0.0.1", 5353))
        for _ in range(3):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            held.append(c)
        next_burst = now + 0.1
    for key, _ in sel.select(timeout=0.01):
        sock = key.fileobj
        assert isinstance(sock, socket.socket)
        if sock is rx:
            while True:
                try:
                    rx.recv(2048)
                    received += 1
                except BlockingIOError:
                    break
        else:
            conn, _ = sock.accept()
            conn.close()
    for c in held:
        c.close()
    held.clear()
print(json.dumps({"received": received}), flush=True)
