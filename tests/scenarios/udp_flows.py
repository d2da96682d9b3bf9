"""Run inside a namespace whose output is connection-tracked: send one 1-byte datagram on
each of COUNT distinct UDP flows to DEST (new source sockets x destination ports 1-65535), so
each makes one conntrack entry.

    udp_flows.py DEST COUNT
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time

dest, count = sys.argv[1], int(sys.argv[2])
sockets: list[socket.socket] = []
sent = 0
t0 = time.monotonic()
while sent < count:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sockets.append(s)
    for port in range(1, 65536):
        if sent >= count:
            break
        with contextlib.suppress(OSError):  # a refused send still made its entry
            s.sendto(b"x", (dest, port))
        sent += 1
print(f"flows {sent} in {time.monotonic() - t0:.2f} s", flush=True)
