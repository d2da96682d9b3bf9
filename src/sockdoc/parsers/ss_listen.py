"""Listening sockets as ``ss -H -l -n -x -t`` prints them.

For a listener, ``ss`` shows in ``Recv-Q`` the connections waiting in its queue and in
``Send-Q`` its backlog (ss(8); for TCP ``tcp_diag_get_info()``, for UNIX ``sk_diag_show_rqlen()``
in net/unix/diag.c). The lab reads this as the standard tool's independent view of the queue
that sockdoc reads over netlink. Columns: Netid, State, Recv-Q, Send-Q, Local, Peer; a UNIX
socket's local column is its path (``@name`` for an abstract one, ``*`` unbound).

Sample content::

    u_str LISTEN 5      4      /tmp/lab/svc.sock 7772278       * 0
    tcp   LISTEN 0      5           127.0.0.1:7070    0.0.0.0:*

Examples:

>>> rows = parse_ss_listen("u_str LISTEN 5 4 /tmp/l/svc.sock 77 * 0\\n"
...                        "tcp   LISTEN 0 5 127.0.0.1:7070 0.0.0.0:*\\n")
>>> [(r.netid, r.recv_q, r.send_q, r.local) for r in rows]
[('u_str', 5, 4, '/tmp/l/svc.sock'), ('tcp', 0, 5, '127.0.0.1:7070')]
>>> parse_ss_listen("tcp LISTEN x 5 a b\\n")
Traceback (most recent call last):
...
sockdoc.parsers.errors.ParseError: ss -H -ln:1: Recv-Q is not a number: 'tcp LISTEN x 5 a b'
"""

from __future__ import annotations

from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError


@dataclass(frozen=True)
class SsListener:
    netid: str
    recv_q: int
    send_q: int
    local: str


def parse_ss_listen(text: str, source: str = "ss -H -ln") -> tuple[SsListener, ...]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise ParseError(source, lineno, line, "fewer than 5 columns")
        for what, value in (("Recv-Q", parts[2]), ("Send-Q", parts[3])):
            if not value.isdigit():
                raise ParseError(source, lineno, line, f"{what} is not a number")
        rows.append(SsListener(parts[0], int(parts[2]), int(parts[3]), parts[4]))
    return tuple(rows)
