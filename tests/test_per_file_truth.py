"""Per-file truth: what happened to each file of a return is said the same way in the four places people
read it (the feedback's summary.json, HTML and workbook; the ministry's Data quality sheet; data_quality.csv;
the portal's page), and a rejected return names its fatal reason wherever its counts are shown.

The demo quarter's cases, made here on purpose: C02 sent its cases file in UTF-16 but its contacts and
breaches were readable; N04 never sent breaches; N05 named its files for N06; C01 had one case under
another provider's code (CAS-004, fatal at any count).
"""

from __future__ import annotations

import csv
import json
import os
from html import escape, unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.warehouse.db import session_scope, upgrade
from probation_returns.warehouse.models import Submission
from tests.support.returns import pipeline_env

Q = Quarter.parse("2017Q3")
CODES = ["C01", "C02", "N04", "N05", "C05"]


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    from orchestration.runner.quarter import run_quarter

    root = tmp_path_factory.mktemp("truth")
    with pipeline_env():
        db = f"sqlite:///{root / 'w.db'}"
        upgrade(db)
        made = generate(root / "landing", [Q], CODES, scale=0.02)
        landing = root / "landing"
        cases = landing / "C02" / "C02_2017Q3_cases.csv"
        cases.write_bytes(cases.read_text(encoding="utf-8").encode("utf-16"))  # Excel's "Unicode text"
        (landing / "N04" / "N04_2017Q3_breaches.csv").unlink()
        for f in sorted((landing / "N05").iterdir()):
            stamp = f.stat().st_mtime
            renamed = f.with_name(f.name.replace("N05", "N06"))
            f.rename(renamed)
            os.utime(renamed, (stamp, stamp))
        c01 = landing / "C01" / "C01_2017Q3_cases.csv"
        stamp = c01.stat().st_mtime
        lines = c01.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[5] = lines[5].replace(",C01,", ",C02,", 1)
        c01.write_text("".join(lines), encoding="utf-8")
        os.utime(c01, (stamp, stamp))
        run = run_quarter(
            Q,
            CODES,
            landing=landing,
            archive=root / "archive",
            output=root / "out",
            database_url=db,
            extract=made.extract,
            quarter_subfolders=False,
        )
        assert set(run.failed) <= set(CODES)  # rejected returns are outcomes, not failures
        yield root, db


def _quality(root: Path) -> dict[tuple[str, str], dict]:
    with (root / "out" / "data_quality.csv").open(newline="", encoding="utf-8") as f:
        return {(r["provider_code"], r["table"]): r for r in csv.DictReader(f)}


def _feedback(root: Path, code: str) -> Path:
    [folder] = (root / "out" / "feedback" / code / str(Q)).iterdir()
    return folder


def _sheet(root: Path) -> dict[tuple[str, str], dict]:
    from reports.ministry.layout import DATA_QUALITY

    ws = load_workbook(root / "out" / "ministry_return_2017Q3.xlsx")["Data quality"]
    keys = [c.key for c in DATA_QUALITY.columns]
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == DATA_QUALITY.columns[0].heading)
    out = {}
    for r in rows[start + 1 :]:
        if r[0] in CODES:
            row = dict(zip(keys, r))
            out[(row["provider_code"], row["table"])] = row
    return out


EXPECTED = {  # (provider, table) -> the start of what the File column says
    ("C02", "cases"): "C02_2017Q3_cases.csv could not be read: C02_2017Q3_cases.csv is UTF-16",
    ("C02", "contacts"): "C02_2017Q3_contacts.csv read; its records were not checked",
    ("C02", "breaches"): "C02_2017Q3_breaches.csv read; its records were not checked",
    ("N04", "breaches"): "not sent: no breaches table was among the files received",
    ("N04", "cases"): "N04_2017Q3_cases.csv read; its records were not checked",
    ("N05", "cases"): "N06_2017Q3_cases.csv read",
    ("C01", "cases"): "C01_2017Q3_cases.csv read",
}
REASONS = {"C02": "FIL-001", "N04": "FIL-002", "N05": "FIL-004", "C01": "CAS-004"}


def test_data_quality_csv_says_what_happened_to_each_file_and_why_the_return_was_rejected(quarter):
    root, _ = quarter
    quality = _quality(root)
    for key, start in EXPECTED.items():
        assert quality[key]["file"].startswith(start), (key, quality[key]["file"])
    assert quality[("C02", "contacts")]["rows"] and quality[("C02", "contacts")]["rows_marker"] == ""
    assert quality[("C02", "contacts")]["file"].endswith(
        "its records were not checked, because the return could not be used"
    )
    assert quality[("C02", "cases")]["rows"] == "" and quality[("C02", "cases")]["rows_marker"] == "[x]"
    assert quality[("N04", "breaches")]["rows_marker"] == "[x]"
    for code, rule in REASONS.items():
        for table in ("cases", "contacts", "breaches", "whole return"):
            assert quality[(code, table)]["rejected_because"].startswith(rule), (code, table)
    assert "fatal at any count" in quality[("C01", "cases")]["rejected_because"]
    assert quality[("C05", "cases")]["rejected_because"] == ""  # accepted: nothing to explain
    # N05's three FIL-004 findings are errors of the return as a whole, not 0 errors and no rule
    assert quality[("N05", "whole return")]["errors"] == "3"
    assert quality[("N05", "whole return")]["top_rules"] == "FIL-004 (3)"
    assert quality[("N05", "whole return")]["rows_marker"] == "[z]"


def test_the_data_quality_sheet_says_the_same_as_the_csv(quarter):
    root, _ = quarter
    quality, sheet = _quality(root), _sheet(root)
    for key in EXPECTED:
        assert sheet[key]["file"] == quality[key]["file"]
        assert sheet[key]["rejected_because"] == quality[key]["rejected_because"]
    assert sheet[("C02", "cases")]["rows"] == "[x]"
    assert sheet[("C02", "contacts")]["rows"] == int(quality[("C02", "contacts")]["rows"])


@pytest.mark.parametrize("code", ["C02", "N04", "N05", "C01"])
def test_the_feedback_says_the_same_in_summary_html_and_workbook(quarter, code):
    root, _ = quarter
    folder = _feedback(root, code)
    summary = json.loads((folder / "summary.json").read_text())
    quality = _quality(root)
    parts = {p["table"]: p for p in summary["parts"]}
    for table in ("cases", "contacts", "breaches"):  # the feedback says the rows in words too, the return in rows
        rows = quality[(code, table)]["rows"]
        said = (
            quality[(code, table)]["file"].replace(" read", f" read: {int(rows):,} rows", 1)
            if rows
            else quality[(code, table)]["file"]
        )
        assert parts[table]["file"] == said
        assert (parts[table]["rows"] is None) == (rows == "")
    assert summary["outcome"] == "Rejected" and summary["reasons"][0].startswith(
        f"The return cannot be used: {REASONS[code]} is fatal"
    )
    html = (folder / "feedback.html").read_text(encoding="utf-8")
    assert all(escape(parts[t]["file"]) in html for t in parts)
    wb = load_workbook(folder / "feedback.xlsx")["Summary"]
    shown = {r[0]: r[1] for r in wb.iter_rows(values_only=True) if r and r[0] in parts}
    assert shown == {t: p["file"] for t, p in parts.items()}


def test_the_portal_page_says_the_same(quarter):
    from portal.app import create_app
    from portal.settings import Settings
    from probation_returns import accounts
    from tests.support.portal_fixtures import PASSWORD, token

    root, db = quarter
    settings = Settings(
        database_url=db,
        landing=root / "landing",
        archive=root / "archive",
        output=root / "out",
        dagster_home=root / "dagster",
        secret_key="test-secret-key",
        open_quarter="2017Q3",
        process_uploads=False,
        sign_in_limit="1000 per minute",
    )
    from probation_returns.warehouse.db import engine_for

    engine = engine_for(db)
    with session_scope(engine) as s:
        accounts.add_user(s, "truth@moj.example", "manager", PASSWORD, name="Contract Manager")
        ids = {sub.provider_code: sub.id for sub in s.query(Submission).all()}
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    client.post("/sign-in", data={"email": "truth@moj.example", "password": PASSWORD, "csrf_token": token(client)})
    for code in REASONS:
        page = unescape(client.get(f"/submissions/{ids[code]}").get_data(as_text=True))
        summary = json.loads((_feedback(root, code) / "summary.json").read_text())
        for p in summary["parts"]:
            assert p["file"] in page, (code, p["table"])
        assert f"{REASONS[code]} is fatal" in page


def _deliver(landing: Path, code: str, when: float, break_case: bool = False) -> None:
    """Rewrite the provider's files (a new version) and stamp them as delivered at ``when``."""
    for f in sorted((landing / code).glob(f"{code}_2017Q3_*.csv")):
        text = f.read_text(encoding="utf-8")
        if break_case and f.name.endswith("_cases.csv"):
            lines = text.splitlines(keepends=True)
            lines[3] = lines[3].replace(f",{code},", ",C01,", 1)  # CAS-004: fatal at any count
            text = "".join(lines)
        else:
            text = text.rstrip("\r\n") + "\r\n"  # the same records, other bytes: a new version
            if f.name.endswith("_contacts.csv"):
                text += text.splitlines(keepends=True)[-1]  # one contact twice (a CON-006 warning)
        f.write_text(text, encoding="utf-8")
        os.utime(f, (when, when))


def test_the_feedback_says_which_version_counts_what_sending_again_does_and_the_credits_at_stake(tmp_path):
    """Version 1 accepted on time; version 2 rejected on time (the last good return, version 1, still counts);
    version 3 delivered after the deadline (changes nothing). Each version's feedback says so, and the credits
    at stake equal the ministry return's service credits for the provider."""
    import datetime as dt
    from decimal import Decimal

    from orchestration.runner.quarter import run_quarter

    with pipeline_env():
        db = f"sqlite:///{tmp_path / 'w.db'}"
        upgrade(db)
        landing = tmp_path / "landing"
        made = generate(landing, [Q], ["C05"], scale=0.02)
        utc = dt.UTC

        def run():
            result = run_quarter(
                Q,
                ["C05"],
                landing=landing,
                archive=tmp_path / "archive",
                output=tmp_path / "out",
                database_url=db,
                extract=made.extract,
                quarter_subfolders=False,
            )
            assert result.failed == [], result.reasons

        run()  # version 1, as generated: on time
        _deliver(landing, "C05", dt.datetime(2017, 10, 20, 12, tzinfo=utc).timestamp(), break_case=True)
        run()  # version 2: rejected, on time
        _deliver(landing, "C05", dt.datetime(2017, 11, 1, 12, tzinfo=utc).timestamp())
        run()  # version 3: accepted, late
    folders = sorted(
        (tmp_path / "out" / "feedback" / "C05" / "2017Q3").iterdir(), key=lambda p: int(p.name.split("-")[1])
    )
    assert len(folders) == 3
    standing = [json.loads((f / "summary.json").read_text())["about"]["standing"] for f in folders]
    with (tmp_path / "out" / "payments.csv").open(newline="", encoding="utf-8") as f:
        credits = next(r for r in csv.DictReader(f) if r["provider_code"] == "C05")["service_credits_gbp"]
    v2, v3 = standing[1], standing[2]
    assert v2["counted_version"] == 1 and not v2["counts"]
    assert v2["why"] == (
        "Version 2 does not count: it was rejected. Version 1, delivered by the deadline and accepted, "
        "still counts: a rejected version never replaces an accepted one."
    )
    assert v2["send_again"] == (
        "Until the deadline, the end of Friday 27 October 2017 (UK time), a corrected version "
        "replaces version 1 if it is accepted; if it is rejected, version 1 keeps counting. "
        "After the deadline, a new version is late and changes nothing."
    )
    assert v3["why"].startswith("Version 3 does not count: it was delivered after the deadline")
    assert v3["why"].endswith("Version 1 counts.")
    assert v3["send_again"].startswith(
        "The deadline, the end of Friday 27 October 2017 (UK time), passed before this "
        "version was delivered: a version sent now is late and changes nothing"
    )
    for s in standing[1:]:
        assert Decimal(s["credits_gbp"]) == Decimal(credits)  # the ministry return's figure, to the penny
        assert f"£{Decimal(credits):,.2f}" in s["credits"]
    page = (folders[2] / "feedback.html").read_text(encoding="utf-8")
    assert escape(v3["why"]) in page and escape(v3["send_again"]) in page and escape(v3["credits"]) in page
    summary = json.loads((folders[2] / "summary.json").read_text())
    assert summary["about"]["business_days_left"] == 0  # as at delivery: late
    assert json.loads((folders[1] / "summary.json").read_text())["about"]["business_days_left"] == 6  # 20 to 27 Oct


def _rows(root: Path, name: str) -> list[dict]:
    with (root / "out" / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_provider_has_a_reoffending_row_and_no_result_is_not_a_payment_of_nothing(quarter):
    """The six rejected providers of the demo had no Reoffending rows, and Payments showed them 0.00 paid."""
    root, _ = quarter
    reoffending = {r["provider_code"]: r for r in _rows(root, "reoffending")}
    assert set(CODES) <= set(reoffending)
    for code in REASONS:  # rejected: no cohort, said so, every figure [x]
        row = reoffending[code]
        assert row["result"] == "no valid return" and row["cohort_size"] == "" and row["cohort_size_marker"] == "[x]"
    assert reoffending["N04"]["outcome_payment_gbp_marker"] == "[z]"  # NPS: never paid, whatever the return
    assert reoffending["C01"]["outcome_payment_gbp_marker"] == "[x]"
    payments = {r["provider_code"]: r for r in _rows(root, "payments")}
    for code in ("C01", "C02"):
        assert payments[code]["outcome_payments_gbp"] == "" and payments[code]["outcome_payments_gbp_marker"] == "[x]"
        assert payments[code]["net_gbp"]  # the fee less applied credits is still payable
    for code in ("N04", "N05"):  # NPS divisions: no fee, credits, payments or net
        assert all(
            payments[code][f"{c}_marker"] == "[z]"
            for c in ("quarterly_fee_gbp", "service_credits_gbp", "outcome_payments_gbp", "net_gbp")
        )


def test_totals_say_how_many_providers_their_figures_cover(quarter):
    """'All CRCs' covered 18 of 21 CRCs in the demo and did not say so."""
    root, _ = quarter
    names = {(r["provider_code"], r["measure"]): r["provider_name"] for r in _rows(root, "service_levels")}
    # only C05's return counts: C01, C02, N04 and N05 were rejected and the others sent nothing
    assert names[("CRC", "SL001R")] == "All CRCs (1 of 21 with figures)"
    assert names[("NPS", "SL001R")] == "All NPS divisions (0 of 7 with figures)"
    assert names[("ALL", "SL001R")] == "England and Wales (1 of 28 with figures)"
    totals = {
        r["provider_code"]: r["provider_name"]
        for r in _rows(root, "reoffending")
        if r["provider_code"] in ("CRC", "NPS", "ALL")
    }
    assert totals["CRC"] in ("All CRCs (1 of 21 with figures)", "All CRCs (0 of 21 with figures)")


def test_the_high_risk_measure_is_not_applicable_to_nps_divisions(quarter):
    """NPS rows showed 0/0 'reported' for a CRC-only measure."""
    root, _ = quarter
    from probation_returns.warehouse.db import engine_for
    from probation_returns.warehouse.models import Measure

    with session_scope(engine_for(quarter[1])) as s:
        nps = {m.provider_code: m for m in s.query(Measure).filter(Measure.measure == "high_risk_not_referred")}
    assert nps == {} or all(m.numerator is None for code, m in nps.items() if code.startswith("N"))
    for r in _rows(root, "service_levels"):
        if r["measure"] == "high_risk_not_referred" and r["provider_code"] in ("N04", "N05", "NPS"):
            assert r["numerator"] == "" and r["numerator_marker"] in ("[z]", "[x]")


def test_the_data_dictionary_lists_the_outcomes_the_data_uses():
    from probation_returns.validation.result import OUTCOMES
    from reports.ministry.dictionary import _COLUMNS

    [outcome] = [meaning for column, meaning, _ in _COLUMNS["submissions"] if column == "outcome"]
    assert all(o in outcome for o in OUTCOMES)
