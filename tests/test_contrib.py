"""contrib/: the Prometheus alert rules and their unit tests, the scrape and Alertmanager
examples, the Grafana dashboard and the systemd unit, checked with the real tools.

promtool (Debian package ``prometheus``) and amtool (``prometheus-alertmanager``) are required
under CI=true; elsewhere a test that needs a missing tool skips with the reason. Every metric
name used by a rule or a panel must be one of docs/metrics.md's tables (or Prometheus' own
``up``), and every metric there must be on the dashboard.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sockdoc.causes import Cause
from sockdoc.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "metrics.md"
PROM = ROOT / "contrib" / "prometheus"
RULES = PROM / "sockdoc.rules.yml"
RULE_TESTS = PROM / "sockdoc.rules.test.yml"
SCRAPE = PROM / "scrape.yml"
ALERTMANAGER = PROM / "alertmanager.example.yml"
DASHBOARD = ROOT / "contrib" / "grafana" / "sockdoc.json"
UNIT = ROOT / "contrib" / "systemd" / "sockdoc-exporter.service"

JOB = "sockdoc"
PORT = "10271"
EVALUATION_SECONDS = 15
# alerts whose value is a constant (0, 1, absent()): their description has no $value
CONSTANT_VALUE = {
    "SockdocTargetDown",
    "SockdocExporterAbsent",
    "SockdocSourceDown",
    "SockdocFinding",
}
# alerts about no single cause family: the log alert takes `cause` from its series, the finding
# alert names sockdoc's rule instead, the exporter's health has no cause
NO_STATIC_CAUSE = {
    "SockdocLogFailures",
    "SockdocFinding",
    "SockdocTargetDown",
    "SockdocExporterAbsent",
    "SockdocSourceDown",
    "SockdocScrapeSlow",
}
DS_UID = "${DS_PROMETHEUS}"
INSTANCE_FILTER = 'instance=~"$instance"'


def tool(name: str, package: str) -> str:
    """The tool's path; skip without it, except under CI=true, where it must be installed."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {name} is required (Debian package {package})")
        pytest.skip(f"{name} is not installed (Debian package {package})")
    return path


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def documented_metrics() -> set[str]:
    """Metric names in the first column of docs/metrics.md's tables."""
    names: set[str] = set()
    for line in DOCS.read_text().splitlines():
        if line.startswith("| `sockdoc_"):
            first = re.split(r"(?<!\\)\|", line)[1]
            names.update(re.findall(r"`(sockdoc_\w+)`", first))
    return names


_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "inf", "nan"}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, keywords or labels).

    >>> sorted(metric_names('sum by (a) (rate(x_total{b="c"}[5m])) / on (a) y > 1 and z offset 5m'))
    ['x_total', 'y', 'z']
    >>> sorted(metric_names('label_replace(m{n="o"}, "p", "$1", "q", "(.*)") or vector(0)'))
    ['m']
    """
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names: set[str] = set()
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)\s*(\(?)", e):
        word, call = m.groups()
        if not call and word not in _KEYWORDS:
            names.add(word)
    return names


def seconds(duration: str) -> int:
    """Seconds of a Prometheus duration such as ``12m15s``."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert m is not None and duration, duration
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    return h * 3600 + mi * 60 + s


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(RULES)["groups"]
    return groups


def alerts() -> Iterator[tuple[str, dict[str, Any]]]:
    """(group name, alerting rule) for every alert."""
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                yield group["name"], rule


def recorded() -> set[str]:
    return {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}


# --- alert rules ----------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    promtool = tool("promtool", "prometheus")
    done = run([promtool, "check", "rules", str(RULES)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass() -> None:
    promtool = tool("promtool", "prometheus")
    done = run([promtool, "test", "rules", RULE_TESTS.name], cwd=PROM)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_severity_cause_and_annotations() -> None:
    rule_ids = {r.id for r in all_rules()}
    causes = {c.value for c in Cause}
    seen = 0
    for group, rule in alerts():
        name, labels, ann = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        seen += 1
        assert labels.get("severity") in ("warning", "critical"), name
        assert {"summary", "description", "fix"} <= set(ann), name
        assert "$labels" in ann["description"], name
        if name not in CONSTANT_VALUE:
            assert "$value" in ann["description"], name
        if name in NO_STATIC_CAUSE:
            assert "cause" not in labels, f"{name}: a static cause would replace the series' own"
            continue
        assert labels.get("cause") in causes, f"{name} in {group}: cause {labels.get('cause')}"
        assert "sockdoc check" in ann["fix"], name
        named = [x.strip() for x in ann.get("sockdoc_rule", "").split(",")]
        assert named and set(named) <= rule_ids, f"{name}: sockdoc_rule {named}"
    assert seen >= 30


def test_log_alert_takes_cause_from_its_series() -> None:
    (rule,) = (r for _, r in alerts() if r["alert"] == "SockdocLogFailures" and "600" in r["expr"])
    assert "cause" in rule["annotations"]["description"]
    assert metric_names(rule["expr"]) == {"sockdoc:log_events:10m"}


def test_rules_use_only_documented_metrics() -> None:
    known = documented_metrics() | {"up"} | recorded()
    used: set[str] = set()
    for group in rule_groups():
        for rule in group["rules"]:
            names = metric_names(rule["expr"])
            assert names, rule
            assert names <= known, f"{rule.get('alert') or rule.get('record')}: {names - known}"
            used |= names
    assert recorded() <= used
    assert f'up{{job="{JOB}"}}' in RULES.read_text()


def test_unit_tests_fire_and_hold_back_every_alert() -> None:
    """Each alert and severity is seen not firing, then firing one evaluation later (the `for:`
    boundary, or the threshold crossing when there is no `for:`), in the same test group."""
    doc = load_yaml(RULE_TESTS)
    assert doc["evaluation_interval"] == f"{EVALUATION_SECONDS}s"
    onsets: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for case in doc["tests"]:
        firing: dict[str, dict[int, set[str]]] = defaultdict(dict)
        for t in case.get("alert_rule_test", []):
            sev = {a["exp_labels"]["severity"] for a in t.get("exp_alerts") or []}
            firing[t["alertname"]][seconds(t["eval_time"])] = sev
            if not sev:
                quiet.add(t["alertname"])
        for alert, times in firing.items():
            for at, severities in times.items():
                before = times.get(at - EVALUATION_SECONDS)
                if before is not None:
                    onsets.update((alert, s) for s in severities - before)
    wanted = {(r["alert"], r["labels"]["severity"]) for _, r in alerts()}
    assert wanted - onsets == set()
    assert {a for a, _ in wanted} - quiet == set()


def test_recording_rule_has_expression_tests() -> None:
    doc = load_yaml(RULE_TESTS)
    tested = {
        name
        for case in doc["tests"]
        for t in case.get("promql_expr_test", [])
        for name in metric_names(t["expr"])
    }
    assert recorded() <= tested


# --- scrape configuration and Alertmanager ------------------------------------------------


def _file_sd_example() -> str:
    """The target file shown in scrape.yml's comment, uncommented."""
    lines = SCRAPE.read_text().splitlines()
    start = next(i for i, x in enumerate(lines) if "sockdoc-targets/web.yml:" in x) + 1
    out = []
    for line in lines[start:]:
        text = line.strip()
        if not text.startswith("#   "):
            break
        out.append(text[4:])
    assert out
    return "\n".join(out) + "\n"


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    promtool = tool("promtool", "prometheus")
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "web.yml").write_text(_file_sd_example())
    (tmp_path / "ca.crt").write_text("")
    (tmp_path / "password").write_text("secret\n")
    shutil.copy(RULES, tmp_path / RULES.name)
    text = SCRAPE.read_text()
    for old, new in (
        ("/etc/prometheus/sockdoc.rules.yml", tmp_path / RULES.name),
        ("/etc/prometheus/sockdoc-targets/", f"{tmp_path / 'targets'}/"),
        ("/etc/prometheus/sockdoc-ca.crt", tmp_path / "ca.crt"),
        ("/etc/prometheus/sockdoc.password", tmp_path / "password"),
    ):
        assert old in text
        text = text.replace(old, str(new))
    config = tmp_path / "prometheus.yml"
    config.write_text(text)
    done = run([promtool, "check", "config", str(config)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_scrape_config_fleet_settings() -> None:
    doc = load_yaml(SCRAPE)
    assert doc["global"]["scrape_interval"] == "15s"
    (job,) = (j for j in doc["scrape_configs"] if j["job_name"] == JOB)
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    targets += [t for group in yaml.safe_load(_file_sd_example()) for t in group["targets"]]
    assert targets and all(t.endswith(f":{PORT}") for t in targets)
    assert job["file_sd_configs"]
    (relabel,) = (r for r in job["relabel_configs"] if r["target_label"] == "host")
    rx = re.compile(relabel["regex"])  # Prometheus anchors it at both ends
    for address, host in (("ns1.example.net:10271", "ns1.example.net"),
                          ("[2001:db8::1]:10271", "[2001:db8::1]")):  # fmt: skip
        m = rx.fullmatch(address)
        assert m is not None and m.expand(relabel["replacement"].replace("$1", r"\1")) == host


def _matcher_values(matchers: list[str], label: str) -> list[str]:
    """The alternatives a route's matchers give ``label`` (``a=~"x|y"`` gives x and y)."""
    out: list[str] = []
    for m in matchers:
        name, _, value = re.split(r'(=~|!=|!~|=)"', m[:-1] if m.endswith('"') else m, maxsplit=1)
        if name.strip() == label:
            out.extend(value.split("|"))
    return out


def test_alertmanager_routes_by_host_severity_and_cause() -> None:
    doc = load_yaml(ALERTMANAGER)
    route = doc["route"]
    assert route["group_by"] == ["host"]
    receivers = {r["name"] for r in doc["receivers"]}
    routes = route["routes"]
    assert route["receiver"] in receivers
    assert {r["receiver"] for r in routes} <= receivers
    names = {r["alert"] for _, r in alerts()}
    causes = {c.value for c in Cause}
    matchers = [m for r in routes for m in r["matchers"]]
    for value in _matcher_values(matchers, "alertname"):
        assert any(re.fullmatch(value, n) for n in names), value
    for value in _matcher_values(matchers, "cause"):
        assert value in causes, value
    assert _matcher_values(matchers, "severity") == ["critical"]
    used = {r["labels"].get("cause") for _, r in alerts()} - {None}
    assert used <= set(_matcher_values(matchers, "cause"))


def test_alertmanager_config_with_amtool() -> None:
    amtool = tool("amtool", "prometheus-alertmanager")
    done = run([amtool, "check-config", str(ALERTMANAGER)])
    assert done.returncode == 0, done.stdout + done.stderr
    for labels, receivers in (
        (["alertname=SockdocUDPSendBufferErrors", "severity=critical", "cause=send-buffer-full"],
         "oncall-pager,network-team"),
        (["alertname=SockdocDovecotListenerFull", "severity=warning",
          "cause=unix-listen-queue-full"], "mail-team"),
        (["alertname=SockdocDaemonFdLimit", "severity=warning", "cause=fd-limit"],
         "service-owners"),
        (["alertname=SockdocSourceDown", "severity=warning"], "monitoring"),
        (["alertname=SockdocFinding", "severity=warning", "rule=qdisc-drops"], "ops"),
    ):  # fmt: skip
        got = run([amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels])
        assert got.stdout.strip() == receivers, (labels, got.stdout, got.stderr)


# --- Grafana dashboard -----------------------------------------------------------------------


def _panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    flat = []
    for p in panels:
        flat.append(p)
        flat.extend(p.get("panels", []))
    return flat


def test_dashboard_variables() -> None:
    doc = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    instance = variables["instance"]
    assert instance["datasource"]["uid"] == DS_UID
    m = re.fullmatch(r"label_values\((\w+), instance\)", instance["query"]["query"])
    assert m is not None and m.group(1) in documented_metrics()
    assert doc["uid"] and doc["title"]


def test_dashboard_panels_query_documented_metrics_of_the_chosen_hosts() -> None:
    documented = documented_metrics()
    shown: set[str] = set()
    ids = []
    for panel in _panels():
        ids.append(panel["id"])
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DS_UID, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DS_UID, panel["title"]
            expr = target["expr"]
            names = metric_names(expr)
            assert names and names <= documented, (panel["title"], names - documented)
            for name in names:
                for m in re.finditer(rf"(?<![\w:]){name}(\{{[^}}]*\}})?", expr):
                    assert m.group(1) and INSTANCE_FILTER in m.group(1), (panel["title"], expr)
            shown |= names
    assert len(ids) == len(set(ids))
    assert documented - shown == set()


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = tool("promtool", "prometheus")
    rules = []
    for i, panel in enumerate(_panels()):
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$__range", "1h")
            rules.append({"record": f"dashboard:panel{i}:{target['refId']}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = run([promtool, "check", "rules", str(path)])
    assert done.returncode == 0, done.stdout + done.stderr


# --- systemd unit ----------------------------------------------------------------------------


def _unit() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out[key].append(value)
    return out


def test_systemd_unit_is_hardened() -> None:
    unit = _unit()
    for key, value in (
        ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"), ("DynamicUser", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"),
        ("CapabilityBoundingSet", "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"),
        ("AmbientCapabilities", "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"),
    ):  # fmt: skip
        assert unit[key] == [value], key
    assert unit["MemoryMax"]
    assert "User" not in unit
    (exec_start,) = unit["ExecStart"]
    assert exec_start.startswith("/usr/local/bin/sockdoc exporter --listen 127.0.0.1:10271")


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # verify insists that ExecStart's program exists: point it at this checkout's sockdoc
    sockdoc = Path(sys.executable).parent / "sockdoc"
    assert sockdoc.exists()
    text = UNIT.read_text().replace("/usr/local/bin/sockdoc", str(sockdoc))
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    done = run([analyze, "verify", str(copy)])
    assert done.returncode == 0 and not done.stderr.strip(), done.stdout + done.stderr
