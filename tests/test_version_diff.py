"""What changed between two versions of a return: records by their natural keys, field by field with identifiers
masked, and how each service level and credit moved, by the ministry return's own code; and the portal's pages
and download for it, for the provider (its own versions only) and the contract manager (the counted versions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from probation_returns.calendar import Quarter
from probation_returns.measures.quarter import provider_levels
from probation_returns.versions.diff import FieldChange, RecordChange, compare, counted_pair, previous_version
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
    AuditEvent,
    Submission,
    ValidationRun,
)

Q = "2017Q3"
ON_TIME = dt.datetime(2017, 10, 2, 9, 0, tzinfo=dt.UTC)  # the deadline is 20 business days after 30 September


def _case(ref: str, first: dt.date, pnc: str = "h", rosh: str = "M") -> dict:
    return dict(
        case_ref=ref,
        pnc_hash=pnc * 64,
        provider_code="C14",
        sentence_type="CO",
        sentence_date=dt.date(2017, 6, 20),
        start_date=dt.date(2017, 6, 30),  # Fri: SL001R's deadline is 5 business days later, Fri 7 July
        rosh_level=rosh,
        ogrs3_2yr=40,
        age_at_start=30,
        sex="M",
        index_offence_group="THEFT",
        em_only=False,
        first_appointment_date=first,
        first_appointment_attended=False,  # nobody is in SL003's population
        upw_required=False,
    )


IN_TIME, LATE = dt.date(2017, 7, 5), dt.date(2017, 7, 14)


def _version_1() -> dict:
    cases = [_case(f"A0000{n:02d}", IN_TIME) for n in range(1, 10)]
    cases += [_case("A000010", LATE), _case("A000011", IN_TIME)]
    contacts = [
        dict(case_ref="A000001", contact_date=dt.date(2017, 7, 10), contact_type="F2F", outcome="ATTENDED"),
        dict(case_ref="A000002", contact_date=dt.date(2017, 7, 11), contact_type="F2F", outcome="FAILED_TO_ATTEND"),
        dict(case_ref="A000011", contact_date=dt.date(2017, 7, 12), contact_type="F2F", outcome="ATTENDED"),
    ]
    breaches = [
        dict(breach_ref="BR1", case_ref="A000003", awareness_date=dt.date(2017, 7, 20)),
        dict(breach_ref="=HYPERLINK(1)", case_ref="A000004", awareness_date=dt.date(2017, 7, 21)),
    ]
    return {"cases": cases, "contacts": contacts, "breaches": breaches}


def _version_2() -> dict:
    v = _version_1()
    cases = [c for c in v["cases"] if c["case_ref"] != "A000011"]  # removed
    for c in cases:
        if c["case_ref"] == "A000010":  # changed in two fields: now on time, and its risk level
            c.update(first_appointment_date=dt.date(2017, 7, 6), rosh_level="H")
        if c["case_ref"] == "A000005":  # its PNC id corrected
            c.update(pnc_hash="k" * 64)
    cases.append(_case("A000012", dt.date(2017, 7, 4)))  # added
    contacts = [c for c in v["contacts"] if c["case_ref"] != "A000011"]
    contacts[1] = dict(contacts[1], followup_date=dt.date(2017, 7, 12))
    breaches = [
        dict(v["breaches"][0], referral_date=dt.date(2017, 7, 25), pack_complete=True),
        dict(
            breach_ref="2017/1234567X", case_ref="A000006", awareness_date=dt.date(2017, 7, 22)
        ),  # looks like a PNC id
    ]
    return {"cases": cases, "contacts": contacts, "breaches": breaches}


MODELS = {"cases": AcceptedCase, "contacts": AcceptedContact, "breaches": AcceptedBreach}


def store_version(engine, provider: str, version: int, tables: dict | None, outcome: str = "Accepted") -> int:
    """A version as the warehouse keeps it: the submission, its validation's counts and its accepted records."""
    with session_scope(engine) as s:
        submission = Submission(
            provider_code=provider,
            quarter=Q,
            version=version,
            sha256=f"{version:064d}",
            file_names=[f"{provider}_{Q}.xlsx"],
            received_at=ON_TIME + dt.timedelta(hours=version),
            delivered_at=ON_TIME + dt.timedelta(hours=version),
            status="validated",
            outcome=outcome,
        )
        s.add(submission)
        s.flush()
        counts = {name: {"rows": len(rows), "rejected": 0} for name, rows in (tables or {}).items()}
        s.add(
            ValidationRun(
                submission_id=submission.id,
                outcome=outcome,
                rules_version="t",
                reference_version="t",
                software_version="t",
                table_counts=counts or {"cases": {"rows": 3, "rejected": 3}},
            )
        )
        for name, rows in (tables or {}).items():
            for number, row in enumerate(rows, start=2):
                s.add(MODELS[name](submission_id=submission.id, row_number=number, **row))
        return submission.id


@pytest.fixture
def versions(engine):
    ids = [
        store_version(engine, "C14", 1, _version_1()),
        store_version(engine, "C14", 2, _version_2()),
        store_version(engine, "C14", 3, None, outcome="Rejected"),
    ]
    return engine, ids


def test_records_added_removed_and_changed_by_their_keys_field_by_field_with_identifiers_masked(versions):
    engine, _ = versions
    diff = compare(engine, "C14", Q, 1, 2)
    assert diff.records == [
        RecordChange("cases", "A000005", "A000005", "changed", (FieldChange("pnc_id", "withheld", "withheld"),)),
        RecordChange(
            "cases",
            "A000010",
            "A000010",
            "changed",
            (
                FieldChange("rosh_level", "M", "H"),
                FieldChange("first_appointment_date", "2017-07-14", "2017-07-06"),
            ),
        ),
        RecordChange("cases", "A000011", "A000011", "removed"),
        RecordChange("cases", "A000012", "A000012", "added"),
        RecordChange(
            "contacts", "A000002", "2017-07-11 F2F", "changed", (FieldChange("followup_date", "", "2017-07-12"),)
        ),
        RecordChange("contacts", "A000011", "2017-07-12 F2F", "removed"),
        RecordChange(
            "breaches",
            "A000003",
            "BR1",
            "changed",
            (FieldChange("referral_date", "", "2017-07-25"), FieldChange("pack_complete", "", "Y")),
        ),
        RecordChange("breaches", "A000004", "=HYPERLINK(1)", "removed"),
        RecordChange("breaches", "A000006", "****567X", "added"),  # a breach reference that looks like a PNC id
    ]
    cases, contacts, breaches = diff.tables
    assert (cases.before_accepted, cases.after_accepted, cases.added, cases.removed, cases.changed) == (11, 11, 1, 1, 2)
    assert (contacts.before_rows, contacts.after_rows, contacts.added, contacts.removed, contacts.changed) == (
        3,
        2,
        0,
        1,
        1,
    )
    assert (breaches.added, breaches.removed, breaches.changed) == (1, 1, 1)
    csv = diff.csv_text()
    assert csv.splitlines()[0] == '"table","case_ref","record","change","column","before","after"'
    assert '"cases","A000010","A000010","changed","first_appointment_date","2017-07-14","2017-07-06"' in csv
    assert '"\'=HYPERLINK(1)"' in csv  # a cell that would run as a formula is neutralised
    assert "1234567" not in csv and "h" * 64 not in csv and "k" * 64 not in csv  # no PNC id, no hash
    assert len(csv.splitlines()) == 1 + 1 + 2 + 1 + 1 + 1 + 1 + 2 + 1 + 1


def test_the_service_level_moves_from_missed_to_met_and_its_credit_by_the_hand_computed_amount(versions):
    engine, _ = versions
    diff = compare(engine, "C14", Q, 1, 2)
    moves = {m.measure: m for m in diff.levels}
    sl001r = moves["SL001R"]
    # version 1: 10 of 11 first appointments within 5 business days (A000010's on 14 July, after Fri 7 July)
    assert (sl001r.before.numerator, sl001r.before.denominator, sl001r.before.rate, sl001r.before.status) == (
        10,
        11,
        Decimal("90.9"),
        "missed",
    )
    # credit: 0.25% of C14's £2,400,000 fee per point below 95%: 6,000 x (95 - 1000/11) = £24,545.4545...
    assert sl001r.before.credit_gbp == Decimal("24545.45")
    assert (sl001r.after.numerator, sl001r.after.denominator, sl001r.after.rate, sl001r.after.status) == (
        11,
        11,
        Decimal("100.0"),
        "met",
    )
    assert sl001r.after.credit_gbp == Decimal("0.00") and sl001r.credit_change_gbp == Decimal("-24545.45")
    ak = moves["AK"]  # 2 of 33 case-months in both (A000002's follow-up now counts, A000011's month is gone)
    assert (ak.before.numerator, ak.before.denominator, ak.after.numerator, ak.after.denominator) == (2, 33, 2, 33)
    assert ak.before.credit_gbp == ak.after.credit_gbp == Decimal("60000.00") and not ak.moved  # 2.5% cap
    # BR1 referred on 25 July with its pack complete, within 8 business days of 20 July: too few for a status
    figures = {m: (moves[m].before.numerator, moves[m].before.denominator, moves[m].after.numerator) for m in moves}
    assert figures["SL016"] == (0, 0, 1) and figures["AE"] == (0, 2, 1)
    assert moves["SL016"].after.status == moves["AE"].after.status == "insufficient volume"
    assert [m.measure for m in diff.levels if m.moved] == ["SL001R", "SL016", "AE"]
    assert (diff.credits_before_gbp, diff.credits_after_gbp, diff.credits_change_gbp) == (
        Decimal("84545.45"),
        Decimal("60000.00"),
        Decimal("-24545.45"),
    )
    counted = provider_levels(engine, "C14", Quarter.parse(Q))  # the ministry return's figures for version 2
    assert diff.counted_version == 2 and diff.after.counts
    assert [(lv.measure, lv.numerator, lv.denominator, lv.status) for lv in counted.levels] == [
        (m.measure, m.after.numerator, m.after.denominator, m.after.status) for m in diff.levels
    ]
    assert [c.amount_gbp for c in counted.credits] == [m.after.credit_gbp for m in diff.levels]


def test_a_rejected_version_has_no_accepted_records_and_only_what_can_be_compared_is(versions):
    engine, _ = versions
    diff = compare(engine, "C14", Q, 2, 3)
    assert not diff.compared and diff.records == [] and diff.csv_text().count("\n") == 1
    assert diff.notes == [
        "Version 3 was rejected, so it has no accepted records. Its records are not compared and its service "
        "levels are not worked out: a rejected version never replaces an accepted one, so it changes none of the "
        "quarter's figures."
    ]
    cases = diff.tables[0]
    assert (cases.before_rows, cases.after_rows, cases.before_accepted, cases.after_accepted, cases.added) == (
        11,
        3,
        11,
        None,
        None,
    )
    assert all(m.after is None and m.before is not None and m.credit_change_gbp is None for m in diff.levels)
    assert diff.credits_before_gbp == Decimal("60000.00") and diff.credits_after_gbp is None


def test_versions_of_the_quarter_the_previous_one_and_the_counted_pair(versions):
    engine, _ = versions
    assert compare(engine, "C14", Q, 1, 4) is None and compare(engine, "C05", Q, 1, 2) is None
    with session_scope(engine) as s:
        assert previous_version(s, "C14", Q, 3) == 2 and previous_version(s, "C14", Q, 1) is None
        assert counted_pair(s, "C14", Q) == (1, 2)  # version 3 was rejected: version 2 still counts
        assert counted_pair(s, "C05", Q) is None
        assert s.scalars(select(AuditEvent)).first() is None


# The portal: C14 (the signed-in provider) has the seed's version 1 (delivered now, so late) and versions 2 to 4
# here (2 and 3 as versions 1 and 2 above, 4 rejected); C05 has one rejected version.


@pytest.fixture
def portal(tmp_path, database_url):
    from tests.support.portal_fixtures import seed

    seeded = seed(tmp_path, database_url)
    seeded.versions = [
        store_version(seeded.engine, "C14", 2, _version_1()),
        store_version(seeded.engine, "C14", 3, _version_2()),
        store_version(seeded.engine, "C14", 4, None, outcome="Rejected"),
    ]
    yield seeded
    seeded.engine.dispose()


def _client(portal, role: str):
    from tests.support.portal_fixtures import sign_in

    client = portal.app.test_client()
    sign_in(client, role)
    return client


def _audited(portal, action: str) -> list[tuple]:
    with session_scope(portal.engine) as s:
        return [
            (e.actor, e.provider_code, e.quarter, e.target)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        ]


def test_the_provider_sees_what_changed_since_the_version_before_and_downloads_it_audited(portal):
    client = _client(portal, "provider")
    v2, v3, _ = portal.versions
    history = client.get("/returns/history").get_data(as_text=True)
    assert f'href="/submissions/{v3}/changes"' in history and "What changed since version 2" in history
    page = client.get(f"/submissions/{v3}/changes")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "What changed from version 2 to version 3" in text
    for shown in ("10 of 11 (90.9%): missed", "11 of 11 (100.0%): met", "£24,545.45", "−£24,545.45", "£84,545.45"):
        assert shown in text, shown
    assert "****567X" in text and "withheld" in text and "1234567" not in text and "h" * 64 not in text
    download = client.get(f"/submissions/{v3}/changes.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert 'filename="C14_2017Q3_v2_to_v3_changes.csv"' in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == compare(portal.engine, "C14", Q, 2, 3).csv_text()
    clerk = "clerk@c14.example"
    assert _audited(portal, "view_changes") == [(clerk, "C14", Q, "C14 2017Q3 version 2 to version 3: page")]
    assert _audited(portal, "download")[-1] == (
        clerk,
        "C14",
        Q,
        "C14 2017Q3 version 2 to version 3: C14_2017Q3_v2_to_v3_changes.csv",
    )


def test_any_two_of_its_versions_are_compared_and_anything_else_asked_for_is_404(portal):
    client = _client(portal, "provider")
    _, v3, v4 = portal.versions
    text = client.get(f"/submissions/{v3}/changes?against=4").get_data(as_text=True)
    assert "What changed from version 3 to version 4" in text and "Version 4 was rejected" in text
    assert "What changed from version 1 to version 3" in client.get(f"/submissions/{v3}/changes?against=1").get_data(
        as_text=True
    )
    first = client.get(f"/submissions/{portal.own_submission}/changes")
    assert first.status_code == 200 and "no version before it" in first.get_data(as_text=True)
    assert client.get(f"/submissions/{portal.own_submission}/changes.csv").status_code == 404
    for bad in ("0", "3", "5", "-1", "+2", " 2", "2.0", "02", "abc", "", "9999999", "2&against=1", "2&x=1"):
        for route in ("changes", "changes.csv"):
            assert client.get(f"/submissions/{v3}/{route}?against={bad}").status_code == 404, (route, bad)
    assert client.get(f"/submissions/{v4}/changes?against=2").status_code == 200


def test_another_providers_versions_are_404_alike_whatever_the_url(portal):
    import re

    _, v3, _ = portal.versions
    client = _client(portal, "other_provider")

    def page(url):  # without what differs on every response: the CSP nonce
        return re.sub(r'nonce="[^"]+"', "", client.get(url).get_data(as_text=True))

    for url in (f"/submissions/{v3}/changes", f"/submissions/{v3}/changes?against=2", f"/submissions/{v3}/changes.csv"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert page(url) == page("/submissions/999999/changes")  # nothing tells the two apart
    own = client.get(f"/submissions/{portal.other_submission}/changes")
    assert own.status_code == 200
    for url in ("/manage/quarters/2017Q3/providers/C14/changes", "/manage/quarters/2017Q3/providers/C14/changes.csv"):
        assert client.get(url).status_code == 404
    assert _audited(portal, "view_changes") == [] or all(a[1] == "C05" for a in _audited(portal, "view_changes"))


def test_the_contract_manager_sees_the_counted_version_against_the_one_that_counted_before(portal):
    client = _client(portal, "manager")
    provider_page = client.get("/manage/providers/C14").get_data(as_text=True)
    assert "2017Q3: what changed from version 2 to version 3, which counts" in provider_page
    v2, v3, v4 = portal.versions  # the "Returns sent" table links each version after the first to its changes
    for sid, before in ((v2, 1), (v3, 2), (v4, 3)):
        link = f'href="/submissions/{sid}/changes">What changed since version {before}<span'
        assert link in provider_page, sid
    assert provider_page.count("What changed since version") == 3 and "First version" in provider_page
    text = client.get("/manage/quarters/2017Q3/providers/C14/changes").get_data(as_text=True)
    assert "What changed from version 2 to version 3" in text and "−£24,545.45" in text
    assert "Version 3 counts for the quarter; version 2 counted before it was accepted." in text
    download = client.get("/manage/quarters/2017Q3/providers/C14/changes.csv")
    assert download.get_data(as_text=True) == compare(portal.engine, "C14", Q, 2, 3).csv_text()
    unchanged = client.get("/manage/quarters/2017Q3/providers/C05/changes")
    assert unchanged.status_code == 200 and "has not changed" in unchanged.get_data(as_text=True)
    assert client.get("/manage/quarters/2017Q3/providers/C05/changes.csv").status_code == 404
    for url in ("/manage/quarters/2017Q3/providers/C14/changes?x=1", "/manage/quarters/2017Q9/providers/C14/changes"):
        assert client.get(url).status_code == 404
    assert client.get("/manage/quarters/2017Q3/providers/Z99/changes").status_code == 404
    manager = "manager@moj.example"
    assert _audited(portal, "view_changes") == [(manager, "C14", Q, "C14 2017Q3 version 2 to version 3: page")]
    assert _audited(portal, "download")[-1][3] == "C14 2017Q3 version 2 to version 3: C14_2017Q3_v2_to_v3_changes.csv"


@pytest.mark.browser
def test_the_what_changed_pages_in_chromium_pass_axe_and_reflow(portal):
    """Both pages in Chromium, checked with axe-core and at 320 px (screenshots with RETURNS_SCREENSHOTS)."""

    from playwright.sync_api import sync_playwright

    from tests.support.browser import Visitor, open_browser, served
    from tests.support.portal_fixtures import ACCOUNTS

    _, v3, _ = portal.versions
    with served(portal.app) as base:
        with sync_playwright() as p:
            browser = open_browser(p)
            for role, path, name in (
                ("provider", f"/submissions/{v3}/changes", "provider-changes"),
                ("manager", "/manage/quarters/2017Q3/providers/C14/changes", "manager-counted-changes"),
            ):
                context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
                visitor = Visitor(context.new_page(), base)
                visitor.sign_in(ACCOUNTS[role])
                visitor.go(path, name)
                assert "What changed from version 2 to version 3" in visitor.page.content()
            browser.close()
