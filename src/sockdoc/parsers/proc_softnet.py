"""Per-CPU receive backlog statistics: ``/proc/net/softnet_stat``.

One line per online CPU, each column an 8-digit hexadecimal ``u32`` (net/core/net-procfs.c
``softnet_seq_show()``). There is no header: the columns are known only by position, and their
number depends on the kernel version:

====  ================  ==============================================================
col   name              since
====  ================  ==============================================================
1     processed         always: packets taken off the backlog / NAPI by this CPU
2     dropped           always: dropped because the backlog was over
                        ``net.core.netdev_max_backlog`` (or flow limit)
3     time_squeeze      always: ``net_rx_action()`` stopped with work left, out of
                        ``netdev_budget`` packets or ``netdev_budget_usecs``
4-8   (zero)            once throttled and fastroute counters, always 0 now
9     cpu_collision     always 0 since the counter left struct softnet_data (between
                        4.4 and 4.8); kept for position
10    received_rps      2.6.35 ("rps: Receive Packet Steering")
11    flow_limit_count  3.11 ("rps: selective flow shedding during softnet overflow")
12    backlog_len       5.10: input_pkt_queue + process_queue lengths, now
13    index             5.10: the CPU this line is about
14    input_qlen        6.4 ("net-sysfs: display two backlog queue len separately")
15    process_qlen      6.4
====  ================  ==============================================================

Offline CPUs have no line, so without the ``index`` column (before 5.10) the line number is the
CPU number only when every CPU is online. The counters are ``unsigned int`` and wrap at 2^32;
``processed`` does so within hours on a busy host: use :func:`counter_delta` for differences.
The file is not per network namespace: every namespace sees the host's CPUs.

Sample content (Linux 6.18, two CPUs; columns 5 to 11, all zero, cut to fit the page)::

    0000000b 00000000 00000000 00000000 ... 00000000 00000000 00000000 00000000
    00002286 00000000 00000000 00000000 ... 00000000 00000001 00000000 00000000

Examples:

>>> s = parse_softnet("0000000b 00000002 00000003 0 0 0 0 0 0 00000000 00000000 0000 0000\\n"
...                   "00002286 00000000 00000001 0 0 0 0 0 0 00000000 00000000 0000 0001\\n")
>>> [(c.cpu, c.processed, c.dropped, c.time_squeeze) for c in s.cpus]
[(0, 11, 2, 3), (1, 8838, 0, 1)]
>>> (s.columns, s.dropped, s.time_squeeze, s.cpus[0].input_qlen)
(13, 2, 4, None)
>>> counter_delta(0xFFFFFFF0, 0x10)
32
"""

from __future__ import annotations

from dataclasses import dataclass

from sockdoc.parsers.errors import ParseError, hexadecimal, lines_of

# Every kernel since 2.6 prints at least these nine columns (cpu_collision is the 9th).
MIN_COLUMNS = 9
_U32 = 1 << 32


@dataclass(frozen=True)
class SoftnetCpu:
    """One line. ``cpu`` comes from the index column, else from the line number.

    A column the running kernel does not print is None.
    """

    cpu: int
    processed: int
    dropped: int
    time_squeeze: int
    received_rps: int | None = None
    flow_limit_count: int | None = None
    backlog_len: int | None = None
    input_qlen: int | None = None
    process_qlen: int | None = None


@dataclass(frozen=True)
class Softnet:
    """All lines. ``columns`` is how many each line has (the same for all)."""

    cpus: tuple[SoftnetCpu, ...]
    columns: int
    cpu_from_index: bool

    @property
    def processed(self) -> int:
        return sum(c.processed for c in self.cpus)

    @property
    def dropped(self) -> int:
        return sum(c.dropped for c in self.cpus)

    @property
    def time_squeeze(self) -> int:
        return sum(c.time_squeeze for c in self.cpus)


def counter_delta(before: int, after: int) -> int:
    """``after - before`` for a ``u32`` counter that may have wrapped once in between."""
    return (after - before) % _U32


def parse_softnet(text: str, source: str = "/proc/net/softnet_stat") -> Softnet:
    """Parse ``/proc/net/softnet_stat``; columns beyond the 15th (future kernels) are ignored."""
    cpus: list[SoftnetCpu] = []
    columns: int | None = None
    for lineno, line in enumerate(lines_of(text, source), start=1):
        tokens = line.split()
        if len(tokens) < MIN_COLUMNS:
            raise ParseError(
                source, lineno, line, f"{len(tokens)} columns, at least {MIN_COLUMNS} expected"
            )
        if columns is None:
            columns = len(tokens)
        elif len(tokens) != columns:
            raise ParseError(
                source, lineno, line, f"{len(tokens)} columns where line 1 has {columns}"
            )
        v = [hexadecimal(t, source, lineno, line, f"column {i}") for i, t in enumerate(tokens, 1)]

        def col(n: int, v: list[int] = v) -> int | None:
            return v[n - 1] if len(v) >= n else None

        cpu = v[12] if len(v) >= 13 else lineno - 1
        if any(c.cpu == cpu for c in cpus):
            raise ParseError(source, lineno, line, f"CPU {cpu} appears twice")
        cpus.append(
            SoftnetCpu(
                cpu=cpu,
                processed=v[0],
                dropped=v[1],
                time_squeeze=v[2],
                received_rps=col(10),
                flow_limit_count=col(11),
                backlog_len=col(12),
                input_qlen=col(14),
                process_qlen=col(15),
            )
        )
    assert columns is not None  # lines_of() returned at least one line
    return Softnet(cpus=tuple(cpus), columns=columns, cpu_from_index=columns >= 13)
