"""Send COUNT DNS queries for QNAME/TXT (EDNS0, 4096-byte buffer) to DEST:53 at RATE per
second from 8 sockets, read the answers, and print how many came back.

    dns_flood.py DEST QNAME COUNT RATE
"""

from __future__ import annotations

import socket
import struct
import sys
import time

dest, qname, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])


def query(qid: int) -> bytes:
    header = struct.pack(">HHHHHH", qid & 0xFFFF, 0, 1, 0, 0, 1)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in qname.split("."))
    question = labels + b"\0" + struct.pack(">HH", 16, 1)  # TXT, IN
    opt = b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)  # EDNS0 OPT record
    return header + question + opt


sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
for s in sockets:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setblocking(False)


def drain() -> int:
    got = 0
    for s in sockets:
        try:
            while True:
                s.recv(65535)
                got += 1
        except BlockingIOError:
            pass
    return got


answers = 0
t0 = time.monotonic()
for i in range(count):
    while time.monotonic() < t0 + i / rate:
        answers += drain()
        time.sleep(0.0005)
    sockets[i % len(sockets)].sendto(query(i), (dest, 53))
end = time.monotonic() + 3
while time.monotonic() < end:
    answers += drain()
    time.sleep(0.01)
print(f"queries {count} answers {answers}", flush=True)
