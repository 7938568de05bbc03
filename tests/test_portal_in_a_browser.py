"""The portal in a real browser (Debian's Chromium driven by Playwright), with axe-core on every page.

A provider's clerk sends a return with a fault, sees it rejected with the fatal reason first, sends a
fixed one and sees it accepted; each upload is validated by the real worker through Dagster. A contract
manager waives a credit with a reason, sees it in the audit trail, finds the build out of date, rebuilds
the quarter from the portal, signs off the new build and downloads its workbook, byte for byte.
``RETURNS_SCREENSHOTS=<folder>`` keeps the pages as PNGs (the README's).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.browser import PASSWORD, Visitor, open_browser, portal_settings, served, wait_for_feedback


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A quarter run through the pipeline for C05 (credits and a build), accounts, and the portal serving it."""
    from orchestration.runner.quarter import run_quarter
    from portal.app import create_app
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    tmp = tmp_path_factory.mktemp("portal")
    saved = {k: os.environ.get(k) for k in ("RETURNS_PSEUDONYM_KEY", "DAGSTER_HOME")}
    os.environ["RETURNS_PSEUDONYM_KEY"] = "test-key-for-synthetic-data-only"
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster")
    from orchestration.instance import prepare

    prepare(tmp / "dagster")
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    upgrade(url)
    generate(out=tmp / "generated", quarters=[Quarter.parse("2017Q3")], codes=["C05", "C14"], scale=0.02, seed=7)
    landing = tmp / "pipeline-landing"
    shutil.copytree(tmp / "generated" / "C05", landing / "C05")
    for extract in (tmp / "generated").glob("reoffending_*.csv"):
        shutil.copy(extract, landing / extract.name)
    run_quarter(
        Quarter.parse("2017Q3"),
        ["C05"],
        landing=landing,
        archive=tmp / "archive",
        output=tmp / "output",
        database_url=url,
    )
    engine = engine_for(url)
    with session_scope(engine) as s:
        accounts.add_user(s, "clerk@c14.example", "provider", PASSWORD, provider="C14", name="Sam Clerk")
        accounts.add_user(s, "manager@moj.example", "manager", PASSWORD, name="Alex Manager")
        accounts.add_user(s, "admin@moj.example", "admin", PASSWORD, name="Sam Admin")
    try:
        with served(create_app(portal_settings(tmp, url))) as base:
            yield {"base": base, "tmp": tmp, "engine": engine}
    finally:
        engine.dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_a_provider_sends_a_faulty_return_reads_why_then_sends_a_fixed_one(live, tmp_path):
    from playwright.sync_api import sync_playwright

    good = live["tmp"] / "generated" / "C14" / "C14_2017Q3.xlsx"  # C14 sends a workbook
    broken = tmp_path / "broken" / good.name
    broken.parent.mkdir()
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # cut short in transfer: cannot be opened
    with sync_playwright() as p:
        browser = open_browser(p)
        context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
        v = Visitor(context.new_page(), live["base"])
        v.sign_in("clerk@c14.example")
        v.check("provider-home")
        assert "Not sent" in v.page.inner_text("main")
        v.page.click("text=Send the 2017Q3 return")
        v.check("provider-send")
        v.page.click("button:has-text('Send return')")  # nothing chosen, nothing declared
        v.check("provider-send-errors")
        assert "There is a problem" in v.page.inner_text(".govuk-error-summary")
        v.page.set_input_files("#files", [str(broken)])
        v.page.fill("#declared_by", "Sam Clerk")
        v.page.check("#declaration")
        v.page.click("button:has-text('Send return')")
        v.check("provider-follow")
        wait_for_feedback(v)
        v.check("provider-rejected")
        assert v.page.inner_text("h1") == "Rejected"
        first_reason = v.page.locator("ol.govuk-list--number li").first.inner_text()
        assert first_reason.startswith("The return cannot be used: FIL-001 is fatal")
        first_finding = v.page.locator("#findings ~ .app-table-scroll table tbody tr").first.inner_text()
        assert "FIL-001" in first_finding

        v.go("/returns/2017Q3/send", "provider-send-again")
        v.page.set_input_files("#files", [str(good)])
        v.page.fill("#declared_by", "Sam Clerk")
        v.page.check("#declaration")
        v.page.click("button:has-text('Send return')")
        wait_for_feedback(v)
        v.check("provider-accepted")
        assert v.page.inner_text("h1").startswith("Accepted")
        versions = v.page.locator("table").last.inner_text()
        assert "Version 2 (this one)" in versions and "Version 1" in versions
        v.go("/returns", "provider-home-after")
        assert "Version 2" in v.page.inner_text("main")
        v.go("/returns/history", "provider-history")
        browser.close()


def test_a_contract_manager_waives_a_credit_rebuilds_signs_off_and_downloads_the_workbook(live, tmp_path):
    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Credit, ReturnBuild

    with session_scope(live["engine"]) as s:
        credit = s.scalars(
            select(Credit).where(Credit.provider_code == "C05", Credit.amount_gbp > 0, Credit.replaced_at.is_(None))
        ).first()
        assert credit is not None, "the fixture's quarter should have a C05 service credit to decide on"
        measure = credit.measure
    with sync_playwright() as p:
        browser = open_browser(p)
        context = browser.new_context(bypass_csp=True, accept_downloads=True, viewport={"width": 1200, "height": 900})
        v = Visitor(context.new_page(), live["base"])
        v.sign_in("manager@moj.example")
        v.check("manager-quarter")
        assert "C05" in v.page.inner_text("main") and "Not yet" in v.page.inner_text("main")
        v.go("/manage/providers/C05", "manager-provider")
        assert v.page.locator("svg[role=img]").count() >= 1
        v.go("/manage/quarters/2017Q3/providers/C05/credits", "manager-credits")
        v.page.click(f"a[href$='measure={measure}']")
        v.check("manager-decide")
        v.page.check("input[value=waived]")
        v.page.fill("#reason", "Case management system migration in August")
        v.page.click("button:has-text('Record decision')")
        v.check("manager-credits-decided")
        trail = v.page.locator("table").last.inner_text()
        assert "Case management system migration in August" in trail and "manager@moj.example" in trail
        assert "waived" in trail
        v.page.goto(live["base"] + "/manage/quarters/2017Q3")
        v.check("manager-quarter-out-of-date")
        assert "Build 1 is out of date" in v.page.inner_text("main")
        v.page.click("text=Build 1")
        v.check("manager-build-out-of-date")
        assert f"C05 {measure} waived on" in v.page.inner_text("main") and v.page.locator("#confirm").count() == 0
        v.page.click("button:has-text('Rebuild the quarter')")
        v.check("manager-rebuild")
        end = time.monotonic() + 240
        while "/manage/builds/" not in v.page.url:  # the page follows the rebuild, then opens the new build
            assert time.monotonic() < end and "failed" not in v.page.inner_text("h1"), v.page.inner_text("main")
            time.sleep(0.5)
        v.check("manager-build")
        assert v.page.inner_text("h1") == "2017Q3, build 2"
        with session_scope(live["engine"]) as s:
            build = s.scalars(select(ReturnBuild).order_by(ReturnBuild.build_number.desc())).first()
            workbook = next(Path(build.output_path).glob("ministry_return_*.xlsx")).read_bytes()
        v.page.check("#confirm")
        v.page.click("button:has-text('Sign off this build')")
        v.check("manager-build-signed")
        assert "Yes: this is the signed-off build" in v.page.inner_text("main")
        with v.page.expect_download() as download:
            v.page.click("text=The ministry return (Excel workbook)")
        target = tmp_path / "downloaded.xlsx"
        download.value.save_as(target)
        assert target.read_bytes() == workbook
        browser.close()


def test_an_upload_that_could_not_be_checked_and_a_failed_rebuild_pass_axe_and_reflow(live):
    """The pages a person reads when something went wrong: the upload's page and History, and the rebuild's page."""
    import io

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from probation_returns import rebuilds, uploads
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import User

    with session_scope(live["engine"]) as s:
        clerk = s.scalars(select(User).where(User.email == "clerk@c14.example")).one()
        failed = uploads.store(
            s,
            live["tmp"] / "portal-landing",
            "C14",
            "2017Q3",
            clerk.id,
            "Sam Clerk",
            [uploads.Incoming("workbook", "C14_2017Q3 final.xlsx", io.BytesIO(b"PK\x03\x04 a return"))],
        ).id
        uploads.finish(s, failed, "run-of-the-failed-upload", "provider_validation: the disk is full")
        request = rebuilds.request(s, "2017Q3", "manager@moj.example").id
        rebuilds.finish(s, request, "run-of-the-failed-rebuild", "ministry_return: the disk is full")
    words = "The check stopped while your return was being checked against the rules (the disk is full)."
    with sync_playwright() as p:
        browser = open_browser(p)
        context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
        v = Visitor(context.new_page(), live["base"])
        v.sign_in("clerk@c14.example")
        v.page.wait_for_url(lambda url: "/sign-in" not in url)
        v.go(f"/uploads/{failed}", "provider-upload-failed")
        assert v.page.inner_text("h1") == "Your return could not be checked"
        assert words in v.page.inner_text("main")
        v.go("/returns/history", "provider-history-with-a-failed-upload")
        row = v.page.locator("tr", has_text=f"Upload {failed}")
        assert row.count() == 1 and "Could not be checked" in row.inner_text() and words in row.inner_text()
        context.clear_cookies()
        v.sign_in("manager@moj.example")
        v.page.wait_for_url(lambda url: "/sign-in" not in url)
        v.go(f"/manage/rebuilds/{request}", "manager-rebuild-failed")
        assert v.page.inner_text("h1") == "The rebuild of 2017Q3 failed"
        assert "the disk is full" in v.page.inner_text("main")
        browser.close()


def test_the_help_page_and_an_administrators_pages_pass_axe_and_reflow(live):
    """Last in the module: it resets the clerk's password."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = open_browser(p)
        context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
        v = Visitor(context.new_page(), live["base"])
        v.go("/help", "help")
        v.go("/returns/no-such-page", "not-found")
        assert v.page.inner_text("h1") == "Page not found", v.page.inner_text("main")
        v.sign_in("admin@moj.example")
        v.check("admin-audit")
        v.go("/admin/accounts", "admin-accounts")
        v.page.click("a:has-text('clerk@c14.example')")
        v.check("admin-account")
        assert v.page.inner_text("h1") == "clerk@c14.example", v.page.inner_text("main")
        v.page.click("button:has-text('Reset the password')")
        v.check("admin-account-reset")
        assert "New password for clerk@c14.example" in v.page.inner_text("main")
        browser.close()
