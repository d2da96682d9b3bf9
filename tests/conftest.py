"""Shared test setup: tests import helpers from sibling test modules."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# scenario scripts run inside network namespaces as programs, not as test modules
collect_ignore = ["scenarios"]
