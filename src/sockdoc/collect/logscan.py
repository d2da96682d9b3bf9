"""Recent log incidents for ``check``: ``sockdoc scan --json`` over the chosen logs, run as a
child process so that it uses the other core while the sampler polls sockets.

Default logs: the systemd journal when journald runs, else ``/var/log``; the last 24 hours.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

DEFAULT_WINDOW = "24h"
JOURNALD_SOCKET = "/run/systemd/journal/socket"


def default_sources() -> tuple[str, ...]:
    return ("journal",) if os.path.exists(JOURNALD_SOCKET) else ("/var/log",)


class LogScan:
    """A scan started now, collected later with :meth:`result`."""

    def __init__(self, sources: Sequence[str], since: str = DEFAULT_WINDOW) -> None:
        argv = [sys.executable, "-m", "sockdoc", "scan", "--json", "--since", since]
        paths = [s for s in sources if s != "journal"]
        if "journal" in sources:
            argv.append("--journal")
        argv += ["--", *paths]
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def result(self, timeout: float) -> bytes:
        """The scan's JSON document; raises TimeoutError or OSError when there is none."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise TimeoutError(f"log scan not finished after {timeout:.0f} s") from None
        # scan exits 0 (nothing found), 1 (found) or 3 (an input unreadable): all three
        # print the document
        if self.proc.returncode in (0, 1, 3) and out.lstrip().startswith(b"{"):
            return out
        why = err.decode("utf-8", "replace").strip().splitlines()
        raise OSError(why[-1] if why else f"sockdoc scan exited {self.proc.returncode}")

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
