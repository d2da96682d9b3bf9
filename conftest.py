"""Test-wide setup: local time is UTC, so time stamps without a zone read the same everywhere."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()
