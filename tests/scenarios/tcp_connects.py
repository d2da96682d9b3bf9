"""Start COUNT non-blocking TCP connects to DEST:PORT and hold them for SECONDS (the caller
drops the SYN-ACKs, so each stays half-open in the listener's SYN queue).

    tcp_connects.py DEST PORT COUNT SECONDS
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time

dest, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sockets = []
for _ in range(count):
    c = socket.socket()
    c.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        c.connect((dest, port))
    sockets.append(c)
print(f"connecting {count}", flush=True)
time.sleep(hold)
