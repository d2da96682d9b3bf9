"""BIND's failed sends invisible: not logged where anyone reads, and not counted where sockdoc
can read them.

BIND 9.16 and later no longer log "error sending response" (the ISC note's wording). 9.18 logs
a failed answer per client as ``client @0x... ADDR#PORT (QNAME): send failed: REASON`` in
category ``security`` at severity ``debug 3`` (lib/ns/client.c), which named's defaults write
nowhere: ``security`` goes to ``default_syslog`` (severity info) and ``default_debug`` (only
while named runs with ``-d`` 3 or more, or after ``rndc trace 3``). Since 9.18.31 a summary,
``Sending UDP messages failed: REASON``, goes to category ``general`` at ``error``, at most once
a second, so a thousand failures a second look like one line a second. The exact count is in
the statistics channel (``UDP4SendErr``/``UDP6SendErr``), if ``statistics-channels`` is
configured. Measured here on 9.18.49: 9,589 failed sends gave 9,589 ``send failed`` lines at
debug 3 and 3 ``Sending UDP messages failed`` lines.

Proof: which channels category ``security`` reaches at ``debug 3`` in ``named-checkconf -p``
(with named's implicit defaults and its ``-d``/``-g`` command line), and whether a statistics
channel exists. Advice (info) while nothing fails; a warning when sends fail now (named's
counters or the kernel's ``Udp.SndbufErrors`` rise). Fix: a ``statistics-channels`` statement
(cheap: counters only), and a file channel at ``severity debug 3`` for category ``security``
while investigating: it also logs about four lines (~500 bytes) for every query (measured:
20,000 queries wrote 80,064 lines, 10 MB), so give it a size and rotation.
"""

from __future__ import annotations

from collections.abc import Iterator

from sockdoc.causes import Cause
from sockdoc.facts.host import HostFacts
from sockdoc.matchers.base import Confidence, Severity
from sockdoc.parsers.named_conf import BindConfig, category_channels, logs_category_at
from sockdoc.rules.base import (
    ConfigChange,
    Evidence,
    Finding,
    Fix,
    NotChecked,
    Ok,
    Outcome,
    Rule,
    Subject,
    describe_missing,
)
from sockdoc.rules.bind_send_errors import (
    bind_config,
    logs_to_stderr,
    send_errors,
    server_debug,
)

ID = "bind-send-failures-hidden"
CONF = "named-checkconf -p"
KEYS = ("cmd/named-checkconf",)
SEND_DEBUG = 3  # ns_client_send() logs "send failed" at ISC_LOG_DEBUG(3)
ERROR_LEVEL = -4  # ISC_LOG_ERROR: "Sending UDP messages failed"
LOG_FILE = "/var/log/named/security.log"  # Debian's AppArmor profile lets named write here
STATS_SNIPPET = """statistics-channels {
    inet 127.0.0.1 port 8053 allow { 127.0.0.1; };
};"""
CHANNEL = f"""    channel send_failures {{
        file "{LOG_FILE}" versions 5 size 100m;
        severity debug 3;
        print-time yes;
        print-category yes;
        print-severity yes;
    }};"""


def _channels_text(conf: BindConfig, category: str) -> str:
    chans = category_channels(conf, category)
    return ", ".join(f"{c.name} ({c.destination}, {c.severity})" for c in chans) or "none"


def logging_snippet(conf: BindConfig) -> str:
    """The logging text to add: a file channel at debug 3 for ``security``, keeping the
    channels the category reaches today (a category listed in ``logging`` uses only the
    channels listed there)."""
    keep = [c.name for c in category_channels(conf, "security") if c.destination != "null"]
    names = ["send_failures", *[n for n in keep if n != "send_failures"]]
    category = "    category security { " + " ".join(f"{n};" for n in names) + " };"
    if conf.has_logging:
        return f"{CHANNEL}\n{category}"
    return f"logging {{\n{CHANNEL}\n{category}\n}};"


def check(f: HostFacts) -> Iterator[Outcome]:
    named = f.daemon("bind")
    if named is None:
        return
    conf = bind_config(f)
    if conf is None:
        yield NotChecked(ID, describe_missing(f, *KEYS) or "named's configuration not read", KEYS)
        return
    debug = server_debug(named)
    stderr = logs_to_stderr(named)
    if stderr:
        visible = debug >= SEND_DEBUG
        summary_visible = True
    else:
        visible = logs_category_at(conf, "security", SEND_DEBUG, server_debug=debug)
        summary_visible = logs_category_at(conf, "general", ERROR_LEVEL, server_debug=debug)
    stats = conf.statistics_channels
    if visible and stats:
        c = stats[0]
        yield Ok(
            ID,
            f"named logs each failed send (category security at debug 3 reaches "
            f"{_channels_text(conf, 'security')}) and counts them in its statistics channel "
            f"{c.address}:{c.port}",
        )
        return
    counts = send_errors(f)
    bind_failed = counts[0] if counts is not None else 0
    kernel = f.delta("Udp.SndbufErrors", "Udp6.SndbufErrors")
    failing = bind_failed > 0 or kernel > 0
    ev = [
        Evidence(
            "category security reaches",
            "stderr (named -g)" if stderr else _channels_text(conf, "security"),
            "",
            CONF,
        ),
        Evidence("named's debug level", debug, "", "command line -d"),
        Evidence("'send failed' lines (debug 3) written", "yes" if visible else "no", "", CONF),
        Evidence(
            "'Sending UDP messages failed' (general, error) written",
            "yes" if summary_visible else "no",
            "",
            CONF,
        ),
        Evidence(
            "statistics channel",
            ", ".join(f"{c.address}:{c.port}" for c in stats) or "none",
            "",
            CONF,
        ),
        Evidence(
            "named's failed UDP sends in the interval",
            bind_failed if counts is not None else "not counted (statistics channel not read)",
            "",
            "statistics channel",
        ),
        Evidence("Udp.SndbufErrors in the interval", kernel, "", "/proc/net/snmp"),
    ]
    if named.version:
        ev.append(Evidence("version", named.version.split(" (")[0], "", "named -v"))
    hidden = []
    if not visible:
        hidden.append(
            "named writes its per-client 'send failed' lines (category security, debug 3) "
            "nowhere"
            + ("" if summary_visible else ", nor the 'Sending UDP messages failed' summary")
        )
    if not stats:
        hidden.append("named has no statistics channel, so its count of failed sends is unread")
    config = []
    if not stats:
        config.append(ConfigChange("named.conf (top level)", STATS_SNIPPET, "rndc reconfig"))
    if not visible:
        config.append(
            ConfigChange(
                "named.conf (inside the existing logging statement)"
                if conf.has_logging
                else "named.conf (top level)",
                logging_snippet(conf),
                "rndc reconfig",
            )
        )
    pid = named.main.pid if named.main is not None else None
    yield Finding(
        rule=ID,
        title="named's failed sends are "
        + ("not logged" if not visible else "not counted")
        + (" while sends fail" if failing else ""),
        cause=Cause.LOG_SUPPRESSED,
        severity=Severity.WARNING if failing else Severity.INFO,
        confidence=Confidence.HIGH,
        subject=Subject("daemon", "named", pid, "named"),
        explanation=(
            "; ".join(hidden)
            + "."
            + (
                " Sends are failing now ("
                + (f"{bind_failed:,} counted by named, " if counts is not None else "")
                + f"{kernel:,} Udp.SndbufErrors in the interval): the log does not show them."
                if failing
                else " A send failure would go unnoticed."
            )
        ),
        evidence=tuple(ev),
        fix=Fix(
            "; ".join(
                ([] if stats else ["Add a statistics channel (counters only, no log volume)"])
                + (
                    []
                    if visible
                    else [
                        ("and l" if not stats else "L")
                        + "og category security at debug 3 to its own file while "
                        "investigating: it also writes about four lines (~500 bytes) per "
                        f"query, so keep the size limit (mkdir -p {LOG_FILE.rsplit('/', 1)[0]}"
                        " and make it writable by named)"
                    ]
                )
            )
            + ".",
            config=tuple(config),
        ),
    )


RULE = Rule(ID, "BIND send failures not logged or counted", Cause.LOG_SUPPRESSED, check, needs=KEYS)
