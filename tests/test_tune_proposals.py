"""sockdoc tune, pure parts: the proposals each rule fixture gives (exact values, merged, never
lowered), the values refused as unsafe, the files rendered, and the diff and JSON shown."""

from __future__ import annotations

import json
from pathlib import Path

from overlaykit import text_of, variant
from rulekit import facts_for
from tunekit import plan_for

from sockdoc.collect.bundle import opened
from sockdoc.collect.gather import GatherOptions, gather
from sockdoc.engine import diagnose
from sockdoc.facts.host import build
from sockdoc.tune import files, proposals, safety, show
from sockdoc.tune.proposals import Plan, Setting

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
GIB_MEMINFO = "MemTotal:        4194304 kB\n"  # a 4 GiB host


def changes(plan: Plan) -> dict[str, tuple[object, object]]:
    return {s.label: (s.current, s.value) for s in plan.changes}


def test_listen_backlog_capped_merges_to_the_largest_and_adds_the_demand() -> None:
    plan, _ = plan_for("listen-backlog-capped/fires")
    assert changes(plan) == {"net.core.somaxconn": (128, 8192)}
    (s,) = plan.changes
    assert s.file == "/etc/netns/sdcap/sysctl.d/90-sockdoc.conf"
    asked = sorted((r.rule, r.subject, r.asked) for r in s.reasons)
    assert asked == [
        ("listen-backlog-capped", "127.0.0.1:18080 (nginx[13376])", 8192),
        ("listen-backlog-capped", "127.0.0.1:18081 (nginx[13376])", 8192),
        ("listen-backlog-capped", "127.0.0.1:19000 (php-fpm8.2[13379])", 8192),
        ("tcp-listen-queue-full", "127.0.0.1:18080 (nginx[13376])", 1024),
        # tune's own: longest queue 129 + 142 dropped = 271, as a power of two
        ("tune", "127.0.0.1:18080 (nginx[13376])", 512),
    ]
    mine = next(r for r in s.reasons if r.rule == "tune")
    assert {e.name: e.value for e in mine.evidence} == {
        "backlog granted (ss -l Send-Q)": 128,
        "net.core.somaxconn": 128,
        "longest queue seen": 129,
        "connections dropped in 2.0 s": 142,
    }
    assert "systemctl restart nginx.service" in s.then
    assert "systemctl restart php8.2-fpm.service" in s.then
    assert plan.findings == 4 and not plan.kept and not plan.skipped


def test_dovecot_client_limit_lowers_client_limit_on_purpose_only() -> None:
    plan, _ = plan_for("dovecot-client-limit/fires")
    assert changes(plan) == {
        "service imap { client_limit }": (5, 1),
        "service imap { process_limit }": (1, 20),
        "service imap { process_min_avail }": (0, 1),
    }
    by = {s.name: s for s in plan.changes}
    assert by["client_limit"].lowers and not by["process_limit"].lowers
    assert sorted((r.rule, r.asked) for r in by["process_limit"].reasons) == [
        ("dovecot-client-limit", 20),
        ("dovecot-process-limit", 10),
    ]
    assert {s.file for s in plan.changes} == {"/tmp/dvlab/clients/conf.d/90-sockdoc.conf"}
    assert by["process_limit"].then == ("doveadm -c /tmp/dvlab/clients/dovecot.conf reload",)
    # the info finding's service_count = 0 for imap-login is advice, not a proposal
    assert [a.rule for a in plan.advice] == ["dovecot-master-busy"]
    assert "!include_try conf.d/90-sockdoc.conf" in plan.notes[0]


def test_dovecot_process_limit() -> None:
    plan, _ = plan_for("dovecot-process-limit/fires")
    assert changes(plan) == {
        "service imap { process_limit }": (1, 30),
        "service imap { process_min_avail }": (0, 5),
    }
    assert [a.rule for a in plan.elsewhere] == ["unix-listen-queue-full"]


def test_a_setting_already_larger_is_kept(tmp_path: Path) -> None:
    doveconf = text_of("dovecot-process-limit/fires", "cmd/doveconf-a").replace(
        "  process_limit = 1\n  process_min_avail = 0\n  protocol = imap\n",
        "  process_limit = 1\n  process_min_avail = 8\n  protocol = imap\n",
    )
    v = variant(tmp_path, "dovecot-process-limit/fires", replace={"cmd/doveconf-a": doveconf})
    plan, _ = plan_for(str(v))
    assert changes(plan) == {"service imap { process_limit }": (1, 30)}
    assert [(s.label, s.current, s.value) for s in plan.kept] == [
        ("service imap { process_min_avail }", 8, 5)
    ]


def test_limit_nofile_keeps_the_hard_limit_and_leaves_nginx_conf_to_the_operator() -> None:
    plan, _ = plan_for("daemon-fd-limit/fires")
    assert changes(plan) == {"nginx.service LimitNOFILE": ((64, 64), (1024, 1024))}
    assert plan.changes[0].file == "/etc/systemd/system/nginx.service.d/90-sockdoc.conf"
    (manual,) = plan.manual
    assert (manual.file, manual.text) == (
        "/etc/nginx/nginx.conf (main context)",
        "worker_rlimit_nofile 1024;\n",
    )
    plan, _ = plan_for("dovecot-fd-limit/fires")
    assert changes(plan) == {"dovecot.service LimitNOFILE": ((512, 512), (2048, 2048))}


def test_host_sysctls() -> None:
    assert changes(plan_for("file-max/fires")[0]) == {"fs.file-max": (2466177, 8388608)}
    assert changes(plan_for("socket-memory-pressure/fires")[0]) == {
        "net.ipv4.tcp_mem": ((287901, 383868, 575802), (1151604, 1535472, 2303208))
    }
    assert changes(plan_for("softnet-backlog-drops/fires")[0]) == {
        "net.core.netdev_budget": (300, 600),
        "net.core.netdev_budget_usecs": (8000, 16000),
        "net.core.netdev_max_backlog": (1000, 2048),
    }
    plan, _ = plan_for("tcp-syn-queue-full/fires")
    assert changes(plan) == {"net.ipv4.tcp_syncookies": (0, 1)}
    assert plan.changes[0].file == "/etc/netns/sdqa/sysctl.d/90-sockdoc.conf"


def test_host_wide_sysctls_are_skipped_for_a_namespace() -> None:
    plan, _ = plan_for("qdisc-drops/fires")  # captured in namespace sdqa
    assert not plan.changes
    (sk,) = plan.skipped
    assert (sk.setting.name, sk.setting.value, sk.refused) == (
        "net.core.wmem_default",
        1048576,
        False,
    )
    assert "host's setting, not network namespace sdqa's" in sk.why
    plan, _ = plan_for("qdisc-drops/fires", netns=None)  # the same, for the host
    assert changes(plan) == {"net.core.wmem_default": (212992, 1048576)}
    assert plan.changes[0].file == "/etc/sysctl.d/90-sockdoc.conf"
    plan, _ = plan_for("conntrack-table-full/fires")
    assert [s.setting.name for s in plan.skipped] == [
        "net.netfilter.nf_conntrack_max",
        "net.netfilter.nf_conntrack_buckets",
    ]


def test_info_and_settingless_fixes_propose_nothing() -> None:
    plan, _ = plan_for("socket-buffer-capped/fires")
    assert not plan.changes
    assert sorted(a.rule for a in plan.advice) == [
        "bind-send-failures-hidden",
        "socket-buffer-capped",
    ]
    with opened(str(BUNDLES / "overflow.tar.gz")) as root:
        facts = build(gather(root, GatherOptions()))
    plan = proposals.propose(diagnose(facts), facts.netns)
    assert not plan.changes and not plan.manual
    assert [a.rule for a in plan.elsewhere] == [
        "tcp-listen-queue-full",
        "udp-receive-buffer-errors",
        "unix-listen-queue-full",
    ]


def test_values_read_again_before_applying() -> None:
    plan, _ = plan_for("listen-backlog-capped/fires")
    key: proposals.Key = ("sysctl", "", "net.core.somaxconn")
    raised = proposals.with_current(plan, {key: 16384})
    assert not raised.changes and raised.kept[0].current == 16384
    lower = proposals.with_current(plan, {key: 64})
    assert lower.changes[0].current == 64 and lower.changes[0].value == 8192


# --- safety ----------------------------------------------------------------------------------


def test_buffers_and_socket_memory_are_bounded_by_ram() -> None:
    plan, _ = plan_for("qdisc-drops/fires", netns=None, meminfo="MemTotal: 32768 kB\n")
    (sk,) = plan.refused  # 1 MiB default on a 32 MiB host: above 1/64 of RAM (512 KiB)
    assert sk.setting.name == "net.core.wmem_default"
    assert "above 524,288 bytes, 1/64 of RAM (RAM 32 MiB, /proc/meminfo MemTotal)" in sk.why
    assert "doubles" in sk.why
    plan, _ = plan_for("socket-memory-pressure/fires", meminfo=GIB_MEMINFO)
    (sk,) = plan.refused  # 2,303,208 pages = 8.8 GiB, above half of 4 GiB
    assert sk.why.startswith(
        "net.ipv4.tcp_mem max 2,303,208 pages (8.8 GiB) is above half of RAM (RAM 4.0 GiB"
    )
    # the same proposal on this fixture's own host (RAM estimated from tcp_mem) is fine
    plan, _ = plan_for("socket-memory-pressure/fires")
    assert not plan.refused and len(plan.changes) == 1


def test_conntrack_is_bounded_by_ram() -> None:
    plan, _ = plan_for("conntrack-table-full/fires", netns=None, meminfo=GIB_MEMINFO)
    assert changes(plan) == {
        "net.netfilter.nf_conntrack_buckets": (None, 524288),
        "net.netfilter.nf_conntrack_max": (262144, 524288),
    }
    plan, _ = plan_for("conntrack-table-full/fires", netns=None, meminfo="MemTotal: 524288 kB\n")
    assert [sk.setting.name for sk in plan.refused] == [
        "net.netfilter.nf_conntrack_buckets",
        "net.netfilter.nf_conntrack_max",
    ]
    assert "above 1/8 of RAM" in plan.refused[0].why


def _setting(kind: str, scope: str, name: str, value: object, current: object = None) -> Setting:
    return Setting(kind, scope, name, current, value, "/f", ())  # type: ignore[arg-type]


def test_kernel_maximums_and_nr_open() -> None:
    old = safety.Bounds(None, "unknown", (3, 10, 0), 1048576)
    new = safety.Bounds(None, "unknown", (6, 18, 44), 65536)
    s = _setting("sysctl", "", "net.core.somaxconn", 131072)
    why = safety.refusal(s, old)
    assert why == (
        "net.core.somaxconn = 131,072 is above the kernel's maximum 65,535: before Linux 4.1 a "
        "listener's backlog is a 16-bit number and a larger value wraps around to a tiny queue."
    )
    assert safety.refusal(s, new) is None
    assert "2,147,483,647" in (
        safety.refusal(_setting("sysctl", "", "net.core.somaxconn", 2**31), new) or ""
    )
    limit = _setting("systemd", "dovecot.service", "LimitNOFILE", (131072, 131072))
    why = safety.refusal(limit, new) or ""
    assert why.startswith("dovecot.service LimitNOFILE = 131,072 is above fs.nr_open 65,536")
    assert "fail to start" in why
    assert safety.refusal(limit, old) is None
    # no RAM known: the buffer bound is the rules' own 64 MiB
    big = _setting("sysctl", "", "net.core.rmem_max", 128 << 20)
    assert "is above 64 MiB, 64 MiB" in (safety.refusal(big, new) or "")
    assert safety.refusal(_setting("sysctl", "", "fs.file-max", 2**40), new) is None


def test_dovecot_min_avail_above_process_limit_is_refused() -> None:
    plan = Plan(
        changes=(_setting("dovecot", "imap", "process_min_avail", 50, 0),),
        kept=(_setting("dovecot", "imap", "process_limit", 20, 40),),
        skipped=(),
        manual=(),
        advice=(),
        netns=None,
        findings=1,
    )
    screened = safety.screen(plan, safety.Bounds(None, "unknown", None, 1 << 20))
    assert not screened.changes
    assert screened.refused[0].why == (
        "service imap: process_min_avail 50 is above its process_limit 40; Dovecot refuses to "
        "start with such a configuration."
    )


def test_ram_from_the_bundle_or_meminfo() -> None:
    facts = facts_for("file-max/fires")
    est = safety.bounds(facts)
    assert est.ram == 383868 * 16 * 4096 and est.ram_source.startswith("estimated")
    assert safety.bounds(facts, GIB_MEMINFO).ram == 4 << 30
    assert est.nr_open == 1048576 and est.kernel == (6, 18, 44)


# --- files and what is shown ------------------------------------------------------------------


def test_sysctl_file_and_a_previous_version_of_it() -> None:
    plan, _ = plan_for("listen-backlog-capped/fires")
    path = "/etc/netns/sdcap/sysctl.d/90-sockdoc.conf"
    old = b"# earlier\nnet.ipv4.tcp_syncookies = 1\nnet.core.somaxconn = 1024\n"
    (f,) = files.render(plan, {path: old})
    text = f.data.decode()
    lines = [x for x in text.splitlines() if x and not x.startswith("#")]
    assert lines == ["net.core.somaxconn = 8192", "net.ipv4.tcp_syncookies = 1"]
    assert "# net.core.somaxconn: was 128\n" in text
    assert "#   tune (127.0.0.1:18080 (nginx[13376])) asked for 512\n" in text
    assert f.kept == ("net.ipv4.tcp_syncookies = 1",)
    assert f.activate == (f"ip netns exec sdcap sysctl -p {path}",)
    (fresh,) = files.render(plan, {})
    assert fresh.kept == () and "kept from the previous" not in fresh.data.decode()


def test_dovecot_and_systemd_files() -> None:
    plan, _ = plan_for("dovecot-client-limit/fires")
    path = "/tmp/dvlab/clients/conf.d/90-sockdoc.conf"
    old = (
        b"service imap {\n  process_limit = 9\n  vsz_limit = 512 M\n}\n"
        b"service pop3 {\n  process_limit = 7\n}\n"
    )
    (f,) = files.render(plan, {path: old})
    body = [
        x.strip()
        for x in f.data.decode().splitlines()
        if x.strip() and not x.lstrip().startswith("#")
    ]
    assert body == [
        "service imap {",
        "client_limit = 1",
        "process_limit = 20",
        "process_min_avail = 1",
        "vsz_limit = 512 M",
        "}",
        "service pop3 {",
        "process_limit = 7",
        "}",
    ]
    plan, _ = plan_for("daemon-fd-limit/fires")
    (f,) = files.render(plan, {})
    assert [x for x in f.data.decode().splitlines() if not x.startswith("#")] == [
        "[Service]",
        "LimitNOFILE=1024:1024",
    ]
    assert f.activate == ("systemctl daemon-reload && systemctl restart nginx.service",)


def test_text_diff_and_json() -> None:
    plan, facts = plan_for("listen-backlog-capped/fires")
    fs = files.render(plan, {})
    out = show.text(plan, "fixture", fs)
    assert "- net.core.somaxconn = 128\n+ net.core.somaxconn = 8192\n" in out
    assert out.startswith("sockdoc tune: 1 setting to change, from 4 findings (fixture)\n")
    assert "listen-backlog-capped (127.0.0.1:18081 (nginx[13376])) asks for 8192:" in out
    assert "a queue of its longest 129 plus those 142 would have held them all" in out
    doc = show.to_json(plan, facts, fs, safety.bounds(facts))
    json.dumps(doc)  # serialisable
    (c,) = doc["changes"]
    assert (c["name"], c["current"], c["value"]) == ("net.core.somaxconn", 128, 8192)
    assert doc["target_netns"] == "sdcap" and doc["files"][0]["text"] == fs[0].data.decode()
    assert doc["bounds"]["somaxconn_max"] == 2**31 - 1
    plan, facts = plan_for("socket-memory-pressure/fires")
    doc = show.to_json(plan, facts, files.render(plan, {}), safety.bounds(facts))
    assert doc["changes"][0]["value"] == [1151604, 1535472, 2303208]
    assert "net.ipv4.tcp_mem = 1151604 1535472 2303208\n" in doc["files"][0]["text"]
