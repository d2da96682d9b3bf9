"""The lab's scenarios, one module per failure mode, each exporting ``SPEC``."""

from __future__ import annotations

from sockdoc.lab.scenario import Spec
from sockdoc.lab.scenarios import fd_limit, tcp_backlog, udp_receive, udp_send, unix_backlog

SCENARIOS: dict[str, Spec] = {
    m.SPEC.name: m.SPEC for m in (udp_send, udp_receive, unix_backlog, tcp_backlog, fd_limit)
}
