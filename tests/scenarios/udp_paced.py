"""Run inside the sending namespace: send COUNT UDP datagrams of SIZE bytes to DEST:PORT at
RATE per second, non-blocking, and count the sends the kernel refused.

    udp_paced.py DEST PORT COUNT SIZE RATE

Prints one line: how many were sent and which errors sendto() returned (a datagram that a
qdisc or a driver drops later is not an error here: the kernel swallows ENOBUFS).
"""

from __future__ import annotations

import errno
import socket
import sys
import time

dest, port, count, size, rate = (
    sys.argv[1],
    int(sys.argv[2]),
    int(sys.argv[3]),
    int(sys.argv[4]),
    float(sys.argv[5]),
)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
payload = b"x" * size
errors: dict[str, int] = {}
t0 = time.monotonic()
for i in range(count):
    wait = t0 + i / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        s.sendto(payload, (dest, port))
    except OSError as e:
        name = errno.errorcode.get(e.errno or 0, str(e.errno))
        errors[name] = errors.get(name, 0) + 1
print(f"sent {count} errors {errors} in {time.monotonic() - t0:.2f} s", flush=True)
