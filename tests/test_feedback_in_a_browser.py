"""The provider's feedback page as a clerk sees it: opened in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from tests.support.browser import chromium
from tests.support.returns import clean_tables, set_value, write_csvs


def test_a_rejected_returns_feedback_page_leads_with_what_to_fix(tmp_path):
    from playwright.sync_api import sync_playwright

    browser_path = chromium()
    tables = clean_tables()
    set_value(tables, "cases", 0, "sentence_type", "XX")  # a record problem and its cascade
    files = write_csvs(tmp_path / "sent", tables, quarter="2017Q3")
    out = tmp_path / "feedback"
    result = CliRunner().invoke(
        app, ["validate", *map(str, files), "--provider", "C05", "--quarter", "2017Q2", "--out", str(out)]
    )
    assert result.exit_code == 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((out / "feedback.html").as_uri())
        assert page.locator("h1").inner_text() == "Validation of C05's return for 2017Q2"
        assert page.locator(".outcome").inner_text().startswith("Rejected")
        first_seen = page.locator("body").inner_text()
        # the fatal problem and its fix come before any record's finding, above the fold's tables
        assert first_seen.index("Name it C05_2017Q2") < first_seen.index("CAS-005")
        headings = page.locator("h2").all_inner_texts()
        assert headings[-1].startswith("Records rejected because their case was rejected")
        findings = page.locator("table").nth(3)  # about, tables, rules, findings
        assert findings.locator("tr").nth(1).locator("td").nth(4).inner_text() == "FIL-004"
        assert findings.locator("th").all_inner_texts()[:2] == ["Table", "Row"]
        shot = page.screenshot(full_page=True)
        browser.close()
    assert errors == [] and len(shot) > 10_000
