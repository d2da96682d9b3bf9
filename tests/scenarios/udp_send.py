"""Run inside the sending namespace: send bursts of UDP datagrams non-blocking, as named does,
and count the sends the kernel refused (EAGAIN / ENOBUFS).

    udp_send.py DEST_ADDR SECONDS SNDBUF

Every 100 ms a burst of 200 datagrams of 1,200 bytes goes to DEST_ADDR:5300. Prints one JSON
line at start and one at the end with the counts.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time

dest, seconds, sndbuf = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sndbuf:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
s.bind(("0.0.0.0", 5301))
s.setblocking(False)
with open("/proc/self/comm") as f:
    comm = f.read().strip()
print(json.dumps({"pid": os.getpid(), "comm": comm, "udp": "0.0.0.0:5301"}), flush=True)
sent = refused = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for _ in range(200):
        try:
            s.sendto(b"r" * 1200, (dest, 5300))
            sent += 1
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ENOBUFS):
                raise
            refused += 1
    time.sleep(0.1)
print(json.dumps({"sent": sent, "refused": refused}), flush=True)
