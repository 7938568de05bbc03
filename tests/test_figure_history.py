"""RET-004: a figure of the return that moved implausibly against the provider's own previous quarters is a warning
in its feedback, by the credibility report's own figures, thresholds and tests.

The hand-made returns: 20 CO cases of C05, each with five contacts in the quarter, all attended: three face to face
(one a month) and two more. Last quarter (2017Q2) 10 of the 100 contacts were by phone. This quarter (2017Q3) 40
are (fail) or 15 are (pass); every other figure is the same in both quarters.

By hand, the share of PHONE contacts: 40/100 against 10/100 is +30 points; pooled share 50/200 = 0.25, standard
error sqrt(0.25 x 0.75 x (1/100 + 1/100)) = 0.061237, z = 0.30 / 0.061237 = 4.90 (at least 4: flagged, and the
move is more than 5 points); F2F 60/100 against 90/100 is -30 points, z -4.90, flagged. The contact type mix's
PSI, half a count added to each of F2F, VIDEO, PHONE (60.5, 0.5, 40.5 of 101.5 against 90.5, 0.5, 10.5 of 101.5):
(-30/101.5) x ln(60.5/90.5) + (30/101.5) x ln(40.5/10.5) = 0.5180, under its floor 27.63 x (1/100 + 1/100) =
0.5526: not flagged. With 15 phone contacts: +5 points, z = 0.05 / sqrt(0.125 x 0.875 x 0.02) = 1.07: not flagged.
"""

from __future__ import annotations

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import tallies
from probation_returns.ingest import discover, receive
from probation_returns.spec import TABLES
from probation_returns.validation.checking import typed_records
from probation_returns.validation.history import moved_figures
from probation_returns.validation.service import validate_submission
from probation_returns.warehouse.db import session_scope
from reports.feedback import with_feedback
from tests.support.returns import CASES, write_csvs

Q2, Q3 = Quarter.parse("2017Q2"), Quarter.parse("2017Q3")
CASE_COUNT = 20


def _return(q: Quarter, phone: int) -> dict[str, list[list[str]]]:
    """20 open CO cases from the quarter's first business day; 100 attended contacts, ``phone`` of them by phone."""
    y, m = q.first_day.year, q.first_day.month
    start = f"{y}-{m:02d}-03"
    cases, contacts = [], []
    for i in range(CASE_COUNT):
        row = list(CASES[0])
        row[0] = f"A2{i:05d}"
        row[4] = f"{y}-{m:02d}-01"  # sentence_date
        row[5] = start
        row[12], row[14], row[16] = f"{y}-{m:02d}-05", f"{y}-{m:02d}-20", f"{y}-{m:02d}-06"
        cases.append(row)
        for month in range(3):
            contacts.append([row[0], f"{y}-{m + month:02d}-10", "F2F", "ATTENDED", ""])
        for day in (12, 14):
            kind = "PHONE" if sum(c[2] == "PHONE" for c in contacts) < phone else "F2F"
            contacts.append([row[0], f"{y}-{m + 1:02d}-{day}", kind, "ATTENDED", ""])
    return {"cases": cases, "contacts": contacts, "breaches": []}


def _typed(tables: dict[str, list[list[str]]]) -> dict[str, pl.DataFrame]:
    frames = {
        t: pl.DataFrame(rows, schema={c: pl.String for c in TABLES[t]}, orient="row") for t, rows in tables.items()
    }
    return typed_records(frames)


def _figures(q: Quarter, phone: int):
    """The figures of an earlier accepted return, as the warehouse keeps them for RET-004."""
    return tallies(q, _typed(_return(q, phone)))


def test_a_figure_that_moved_past_the_credibility_threshold_is_one_warning_each():
    found = moved_figures(Q3, "C05", _typed(_return(Q3, phone=40)), {Q2: _figures(Q2, phone=10)})
    assert found["rule_id"].to_list() == ["RET-004", "RET-004"]
    assert set(found["severity"]) == {"W"} and found["row_number"].to_list() == [None, None]
    assert found.select("table", "column", "value").rows() == [
        ("contacts", "contact_type", "contact_type F2F: 60.0%"),
        ("contacts", "contact_type", "contact_type PHONE: 40.0%"),
    ]
    phone = found["message"][1]
    assert phone == (
        "Contacts of type PHONE: 40 of 100 contacts (40.0%); in your previous accepted returns: 2017Q2: 10.0%; "
        "2017Q1: none (no accepted return); 2016Q4: none (no accepted return); 2016Q3: none (no accepted return). "
        "That is +30.0 points on last quarter (z 4.90), more than chance and ordinary drift would move it (a move of "
        "5 points or more either way with |z| at least 4, and at least 50 in the base in both quarters). This is a "
        "share of the contacts table as a whole: no single row is wrong. If this is right, no action is needed; if "
        "not, check the contact_type of this quarter's contacts."
    )
    assert "+30.0 points" not in found["message"][0] and "-30.0 points on last quarter (z -4.90)" in found["message"][0]


def test_a_figure_within_chance_and_drift_is_no_warning():
    assert moved_figures(Q3, "C05", _typed(_return(Q3, phone=15)), {Q2: _figures(Q2, phone=10)}).height == 0


# ---------------------------------------------------------------------------------------------- through validation


def _send(engine, tmp_path, monkeypatch, tables, quarter: Quarter, when: str):
    monkeypatch.setenv("RETURNS_CLOCK", when)  # delivered on time, so each return counts for its quarter
    landing = tmp_path / str(quarter)
    write_csvs(landing / "C05", tables, quarter=str(quarter))
    with session_scope(engine) as session:
        sid = receive(session, discover(landing)[0], tmp_path / "archive").submission_id
    return with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))


def test_validation_warns_of_a_moved_figure_from_the_providers_own_counted_returns(engine, tmp_path, monkeypatch):
    first = _send(engine, tmp_path, monkeypatch, _return(Q2, phone=10), Q2, "2017-07-10T09:00:00+00:00")
    assert first.outcome != "Rejected" and "RET-004" not in first.rule_counts  # no previous quarter: no check
    done = _send(engine, tmp_path, monkeypatch, _return(Q3, phone=40), Q3, "2017-10-10T09:00:00+00:00")
    assert done.rule_counts["RET-004"] == 2 and done.outcome == "Accepted with warnings"
    mine = done.content.findings.filter(pl.col("rule_id") == "RET-004")
    assert mine["value"].to_list() == ["contact_type F2F: 60.0%", "contact_type PHONE: 40.0%"]
    assert "2017Q2: 10.0%" in mine["message"][1]
    [rule] = [r for r in done.content.rules if r["rule_id"] == "RET-004"]
    assert rule["count"] == 2 and rule["action"].startswith("If the figure is right, no action is needed")
    written = pl.read_csv(done.feedback / "findings.csv", infer_schema=False).filter(pl.col("rule_id") == "RET-004")
    assert written["value"].to_list() == ["contact_type F2F: 60.0%", "contact_type PHONE: 40.0%"]
    from openpyxl import load_workbook

    sheet = [[c.value for c in row] for row in load_workbook(done.feedback / "feedback.xlsx")["Findings"].iter_rows()]
    assert sum("RET-004" in row for row in sheet) == 2


def test_the_previous_quarters_figures_are_worked_out_once_and_kept(engine, tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from probation_returns.warehouse.models import CredibilityTallies

    def kept():
        with session_scope(engine) as session:
            return session.scalar(select(func.count()).select_from(CredibilityTallies))

    _send(engine, tmp_path, monkeypatch, _return(Q2, phone=10), Q2, "2017-07-10T09:00:00+00:00")
    assert kept() == 0  # the first quarter has nothing before it to keep
    first = _send(engine, tmp_path, monkeypatch, _return(Q3, phone=40), Q3, "2017-10-10T09:00:00+00:00")
    assert kept() == 1  # 2017Q2's counted return, kept for the next validation and the quarter's report
    again = validate_submission(engine, first.submission_id, tmp_path / "feedback", force=True)
    assert kept() == 1 and again.rule_counts["RET-004"] == 2  # read back, not worked out again: the same warnings


def test_validation_gives_no_warning_when_the_figures_held(engine, tmp_path, monkeypatch):
    _send(engine, tmp_path, monkeypatch, _return(Q2, phone=10), Q2, "2017-07-10T09:00:00+00:00")
    done = _send(engine, tmp_path, monkeypatch, _return(Q3, phone=15), Q3, "2017-10-10T09:00:00+00:00")
    assert done.outcome != "Rejected" and "RET-004" not in done.rule_counts
