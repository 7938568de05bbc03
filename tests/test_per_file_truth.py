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
from probation_returns.generator import generate
from probation_returns.warehouse.db import session_scope, upgrade
from probation_returns.warehouse.models import Submission

Q = Quarter.parse("2017Q3")
CODES = ["C01", "C02", "N04", "N05", "C05"]


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    from orchestration.run import run_quarter

    root = tmp_path_factory.mktemp("truth")
    saved = {k: os.environ.get(k) for k in ("RETURNS_PSEUDONYM_KEY", "DAGSTER_HOME")}
    os.environ["RETURNS_PSEUDONYM_KEY"] = "test-key-for-synthetic-data-only"
    os.environ.pop("DAGSTER_HOME", None)
    try:
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
        run = run_quarter(Q, CODES, landing=landing, archive=root / "archive", output=root / "out",
                          database_url=db, extract=made.extract, quarter_subfolders=False)
        assert set(run.failed) <= set(CODES)  # rejected returns are outcomes, not failures
        yield root, db
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
    for r in rows[start + 1:]:
        if r[0] in CODES:
            row = dict(zip(keys, r))
            out[(row["provider_code"], row["table"])] = row
    return out


EXPECTED = {  # (provider, table) -> the start of what the File column says
    ("C02", "cases"): "C02_2017Q3_cases.csv could not be read: C02_2017Q3_cases.csv is UTF-16",
    ("C02", "contacts"): "C02_2017Q3_contacts.csv read: ",
    ("C02", "breaches"): "C02_2017Q3_breaches.csv read: ",
    ("N04", "breaches"): "not sent: no breaches table was among the files received",
    ("N04", "cases"): "N04_2017Q3_cases.csv read: ",
    ("N05", "cases"): "N06_2017Q3_cases.csv read: ",
    ("C01", "cases"): "C01_2017Q3_cases.csv read: ",
}
REASONS = {"C02": "FIL-001", "N04": "FIL-002", "N05": "FIL-004", "C01": "CAS-004"}


def test_data_quality_csv_says_what_happened_to_each_file_and_why_the_return_was_rejected(quarter):
    root, _ = quarter
    quality = _quality(root)
    for key, start in EXPECTED.items():
        assert quality[key]["file"].startswith(start), (key, quality[key]["file"])
    assert quality[("C02", "contacts")]["rows"] and quality[("C02", "contacts")]["rows_marker"] == ""
    assert quality[("C02", "contacts")]["file"].endswith("its records were not checked, because the return could "
                                                         "not be used")
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
    for key, start in EXPECTED.items():
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
    for table in ("cases", "contacts", "breaches"):
        assert parts[table]["file"] == quality[(code, table)]["file"]
        assert (parts[table]["rows"] is None) == (quality[(code, table)]["rows"] == "")
    assert summary["outcome"] == "Rejected" and summary["reasons"][0].startswith(
        f"The return cannot be used: {REASONS[code]} is fatal")
    html = (folder / "feedback.html").read_text(encoding="utf-8")
    assert all(escape(parts[t]["file"]) in html for t in parts)
    wb = load_workbook(folder / "feedback.xlsx")["Summary"]
    shown = {r[0]: r[1] for r in wb.iter_rows(values_only=True) if r and r[0] in parts}
    assert shown == {t: p["file"] for t, p in parts.items()}


def test_the_portal_page_says_the_same(quarter):
    from portal import create_app
    from portal.settings import Settings
    from probation_returns import accounts
    from tests.portal_fixtures import PASSWORD, token

    root, db = quarter
    settings = Settings(database_url=db, landing=root / "landing", archive=root / "archive", output=root / "out",
                        dagster_home=root / "dagster", secret_key="test-secret-key", open_quarter="2017Q3",
                        process_uploads=False, sign_in_limit="1000 per minute")
    from probation_returns.warehouse.db import engine_for

    engine = engine_for(db)
    with session_scope(engine) as s:
        accounts.add_user(s, "truth@moj.example", "manager", PASSWORD, name="Contract Manager")
        ids = {sub.provider_code: sub.id for sub in s.query(Submission).all()}
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    client.post("/sign-in", data={"email": "truth@moj.example", "password": PASSWORD, "csrf_token": token(client)})
    quality = _quality(root)
    for code in REASONS:
        page = unescape(client.get(f"/submissions/{ids[code]}").get_data(as_text=True))
        for table in ("cases", "contacts", "breaches"):
            assert quality[(code, table)]["file"] in page, (code, table)
        assert f"{REASONS[code]} is fatal" in page
