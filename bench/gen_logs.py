"""Generate a deterministic syslog-like benchmark file with known counts per cause.

Ordinary lines come from templates of many daemons; about one line in a thousand is a line of
the failure family, taken from the annotated samples (tests/samples/*.log), so the expected
count per cause is known exactly. Writes FILE and FILE.truth.json.

    python bench/gen_logs.py bench/data/syslog --size-mb 1024
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_samples import SAMPLE_LIST

from sockdoc.parsers.logline import parse

HOSTS = ["ns1", "mx2", "web3", "db4"]
TEMPLATES = [
    "sshd[{pid}]: Accepted publickey for deploy from 198.51.100.{a} port {port} ssh2: ED25519",
    "sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
    "sshd[{pid}]: Disconnected from user deploy 198.51.100.{a} port {port}",
    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "systemd[1]: Started session-{n}.scope - Session {n} of User deploy.",
    "systemd[1]: logrotate.service: Deactivated successfully.",
    "named[{pid}]: client @0x7f3c2c0{n:05x} 192.0.2.{a}#{port} (www.example.com): query: "
    "www.example.com IN A +E(0)K (192.0.2.53)",
    "named[{pid}]: zone example.com/IN: loaded serial {n}",
    "named[{pid}]: resolver priming query complete: success",
    "dovecot: imap-login: Login: user=<u{n}@example.com>, method=PLAIN, rip=192.0.2.{a}, "
    "lip=192.0.2.25, mpid={pid}, TLS, session=<Xk{n:x}>",
    "dovecot: imap(u{n}@example.com)<{pid}><Xk{n:x}>: Disconnected: Logged out in=120 out=987",
    "postfix/smtpd[{pid}]: connect from mail{a}.example.net[198.51.100.{a}]",
    "postfix/smtpd[{pid}]: disconnect from mail{a}.example.net[198.51.100.{a}] ehlo=2 "
    "starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
    "postfix/qmgr[{pid}]: 4F1{n:06X}: from=<a{n}@example.org>, size={port}, nrcpt=1 (queue active)",
    "kernel: [{n}.{port:06d}] IPv4: martian source 192.0.2.{a} from 198.51.100.1, on dev eth0",
    "kernel: [{n}.{port:06d}] eth0: renamed from veth{n:x}",
    "nginx[{pid}]: 2026/11/21 03:12:44 [notice] {pid}#{pid}: signal process started",
    "php-fpm8.2[{pid}]: [NOTICE] [pool www] child {n} started",
    "redis-server[{pid}]: {pid}:M 21 Nov 2026 03:12:44.123 * Background saving terminated "
    "with success",
    "haproxy[{pid}]: 192.0.2.{a}:{port} [21/Nov/2026:03:12:44.123] fe_https~ be_app/app1 "
    '0/0/1/12/13 200 1234 - - ---- 12/12/0/0/0 0/0 "GET /health HTTP/1.1"',
    "unbound[{pid}:0]: info: 192.0.2.{a} example.org. A IN",
    "rsyslogd[{pid}]: imjournal: {n} messages lost due to rate-limiting (20000 allowed within "
    "600 seconds)",
]


def ordinary_pool(rng: random.Random, n: int) -> list[str]:
    pool = []
    for _ in range(n):
        t = rng.choice(TEMPLATES)
        pool.append(
            t.format(
                pid=rng.randint(100, 65000),
                a=rng.randint(1, 254),
                port=rng.randint(1024, 65535),
                n=rng.randint(1, 999999),
            )
        )
    return pool


def family_lines() -> list[tuple[str, str, bool]]:
    """(line, cause, needs a syslog time/host prefix) for every matched sample."""
    out = []
    for s in SAMPLE_LIST:
        if s.expect.get("matched", True):
            env = parse(s.line)
            if env.format in ("rfc3164", "rfc3339", "rfc5424") and env.program:
                tag = env.program + (f"[{env.pid}]" if env.pid is not None else "")
                out.append((f"{tag}: {env.message}", s.expect["cause"], True))
            else:
                out.append((s.line, s.expect["cause"], False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rate", type=float, default=0.001, help="share of family lines")
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - deterministic test data, not secrets
    pool = ordinary_pool(rng, 20000)
    family = family_lines()
    truth: Counter[str] = Counter()
    target = args.size_mb << 20
    written = 0
    second = 3 * 3600
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        while written < target:
            second += 1
            stamp = f"Nov 21 {second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            host = HOSTS[second % len(HOSTS)]
            batch = [f"{stamp} {host} {line}" for line in rng.choices(pool, k=5000)]
            for _ in range(sum(1 for _ in range(5000) if rng.random() < args.rate)):
                line, cause, prefix = rng.choice(family)
                if prefix:
                    line = f"{stamp} {host} {line}"
                batch.insert(rng.randrange(len(batch) + 1), line)
                truth[cause] += 1
            text = "\n".join(batch) + "\n"
            f.write(text)
            written += len(text.encode())
    Path(f"{args.out}.truth.json").write_text(
        json.dumps({"bytes": written, "by_cause": dict(sorted(truth.items()))}, indent=2) + "\n"
    )
    print(f"wrote {written / 1e6:.0f} MB to {out}, {sum(truth.values())} family lines")


if __name__ == "__main__":
    main()
