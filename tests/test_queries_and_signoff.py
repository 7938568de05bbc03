"""Queries on findings, tolerances and the accountable officer's sign-off (issue 28, items 3 and 4): the thread's
states, the tolerance's boundary (N records not counted, N + 1 counted, every one of them), sign-off refused
while a query is open, the marks in the ministry return's Submissions sheet, and the portal's doors (roles,
IDOR, CSRF) for every new route. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from probation_returns.validation.checking import validate_files
from probation_returns.validation.tolerance import Allowance
from tests.support.returns import set_value, write_csvs
from tests.test_validation_rules import _bigger

ON_TIME = dt.datetime(2017, 10, 20, 9, 0, tzinfo=dt.UTC)  # before 2017Q3's deadline


def _broken(n: int) -> dict:
    """200 cases (one contact and one breach each), the first n with an unknown risk level (CAS-009, an error)."""
    tables = _bigger(200)
    for row in range(n):
        set_value(tables, "cases", row, "rosh_level", "X")
    return tables


@pytest.mark.parametrize(
    "allowance",
    [Allowance("CAS-009", max_records=5), Allowance("CAS-009", max_share=Decimal("0.025"))],  # 2.5% of 200 = 5
    ids=["records", "share"],
)
def test_records_within_a_tolerance_do_not_count_toward_rejection_and_one_more_makes_every_one_count(
    tmp_path, allowance
):
    """The 1% rejection tolerance allows 2 of 200 records. 5 cases break CAS-009 (and take their contact and
    breach with them): 2.5%, rejected without a tolerance. With CAS-009 tolerated up to 5 records the 5 do not
    count: accepted, the 5 records still rejected (kept out of the figures). With 6, the tolerance is exceeded
    and all 6 count again (HESA's rule), not just the one over it: 6 of 200 = 3%, rejected."""
    allowances = {"CAS-009": allowance}
    five = write_csvs(tmp_path / "five", _broken(5))
    assert validate_files(five, "C05", "2017Q3").outcome == "Rejected"
    result = validate_files(five, "C05", "2017Q3", allowances=allowances)
    assert result.outcome == "Accepted with record rejections"
    assert result.tables["cases"]["rejected"] == 5 and result.tables["cases"]["tolerated"] == 5
    assert result.tables["contacts"]["tolerated"] == 5 and result.tables["breaches"]["tolerated"] == 5
    assert result.reasons == [
        "15 records were rejected; no table is over the 1% of its rows allowed (15 of them are within a "
        "tolerance granted for the quarter and do not count toward it)."
    ]
    assert result.accepted["cases"].height == 195  # the tolerated records are still rejected records
    six = validate_files(write_csvs(tmp_path / "six", _broken(6)), "C05", "2017Q3", allowances=allowances)
    assert six.outcome == "Rejected"
    assert six.reasons[0] == "cases: 6 of 200 records rejected (3%), above the 1% allowed."
    assert "tolerated" not in six.tables["cases"]


def test_a_tolerance_of_another_rule_changes_nothing(tmp_path):
    result = validate_files(
        write_csvs(tmp_path, _broken(5)), "C05", "2017Q3", allowances={"CAS-019": Allowance("CAS-019", 100)}
    )
    assert result.outcome == "Rejected" and "tolerated" not in result.tables["cases"]


def test_a_case_with_a_tolerated_and_an_untolerated_error_still_counts(tmp_path):
    tables = _broken(5)
    set_value(tables, "cases", 0, "sentence_type", "XX")  # the first case breaks CAS-005 too
    result = validate_files(
        write_csvs(tmp_path, tables), "C05", "2017Q3", allowances={"CAS-009": Allowance("CAS-009", 5)}
    )
    assert result.tables["cases"]["tolerated"] == 4 and result.tables["cases"]["rejected"] == 5
    assert result.outcome == "Accepted with record rejections"  # 1 of 200 counted: within the 1%
