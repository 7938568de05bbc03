"""Provisional performance in the provider's feedback: what a version gives before the quarter's ministry return,
from the same code, and equal to what the ministry return later shows."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from probation_returns.ingest import discover, receive
from probation_returns.measures.quarter import accepted_submission
from probation_returns.pnc import format_pnc
from probation_returns.validation.service import validate_submission
from probation_returns.warehouse.db import session_scope
from reports.feedback import with_feedback
from tests.support.returns import write_csvs

CLOCK = "2017-10-20T09:00:00+00:00"  # a Friday, five business days before 2017Q3's deadline (27 October)
SENT = dt.datetime(2017, 10, 16, 10, 0, tzinfo=dt.UTC).timestamp()


def _case(i: int, sentence: str, first_appointment: str, person: int | None = None) -> list[str]:
    return [
        f"P{i:06d}",
        format_pnc(2001, 500 + (i if person is None else person)),
        "C05",
        sentence,
        "2017-09-18",
        "2017-09-20",  # a Wednesday: SL001R's deadline is 27 September, SL002R's 21 September
        "M",
        "40",
        "30",
        "M",
        "THEFT",
        "N",
        first_appointment,
        "Y",
        "",
        "N",
        "",
        "",
        "",
        "",
    ]


def small_return() -> dict[str, list[list[str]]]:
    """Ten community orders all seen in time (SL001R 10 of 10, met) and ten licences, two seen a day late
    (SL002R 8 of 10 = 80%, missed against 95%); cases 1 and 2 are the same person."""
    community = [_case(i, "CO", "2017-09-22", person=1 if i == 2 else None) for i in range(1, 11)]
    licences = [_case(i, "LIC", "2017-09-21" if i <= 18 else "2017-09-22") for i in range(11, 21)]
    return {"cases": community + licences, "contacts": [], "breaches": []}


@pytest.fixture
def stopped_clock(monkeypatch):
    monkeypatch.setenv("RETURNS_CLOCK", CLOCK)


def _send(engine, tmp_path, tables, name="landing", provider="C05", archive=None, feedback=None):
    for row in tables["cases"]:
        row[2] = provider
    paths = write_csvs(tmp_path / name / provider, tables, provider=provider)
    for path in paths:  # delivered on time: the files' own time stamp is when they were sent
        os.utime(path, (SENT, SENT))
    with session_scope(engine) as session:
        landed = discover(tmp_path / name)[0]
        sid = receive(session, landed, archive or tmp_path / "archive").submission_id
    done = with_feedback(engine, validate_submission(engine, sid, feedback or tmp_path / "feedback"))
    return done, json.loads((done.feedback / "summary.json").read_text())


def test_hand_computed_service_levels_and_credits_of_a_small_accepted_return(engine, tmp_path, stopped_clock):
    done, summary = _send(engine, tmp_path, small_return())
    assert done.outcome.startswith("Accepted"), done.reasons
    p = summary["provisional_performance"]
    assert p["label"] == "provisional" and p["basis"] == "accepted"
    assert p["worked_out_on"] == "2017-10-20" and p["worked_out_at"] == "2017-10-20T09:00:00Z"
    assert p["headline"].startswith("Provisional, worked out on 20 October 2017 from version 1's accepted records")
    levels = {row["measure"]: row for row in p["service_levels"]}
    assert list(levels) == ["SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK"]
    assert levels["SL001R"] == {
        "measure": "SL001R",
        "numerator": 10,
        "denominator": 10,
        "performance_pct": "100.0",
        "target_pct": "95.0",
        "status": "met",
        "credit_gbp": "0.00",
        "credit_before_cap_gbp": "0.00",
    }
    # 80% against 95%: 15 points short; 0.25% of the fee (7,350,000.00) a point is 275,625.00, over the
    # per-measure cap of 2.5% of the fee, 183,750.00; the quarter's cap (10%, 735,000.00) does not bite.
    assert levels["SL002R"] == {
        "measure": "SL002R",
        "numerator": 8,
        "denominator": 10,
        "performance_pct": "80.0",
        "target_pct": "95.0",
        "status": "missed",
        "credit_gbp": "183750.00",
        "credit_before_cap_gbp": "183750.00",
    }
    for measure in ("SL003", "SL006R", "SL016", "AE", "AK"):  # none of these has ten cases to measure
        assert levels[measure]["status"] == "insufficient volume" and levels[measure]["credit_gbp"] == "0.00"
    assert (p["credits_gbp"], p["credits_before_cap_gbp"], p["quarterly_cap_gbp"]) == (
        "183750.00",
        "183750.00",
        "735000.00",
    )
    assert p["credits_words"] == (
        "Service credits: £183,750.00, within the quarter's cap of £735,000.00 (10% of the quarterly fee of "
        "£7,350,000.00)."
    )
    assert p["reoffending_cohort_size"] == 19  # 20 cases starting in the quarter, two of them one person
    assert p["cohort_words"].startswith("Reoffending cohort for 2017Q3: 19 people")
    assert p["parameter_version"] == "2017-18.1" and p["counted_version"] == 1
    assert any("end of Friday 27 October 2017" in line for line in p["what_can_change"])


def test_a_rejected_return_shows_what_the_quarter_costs_with_no_valid_return(engine, tmp_path, stopped_clock):
    tables = small_return()
    for row in tables["cases"][:5]:
        row[6] = "X"  # rosh_level: five of twenty cases rejected, over the 1% tolerance
    done, summary = _send(engine, tmp_path, tables)
    assert done.outcome == "Rejected"
    p = summary["provisional_performance"]
    assert p["basis"] == "no valid return" and p["reoffending_cohort_size"] is None and p["counted_version"] is None
    deadline = "If no version is accepted by the deadline, the end of Friday 27 October 2017 (UK time), the quarter"
    assert deadline in p["headline"]
    # every measure at 0%: 7 x 183,750.00 = 1,286,250.00 asked, over the quarter's cap of 735,000.00: each is
    # scaled by 4/7 to 105,000.00 exactly
    assert [(r["status"], r["performance_pct"], r["credit_gbp"]) for r in p["service_levels"]] == [
        ("no valid return", None, "105000.00")
    ] * 7
    assert (p["credits_gbp"], p["credits_before_cap_gbp"]) == ("735000.00", "1286250.00")
    assert "the cap, 10% of the quarterly fee of £7,350,000.00, is £735,000.00" in p["credits_words"]

    accepted, again = _send(engine, tmp_path, small_return(), name="landing2")  # a corrected version counts
    assert again["provisional_performance"]["credits_gbp"] == "183750.00"


CODES = ["C05", "C10", "C14", "N02"]  # C14 sends a workbook; C10's return is made to be rejected


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def quarter_run(request, tmp_path_factory):
    """2017Q3 through the pipeline `returns run` drives (run_quarter), with a final extract, on each backend."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import upgrade
    from tests.conftest import POSTGRES_URL, _postgres_database
    from tests.support.returns import pipeline_env

    root = tmp_path_factory.mktemp(f"provisional-{request.param}")
    drop = None
    if request.param == "sqlite":
        db = f"sqlite:///{root / 'w.db'}"
    elif not POSTGRES_URL:
        pytest.skip("RETURNS_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    else:
        db, drop = _postgres_database()
    try:
        with pipeline_env():
            upgrade(db)
            made = generate(root / "landing", [Quarter.parse("2017Q3")], CODES, scale=0.05)
            _reject(root / "landing" / "C10" / "C10_2017Q3_cases.csv")
            run = run_quarter(
                Quarter.parse("2017Q3"),
                CODES,
                landing=root / "landing",
                archive=root / "archive",
                output=root / "out",
                database_url=db,
                extract=made.extract,
                quarter_subfolders=False,
            )
            assert run.failed == []
            yield root
    finally:
        if drop:
            drop()


def _reject(path):
    """One case in twenty given an unknown risk level (over the 1% tolerance), the file's time stamp kept."""
    import polars as pl

    sent = path.stat()
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 20 == 0).then(pl.lit("X")).otherwise(pl.col("rosh_level")).alias("rosh_level")
    )
    frame.write_csv(path)
    os.utime(path, ns=(sent.st_atime_ns, sent.st_mtime_ns))


def _summaries(root) -> dict[str, dict]:
    found = {}
    for path in sorted((root / "out" / "feedback").glob("*/2017Q3/submission-*/summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        found[summary["provider"]] = summary
    return found


def _csv(path) -> list[dict]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_provisional_figures_are_what_the_ministry_return_shows_to_the_penny(quarter_run):
    root = quarter_run
    summaries = _summaries(root)
    assert sorted(summaries) == sorted(CODES)
    assert summaries["C10"]["outcome"] == "Rejected"
    assert all(summaries[c]["outcome"].startswith("Accepted") for c in ("C05", "C14", "N02"))
    ministry = {(r["provider_code"], r["measure"]): r for r in _csv(root / "out" / "service_levels.csv")}
    payments = {r["provider_code"]: r for r in _csv(root / "out" / "payments.csv")}
    cohorts = {r["provider_code"]: r for r in _csv(root / "out" / "reoffending.csv")}
    for code, summary in summaries.items():
        p = summary["provisional_performance"]
        assert p["label"] == "provisional"
        for level in p["service_levels"]:
            line = ministry[(code, level["measure"])]
            assert level["status"] == line["status"]
            assert str(level["numerator"] if level["numerator"] is not None else "") == line["numerator"]
            assert str(level["denominator"] if level["denominator"] is not None else "") == line["denominator"]
            # the return shows proportions (0.949); the feedback percentages (94.9)
            shown = Decimal(level["performance_pct"]) / 100 if level["performance_pct"] else None
            assert shown == (Decimal(line["performance"]) if line["performance"] else None)
            assert Decimal(level["target_pct"]) / 100 == Decimal(line["target"])
            if code.startswith("C"):
                assert Decimal(level["credit_gbp"]) == Decimal(line["credit_gbp"])  # to the penny
            else:
                assert level["credit_gbp"] is None and not line["credit_gbp"]
        if code.startswith("C"):
            assert Decimal(p["credits_gbp"]) == Decimal(payments[code]["service_credits_gbp"])
        else:
            assert p["credits_gbp"] is None and not payments[code]["service_credits_gbp"]
        cohort = cohorts[code]["cohort_size"]
        assert p["reoffending_cohort_size"] == (int(cohort) if cohort else None)
    # the rejected return: every measure at 0%, the quarter's cap, as the return charges a provider with no valid return
    c10 = summaries["C10"]["provisional_performance"]
    assert c10["basis"] == "no valid return" and c10["credits_gbp"] == c10["quarterly_cap_gbp"]
    assert {ministry[("C10", m)]["status"] for m in ("SL001R", "AK")} == {"no valid return"}
    assert all(summaries[c]["provisional_performance"]["reoffending_cohort_size"] > 0 for c in ("C05", "C14", "N02"))


@pytest.fixture
def portal(tmp_path, database_url, monkeypatch):
    from tests.support.portal_fixtures import seed

    monkeypatch.setenv("RETURNS_CLOCK", CLOCK)
    seeded = seed(tmp_path, database_url)
    yield seeded
    seeded.engine.dispose()


def test_the_portal_shows_the_provisional_performance_on_a_page_of_its_own(portal, tmp_path):
    from tests.support.portal_fixtures import sign_in

    rejected = portal.own_submission  # the seeded C14 version 1 was rejected (its rows name C05)
    done, _ = _send(
        portal.engine,
        tmp_path,
        small_return(),
        name="c14",
        provider="C14",
        archive=portal.settings.archive,
        feedback=portal.settings.output / "feedback",
    )
    own = done.submission_id
    client = portal.app.test_client()
    sign_in(client, "provider")
    feedback = client.get(f"/submissions/{own}").get_data(as_text=True)
    assert f'href="/submissions/{own}/provisional"' in feedback
    assert "From this version: 1 of 7 service levels met, 1 missed; service credits £60,000.00." in feedback
    page = client.get(f"/submissions/{own}/provisional")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Provisional performance</h1>' in text
    assert "These figures are provisional." in text and "2017-10-20" in text
    # C14's fee is 2,400,000.00: SL002R 15 points short asks 90,000.00, capped per measure at 2.5%, 60,000.00
    assert "Initial contact, licence (SL002R)" in text and "£60,000.00" in text and "80.0%" in text
    assert text.count("Too few to measure") == 5 and "Missed" in text and "Met" in text
    assert "Service credits: £60,000.00, within the quarter&#39;s cap of £240,000.00" in text
    assert "Reoffending cohort for 2017Q3: 19 people" in text
    assert "Other providers&#39; returns never change your service levels or credits." in text
    assert client.get(f"/submissions/{portal.other_submission}/provisional").status_code == 404

    text = client.get(f"/submissions/{rejected}/provisional").get_data(as_text=True)  # what no valid return costs
    assert text.count("No valid return: counted as 0%") == 7
    assert "If no version is accepted by the deadline" in text  # worked out before version 2 came
    assert "£34,285.72" in text and "Service credits: £240,000.00. Before the quarter&#39;s cap" in text

    manager = portal.app.test_client()
    sign_in(manager, "manager")
    assert manager.get(f"/submissions/{own}/provisional").status_code == 200


def test_the_workbook_has_a_provisional_performance_sheet_with_the_summarys_figures(engine, tmp_path, stopped_clock):
    done, summary = _send(engine, tmp_path, small_return())
    book = load_workbook(done.feedback / "feedback.xlsx")
    assert book.sheetnames == ["Summary", "Provisional performance", "Rules", "Findings"]
    ws = book["Provisional performance"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][0] == "Provisional performance: C05 2017Q3 version 1"
    labels = {r[0]: r[1] for r in rows if r and r[0]}
    start = next(i for i, r in enumerate(rows) if r[0] == "Provisional")
    headline = " ".join(r[1] for r in rows[start : start + 2])  # in lines that fit the printed page
    assert headline == summary["provisional_performance"]["headline"] and rows[start + 2][0] == "Worked out on"
    assert labels["Worked out on"] == "2017-10-20" and labels["Contract parameters"] == "2017-18.1"
    head = rows.index(
        [
            "Measure",
            "Service level",
            "Met in time",
            "Counted",
            "Performance (%)",
            "Target (%)",
            "Status",
            "Service credit (£)",
            "Before the quarter's cap (£)",
        ]
    )
    table = {r[0]: r for r in rows[head + 1 : head + 9]}
    assert table["SL001R"][1:7] == ["Initial contact, community sentences", 10, 10, 100, 95, "met"]
    assert table["SL002R"][2:7] == [8, 10, 80, 95, "missed"]
    assert Decimal(str(table["SL002R"][7])) == Decimal("183750.00") and table["SL003"][6] == "insufficient volume"
    assert Decimal(str(table["Total"][7])) == Decimal("183750.00")
    assert ws.cell(head + 3, 8).number_format == "#,##0.00" and ws.cell(head + 3, 5).number_format == "0.0"
    assert labels["Reoffending cohort"] == 19
    assert labels["What can change them"].startswith("A version of this return delivered by the deadline")
    assert labels["Service credits"].startswith("Service credits: £183,750.00")


def test_the_feedback_page_kept_as_a_file_shows_the_provisional_figures_of_the_summary(engine, tmp_path, stopped_clock):
    done, summary = _send(engine, tmp_path, small_return())
    page = (done.feedback / "feedback.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Provisional performance</h2>") :]
    assert done.rule_counts == {}  # nothing found: the page says so rather than showing empty tables
    assert "<h2>Rules that found problems</h2>\n<p>No rule found a problem.</p>" in page
    assert "<h2>Findings, in the order to fix them (0)</h2><p>There is nothing to fix.</p>" in page
    assert "These figures are provisional. The quarter's ministry return is what counts." in section
    assert "From this version: 1 of 7 service levels met, 1 missed; service credits £183,750.00." in section
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in rows]
    assert ["Service level", "Met in time", "Counted", "Performance", "Target", "Status", "Service credit"] in cells
    assert ["Initial contact, community sentences (SL001R)", "10", "10", "100.0%", "95.0%", "Met", "£0.00"] in cells
    assert [c[1:] for c in cells if c[0].endswith("(SL002R)")] == [
        ["8", "10", "80.0%", "95.0%", "Missed", "£183,750.00"]
    ]
    assert ["Total", "", "", "", "", "", "£183,750.00"] in cells
    assert [c[5] for c in cells if c[0].endswith("(SL003)")] == ["Too few to measure"]
    assert ["Worked out at (UTC)", "2017-10-20T09:00:00Z"] in cells and ["Validation rules", "spec-1.2"] in cells
    p = summary["provisional_performance"]
    for words in (p["credits_words"], p["cohort_words"], *p["what_can_change"]):
        assert html.escape(words) in section


@pytest.mark.browser
def test_in_a_browser_a_provider_sees_provisional_figures_the_ministry_return_later_shows(tmp_path, monkeypatch):
    """C14 uploads an accepted return before the deadline through the portal (the real worker through Dagster),
    opens its provisional performance (axe: no serious or critical violation; no sideways scroll at 320 px), and
    the quarter's ministry return, built afterwards, shows the same service levels and credits to the penny."""

    from playwright.sync_api import sync_playwright

    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from portal.app import create_app
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import engine_for, upgrade
    from reports.provisional import PROVISIONAL_STATUS
    from tests.support.browser import PASSWORD, Visitor, open_browser, portal_settings, served, wait_for_feedback

    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("RETURNS_CLOCK", CLOCK)  # sent before the deadline: the upload is dated by the clock
    prepare(tmp_path / "dagster")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    upgrade(url)
    generate(out=tmp_path / "generated", quarters=[Quarter.parse("2017Q3")], codes=["C14"], scale=0.02, seed=7)
    engine = engine_for(url)
    with session_scope(engine) as s:
        accounts.add_user(s, "clerk@c14.example", "provider", PASSWORD, provider="C14", name="Sam Clerk")
    settings = portal_settings(tmp_path, url)
    with served(create_app(settings)) as base:
        with sync_playwright() as p:
            browser = open_browser(p)
            context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
            v = Visitor(context.new_page(), base)
            v.sign_in("clerk@c14.example")
            v.go("/returns/2017Q3/send", "provider-send")
            v.page.set_input_files("#files", [str(tmp_path / "generated" / "C14" / "C14_2017Q3.xlsx")])
            v.page.fill("#declared_by", "Sam Clerk")
            v.page.check("#declaration")
            v.page.click("button:has-text('Send return')")
            wait_for_feedback(v)
            v.check("provider-accepted")
            assert v.page.inner_text("h1").startswith("Accepted")
            v.page.click("text=Provisional service levels, credits and cohort")
            v.check("provider-provisional")
            assert v.page.inner_text("h1") == "Provisional performance"
            assert "These figures are provisional." in v.page.inner_text("main")
            shown = {
                row[0].rsplit("(", 1)[1].rstrip(")"): row
                for row in v.page.eval_on_selector_all(
                    "main table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
                )
            }
            browser.close()
    run = run_quarter(  # the quarter's return, built afterwards from the same landing folder
        Quarter.parse("2017Q3"),
        ["C14"],
        landing=settings.landing,
        archive=settings.archive,
        output=settings.output,
        database_url=url,
    )
    assert run.failed == []
    engine.dispose()
    ministry = {
        r["measure"]: r for r in _csv(settings.output / "2017Q3" / "service_levels.csv") if r["provider_code"] == "C14"
    }
    assert len(shown) == 7 and any(row[5] == "Missed" for row in shown.values())
    for measure, (_, met, counted, performance, target, status, credit) in shown.items():
        line = ministry[measure]
        assert status == PROVISIONAL_STATUS[line["status"]][0]
        assert (met.replace(",", ""), counted.replace(",", "")) == (line["numerator"], line["denominator"])
        expected = f"{Decimal(line['performance']) * 100:.1f}%" if line["performance"] else ""
        assert performance == expected and target == f"{Decimal(line['target']) * 100:.1f}%"
        assert credit == f"£{Decimal(line['credit_gbp']):,.2f}", measure  # to the penny


TABLES_JS = """() => [...document.querySelectorAll('main table')].map(t => [
    t.caption ? t.caption.innerText.trim() : '',
    [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()))])"""


def _tables(page) -> dict[str, list[list[str]]]:
    return dict(page.evaluate(TABLES_JS))


@pytest.mark.browser
def test_in_a_browser_a_provider_sends_two_versions_sees_what_changed_and_the_return_shows_the_counted_one(
    tmp_path, monkeypatch, database_url
):
    """C14 sends the small return (SL002R 8 of 10, a day late for two licences) before the deadline through the
    portal, reads its provisional figures, then sends version 2 with one of those first appointments a day earlier
    (9 of 10), opens "What changed since version 1" from the feedback page (and finds it in History) and reads the
    record changed and SL002R's credit moving as worked out by hand. The quarter's ministry return, built
    afterwards, shows version 2's provisional figures to the penny. axe on every page; both backends."""

    from playwright.sync_api import sync_playwright

    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from portal.app import create_app
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.warehouse.db import engine_for, upgrade
    from reports.provisional import PROVISIONAL_STATUS
    from tests.support.browser import PASSWORD, Visitor, open_browser, portal_settings, served, wait_for_feedback

    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("RETURNS_CLOCK", CLOCK)  # both versions sent before the deadline, Friday 27 October 2017
    prepare(tmp_path / "dagster")
    upgrade(database_url)
    first = small_return()
    second = small_return()
    second["cases"][18][12] = "2017-09-21"  # P000019's first appointment a day earlier: within SL002R's deadline
    files = {}
    for version, tables in ((1, first), (2, second)):
        for row in tables["cases"]:
            row[2] = "C14"
        files[version] = [str(p) for p in write_csvs(tmp_path / f"v{version}", tables, provider="C14")]
    engine = engine_for(database_url)
    with session_scope(engine) as s:
        accounts.add_user(s, "clerk@c14.example", "provider", PASSWORD, provider="C14", name="Sam Clerk")
        accounts.add_user(s, "manager@moj.example", "manager", PASSWORD, name="Alex Manager")
    settings = portal_settings(tmp_path, database_url)
    shown = {}
    with served(create_app(settings)) as base:
        with sync_playwright() as p:
            browser = open_browser(p)
            context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
            v = Visitor(context.new_page(), base)
            v.sign_in("clerk@c14.example")
            for version in (1, 2):
                v.go("/returns/2017Q3/send", f"provider-send-v{version}")
                v.page.set_input_files("#files", files[version])
                v.page.fill("#declared_by", "Sam Clerk")
                v.page.check("#declaration")
                v.page.click("button:has-text('Send return')")
                wait_for_feedback(v)
                v.check(f"provider-accepted-v{version}")
                assert v.page.inner_text("h1").startswith("Accepted")
                feedback_url = v.page.url
                main = v.page.inner_text("main")
                assert ("What changed since version 1" in main) == (version == 2)
                v.page.click("text=Provisional service levels, credits and cohort")
                v.check(f"provider-provisional-v{version}")
                text = v.page.inner_text("main")
                assert "These figures are provisional." in text and "2017-10-20" in text
                shown[version] = {
                    row[0].rsplit("(", 1)[1].rstrip(")"): row
                    for row in v.page.eval_on_selector_all(
                        "main table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
                    )
                }
                # C14's fee is £2,400,000.00: 0.25% of it, £6,000.00, a point below 95%, at most 2.5%, £60,000.00
                # a measure: version 1, 80.0%, 15 points short, £90,000.00 capped to £60,000.00; version 2,
                # 90.0%, 5 points short, £30,000.00
                met, rate, credit = {1: ("8", "80.0%", "£60,000.00"), 2: ("9", "90.0%", "£30,000.00")}[version]
                assert shown[version]["SL002R"][1:] == [met, "10", rate, "95.0%", "Missed", credit]
                assert shown[version]["SL001R"][1:] == ["10", "10", "100.0%", "95.0%", "Met", "£0.00"]
                assert f"Service credits: {credit}, within the quarter's cap of £240,000.00" in text
                v.page.goto(feedback_url)

            v.page.click("text=What changed since version 1")
            v.check("provider-changes-v1-v2")
            assert v.page.inner_text("h1") == "What changed from version 1 to version 2"
            tables = _tables(v.page)
            levels = {row[0]: row[1:] for row in tables["Each service level and its credit, version 1 and version 2"]}
            assert levels["SL002R"] == [
                "8 of 10 (80.0%): missed",
                "9 of 10 (90.0%): missed",
                "£60,000.00",
                "£30,000.00",
                "−£30,000.00",
            ]
            assert levels["SL001R"] == ["10 of 10 (100.0%): met"] * 2 + ["£0.00", "£0.00", "no change"]
            assert levels["Total"] == ["", "", "£60,000.00", "£30,000.00", "−£30,000.00"]
            assert [m for m, row in levels.items() if row[-1] not in ("no change", "–")] == ["SL002R", "Total"]
            records = tables[
                "Records in each table: rows received, records accepted, and those added, removed and changed"
            ]
            assert records == [
                ["cases", "20", "20", "0", "0", "1"],
                ["contacts", "0", "0", "0", "0", "0"],
                ["breaches", "0", "0", "0", "0", "0"],
            ]
            assert tables["Each record added or removed, and each field changed"] == [
                ["cases", "P000019", "P000019", "changed", "first_appointment_date", "2017-09-22", "2017-09-21"]
            ]
            v.go("/returns/history", "provider-history-two-versions")
            v.page.click("text=What changed since version 1")
            v.check("provider-changes-from-history")
            assert v.page.inner_text("h1") == "What changed from version 1 to version 2"
            manager = Visitor(
                browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900}).new_page(), v.base
            )
            manager.sign_in("manager@moj.example")
            manager.go("/manage/providers/C14", "manager-provider-returns-sent")
            manager.page.click("text=What changed since version 1")
            manager.check("manager-changes-v1-v2")
            assert (
                _tables(manager.page)["Each service level and its credit, version 1 and version 2"]
                == tables["Each service level and its credit, version 1 and version 2"]
            )
            browser.close()
    run = run_quarter(  # the quarter's return, built afterwards from the same landing folder
        Quarter.parse("2017Q3"),
        ["C14"],
        landing=settings.landing,
        archive=settings.archive,
        output=settings.output,
        database_url=database_url,
    )
    assert run.failed == []
    with session_scope(engine) as s:
        assert accepted_submission(s, "C14", "2017Q3").version == 2  # the return counts version 2, nothing new
    engine.dispose()
    out = settings.output / "2017Q3"
    ministry = {r["measure"]: r for r in _csv(out / "service_levels.csv") if r["provider_code"] == "C14"}
    assert len(shown[2]) == 7 and set(shown[2]) <= set(ministry)  # the return also has measures without credits
    for measure, (_, met, counted, performance, target, status, credit) in shown[2].items():
        line = ministry[measure]
        assert status == PROVISIONAL_STATUS[line["status"]][0]
        assert (met, counted) == (line["numerator"], line["denominator"])
        expected = f"{Decimal(line['performance']) * 100:.1f}%" if line["performance"] else ""
        assert performance == expected and target == f"{Decimal(line['target']) * 100:.1f}%"
        assert credit == f"£{Decimal(line['credit_gbp']):,.2f}", measure  # to the penny
    assert ministry["SL002R"]["credit_gbp"] == "30000.00"
    (payment,) = [r for r in _csv(out / "payments.csv") if r["provider_code"] == "C14"]
    assert Decimal(payment["service_credits_gbp"]) == Decimal("30000.00")
