"""Queries, a tolerance and the accountable officer's sign-off in a real browser (issue 28): C14's clerk answers
a warning, its officer is refused sign-off while the query is open, the contract manager grants a tolerance and
accepts the query, the officer signs off and the manager's build page shows it; the administrator's audit log
has each step, and C05's clerk gets 404 on every URL of the thread. axe-core (no serious or critical violation)
and the 320 px reflow check on every page visited. On SQLite and PostgreSQL. ``RETURNS_SCREENSHOTS=<folder>``
keeps the pages as PNGs (the README's)."""

from __future__ import annotations

import pytest

from tests.support.browser import Visitor, open_browser
from tests.support.browser import served as serving
from tests.test_queries_and_signoff import portal  # noqa: F401 (the fixture: C14's version 2 with CAS-019 twice)

SIGNED = "2017-10-25T10:00:00+00:00"  # the clock on the day of the sign-off, before the quarter's build is final
REFUSAL = (
    "You cannot sign off while 1 query is open: the contract manager must accept or reject every query on the "
    "quarter's return first."
)
# what each cell shows on screen (not the words kept for screen readers), its spaces collapsed
ROWS_JS = """sel => [...document.querySelectorAll(sel)].map(r => [...r.cells].map(c => {
    const shown = c.cloneNode(true);
    shown.querySelectorAll('.govuk-visually-hidden').forEach(e => e.remove());
    shown.querySelectorAll('br').forEach(e => e.replaceWith(' '));
    return shown.textContent.replace(/\\s+/g, ' ').trim();
}))"""


@pytest.fixture
def served(portal, monkeypatch):  # noqa: F811
    """The seeded portal served over HTTP, without the seed's own open query (the browser raises the one here)."""
    from probation_returns import conversation
    from probation_returns.warehouse.db import session_scope

    monkeypatch.setenv("RETURNS_CLOCK", SIGNED)
    with session_scope(portal.engine) as s:
        for message in conversation.thread(s, portal.query).messages:
            s.delete(message)
        s.flush()
        s.delete(s.get(conversation.Query, portal.query))
    portal.settings.secure_cookies = False  # plain HTTP on 127.0.0.1
    portal.app.config.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False, TESTING=False)
    with serving(portal.app) as base:
        yield portal, base


def _visitor(browser, base: str, email: str) -> Visitor:
    v = Visitor(browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900}).new_page(), base)
    v.sign_in(email)
    v.page.wait_for_url(lambda url: "/sign-in" not in url)
    return v


def _rows(v: Visitor, selector: str = "main table tbody tr") -> list[list[str]]:
    return v.page.evaluate(f"({ROWS_JS})", selector)


def _summary(v: Visitor) -> dict[str, str]:
    keys = v.page.locator("main .govuk-summary-list__key").all_inner_texts()
    values = v.page.locator("main .govuk-summary-list__value").all_inner_texts()
    return {k.strip(): val.strip() for k, val in zip(keys, values, strict=True)}


@pytest.mark.browser
def test_a_query_a_tolerance_and_the_officers_sign_off_click_by_click_each_audited(served):
    from playwright.sync_api import sync_playwright

    from probation_returns import conversation
    from probation_returns.warehouse.db import session_scope

    seeded, base = served
    v2 = seeded.v2
    with sync_playwright() as p:
        browser = open_browser(p)

        # C14's clerk answers CAS-019 (two records found in version 2) from the feedback page
        clerk = _visitor(browser, base, "clerk@c14.example")
        clerk.go(f"/submissions/{v2}", "provider-feedback-with-warnings")
        clerk.page.click("a:has-text('warnings and queries')")
        clerk.check("provider-queries")
        assert clerk.page.inner_text("h1") == "Warnings and queries"
        (row,) = _rows(clerk)
        assert row[0] == "CAS-019" and row[2:5] == ["2", "None", "Not answered"]
        assert clerk.page.locator("main li").all_inner_texts() == [] and "None." in clerk.page.inner_text("main")
        clerk.page.click("a:has-text('Answer')")
        clerk.check("provider-new-query")
        assert clerk.page.inner_text("h1") == "Answer a finding"
        assert clerk.page.is_checked("input[name=rule][value='CAS-019']")  # chosen from the row's link
        clerk.page.fill("#rows", "2, x")
        clerk.page.fill("#explanation", "Both attended by phone; the case system had not recorded it.")
        clerk.page.click("button:has-text('Send your answer')")
        clerk.check("provider-new-query-error")
        assert "Write row numbers as whole numbers separated by commas, for example 4, 17" in clerk.page.inner_text(
            ".govuk-error-summary"
        )
        clerk.page.fill("#rows", "2, 3")
        clerk.page.click("button:has-text('Send your answer')")
        clerk.check("provider-query-thread")
        query_id = int(clerk.page.url.rsplit("/", 1)[1])
        assert clerk.page.inner_text("h1") == f"Query {query_id} on CAS-019 Open"
        assert _summary(clerk) == {
            "Provider": "C14",
            "Quarter": "2017Q3",
            "Finding": _summary(clerk)["Finding"],
            "Rows": "2, 3",
        }
        assert _summary(clerk)["Finding"].startswith("CAS-019: ")
        thread = clerk.page.inner_text("main")
        assert "Your answer has been sent to the contract manager." in clerk.page.inner_text("body")
        assert "Answer from the provider, by clerk@c14.example on 25 October 2017 at 10:00 UTC" in thread
        assert "Both attended by phone; the case system had not recorded it." in thread
        assert "The contract manager has not decided yet." in thread
        clerk.go(f"/submissions/{v2}/queries", "provider-queries-answered")
        (row,) = _rows(clerk)
        assert row[4:] == ["Answered: waiting for a decision", f"Query {query_id} (open) Answer"]

        # C14's accountable officer: refused while the query is open, with the reason
        officer = _visitor(browser, base, "officer@c14.example")
        officer.go("/sign-off", "officer-sign-off")
        assert officer.page.url.endswith("/sign-off/2017Q3")
        assert _summary(officer) == {"Version that counts": "Version 2", "Open queries": "1", "Signed off": "No"}
        assert _rows(officer) == [[f"Query {query_id}", "CAS-019", "Open"]]
        assert REFUSAL in officer.page.inner_text(".govuk-warning-text")
        officer.page.check("#confirm")
        with officer.page.expect_response(lambda r: r.request.method == "POST") as posted:
            officer.page.click("button:has-text('Sign off the return')")
        assert posted.value.status == 400
        officer.check("officer-sign-off-refused")
        assert officer.page.inner_text(".govuk-error-summary__list") == REFUSAL
        assert _summary(officer)["Signed off"] == "No"

        # the contract manager: the quarter's queries, the thread, a tolerance, the decision
        manager = _visitor(browser, base, "manager@moj.example")
        manager.go("/manage/quarters/2017Q3/queries", "manager-quarter-queries")
        (listed,) = _rows(manager)  # no tolerance yet: the queries' table is the only one
        assert [listed[0], listed[1], listed[2], listed[4]] == [f"Query {query_id}", "C14", "CAS-019", "Open"]
        assert listed[3] == "25 Oct 2017 10:00 UTC"
        manager.page.click(f"a:has-text('Query {query_id}')")
        manager.check("manager-query-open")
        manager.page.click("a:has-text('Grant a tolerance for CAS-019')")
        manager.check("manager-tolerances")
        assert manager.page.inner_text("h1") == "Grant a tolerance"
        assert manager.page.input_value("#rule") == "CAS-019"  # from the query
        manager.page.fill("#records", "2")
        manager.page.fill("#reason", "A known gap in the case system in September.")
        manager.page.click("button:has-text('Grant the tolerance')")
        manager.check("manager-tolerance-granted")
        assert "C14 has a tolerance for CAS-019 in 2017Q3." in manager.page.inner_text("body")
        assert manager.page.locator("main li").all_inner_texts() == [
            "CAS-019: up to 2 records, by manager@moj.example: A known gap in the case system in September."
        ]
        # the tolerance's effect, as the provider's page says it: the two records covered, the rule resolved
        clerk.go(f"/submissions/{v2}/queries", "provider-queries-tolerated")
        (row,) = _rows(clerk)
        assert row[2:] == ["2", "up to 2 records: covers them", "Resolved", f"Query {query_id} (open)"]
        assert clerk.page.locator("main li").all_inner_texts() == [
            "CAS-019: up to 2 records, granted by manager@moj.example on 25 October 2017: "
            "A known gap in the case system in September."
        ]
        officer.go("/sign-off/2017Q3", "officer-sign-off-still-open")  # resolved, but the query is still open
        assert REFUSAL in officer.page.inner_text(".govuk-warning-text")

        manager.go(f"/queries/{query_id}", "manager-query-open-again")
        manager.page.click("text=Decide on this query")
        manager.check("manager-decide")
        assert manager.page.inner_text("h1") == f"Decide on query {query_id}"
        manager.page.check("input[name=decision][value=accepted]")
        manager.page.fill("#reason", "Checked against the case notes: both attended.")
        manager.page.click("button:has-text('Record decision')")
        manager.check("manager-query-thread")
        assert manager.page.inner_text("h1") == f"Query {query_id} on CAS-019 Accepted"
        thread = manager.page.inner_text("main")
        assert "Accepted, by manager@moj.example on 25 October 2017 at 10:00 UTC" in thread
        assert "Checked against the case notes: both attended." in thread
        assert manager.page.locator("text=Decide on this query").count() == 0
        clerk.go(f"/queries/{query_id}", "provider-query-accepted")
        assert clerk.page.inner_text("h1") == f"Query {query_id} on CAS-019 Accepted"
        assert "Checked against the case notes: both attended." in clerk.page.inner_text("main")

        # the officer signs off; the declaration must be ticked
        officer.go("/sign-off/2017Q3", "officer-sign-off-ready")
        assert _summary(officer)["Open queries"] == "0" and officer.page.locator(".govuk-warning-text").count() == 0
        assert _rows(officer) == [[f"Query {query_id}", "CAS-019", "Accepted"]]
        officer.page.click("button:has-text('Sign off the return')")
        officer.check("officer-sign-off-unticked")
        assert officer.page.inner_text(".govuk-error-summary__list") == (
            "Confirm that the return is an accurate account of the provider's work"
        )
        officer.page.check("#confirm")
        with officer.page.expect_response(lambda r: r.request.method == "POST") as posted:
            officer.page.click("button:has-text('Sign off the return')")
        assert posted.value.status == 302
        officer.check("officer-signed-off")
        assert "You signed off C14's return for 2017Q3." in officer.page.inner_text("body")
        assert _summary(officer)["Signed off"] == "Yes, by officer@c14.example on 25 October 2017"
        assert officer.page.locator("button:has-text('Sign off the return')").count() == 0

        # the contract manager's build page: C14 signed off, with the date; C05 not
        manager.go(f"/manage/builds/{seeded.build}", "manager-build-with-sign-offs")
        rows = {r[0]: r[1:] for r in _rows(manager, "#providers-sign-off + p + .app-table-scroll tbody tr")}
        assert rows["C14"] == ["Version 2", "Yes, 2017-10-25 by officer@c14.example", "0"]
        assert rows["C05"][1:] == ["No", "0"]

        # the administrator's audit log: each step, newest first
        admin = _visitor(browser, base, "admin@moj.example")
        admin.go("/admin/audit", "admin-audit-conversation")
        steps = [
            (r[1], r[2], r[3], r[4])
            for r in _rows(admin)
            if r[2]
            in (
                "Answered a finding (a query)",
                "Granted a tolerance",
                "Accepted a query",
                "Signed off a return as accurate (accountable officer)",
            )
        ]
        with session_scope(seeded.engine) as s:
            (tolerance,) = conversation.tolerances(s, "2017Q3", "C14")
            tolerance_id = tolerance.id
        assert steps == [
            (
                "officer@c14.example",
                "Signed off a return as accurate (accountable officer)",
                "C14 2017Q3",
                "C14 2017Q3 version 2",
            ),
            ("manager@moj.example", "Accepted a query", "C14 2017Q3", f"query {query_id}"),
            ("manager@moj.example", "Granted a tolerance", "C14 2017Q3", f"tolerance {tolerance_id}"),
            ("clerk@c14.example", "Answered a finding (a query)", "C14 2017Q3", f"query {query_id}"),
        ]

        # C05's clerk: the same "Page not found" on every URL of the thread
        other = _visitor(browser, base, "clerk@c05.example")
        for url in (
            f"/queries/{query_id}",
            f"/queries/{query_id}/decide",
            f"/submissions/{v2}/queries",
            f"/submissions/{v2}/queries/new",
            f"/submissions/{v2}/queries/new?rule=CAS-019",
            f"/submissions/{v2}",
            "/manage/quarters/2017Q3/queries",
            f"/manage/quarters/2017Q3/providers/C14/tolerances?query={query_id}",
            "/sign-off/2017Q3",
        ):
            response = other.page.goto(base + url)
            assert response.status == 404, url
            assert other.page.inner_text("h1") == "Page not found", url
            assert "CAS-019" not in other.page.inner_text("main") and "C14" not in other.page.inner_text("main"), url
        browser.close()
