"""Write a small, realistic log of one bad night on a DNS + mail server (for the README demo).

    python bench/demo_log.py DIR   -> DIR/syslog, DIR/syslog.1.gz

03:00-03:18: BIND 9.18 cannot send answers (libuv queue full, per-client debug lines enabled),
the kernel rate-limits its messages; 03:40-03:44: Dovecot's imap service is at process_limit
and imap-login cannot hand clients over. The rest is ordinary traffic.
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

ORDINARY = [
    "sshd[{pid}]: Accepted publickey for deploy from 198.51.100.{a} port {port} ssh2: ED25519",
    "named[812]: client @0x7f3c2c0{n:05x} 192.0.2.{a}#{port} (www.example.com): query: "
    "www.example.com IN A +E(0)K (192.0.2.53)",
    "dovecot: imap-login: Login: user=<u{n}@example.com>, method=PLAIN, rip=198.51.100.{a}, "
    "lip=192.0.2.25, mpid={pid}, TLS, session=<Xk{n:x}>",
    "postfix/smtpd[{pid}]: connect from mail{a}.example.net[198.51.100.{a}]",
    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
]
BIND = (
    "named[812]: client @0x7f3c2c0{n:05x} 192.0.2.{a}#{port} ({q}): send failed: "
    "no pending connections"
)
BIND_GENERAL = "named[812]: Sending UDP messages failed: no pending connections"
RATELIMIT = "kernel: net_ratelimit: {n} callbacks suppressed"
DOVECOT = (
    "dovecot: imap-login: Error: master(imap): net_connect_unix(imap) failed: Resource "
    "temporarily unavailable - http://wiki2.dovecot.org/SocketUnavailable (client-pid={pid}, "
    "client-id={n}, rip=198.51.100.{a}, created 501 msecs ago, received 0/4 bytes)"
)
MASTER = (
    "dovecot: master: Warning: service(imap): process_limit (100) reached, client connections"
    " are being dropped"
)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)  # noqa: S311 - demo data
    qnames = ["dnssec-big.example.org", "txt.example.net", "www.example.com", "mx.example.org"]

    def fill(t: str, tmpl: str) -> str:
        return f"Nov 21 {t} ns1 " + tmpl.format(
            pid=rng.randint(1000, 60000),
            a=rng.choice([7, 7, 7, 19, 19, 44, rng.randint(1, 254)]),
            port=rng.randint(1024, 65535),
            n=rng.randint(1, 99999),
            q=rng.choice(qnames),
        )

    old: list[str] = []
    new: list[str] = []
    for second in range(0, 6 * 3600, 2):
        h, m, s = second // 3600, second // 60 % 60, second % 60
        t = f"{h:02d}:{m:02d}:{s:02d}"
        target = old if h < 3 else new
        target.append(fill(t, rng.choice(ORDINARY)))
        if h == 3 and m < 18 and rng.random() < 0.5 + 0.4 * (m in (4, 5, 6)):
            target.append(fill(t, BIND))
            if s % 10 == 0:
                target.append(fill(t, BIND_GENERAL))
                target.append(fill(t, RATELIMIT))
        if h == 3 and 40 <= m < 45 and rng.random() < 0.4:
            target.append(fill(t, DOVECOT))
            if s % 20 == 0:
                target.append(fill(t, MASTER))
    (out / "syslog").write_text("\n".join(new) + "\n")
    with gzip.open(out / "syslog.1.gz", "wt") as f:
        f.write("\n".join(old) + "\n")


if __name__ == "__main__":
    main()
