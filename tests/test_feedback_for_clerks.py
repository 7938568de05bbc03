"""Feedback a provider's data clerk can act on: what to fix first comes first, counts tell the truth, and the
files keep what was typed."""

from __future__ import annotations

import csv
import json
import re

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app
from probation_returns.validation.outcome import share
from tests.support.returns import clean_tables, set_value, write_csvs


def _validate(tmp_path, files, quarter="2017Q3", provider="C05"):
    out = tmp_path / "feedback"
    result = CliRunner().invoke(
        app, ["validate", *map(str, files), "--provider", provider, "--quarter", quarter, "--out", str(out)]
    )
    return result, out


def _findings(out) -> list[dict]:
    with (out / "findings.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_return_for_the_wrong_quarter_leads_with_the_fatal_finding_and_the_name_to_use(tmp_path):
    tables = clean_tables()
    for row in range(3):  # record problems too, which used to be listed before the fatal one
        set_value(tables, "cases", row, "sentence_type", "XX")
    files = write_csvs(tmp_path / "sent", tables, quarter="2017Q3")
    result, out = _validate(tmp_path, files, quarter="2017Q2")
    assert result.exit_code == 1
    first = _findings(out)[0]
    assert (first["rule_id"], first["severity"]) == ("FIL-004", "F") and "Name it C05_2017Q2" in first["message"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reasons"][0].startswith(
        "The return cannot be used: FIL-004 is fatal (one finding is enough to reject the whole return). FIL-004:"
    )
    assert "C05_2017Q2" in summary["reasons"][0]
    text = " ".join(result.output.split())  # the terminal wraps long lines
    assert text.index("Rejected") < text.index("The return cannot be used: FIL-004") < text.index("CAS-")
    assert "Name it C05_2017Q2" in text
    rules = re.findall(r"^\s*([A-Z]{3}-\d{3}|CASCADE)\s+[FEW]\s", result.output, flags=re.M)
    assert rules[0] == "FIL-004"  # the rules table leads with it too
    wb = load_workbook(out / "feedback.xlsx")
    assert wb["Rules"]["A2"].value == "FIL-004" and wb["Findings"]["E2"].value == "FIL-004"
    html = (out / "feedback.html").read_text()
    assert html.index("FIL-004") < html.index("CAS-")
    gx = json.loads((out / "validation_result.json").read_text())  # not "every expectation passed"
    failed = [r["expectation_config"]["meta"]["rule_id"] for r in gx["results"] if not r["success"]]
    assert gx["success"] is False and "FIL-004" in failed
    assert gx["statistics"]["unsuccessful_expectations"] == len(failed)


@pytest.mark.slow
def test_a_return_rejected_only_for_its_name_fails_an_expectation_and_still_renders_as_data_docs(tmp_path):
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    sent = write_csvs(tmp_path / "sent", clean_tables(), quarter="2017Q3")
    files = []
    for f in sent:  # right data, wrong name: C05_2017Q4_cases.csv for a 2017Q3 return
        files.append(f.with_name(f.name.replace("2017Q3", "2017Q4")))
        f.rename(files[-1])
    result, out = _validate(tmp_path, files, quarter="2017Q3")
    assert result.exit_code == 1
    document = json.loads((out / "validation_result.json").read_text())
    assert document["statistics"]["unsuccessful_expectations"] == 1 and document["success"] is False
    loaded = ExpectationSuiteValidationResultSchema().load(document)
    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(loaded))
    assert "whole-return rule FIL-004" in page


def test_the_findings_sheet_is_as_wide_as_what_it_holds(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "sentence_type", "XX")
    result, out = _validate(tmp_path, write_csvs(tmp_path / "sent", tables))
    ws = load_workbook(out / "feedback.xlsx")["Findings"]
    headings = [c.value for c in ws[1]]
    for col, heading in zip("ABCDEFGH", headings):
        longest = max(len(str(c.value)) for c in ws[col] if c.value is not None)
        assert ws.column_dimensions[col].width >= min(90, longest), (heading, ws.column_dimensions[col].width)
        assert ws.column_dimensions[col].width <= max(len(heading) + 4, longest + 2)  # no wider than needed


def test_a_cases_file_in_utf16_is_the_only_file_not_read_and_the_others_say_their_rows(tmp_path):
    """C02 in the demo: only the cases file was UTF-16; contacts and breaches were readable UTF-8, so they
    are 'read: N rows' (not checked, since the return could not be used), never 'could not be read'."""
    tables = clean_tables()
    files = write_csvs(tmp_path / "sent", tables)
    cases = next(f for f in files if f.name.endswith("_cases.csv"))
    cases.write_bytes(b"\xff\xfe" + cases.read_text(encoding="utf-8").encode("utf-16-le"))
    result, out = _validate(tmp_path, files)
    assert result.exit_code == 1
    summary = json.loads((out / "summary.json").read_text())
    states = {t: c["state"] for t, c in summary["tables"].items()}
    assert states == {"cases": "not read", "contacts": "not checked", "breaches": "not checked"}
    words = {p["table"]: p["file"] for p in summary["parts"]}
    assert words["cases"].startswith("C05_2017Q3_cases.csv could not be read: C05_2017Q3_cases.csv is UTF-16")
    contacts, breaches = len(tables["contacts"]), len(tables["breaches"])  # data rows (the header is added)
    assert words["contacts"] == (
        f"C05_2017Q3_contacts.csv read: {contacts:,} rows; its records were not checked, "
        "because the return could not be used"
    )
    assert words["breaches"].startswith(f"C05_2017Q3_breaches.csv read: {breaches:,} rows")
    assert [p["rows"] for p in summary["parts"]][:3] == [None, contacts, breaches]
    html = (out / "feedback.html").read_text()
    from html import escape

    assert all(escape(words[t]) in html for t in ("cases", "contacts", "breaches"))
    wb = load_workbook(out / "feedback.xlsx")
    shown = {r[0].value: (r[1].value, r[2].value) for r in wb["Summary"].iter_rows() if r and r[0].value in states}
    assert shown == {
        "cases": (words["cases"], "not known"),
        "contacts": (words["contacts"], contacts),
        "breaches": (words["breaches"], breaches),
    }
    gx = json.loads((out / "validation_result.json").read_text())
    assert gx["success"] is False and gx["statistics"]["unsuccessful_expectations"] >= 1  # consistent with Rejected


def test_a_table_never_sent_is_not_sent_rather_than_not_readable(tmp_path):
    """N04 in the demo: no breaches file at all (FIL-002) is a different fact from a file that could not be read."""
    files = [f for f in write_csvs(tmp_path / "sent", clean_tables()) if not f.name.endswith("_breaches.csv")]
    result, out = _validate(tmp_path, files)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tables"]["breaches"]["state"] == "not sent"
    assert {p["table"]: p["file"] for p in summary["parts"]}["breaches"] == (
        "not sent: no breaches table was among the files received"
    )
    assert summary["tables"]["cases"]["state"] == "not checked"
    assert "could not be read" not in (out / "feedback.html").read_text()


def test_errors_and_warnings_per_table_and_for_the_whole_return_add_up_to_the_rule_counts(tmp_path):
    """C04 in the demo: a FIL-007 warning was in the rule counts (58) but in no table's count (57)."""
    files = write_csvs(tmp_path / "sent", clean_tables())
    (tmp_path / "sent" / "C05_2017Q3_notes.csv").write_text("note\nchecked\n", encoding="utf-8")
    result, out = _validate(tmp_path, [*files, tmp_path / "sent" / "C05_2017Q3_notes.csv"])
    summary = json.loads((out / "summary.json").read_text())
    whole = summary["parts"][-1]
    assert whole["table"] == "whole return" and whole["warnings"] == 1
    by_severity = {"errors": 0, "warnings": 0}
    for r in summary["rules"]:
        by_severity["warnings" if r["severity"] == "W" else "errors"] += r["count"]
    assert {k: sum(p[k] for p in summary["parts"]) for k in by_severity} == by_severity


def test_leading_zeros_survive_in_findings_csv_because_text_is_quoted(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "ogrs3_2yr", "0642")  # out of range, typed with a leading zero
    result, out = _validate(tmp_path, write_csvs(tmp_path / "sent", tables))
    text = (out / "findings.csv").read_text(encoding="utf-8")
    assert '"0642"' in text  # a spreadsheet reading this CSV keeps it as text: 0642, not 642
    assert any(r["value"] == "0642" for r in _findings(out))


def test_records_rejected_by_the_cascade_come_last_grouped_by_case_and_in_a_sheet_of_their_own(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "sentence_type", "XX")  # its contacts and breaches are rejected with it
    set_value(tables, "contacts", 0, "contact_type", "ZZ")
    result, out = _validate(tmp_path, write_csvs(tmp_path / "sent", tables))
    rows = _findings(out)
    cascade = [i for i, r in enumerate(rows) if r["rule_id"] == "CASCADE"]
    assert cascade and cascade == list(range(len(rows) - len(cascade), len(rows)))  # after every root cause
    refs = [rows[i]["case_ref"] for i in cascade]
    assert refs == sorted(refs, key=refs.index) and len(set(refs)) >= 1  # grouped under their case
    wb = load_workbook(out / "feedback.xlsx")
    assert wb.sheetnames == ["Summary", "Rules", "Findings", "Cascade"]
    findings = wb["Findings"]
    assert [c.value for c in findings[1]] == [
        "Table",
        "Row",
        "Case reference",
        "Column",
        "Rule",
        "Severity",
        "Value found",
        "What is wrong and how to fix it",
    ]
    assert findings.auto_filter.ref.startswith("A1:H") and findings.freeze_panes == "A2"
    assert {c.value for c in findings["F"][1:]} <= {"fatal", "error", "warning"}  # one severity vocabulary
    assert all(c.value != "CASCADE" for c in findings["E"][1:])
    assert wb["Cascade"].max_row == len(cascade) + 1
    assert wb["Rules"].freeze_panes == "A2" and wb["Summary"].freeze_panes == "A2"


def test_a_share_over_the_limit_is_never_shown_equal_to_it():
    assert share(4, 383, 0.01) == "1.04%" and share(0.01) == "1%"
    assert share(10_001, 1_000_000, 0.01) == "1.0001%"  # not "1%, above the 1% allowed"


def test_every_feedback_file_says_which_return_it_judged_and_how_long_is_left(tmp_path):
    import datetime as dt

    from probation_returns.ingest import sha256_file
    from probation_returns.validation.header import about

    files = write_csvs(tmp_path / "sent", clean_tables())
    result, out = _validate(tmp_path, files)
    header = json.loads((out / "summary.json").read_text())["about"]
    assert header["provider"] == "C05" and header["quarter"] == "2017Q3" and header["version"] is None
    assert {(f["name"], f["sha256"]) for f in header["files"]} == {(f.name, sha256_file(f)) for f in files}
    assert header["deadline"] == "end of Friday 27 October 2017 (UK time)" and header["business_days_left"] == 0
    html = (out / "feedback.html").read_text()
    assert "Time left to send it" in html and sha256_file(files[0]) in html
    summary = {
        r[0].value: r[1].value for r in load_workbook(out / "feedback.xlsx")["Summary"].iter_rows() if r[0].value
    }
    assert summary["Delivered"] == "not sent: checked before sending" and summary["Deadline"].startswith(
        "end of Friday"
    )
    # 2 October 2017 (a Monday) to the last day, Friday 27 October: four whole weeks, no bank holiday
    assert about("C05", "2017Q3", [], today=dt.date(2017, 10, 2))["business_days_left"] == 20
    sent = about("C05", "2017Q3", [], delivered_at=dt.datetime(2017, 10, 9, 16, 0), version=2)
    assert (sent["delivered_at"], sent["version"]) == ("2017-10-09T16:00:00Z", 2)
    # as at delivery, not as at the day the feedback is written: Monday 9 to Friday 27 October, three weeks
    assert sent["business_days_left"] == 15
    late = about("C05", "2017Q3", [], delivered_at=dt.datetime(2017, 10, 28, 9, 0), version=3)
    assert late["business_days_left"] == 0


def test_a_contact_outside_supervision_names_the_cases_start_and_end(tmp_path):
    tables = clean_tables()
    set_value(tables, "contacts", 0, "contact_date", "2017-07-01")  # before its case's start (CON-005, a warning)
    result, out = _validate(tmp_path, write_csvs(tmp_path / "sent", tables))
    [finding] = [r for r in _findings(out) if r["rule_id"] == "CON-005"]
    case = next(r for r in tables["cases"] if r[0] == finding["case_ref"])
    start = case[clean_tables_header().index("start_date")]
    assert f"supervision, from {start} to now (not ended)." in finding["message"]


def clean_tables_header() -> list[str]:
    from probation_returns.spec import TABLES

    return list(TABLES["cases"])
