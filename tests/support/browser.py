"""The portal in a real browser: Debian's Chromium driven by Playwright, axe-core and a 320 px reflow check on
every page a test lands on, and a portal served on a free port for the length of a test."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

AXE = (Path(__file__).parent.parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
PASSWORD = "a-long-test-password"


def chromium() -> str:
    found = os.environ.get("RETURNS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("RETURNS_REQUIRE_CHROMIUM"):
        pytest.fail("RETURNS_REQUIRE_CHROMIUM is set but Chromium is not installed (.ci/run installs it)")
    pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")


def open_browser(p):
    return p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])


def portal_settings(tmp: Path, database_url: str, open_quarter: str = "2017Q3"):
    """The portal's settings for a test: its folders under ``tmp``, plain http."""
    from portal.settings import Settings

    return Settings(
        database_url=database_url,
        landing=tmp / "portal-landing",
        archive=tmp / "archive",
        output=tmp / "output",
        dagster_home=tmp / "dagster",
        secret_key="browser-test-key",
        alerts=tmp / "alerts",
        open_quarter=open_quarter,
        secure_cookies=False,
    )


@contextmanager
def served(app) -> Iterator[str]:
    """The app served on a free local port while the block runs; its base address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class Visitor:
    """A browser page that checks every page it lands on with axe-core and keeps a screenshot of it."""

    def __init__(self, page, base: str):
        self.page, self.base, self.seen = page, base, []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.page.add_script_tag(content=AXE)
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            (v["id"], v["impact"], v["nodes"][0]["target"])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name} ({self.page.url}): {bad}"
        self.page.set_viewport_size({"width": 320, "height": 800})  # reflow (WCAG 1.4.10): no sideways scrolling
        wide = self.page.evaluate("() => document.documentElement.scrollWidth")
        culprits = self.page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 321
                    && !(e.parentElement && e.parentElement.closest('.app-table-scroll')))
                .slice(0, 5)
                .map(e => e.tagName + '.' + e.className + ' ' + getComputedStyle(e).overflowX + ' '
                    + e.getBoundingClientRect().right)"""
        )
        self.page.set_viewport_size({"width": 1200, "height": 900})
        assert wide <= 320, f"{name} ({self.page.url}) scrolls sideways at 320 px: {wide} px wide, {culprits}"
        self.seen.append(name)
        folder = os.environ.get("RETURNS_SCREENSHOTS")
        if folder:
            self.page.screenshot(path=str(Path(folder) / f"portal-{name}.png"), full_page=True)

    def go(self, path: str, name: str) -> None:
        self.page.goto(self.base + path)
        self.check(name)

    def sign_in(self, email: str) -> None:
        self.go("/sign-in", "sign-in")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        self.page.click("button:has-text('Sign in')")


def wait_for_feedback(visitor: Visitor, timeout: float = 180) -> None:
    """The follow page refreshes itself until the feedback is ready, then goes to it."""
    end = time.monotonic() + timeout
    while "/submissions/" not in visitor.page.url:
        assert time.monotonic() < end, f"no feedback after {timeout:.0f} s: {visitor.page.inner_text('main')}"
        assert "could not be checked" not in visitor.page.inner_text("main"), visitor.page.inner_text("main")
        time.sleep(0.5)
    visitor.page.wait_for_load_state("load")
