"""One rule, one id: each rule fails on the record that breaks it and passes on the others."""

from __future__ import annotations

import pytest

from probation_returns.validation.checking import validate_files
from tests.support.returns import clean_tables, set_value, write_csvs

# rule -> (edits as (table, row index, column, value), table, rows expected to break it)
CASES_MADE_TO_FAIL = {
    "CAS-001": ([("cases", 0, "case_ref", "a100001")], "cases", [2]),
    "CAS-002": ([("cases", 2, "case_ref", "A100001")], "cases", [2, 4]),
    "CAS-003": ([("cases", 0, "pnc_id", "2001/0012345Z")], "cases", [2]),
    "CAS-004": ([("cases", 1, "provider_code", "C06")], "cases", [3]),
    "CAS-005": ([("cases", 0, "sentence_type", "XX")], "cases", [2]),
    "CAS-006": ([("cases", 0, "sentence_date", "2017-02-30")], "cases", [2]),
    "CAS-007": ([("cases", 1, "termination_date", "2017-06-20")], "cases", [3]),
    "CAS-008": ([("cases", 0, "sentence_date", "2017-07-04")], "cases", [2]),
    "CAS-009": ([("cases", 0, "rosh_level", "X")], "cases", [2]),
    "CAS-010": ([("cases", 0, "ogrs3_2yr", "100")], "cases", [2]),
    "CAS-011": ([("cases", 0, "age_at_start", "17")], "cases", [2]),
    "CAS-012": ([("cases", 0, "sex", "Male")], "cases", [2]),
    "CAS-013": (
        [("cases", 2, "termination_date", "2017-08-01"), ("cases", 2, "termination_reason", "COMPLETED")],
        "cases",
        [4],
    ),
    "CAS-014": ([("cases", 1, "termination_reason", "")], "cases", [3]),
    "CAS-015": ([("cases", 0, "sentence_plan_date", "2017-07-01")], "cases", [2]),
    "CAS-016": ([("cases", 0, "sentence_plan_date", "2017-10-05")], "cases", [2]),
    "CAS-017": ([("cases", 0, "rosh_level", "VH")], "cases", [2]),
    "CAS-018": ([("cases", 2, "upw_arranged_date", "2017-08-03")], "cases", [4]),
    "CAS-019": ([("cases", 0, "first_appointment_attended", "")], "cases", [2]),
    "CAS-020": ([("cases", 0, "sentence_date", "2011-01-01")], "cases", [2]),
    "CON-001": ([("contacts", 0, "case_ref", "B999999")], "contacts", [2]),
    "CON-002": ([("contacts", 0, "contact_date", "2017-06-30")], "contacts", [2]),
    "CON-003": ([("contacts", 0, "contact_type", "TEXT")], "contacts", [2]),
    "CON-004": ([("contacts", 2, "followup_date", "2017-07-11")], "contacts", [4]),
    "CON-005": ([("contacts", 4, "contact_date", "2017-08-01")], "contacts", [6]),
    "CON-006": (
        [("contacts", 1, "contact_date", "2017-07-05"), ("contacts", 1, "contact_type", "F2F")],
        "contacts",
        [2, 3],
    ),
    "BRE-001": ([("breaches", 1, "breach_ref", "BR1")], "breaches", [2, 3]),
    "BRE-002": ([("breaches", 0, "case_ref", "Z000000")], "breaches", [2]),
    "BRE-003": ([("breaches", 0, "awareness_date", "12/07/2017")], "breaches", [2]),
    "BRE-004": ([("breaches", 0, "referral_date", "2017-07-10")], "breaches", [2]),
    "BRE-005": ([("breaches", 0, "pack_complete", "")], "breaches", [2]),
}


def test_the_clean_return_breaks_no_rule(tmp_path):
    result = validate_files(write_csvs(tmp_path, clean_tables()), "C05", "2017Q3")
    assert result.findings.height == 0, result.findings.to_dicts()
    assert result.outcome == "Accepted"
    assert {t: c["rows"] for t, c in result.tables.items()} == {"cases": 3, "contacts": 5, "breaches": 2}


@pytest.mark.parametrize("rule_id", sorted(CASES_MADE_TO_FAIL))
def test_each_rule_fails_its_record_and_passes_the_others(tmp_path, rule_id):
    edits, table, rows = CASES_MADE_TO_FAIL[rule_id]
    tables = clean_tables()
    for edit in edits:
        set_value(tables, *edit)
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    hits = result.findings.filter(result.findings["rule_id"] == rule_id)
    assert sorted(hits["row_number"].to_list()) == rows
    assert set(hits["table"]) == {table}
    message = hits["message"][0]
    assert f"Row {rows[0]}" in message or f"Row {rows[-1]}" in message


def test_pnc_values_are_masked_in_findings(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "pnc_id", "2001/0012345Z")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    row = result.findings.filter(result.findings["rule_id"] == "CAS-003").row(0, named=True)
    assert row["value"] == "****345Z" and "2001/0012345Z" not in row["message"]


def test_caseload_change_of_more_than_a_quarter_is_a_warning(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    assert validate_files(paths, "C05", "2017Q3", previous_cases=4).findings.height == 0  # -25%: within
    result = validate_files(paths, "C05", "2017Q3", previous_cases=5)  # -40%
    assert result.findings["rule_id"].to_list() == ["RET-001"] and result.outcome == "Accepted with warnings"


def test_more_than_a_fifth_of_contacts_by_phone_is_a_warning(tmp_path):
    tables = clean_tables()
    assert validate_files(write_csvs(tmp_path / "a", tables), "C05", "2017Q3").findings.height == 0  # 1 of 5 = 20%
    set_value(tables, "contacts", 0, "contact_type", "PHONE")  # 2 of 5
    result = validate_files(write_csvs(tmp_path / "b", tables), "C05", "2017Q3")
    assert result.findings["rule_id"].to_list() == ["RET-002"]


def test_nps_divisions_are_not_asked_to_refer_high_risk_cases(tmp_path):
    tables = clean_tables()
    for row in tables["cases"]:
        row[2] = "N01"
    set_value(tables, "cases", 0, "rosh_level", "VH")
    result = validate_files(write_csvs(tmp_path, tables, provider="N01"), "N01", "2017Q3")
    assert "CAS-017" not in result.findings["rule_id"].to_list()


def test_a_rejected_case_takes_its_contacts_and_breaches_with_it(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 1, "rosh_level", "X")  # A100002: two contacts, one breach
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3", tolerance=0.5)
    cascade = result.findings.filter(result.findings["rule_id"] == "CASCADE")
    assert sorted(zip(cascade["table"], cascade["row_number"])) == [("breaches", 2), ("contacts", 4), ("contacts", 5)]
    assert "CON-001" not in result.findings["rule_id"].to_list()
    assert "cases row 3" in cascade["message"][0]
    assert set(result.accepted["cases"]["case_ref"]) == {"A100001", "A100003"}
    assert set(result.accepted["contacts"]["case_ref"]) == {"A100001", "A100003"}
    assert result.accepted["breaches"]["breach_ref"].to_list() == ["BR2"]


def _bigger(n_cases: int) -> dict:
    """n cases like A100001 (each with one contact), for the tolerance."""
    tables = clean_tables()
    template = tables["cases"][0]
    tables["cases"] = [[f"A2{i:05d}"] + template[1:] for i in range(n_cases)]
    tables["contacts"] = [[f"A2{i:05d}", "2017-07-05", "F2F", "ATTENDED", ""] for i in range(n_cases)]
    tables["breaches"] = [[f"BR{i}", f"A2{i:05d}", "2017-07-12", "", ""] for i in range(n_cases)]
    return tables


def test_outcomes_and_the_one_percent_tolerance(tmp_path):
    tables = _bigger(200)
    assert validate_files(write_csvs(tmp_path / "clean", tables), "C05", "2017Q3").outcome == "Accepted"
    set_value(tables, "cases", 0, "first_appointment_attended", "")
    assert validate_files(write_csvs(tmp_path / "w", tables), "C05", "2017Q3").outcome == "Accepted with warnings"
    set_value(tables, "cases", 1, "rosh_level", "X")
    set_value(tables, "cases", 2, "rosh_level", "X")  # 2 of 200 = 1%: at the limit, not over it
    result = validate_files(write_csvs(tmp_path / "e", tables), "C05", "2017Q3")
    assert result.outcome == "Accepted with record rejections"
    assert result.tables["cases"]["rejected"] == 2 and result.tables["contacts"]["rejected"] == 2
    set_value(tables, "cases", 3, "rosh_level", "X")  # 3 of 200 = 1.5%
    result = validate_files(write_csvs(tmp_path / "r", tables), "C05", "2017Q3")
    assert result.outcome == "Rejected" and "3 of 200" in result.reasons[0]
    assert result.accepted == {}


def test_a_fatal_finding_rejects_the_return(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 1, "provider_code", "C06")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert result.outcome == "Rejected" and "CAS-004" in result.reasons[0]


def test_a_broken_case_reference_is_listed_before_the_contacts_that_then_cannot_find_it(tmp_path):
    """Case A100001 written as a100001 breaks CAS-001 once; its two contacts then name a case the cases table
    does not have (CON-001, twice). The clerk fixes the cases table first, so CAS-001 comes first, however
    many contacts follow from it."""
    tables = clean_tables()
    set_value(tables, "cases", 0, "case_ref", "a100001")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    rules = [(r["rule_id"], r["count"]) for r in result.rules()]
    assert rules.index(("CAS-001", 1)) < rules.index(("CON-001", 2)), rules
