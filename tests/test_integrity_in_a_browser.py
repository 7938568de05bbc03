"""A contract manager's integrity pages in a real browser (Chromium through Playwright), with axe-core and the
320 px reflow check on each: the quarter page's tag on the gaming provider, and its integrity page's chart per
flagged signal, from the signals the quarter build stored. ``RETURNS_SCREENSHOTS=<folder>`` keeps the pages."""

from __future__ import annotations

from tests.support.browser import PASSWORD, Visitor, open_browser, portal_settings, served

Q = "2016Q4"
CODES = ["C01", "C02", "C03", "C04", "C05", "C06"]


def test_the_quarter_tag_and_the_integrity_charts_pass_axe_and_reflow(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from portal.app import create_app
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.generator.gaming import Gaming
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    prepare(tmp_path / "dagster")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    upgrade(url)
    made = generate(
        tmp_path / "landing",
        [Quarter.parse(Q)],
        CODES,
        scale=0.05,
        seed=5,
        gaming={"C05": Gaming("due_day_appointments")},
    )
    run = run_quarter(
        Quarter.parse(Q),
        CODES,
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "output",
        database_url=url,
        extract=made.extract,
    )
    assert run.failed == []
    engine = engine_for(url)
    with session_scope(engine) as s:
        accounts.add_user(s, "manager@moj.example", "manager", PASSWORD, name="Alex Manager")
    app = create_app(portal_settings(tmp_path, url, Q))
    with served(app) as base:
        with sync_playwright() as p:
            browser = open_browser(p)
            context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
            v = Visitor(context.new_page(), base)
            v.sign_in("manager@moj.example")
            v.check("manager-quarter-integrity-tags")
            tags = v.page.locator("main a .govuk-tag--orange")
            assert tags.count() == 1 and tags.first.inner_text().endswith("integrity flags")
            v.page.click("a:has(.govuk-tag--orange)")
            v.check("manager-integrity")
            assert v.page.url.endswith(f"/manage/quarters/{Q}/providers/C05/integrity")
            main = v.page.inner_text("main")
            assert "Worked out and stored by the quarter build on" in main and "Flagged signals" in main
            charts = v.page.locator("figure svg[role=img]")
            assert charts.count() >= 1  # one per flagged signal, each with its title, description and table
            assert charts.first.locator("title").text_content().startswith("deadline_heaping SL001R")
            assert v.page.locator("table:has(caption:text('the figures in the chart'))").count() == charts.count()
            browser.close()
    engine.dispose()
