"""RET-003, ESFA's check: a case active at the end of the provider's previous accepted return that this return
neither lists nor ends is a warning, one per case, named by its case reference.

The previous return is the hand-made 2017Q3 one: A100001 and A100003 open at the quarter's end, A100002
terminated on 2017-08-31 (inside 2017Q3). The 2017Q4 returns below are built from its rows.
"""

from __future__ import annotations

import polars as pl
from openpyxl import load_workbook
from sqlalchemy import select

from probation_returns.ingest import discover, receive
from probation_returns.validation.service import validate_submission
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import AcceptedCase
from reports.feedback import with_feedback
from tests.support.returns import clean_tables, write_csvs

ADVICE = "List every case supervised in the quarter; if the case ended, report it with its termination date and reason."


def _send(engine, tmp_path, name: str, tables, quarter: str):
    landing = tmp_path / name
    write_csvs(landing / "C05", tables, quarter=quarter)
    with session_scope(engine) as session:
        sid = receive(session, discover(landing)[0], tmp_path / "archive").submission_id
    return with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))


def _q4(with_a100003_ended: bool):
    """A100001 still open in 2017Q4, with one contact and one breach; A100003 listed as ended, or left out."""
    q3 = clean_tables()
    cases = [q3["cases"][0]]
    if with_a100003_ended:
        ended = list(q3["cases"][2])
        ended[-2:] = ["2017-10-20", "COMPLETED"]
        cases.append(ended)
    return {
        "cases": cases,
        "contacts": [["A100001", "2017-10-05", "F2F", "ATTENDED", ""]],
        "breaches": [["BR3", "A100001", "2017-10-10", "", ""]],
    }


def test_a_case_open_last_quarter_and_missing_now_is_one_warning_naming_it(engine, tmp_path):
    first = _send(engine, tmp_path, "q3", clean_tables(), "2017Q3")
    assert first.outcome == "Accepted" and "RET-003" not in first.rule_counts  # no previous return: no check

    done = _send(engine, tmp_path, "q4", _q4(with_a100003_ended=False), "2017Q4")
    # A100003 was open at the end of 2017Q3 and is gone; A100002 ended in 2017Q3, so it is not missed.
    assert done.rule_counts["RET-003"] == 1
    assert done.outcome == "Accepted with warnings"  # a warning never rejects: A100001 is counted
    with session_scope(engine) as session:
        counted = session.scalars(
            select(AcceptedCase.case_ref).where(AcceptedCase.submission_id == done.submission_id)
        ).all()
    assert counted == ["A100001"]
    [finding] = done.content.findings.filter(pl.col("rule_id") == "RET-003").iter_rows(named=True)
    assert (finding["table"], finding["row_number"], finding["case_ref"], finding["value"]) == (
        "cases",
        None,
        "A100003",
        "A100003",
    )
    assert finding["severity"] == "W" and ADVICE in finding["message"]
    assert "2001/0012346J" not in finding["message"]  # A100003's PNC id, never shown
    [rule] = [r for r in done.content.rules if r["rule_id"] == "RET-003"]
    assert rule["count"] == 1 and rule["action"] == ADVICE

    # What the provider downloads: the findings CSV and the workbook's Findings sheet name the case.
    written = pl.read_csv(done.feedback / "findings.csv", infer_schema=False).filter(pl.col("rule_id") == "RET-003")
    assert written.select("table", "row_number", "case_ref", "value").rows() == [("cases", None, "A100003", "A100003")]
    sheet = [[c.value for c in row] for row in load_workbook(done.feedback / "feedback.xlsx")["Findings"].iter_rows()]
    shown = [row for row in sheet if "RET-003" in row]
    assert len(shown) == 1 and "A100003" in shown[0]
    assert not any("2001/0012346J" in str(v) for row in sheet for v in row)


def test_a_case_reported_as_ended_is_not_missing(engine, tmp_path):
    _send(engine, tmp_path, "q3", clean_tables(), "2017Q3")
    done = _send(engine, tmp_path, "q4", _q4(with_a100003_ended=True), "2017Q4")
    assert "RET-003" not in done.rule_counts
    assert done.content.findings.filter(pl.col("rule_id") == "RET-003").height == 0
