"""Listen on ADDR:PORT with BACKLOG and never accept, for SECONDS.

tcp_listen.py ADDR PORT BACKLOG SECONDS
"""

from __future__ import annotations

import socket
import sys
import time

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(int(sys.argv[3]))
print("listening", flush=True)
time.sleep(float(sys.argv[4]))
