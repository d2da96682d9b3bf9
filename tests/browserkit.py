"""Debian's Chromium, driven headless by Playwright, for the report's browser test.

:func:`open_page` loads a local HTML file the way a reader would (``file://``), with every
request that is not a ``file://`` URL aborted and recorded, and every console error and page
error collected; no browser is downloaded (``/usr/bin/chromium`` from the ``chromium``
package). As a program it makes the README's screenshot of a report::

    .venv/bin/python tests/browserkit.py REPORT.html OUT.png [HEIGHT]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# no GPU, no QUIC, no first-run, background or update traffic: the only requests are the page's
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH = 1200


def require_browser() -> None:
    """Playwright and Debian's chromium are installed (``scripts/install --test``); skip
    without them, or fail under CI=true."""
    why = None
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        why = "playwright (python) is not installed"
    if why is None and not os.access(CHROMIUM, os.X_OK):
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: the browser test must run: {why}")
    pytest.skip(f"{why} (scripts/install --test installs it)")


@dataclass
class Visit:
    """What happened while a page was open."""

    page: Any  # playwright.sync_api.Page
    requested: list[str] = field(default_factory=list)  # every URL the page asked for
    blocked: list[str] = field(default_factory=list)  # those that were not file:// (aborted)
    errors: list[str] = field(default_factory=list)  # console errors and page errors


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (a playwright ``Browser``), closed when the block ends."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Any, path: Path, height: int = 900) -> Iterator[Visit]:
    """``path`` open in a new page of ``browser``; the page is closed when the block ends."""
    from playwright.sync_api import Route  # noqa: PLC0415

    page = browser.new_page(viewport={"width": WIDTH, "height": height})
    visit = Visit(page)

    def route(r: Route) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            visit.blocked.append(r.request.url)
            r.abort()

    def console(m: Any) -> None:
        if m.type == "error":
            visit.errors.append(f"console error: {m.text}")

    page.route("**/*", route)
    page.on("request", lambda r: visit.requested.append(r.url))
    page.on("console", console)
    page.on("pageerror", lambda e: visit.errors.append(f"page error: {e}"))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        yield visit
    finally:
        page.close()


def screenshot(html: Path, png: Path, height: int | None = None) -> None:
    """A PNG of ``html`` as Chromium shows it, ``WIDTH`` pixels wide: the top ``height``
    pixels, or the whole page."""
    with chromium() as browser, open_page(browser, html) as v:
        assert not v.blocked and not v.errors, (v.blocked, v.errors)
        if height is None:
            v.page.screenshot(path=str(png), full_page=True)
        else:
            clip = {"x": 0, "y": 0, "width": WIDTH, "height": height}
            v.page.screenshot(path=str(png), full_page=True, clip=clip)


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if sys.argv[3:] else None)
