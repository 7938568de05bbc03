"""What providers receive, and what the warehouse keeps."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import polars as pl
import psycopg
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from cli.main import app
from probation_returns.ingest import discover, receive
from probation_returns.validation.checking import validate_files
from probation_returns.validation.feedback import feedback_content
from probation_returns.validation.result import RULES_VERSION
from probation_returns.validation.service import validate_submission
from probation_returns.validation.store import store
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import AcceptedCase, AcceptedContact, Finding, Submission, ValidationRun
from reports.feedback import with_feedback, write_feedback
from tests.support.returns import clean_tables, set_value, write_csvs


def _broken(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "index_offence_group", '=HYPERLINK("http://x")')  # CAS-012, formula-like
    set_value(tables, "cases", 1, "first_appointment_attended", "")  # CAS-019 warning
    return write_csvs(tmp_path / "in", tables)


def test_feedback_files_say_what_is_wrong_and_never_run_formulas(tmp_path):
    result = validate_files(_broken(tmp_path), "C05", "2017Q3", tolerance=0.5)
    paths = write_feedback(feedback_content(result, submission_id=7), tmp_path / "out")

    summary = json.loads(paths["summary.json"].read_text())
    assert summary["provider"] == "C05" and summary["quarter"] == "2017Q3" and summary["submission_id"] == 7
    assert summary["outcome"] == "Accepted with record rejections"
    assert summary["tables"]["cases"] == {
        "read": True,
        "state": "read",
        "file": "C05_2017Q3_cases.csv",
        "why": None,
        "rows": 3,
        "rejected": 1,
        "rejected_by_cascade": 0,
        "errors": 1,
        "warnings": 1,
    }
    assert {r["rule_id"]: r["count"] for r in summary["rules"]} == {"CAS-012": 1, "CAS-019": 1, "CASCADE": 2}

    findings = pl.read_csv(paths["findings.csv"], infer_schema=False)
    assert findings.columns == ["table", "row_number", "case_ref", "column", "rule_id", "severity", "value", "message"]
    bad = findings.filter(pl.col("rule_id") == "CAS-012").row(0, named=True)
    assert bad["value"].startswith("'=") and bad["row_number"] == "2"

    book = load_workbook(paths["feedback.xlsx"])
    assert book.sheetnames == ["Summary", "Rules", "Findings", "Cascade"]  # the case's contact and breach apart
    values = [c.value for row in book["Findings"].iter_rows() for c in row]
    assert '=HYPERLINK("http://x")' in values
    cell = next(c for row in book["Findings"].iter_rows() for c in row if c.value == '=HYPERLINK("http://x")')
    assert cell.data_type == "s"
    summary_rows = {r[0].value: r[1].value for r in book["Summary"].iter_rows() if r and r[0].value}
    assert summary_rows["Outcome"] == "Accepted with record rejections"

    page = paths["feedback.html"].read_text()
    assert "Accepted with record rejections" in page and "&quot;http://x&quot;" in page and "<script" not in page
    assert "<h1>Validation of C05's return for 2017Q3</h1>" in page


def test_the_workbook_points_to_the_csv_when_there_are_too_many_findings(tmp_path, monkeypatch):
    import reports.feedback as feedback

    monkeypatch.setattr(feedback, "MAX_WORKBOOK_FINDINGS", 1)
    result = validate_files(_broken(tmp_path), "C05", "2017Q3", tolerance=0.5)
    paths = write_feedback(feedback_content(result), tmp_path / "out")
    last = list(load_workbook(paths["feedback.xlsx"])["Findings"].iter_rows(values_only=True))[-1]
    assert "findings.csv holds all of them" in last[0]


def _received(engine, tmp_path, tables):
    write_csvs(tmp_path / "landing" / "C05", tables)
    with session_scope(engine) as session:
        return receive(session, discover(tmp_path / "landing")[0], tmp_path / "archive").submission_id


def test_a_submission_is_stored_once_with_hashed_identifiers(engine, tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 2, "rosh_level", "X")  # A100003 rejected, its contact and breach cascade
    sid = _received(engine, tmp_path, tables)
    done = with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    assert done.outcome == "Rejected"  # 1 of 3 cases is over the 1% tolerance
    assert done.rule_counts == {"CAS-009": 1, "CASCADE": 2} and not done.reused
    again = with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    assert again.reused and again.rule_counts == done.rule_counts and again.outcome == "Rejected"
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(AcceptedCase)) == 0
        assert session.get(Submission, sid).outcome == "Rejected"
        assert {f.rule_id for f in session.scalars(select(Finding))} == {"CAS-009", "CASCADE"}
    assert (tmp_path / "feedback" / "C05" / "2017Q3" / f"submission-{sid}" / "feedback.xlsx").exists()


def test_a_validation_stored_under_an_earlier_rules_version_is_checked_again(engine, tmp_path):
    # spec-1 lacked RET-003 and RET-004: a return checked then must not keep that verdict under spec-1.2
    sid = _received(engine, tmp_path, clean_tables())
    first = with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    with session_scope(engine) as session:
        session.get(ValidationRun, first.validation_run_id).rules_version = "spec-1"
    again = with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    assert not again.reused
    with session_scope(engine) as session:
        assert session.scalars(select(ValidationRun.rules_version)).all() == [RULES_VERSION]
        assert session.scalar(select(func.count()).select_from(AcceptedCase)) == 3  # replaced, not stored twice
    summary = json.loads((again.feedback / "summary.json").read_text(encoding="utf-8"))
    assert summary["rules_version"] == RULES_VERSION == "spec-1.2"
    assert with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback")).reused


def test_accepted_records_are_stored_typed_and_a_rerun_gives_the_same_rows(engine, tmp_path):
    sid = _received(engine, tmp_path, clean_tables())
    with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    assert with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback", force=True)).reused is False
    with session_scope(engine) as session:
        cases = session.scalars(select(AcceptedCase).order_by(AcceptedCase.row_number)).all()
        assert [c.case_ref for c in cases] == ["A100001", "A100002", "A100003"]
        assert cases[0].start_date == dt.date(2017, 7, 3) and cases[0].upw_required is True and cases[0].ogrs3_2yr == 45
        assert len(cases[0].pnc_hash) == 64 and "2001/0012345H" not in cases[0].pnc_hash
        assert session.scalar(select(func.count()).select_from(AcceptedContact)) == 5
        assert session.scalar(select(func.count()).select_from(ValidationRun)) == 1
        assert session.get(Submission, sid).status == "validated"


def test_a_crash_while_storing_leaves_nothing_half_stored(engine, tmp_path):
    sid = _received(engine, tmp_path, clean_tables())
    result = validate_files(write_csvs(tmp_path / "x", clean_tables()), "C05", "2017Q3")
    result.accepted["contacts"] = result.accepted["contacts"].with_columns(
        pl.lit(None, dtype=pl.String).alias("contact_type")
    )
    # contact_type is NOT NULL; the store writes through the driver, so the driver's own error comes up
    with pytest.raises((IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)):
        with session_scope(engine) as session:
            store(session, sid, result, dt.datetime.now(dt.UTC))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(AcceptedCase)) == 0
        assert session.scalar(select(func.count()).select_from(ValidationRun)) == 0
        assert session.get(Submission, sid).status == "received"


def test_the_pseudonym_key_is_required(engine, tmp_path, monkeypatch):
    monkeypatch.delenv("RETURNS_PSEUDONYM_KEY")
    sid = _received(engine, tmp_path, clean_tables())
    with pytest.raises(Exception, match="RETURNS_PSEUDONYM_KEY"):
        with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))


def test_validate_command_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "validate",
            *map(str, write_csvs(tmp_path / "a", clean_tables())),
            "--provider",
            "C05",
            "--quarter",
            "2017Q3",
            "--out",
            str(tmp_path / "fa"),
        ],
    )
    assert ok.exit_code == 0 and "Accepted" in ok.output and (tmp_path / "fa" / "feedback.html").exists()
    tables = clean_tables()
    set_value(tables, "cases", 0, "provider_code", "C09")
    rejected = runner.invoke(
        app,
        [
            "validate",
            *map(str, write_csvs(tmp_path / "b", tables)),
            "--provider",
            "C05",
            "--quarter",
            "2017Q3",
            "--out",
            str(tmp_path / "fb"),
        ],
    )
    assert rejected.exit_code == 1 and "Rejected" in rejected.output
    usage = runner.invoke(
        app,
        [
            "validate",
            str(tmp_path / "nothing.csv"),
            "--provider",
            "C05",
            "--quarter",
            "2017Q3",
            "--out",
            str(tmp_path / "fc"),
        ],
    )
    assert usage.exit_code == 2 and "no such file" in usage.output
    bad_provider = runner.invoke(
        app,
        [
            "validate",
            str(tmp_path / "a" / "C05_2017Q3_cases.csv"),
            "--provider",
            "Q1",
            "--quarter",
            "2017Q3",
            "--out",
            str(tmp_path / "fd"),
        ],
    )
    assert bad_provider.exit_code == 2


def test_accepted_records_read_back_typed_on_each_backend(engine, tmp_path):
    from probation_returns.measures.quarter import accepted_tables

    sid = _received(engine, tmp_path, clean_tables())
    with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    tables = accepted_tables(engine, sid)
    cases = tables["cases"]
    assert cases["case_ref"].to_list() == ["A100001", "A100002", "A100003"]
    assert cases.schema["start_date"] == pl.Date and cases.schema["upw_required"] == pl.Boolean
    assert cases["termination_date"].to_list() == [None, dt.date(2017, 8, 31), None]
    assert tables["breaches"]["pack_complete"].to_list() == [True, None]
    assert tables["contacts"].height == 5


def test_the_measures_use_the_records_just_stored_exactly_as_the_warehouse_holds_them(engine, tmp_path):
    """The run's measures take the accepted records from the validation before them, not from a second read."""
    from polars.testing import assert_frame_equal

    from probation_returns.calendar import Quarter
    from probation_returns.measures.quarter import accepted_tables, as_stored, provider_levels
    from probation_returns.warehouse import recent

    sid = _received(engine, tmp_path, clean_tables())
    with session_scope(engine) as session:  # delivered by the deadline, so it counts for the quarter
        session.get(Submission, sid).delivered_at = dt.datetime(2017, 10, 2, 9, tzinfo=dt.UTC)
    with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback"))
    kept = recent.recall(engine, sid)
    assert kept is not None
    read_back = accepted_tables(engine, sid)
    for name, frame in read_back.items():
        assert_frame_equal(as_stored(name, kept[name]), frame)
    assert read_back["cases"]["case_ref"].to_list() == ["A100001", "A100002", "A100003"]
    from_memory = provider_levels(engine, "C05", Quarter.parse("2017Q3"))
    assert from_memory.submission_id == sid and from_memory.reported
    assert recent.recall(engine, sid) is None  # used once, then the memory is given back
    assert provider_levels(engine, "C05", Quarter.parse("2017Q3")) == from_memory  # the same from the warehouse

    # validated again by another process (its run replaces this one's, and SQLite may even reuse the id)
    with_feedback(engine, validate_submission(engine, sid, tmp_path / "feedback", force=True))
    assert recent.recall(engine, sid) is not None
    with session_scope(engine) as session:
        run = session.scalar(select(ValidationRun).where(ValidationRun.submission_id == sid))
        copy = {
            c: getattr(run, c)
            for c in (
                "submission_id",
                "finished_at",
                "outcome",
                "rules_version",
                "reference_version",
                "software_version",
                "table_counts",
                "detail",
            )
        }
        session.delete(run)
        session.flush()
        session.add(ValidationRun(**copy, started_at=dt.datetime.now(dt.UTC)))
    assert recent.recall(engine, sid) is None
