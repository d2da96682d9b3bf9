"""The /proc, /sys, sysctl and tc parsers on real captured files, on damaged input, and fuzzed.

Fixtures (tests/fixtures/) were captured on Linux 6.18, 2 CPUs: ``proc/NAME`` from the host,
``proc/NAME.netns`` from a fresh network namespace after known traffic (23 UDP datagrams to a
closed port; 200 datagrams of 1000 bytes to an unread IPv4 socket and 200 to an IPv6 one, both
with SO_RCVBUF 4096; 11 connects to a TCP listener with backlog 1 that never accepts; a
non-blocking UDP sender behind ``tbf rate 1mbit`` until EAGAIN; 37 datagrams into a
``pfifo limit 5`` under another tbf), read while the sockets were still open. ``tc/`` holds
``tc -s -j qdisc show`` and ``tc -s qdisc show`` from that namespace and from the host.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from sockdoc.parsers.errors import ParseError
from sockdoc.parsers.proc_dev import parse_dev
from sockdoc.parsers.proc_limits import parse_limits
from sockdoc.parsers.proc_snmp import Counters, delta, parse_netstat, parse_snmp, parse_snmp6
from sockdoc.parsers.proc_sockstat import parse_sockstat
from sockdoc.parsers.proc_softnet import counter_delta, parse_softnet
from sockdoc.parsers.sys_class_net import (
    LinkInfo,
    link_info,
    parse_duplex,
    parse_operstate,
    parse_speed,
)
from sockdoc.parsers.sysctl import SYSCTLS, Sysctls, parse_value, sysctl_path
from sockdoc.parsers.tc_qdisc import parse_qdisc_json, parse_qdisc_text, parse_qdiscs

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def sysctl_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in (FIXTURES / "proc" / "sys").iterdir()}


def expect_error(
    parse: Callable[[str], object], text: str, lineno: int | None, fragment: str = ""
) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.lineno == lineno, str(err)
    assert fragment in err.reason, str(err)
    assert "\n" not in str(err)
    if lineno is not None:
        assert err.line == text.split("\n")[lineno - 1]
    return err


# ---------------------------------------------------------------- errors


def test_parse_error_is_one_line_and_survives_pickling() -> None:
    err = ParseError("/proc/net/snmp", 3, "Udp: 1\n2", "bad")
    assert str(err) == "/proc/net/snmp:3: bad: 'Udp: 1\\n2'"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.source, copy.lineno, copy.line, copy.reason) == (
        "/proc/net/snmp",
        3,
        "Udp: 1\n2",
        "bad",
    )
    assert isinstance(err, ValueError)
    long_line = "x" * 5000
    assert len(str(ParseError("s", 1, long_line, "r"))) < 300


# ---------------------------------------------------------------- snmp, netstat, snmp6


def test_snmp_host() -> None:
    c = parse_snmp(fixture("proc/snmp"))
    assert c["Ip.InReceives"] == 8844
    assert c["Tcp.MaxConn"] == -1
    assert c["Tcp.OutRsts"] == 48
    assert c["Udp.OutDatagrams"] == 73
    assert c["IcmpMsg.InType3"] == 1
    assert c.protocols == {"Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"}


def test_snmp_netns_counts_the_driven_events() -> None:
    c = parse_snmp(fixture("proc/snmp.netns"))
    assert c["Udp.NoPorts"] == 23
    assert c["Icmp.OutDestUnreachs"] == 23
    assert c["IcmpMsg.OutType3"] == 23
    assert c["Udp.RcvbufErrors"] == 197  # 200 sent, 3 fitted in the 4096-byte buffer
    assert c["Udp.InErrors"] == 197
    assert c["Udp.SndbufErrors"] == 1113
    assert c.get("Udp.Nonexistent") is None
    assert dict(c.protocol("Udp"))["NoPorts"] == 23
    assert c.protocol("Sctp") == {}


def test_netstat() -> None:
    host = parse_netstat(fixture("proc/netstat"))
    assert host["TcpExt.TW"] == 11
    assert host["IpExt.InOctets"] == 431414043
    assert "MPTcpExt" in host.protocols
    ns = parse_netstat(fixture("proc/netstat.netns"))
    assert ns["TcpExt.ListenOverflows"] == 18  # 11 connects, SYN retries overflow again
    assert ns["TcpExt.ListenDrops"] == 18
    assert ns["TcpExt.TCPReqQFullDrop"] == 0


def test_snmp6() -> None:
    host = parse_snmp6(fixture("proc/snmp6"))
    assert host["Ip6.InReceives"] == 1
    assert host["Icmp6.OutType135"] == 4
    ns = parse_snmp6(fixture("proc/snmp6.netns"))
    assert ns["Udp6.RcvbufErrors"] == 197
    assert ns["Udp6.OutDatagrams"] == 200
    assert ns["UdpLite6.InDatagrams"] == 0
    assert all(key.count(".") == 1 for key in ns)


def test_counters_merge_hash_and_equality() -> None:
    ns = parse_snmp(fixture("proc/snmp.netns")).merged(
        parse_netstat(fixture("proc/netstat.netns")), parse_snmp6(fixture("proc/snmp6.netns"))
    )
    assert ns["Udp.SndbufErrors"] == 1113
    assert ns["TcpExt.ListenOverflows"] == 18
    assert ns["Udp6.RcvbufErrors"] == 197
    again = parse_snmp(fixture("proc/snmp.netns"))
    assert again == parse_snmp(fixture("proc/snmp.netns"))
    assert hash(again) == hash(parse_snmp(fixture("proc/snmp.netns")))
    assert again != ns
    assert pickle.loads(pickle.dumps(ns)) == ns
    assert dataclasses.asdict(again)["data"]["Udp.NoPorts"] == 23
    assert list(again)[:3] == ["Ip.Forwarding", "Ip.DefaultTTL", "Ip.InReceives"]


def test_delta_rates_and_resets() -> None:
    a = Counters({"Udp.SndbufErrors": 100, "Udp.NoPorts": 5, "Tcp.CurrEstab": 7})
    b = Counters({"Udp.SndbufErrors": 160, "Udp.NoPorts": 5, "Tcp.CurrEstab": 2, "New.X": 1})
    assert dict(delta(a, b, 2.0)) == {"Udp.SndbufErrors": 30.0, "Udp.NoPorts": 0.0}
    with pytest.raises(ValueError, match="positive"):
        delta(a, b, 0)
    # The host, then a namespace: every counter that went down is a reset, not a rate.
    host = parse_snmp(fixture("proc/snmp"))
    ns = parse_snmp(fixture("proc/snmp.netns"))
    rates = delta(host, ns, 1.0)
    assert rates["Ip.InReceives"] is None
    assert rates["Udp.NoPorts"] == 23.0
    assert "Tcp.MaxConn" not in rates


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("Udp: InDatagrams NoPorts\nUdp: 1\n", 2, "1 values for 2 names"),
        ("Udp: InDatagrams\nUdp: 1 2\n", 2, "2 values for 1 names"),
        ("Udp: InDatagrams NoPorts\n", 1, "without a line of values"),
        ("Udp: InDatagrams\nTcp: 1\n", 2, "values of Tcp after names of Udp"),
        ("Udp: InDatagrams\nUdp: x\n", 2, "not a decimal integer"),
        ("Udp: InDatagrams\nUdp: 1.5\n", 2, "not a decimal integer"),
        ("Udp: InDatagrams\nUdp: 1_0\n", 2, "not a decimal integer"),
        ("Udp: In-Datagrams\nUdp: 1\n", 1, "bad counter name"),
        ("Udp InDatagrams\nUdp: 1\n", 1, "expected 'Proto:"),
        ("Udp:\nUdp:\n", 1, "no names"),
        ("Udp: A\nUdp: 1\nUdp: A\nUdp: 2\n", 3, "appears twice"),
        ("Ip: A\nIp: 1\nUdp: B C\nUdp: 1 2\nTcp: D\n", 5, "without a line of values"),
    ],
)
def test_snmp_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_snmp, text, lineno, fragment)


def test_snmp_truncated_fixture_names_the_line() -> None:
    lines = fixture("proc/snmp.netns").split("\n")
    lines[11] = lines[11].rsplit(" ", 3)[0]  # the Udp values, cut short
    expect_error(parse_snmp, "\n".join(lines), 12, "values for")


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("Udp6InErrors 1\nUdp6RcvbufErrors\n", 2, "a name and a value"),
        ("Udp6InErrors 1 2\n", 1, "a name and a value"),
        ("UdpInErrors 1\n", 1, "bad counter name"),
        ("Udp6inErrors 1\n", 1, "bad counter name"),
        ("Udp6InErrors -\n", 1, "not a decimal integer"),
        ("Udp6InErrors 1\nUdp6InErrors 2\n", 2, "appears twice"),
    ],
)
def test_snmp6_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_snmp6, text, lineno, fragment)


@pytest.mark.parametrize(
    "parse",
    [parse_snmp, parse_snmp6, parse_sockstat, parse_softnet, parse_dev, parse_limits, parse_value],
)
@pytest.mark.parametrize("text", ["", "\n", "  \n\n"])
def test_empty_input_is_a_parse_error(parse: Callable[[str], object], text: str) -> None:
    err = expect_error(parse, text, None, "empty")
    assert err.line is None


# ---------------------------------------------------------------- sockstat


def test_sockstat_host_and_netns() -> None:
    host = parse_sockstat(fixture("proc/sockstat")).merged(
        parse_sockstat(fixture("proc/sockstat6"), "/proc/net/sockstat6")
    )
    assert (host.sockets_used, host.tcp_inuse, host.tcp_mem_pages) == (12, 1, 273)
    assert (host.udp_inuse, host.frag_memory_bytes, host.tcp6_inuse, host.frag6_inuse) == (
        0,
        0,
        0,
        0,
    )
    ns = parse_sockstat(fixture("proc/sockstat.netns"))
    assert (ns.sockets_used, ns.tcp_inuse, ns.tcp_alloc, ns.tcp_orphan, ns.tcp_tw) == (
        20,
        14,
        15,
        0,
        0,
    )
    # tcp_memory_allocated is the host's: a new namespace shows the host's TCP mem.
    assert ns.tcp_mem_pages == host.tcp_mem_pages
    assert ns.udp_inuse == 4
    assert ns.tcp6_inuse is None
    ns6 = parse_sockstat(fixture("proc/sockstat6.netns"), "/proc/net/sockstat6")
    assert ns6.udp6_inuse == 2
    assert ns6.get("FRAG6.memory") == 0
    assert ns6.sockets_used is None


def test_sockstat_keeps_unknown_protocols() -> None:
    s = parse_sockstat("sockets: used 3\nMPTCP: inuse 2 mem 9\n")
    assert s.get("MPTCP.mem") == 9
    assert s.sockets_used == 3


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("sockets: used 1\nTCP: inuse 5 orphan 0 tw\n", 2, "'tw' has no value"),
        ("TCP: inuse five\n", 1, "not a decimal integer"),
        ("TCP inuse 5\n", 1, "expected 'PROTO:"),
        ("TCP:\n", 1, "no values"),
        ("TCP: Inuse 5\n", 1, "bad name"),
        ("TCP: inuse 5\nUDP: inuse 1\nTCP: inuse 6\n", 3, "appears twice"),
    ],
)
def test_sockstat_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_sockstat, text, lineno, fragment)


# ---------------------------------------------------------------- softnet_stat


def test_softnet_real() -> None:
    for name in ("proc/softnet_stat", "proc/softnet_stat.netns"):
        s = parse_softnet(fixture(name))
        assert s.columns == 15
        assert s.cpu_from_index
        assert [c.cpu for c in s.cpus] == [0, 1]
        assert s.dropped == 0
        assert s.cpus[1].input_qlen == 0
    host = parse_softnet(fixture("proc/softnet_stat"))
    assert host.cpus[0].processed == 0x27
    assert host.cpus[1].processed == 0x2A07
    assert host.processed == 0x27 + 0x2A07


def test_softnet_older_kernels() -> None:
    # 11 columns (3.11 to 5.9): no index, so the CPU is the line number.
    old = parse_softnet(
        "0000a000 00000010 00000002 0 0 0 0 0 00000000 00000005 00000001\n"
        "0000b000 00000000 00000003 0 0 0 0 0 00000000 00000000 00000000\n"
    )
    assert (old.columns, old.cpu_from_index) == (11, False)
    assert [(c.cpu, c.dropped, c.flow_limit_count) for c in old.cpus] == [(0, 16, 1), (1, 0, 0)]
    assert old.cpus[0].backlog_len is None
    assert old.time_squeeze == 5
    # 13 columns (5.10 to 6.3), CPU 1 offline: the index column says which CPU.
    mid = parse_softnet(
        "00000001 00000000 00000000 0 0 0 0 0 0 0 0 00000004 00000000\n"
        "00000002 00000000 00000000 0 0 0 0 0 0 0 0 00000000 00000002\n"
    )
    assert [c.cpu for c in mid.cpus] == [0, 2]
    assert mid.cpus[0].backlog_len == 4
    # A future kernel's extra columns are ignored.
    assert parse_softnet(" ".join(["00000001"] * 17)).columns == 17
    assert counter_delta(5, 3) == (1 << 32) - 2
    assert counter_delta(3, 5) == 2


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("00000001 00000002 00000003\n", 1, "at least 9"),
        ("0 0 0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0 0 0\n", 2, "where line 1 has 11"),
        ("0 0 0 0 0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0 0 0 0 0 0\n", 2, "CPU 0 appears twice"),
        ("0000000g 0 0 0 0 0 0 0 0\n", 1, "not hexadecimal"),
        ("0x10 0 0 0 0 0 0 0 0\n", 1, "not hexadecimal"),
        ("-1 0 0 0 0 0 0 0 0\n", 1, "not hexadecimal"),
    ],
)
def test_softnet_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_softnet, text, lineno, fragment)


# ---------------------------------------------------------------- /proc/net/dev


def test_dev_real() -> None:
    host = parse_dev(fixture("proc/dev"))
    assert [i.name for i in host.interfaces] == ["lo", "ifb0", "ifb1", "eth0"]
    eth0 = host.get("eth0")
    assert eth0 is not None
    assert (eth0.rx_bytes, eth0.rx_packets, eth0.tx_bytes, eth0.tx_packets) == (
        431534570,
        8820,
        446972,
        5324,
    )
    assert host.get("nope") is None
    ns = parse_dev(fixture("proc/dev.netns"))
    vcap2 = ns.get("vcap2")
    assert vcap2 is not None
    # The pfifo under tbf dropped 28 packets of vcap2; /proc/net/dev does not count them.
    assert vcap2.tx_drop == 0
    assert vcap2.tx_packets == 10
    assert ns.get("lo") is not None


def test_dev_old_format_without_space_after_colon() -> None:
    head = "\n".join(fixture("proc/dev").split("\n")[:2])
    dev = parse_dev(head + "\n  eth0:12345678 1 0 0 0 0 0 0 2 3 0 0 0 0 0 0\n")
    eth0 = dev.get("eth0")
    assert eth0 is not None
    assert eth0.rx_bytes == 12345678
    assert eth0.tx_packets == 3


def _dev_lines() -> list[str]:
    return fixture("proc/dev").split("\n")


@pytest.mark.parametrize(
    ("mutate", "lineno", "fragment"),
    [
        (lambda ls: ls.__setitem__(5, ls[5].rsplit(" ", 4)[0]), 6, "16 expected"),
        (lambda ls: ls.__setitem__(5, ls[5].replace("446972", "44697x")), 6, "decimal"),
        (lambda ls: ls.__setitem__(5, ls[5].replace("eth0:", "eth0 ")), 6, "NAME: counters"),
        (lambda ls: ls.__setitem__(5, ls[2]), 6, "appears twice"),
        (lambda ls: ls.__setitem__(1, ls[1].replace("colls", "coll")), 2, "unknown column"),
        (lambda ls: ls.__setitem__(1, ls[1].replace("|", " ")), 2, "face |"),
        (lambda ls: ls.__setitem__(0, "Interface"), 1, "header"),
        (lambda ls: ls.__setitem__(5, ls[5].replace(" 446972", " -446972")), 6, "negative"),
    ],
)
def test_dev_malformed(mutate: Callable[[list[str]], None], lineno: int, fragment: str) -> None:
    lines = _dev_lines()
    mutate(lines)
    expect_error(parse_dev, "\n".join(lines), lineno, fragment)


def test_dev_header_only() -> None:
    assert parse_dev("\n".join(_dev_lines()[:2])).interfaces == ()
    expect_error(parse_dev, _dev_lines()[0], 1, "second header line")


# ---------------------------------------------------------------- /proc/PID/limits


def test_limits_real() -> None:
    init = parse_limits(fixture("proc/limits"), "/proc/1/limits")
    assert init.nofile is not None
    assert (init.nofile.soft, init.nofile.hard, init.nofile.unit) == (32768, 32768, "files")
    assert init.nproc is not None and init.nproc.soft == 96365
    stack = init.get("stack")
    assert stack is not None and (stack.soft, stack.hard) == (8388608, None)
    nice = init.get("nice")
    assert nice is not None and (nice.soft, nice.unit) == (0, None)
    assert [lim.key for lim in init.limits][:3] == ["cpu", "fsize", "data"]
    assert len(init.limits) == 16
    lowered = parse_limits(fixture("proc/limits.nofile1024"))
    assert lowered.nofile is not None
    assert (lowered.nofile.soft, lowered.nofile.hard) == (1024, 20000)


def test_limits_unknown_name_keeps_its_text() -> None:
    text = fixture("proc/limits") + "Max widgets               5                    unlimited\n"
    widgets = parse_limits(text).get("Max widgets")
    assert widgets is not None and (widgets.soft, widgets.hard) == (5, None)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("Max open files            1024", "expected 'Max NAME"),
        ("Max open files            1O24                 524288               files", "decimal"),
        ("Max open files            1024                 infinity             files", "Max NAME"),
        ("Max open files            -5                   524288               files", "negative"),
        ("Min open files            1024                 524288               files", "Max NAME"),
        ("Max cpu time              unlimited            unlimited            seconds", "twice"),
    ],
)
def test_limits_malformed(line: str, fragment: str) -> None:
    lines = fixture("proc/limits").split("\n")
    lines[8] = line  # replaces "Max open files"
    expect_error(parse_limits, "\n".join(lines), 9, fragment)


def test_limits_without_header() -> None:
    expect_error(parse_limits, "Max open files  1024  2048  files\n", 1, "header")


# ---------------------------------------------------------------- sysctl


def test_sysctl_real() -> None:
    s = Sysctls.from_texts(sysctl_texts())
    assert (s.wmem_default, s.wmem_max, s.rmem_default, s.rmem_max) == (
        212992,
        4194304,
        212992,
        4194304,
    )
    assert (s.somaxconn, s.netdev_max_backlog, s.netdev_budget, s.netdev_budget_usecs) == (
        4096,
        1000,
        300,
        8000,
    )
    assert s.tcp_max_syn_backlog == 2048
    assert s.tcp_mem == (287901, 383868, 575802)
    assert s.udp_mem == (575802, 767736, 1151604)
    assert (s.tcp_syncookies, s.max_dgram_qlen) == (1, 10)
    assert (s.file_max, s.nr_open, s.file_nr) == (2466177, 1048576, (542, 0, 2466177))
    assert (s.nf_conntrack_count, s.nf_conntrack_max) == (0, 262144)
    assert set(sysctl_texts()) == set(SYSCTLS)


def test_sysctl_absent_and_unknown() -> None:
    s = Sysctls.from_texts({"net.core.somaxconn": None, "kernel.pid_max": "4194304\n"})
    assert s == Sysctls()
    assert Sysctls.from_texts({}).tcp_mem is None


def test_sysctl_paths() -> None:
    assert sysctl_path("fs.file-max") == "fs/file-max"
    assert sysctl_path("net.netfilter.nf_conntrack_max") == "net/netfilter/nf_conntrack_max"
    for name in SYSCTLS:
        assert (FIXTURES / "proc" / "sys" / name).exists()
    for bad in ("net..core", "../etc/passwd", "/net/core/x", "net.core/x", "somaxconn", ""):
        with pytest.raises(ValueError, match="not a sysctl name"):
            sysctl_path(bad)


def test_sysctl_values() -> None:
    assert parse_value("9223372036854775807\n") == 9223372036854775807
    assert parse_value("-1\n") == -1
    assert parse_value("1 2\n") == (1, 2)


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("12x\n", 1, "decimal"),
        ("1\n2\n", 2, "one line"),
        ("4096 x\n", 1, "decimal"),
        ("0x10\n", 1, "decimal"),
    ],
)
def test_sysctl_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_value, text, lineno, fragment)


def test_sysctl_wrong_count_names_the_file() -> None:
    with pytest.raises(ParseError) as info:
        Sysctls.from_texts({"net.ipv4.tcp_mem": "287901\t383868\n"})
    assert info.value.source == "/proc/sys/net/ipv4/tcp_mem"
    assert info.value.lineno == 1
    assert "2 numbers, 3 expected" in info.value.reason
    with pytest.raises(ParseError, match="3 numbers, 1 expected"):
        Sysctls.from_texts({"net.core.somaxconn": "1 2 3\n"})


# ---------------------------------------------------------------- /sys/class/net


def test_sys_class_net_real() -> None:
    def info(name: str) -> LinkInfo:
        base = FIXTURES / "sys" / "class" / "net" / name
        texts = {
            f: (base / f).read_text() if (base / f).exists() else None
            for f in ("speed", "duplex", "operstate")
        }
        return link_info(name, texts["speed"], texts["duplex"], texts["operstate"])

    eth0 = info("eth0")
    assert eth0 == link_info("eth0", "-1\n", "unknown\n", "up\n")
    assert eth0.speed_mbps is None
    veth = info("vcap0")
    assert (veth.speed_mbps, veth.duplex) == (10000, "full")
    # lo's speed and duplex fail to read (EINVAL): absent, so unknown.
    lo = info("lo")
    assert (lo.speed_mbps, lo.duplex, lo.operstate) == (
        None,
        "unknown",
        "unknown",
    )


def test_sys_class_net_values() -> None:
    assert parse_speed("4294967295\n") is None
    assert parse_speed("25000\n") == 25000
    assert parse_duplex("half\n") == "half"
    assert parse_operstate("lowerlayerdown\n") == "lowerlayerdown"


@pytest.mark.parametrize(
    ("parse", "text", "lineno", "fragment"),
    [
        (parse_speed, "fast\n", 1, "decimal"),
        (parse_speed, "-2\n", 1, "negative"),
        (parse_speed, "1000\n1000\n", 2, "one line"),
        (parse_duplex, "Full\n", 1, "full, half or unknown"),
        (parse_operstate, "upp\n", 1, "operational state"),
        (parse_operstate, "", None, "empty"),
    ],
)
def test_sys_class_net_malformed(
    parse: Callable[[str], object], text: str, lineno: int | None, fragment: str
) -> None:
    expect_error(parse, text, lineno, fragment)


def test_link_info_names_the_file() -> None:
    with pytest.raises(ParseError) as info:
        link_info("eth9", speed="x\n")
    assert info.value.source == "/sys/class/net/eth9/speed"


# ---------------------------------------------------------------- tc qdisc


def test_tc_json_netns() -> None:
    qdiscs = parse_qdiscs(fixture("tc/qdisc-netns.json"))
    by = {(q.dev, q.handle): q for q in qdiscs}
    tbf = by["vcap0", "1:"]
    assert (tbf.kind, tbf.parent, tbf.packets, tbf.overlimits) == ("tbf", None, 10, 916)
    assert (tbf.backlog_bytes, tbf.qlen, tbf.drops) == (1130220, 910, 0)
    pfifo = by["vcap2", "10:"]
    assert (pfifo.kind, pfifo.parent, pfifo.drops, pfifo.qlen, pfifo.backlog_bytes) == (
        "pfifo",
        "1:1",
        28,
        4,
        4168,
    )
    # A parent counts its children's drops and backlog.
    assert by["vcap2", "1:"].drops == 28
    assert by["vcap3", "1:"].kind == "htb"
    assert len(qdiscs) == 6


def test_tc_text_netns_and_host() -> None:
    text = parse_qdisc_text(fixture("tc/qdisc-netns.txt"))
    by = {(q.dev, q.handle): q for q in text}
    assert (by["vcap0", "1:"].backlog_bytes, by["vcap0", "1:"].qlen) == (1128978, 909)
    assert (by["vcap2", "10:"].drops, by["vcap2", "10:"].parent) == (28, "1:1")
    host_json = parse_qdisc_json(fixture("tc/qdisc-host.json"))
    host_text = parse_qdiscs(fixture("tc/qdisc-host.txt"))
    assert host_json == host_text
    assert [q.kind for q in host_json] == ["noqueue", "pfifo_fast"]
    assert host_json[1].packets == 5324


def test_tc_text_forms() -> None:
    head = "qdisc fq_codel 0: dev eth0 parent :1 limit 10240p flows 1024\n"
    rounded = parse_qdisc_text(
        head
        + " Sent 10 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) \n"
        + " backlog 1Mb 700p requeues 0\n"
        + "  maxpacket 0 drop_overlimit 0 new_flow_count 0 ecn_mark 0\n"
    )[0]
    assert (rounded.parent, rounded.backlog_bytes, rounded.qlen) == (":1", 1 << 20, 700)
    with_rate = parse_qdisc_text(
        "qdisc tbf 1: dev eth0 root refcnt 2 rate 1Mbit burst 4500b lat 32s \n"
        " Sent 10 bytes 1 pkt (dropped 2, overlimits 3 requeues 4) \n"
        " rate 0bit 0pps backlog 1.5Kb 2p requeues 4\n"
    )[0]
    assert (with_rate.drops, with_rate.requeues, with_rate.backlog_bytes) == (2, 4, 1536)
    old = parse_qdisc_text(
        "qdisc pfifo_fast 0: dev eth0 root bands 3\n"
        " Sent 5 bytes 1 pkts (dropped 1, overlimits 0) \n"
    )[0]
    assert (old.requeues, old.backlog_bytes, old.drops) == (0, 0, 1)
    assert parse_qdisc_json("[]") == ()


def test_tc_text_rate_estimator_hardware_and_cake_tins() -> None:
    # print_tcstats2_attr(): with a rate estimator, backlog follows the rate on one line;
    # hardware-offloaded qdiscs add "Sent hardware" after the totals; cake's tin table repeats
    # "backlog" per tin after the qdisc's own backlog line.
    q = parse_qdisc_text(
        "qdisc cake 8001: dev eth0 root refcnt 2 bandwidth unlimited\n"
        " Sent 100 bytes 2 pkt (dropped 1, overlimits 0 requeues 0) \n"
        " Sent software 60 bytes 1 pkt\n"
        " Sent hardware 40 bytes 1 pkt\n"
        " rate 8bit 0pps backlog 3000b 2p requeues 0\n"
        "                   Bulk  Best Effort        Voice\n"
        "  backlog            0b           0b           0b\n"
    )[0]
    assert (q.bytes, q.packets, q.drops, q.backlog_bytes, q.qlen) == (100, 2, 1, 3000, 2)


HEAD = "qdisc tbf 1: dev eth0 root\n"
SENT = " Sent 1 bytes 1 pkt (dropped 0, overlimits 0 requeues 0)\n"


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        (HEAD + SENT.replace("dropped 0", "dropped x"), 2, "decimal"),
        (HEAD + " Sent 1 bytes\n", 2, "expected 'Sent"),
        (HEAD + SENT + " backlog 12 3p\n", 3, "not a size"),
        (HEAD + SENT + " backlog 0b\n", 3, "backlog SIZE"),
        (HEAD + " backlog 0b 0p\n", 1, "no 'Sent' line"),
        (HEAD.replace("dev ", "") + SENT, 1, "KIND HANDLE dev"),
        (SENT, 1, "expected 'qdisc"),
    ],
)
def test_tc_text_malformed(text: str, lineno: int, fragment: str) -> None:
    expect_error(parse_qdisc_text, text, lineno, fragment)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{}", "a JSON list"),
        ("[1]", "not an object"),
        ('[{"handle": "1:", "dev": "eth0", "root": true}]', "'kind' missing"),
        ('[{"kind": "tbf", "handle": "1:", "dev": "eth0", "root": true}]', "no statistics"),
        ('[{"kind": "tbf", "handle": "1:", "dev": "eth0", "bytes": 1}]', "neither root"),
        ('[{"kind": "tbf", "handle": "1:", "dev": "eth0", "parent": 5, "bytes": 1}]', "'parent'"),
        ('[{"kind": "tbf", "handle": "1:", "dev": "eth0", "root": true, "bytes": 1}]', "'packets'"),
        ('[{"kind":"t","handle":"1:","dev":"e","root":true,"bytes":1.5}]', "'bytes'"),
        ('[{"kind":"t","handle":"1:","dev":"e","root":true,"bytes":true}]', "'bytes'"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_tc_json_malformed(text: str, fragment: str) -> None:
    expect_error(parse_qdisc_json, text, None, fragment)


def test_tc_json_syntax_error_names_the_line() -> None:
    pretty = '[ {\n    "kind": "tbf",\n    "handle": "1:"\n    "dev": "eth0"\n} ]\n'
    err = expect_error(parse_qdisc_json, pretty, 4, "not JSON")
    assert err.line == '    "dev": "eth0"'


# ---------------------------------------------------------------- fuzz

PARSERS: list[tuple[str, Callable[[str], object]]] = [
    ("proc/snmp", parse_snmp),
    ("proc/snmp.netns", parse_snmp),
    ("proc/netstat.netns", parse_netstat),
    ("proc/snmp6.netns", parse_snmp6),
    ("proc/sockstat.netns", parse_sockstat),
    ("proc/sockstat6.netns", parse_sockstat),
    ("proc/softnet_stat", parse_softnet),
    ("proc/dev.netns", parse_dev),
    ("proc/limits", parse_limits),
    ("proc/sys/net.ipv4.tcp_mem", parse_value),
    ("proc/sys/fs.file-nr", parse_value),
    ("sys/class/net/vcap0/speed", parse_speed),
    ("sys/class/net/vcap0/duplex", parse_duplex),
    ("sys/class/net/vcap0/operstate", parse_operstate),
    ("tc/qdisc-netns.json", parse_qdiscs),
    ("tc/qdisc-netns.txt", parse_qdiscs),
]
_NOISE = [
    "",
    " ",
    "\t",
    "\n",
    ":",
    "-",
    "x",
    "0",
    "9",
    "f",
    "|",
    "[",
    "]",
    "{",
    '"',
    ",",
    "\x00",
    "é",
    "١",
]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(7)
        pos = rng.randrange(len(text) + 1)
        if kind == 0:  # truncate
            text = text[:pos]
        elif kind == 1:  # delete a span
            text = text[:pos] + text[pos + rng.randint(1, 20) :]
        elif kind == 2:  # insert noise
            text = text[:pos] + rng.choice(_NOISE) + text[pos:]
        elif kind == 3:  # replace one character
            text = text[:pos] + rng.choice(_NOISE) + text[pos + 1 :]
        else:  # shuffle, drop or duplicate whole lines
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if kind == 4:
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == 5:
                del lines[i]
            else:
                lines.insert(i, lines[j])
            text = "\n".join(lines)
    return text


@pytest.mark.parametrize(("name", "parse"), PARSERS, ids=[name for name, _ in PARSERS])
def test_fuzz_only_result_or_parse_error(name: str, parse: Callable[[str], object]) -> None:
    original = fixture(name)
    parse(original)
    rng = random.Random(f"sockdoc-{name}")
    for _ in range(400):
        text = _mutate(original, rng)
        try:
            parse(text)
        except ParseError as err:
            assert err.lineno is None or err.lineno >= 1
            assert "\n" not in str(err)
