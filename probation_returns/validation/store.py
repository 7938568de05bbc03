"""Keeping a validation in the warehouse: the run, every finding and the accepted records, at once.

Everything for one submission is written in the caller's transaction, replacing any earlier run of
the same submission, so a crash leaves nothing half-stored and a rerun gives the same rows. ``pnc_id``
is stored only as its keyed hash.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from probation_returns import __version__, clock
from probation_returns.calendar import Quarter
from probation_returns.pseudonym import hash_values
from probation_returns.validation.result import RULES_VERSION, ValidationResult
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
    Finding,
    Submission,
    ValidationRun,
)

REFERENCE_VERSION = "reference-2026-11"
STORED = "returns/accepted_frames"  # the session.info key of the accepted records just inserted


def _previous_accepted_run(session: Session, provider: str, quarter: str):
    """The latest validation of the provider's counted return (not superseded, not rejected) for the quarter
    before: its submission id and its table counts, or None."""
    before = str(Quarter.parse(quarter) - 1)
    return session.execute(
        select(ValidationRun.submission_id, ValidationRun.table_counts)
        .join(Submission, Submission.id == ValidationRun.submission_id)
        .where(
            Submission.provider_code == provider,
            Submission.quarter == before,
            Submission.status != "superseded",
            Submission.outcome != "Rejected",
        )
        .order_by(ValidationRun.id.desc())
    ).first()


def previous_accepted_cases(session: Session, provider: str, quarter: str) -> int | None:
    """Rows in the cases table of the provider's accepted return for the quarter before."""
    run = _previous_accepted_run(session, provider, quarter)
    return run[1]["cases"]["rows"] if run else None


def previous_active_cases(session: Session, provider: str, quarter: str) -> list[str] | None:
    """The case references that were active at the end of the quarter before in the provider's accepted return
    for it (no termination date, or one after that quarter's end); None when there is no such return."""
    run = _previous_accepted_run(session, provider, quarter)
    if run is None:
        return None
    end = (Quarter.parse(quarter) - 1).last_day
    return list(
        session.scalars(
            select(AcceptedCase.case_ref)
            .where(
                AcceptedCase.submission_id == run[0],
                AcceptedCase.termination_date.is_(None) | (AcceptedCase.termination_date > end),
            )
            .order_by(AcceptedCase.case_ref)
        )
    )


def _bulk(session: Session, model, frame: pl.DataFrame) -> None:
    """Insert a whole frame in the session's transaction: COPY on PostgreSQL, executemany on SQLite."""
    if frame.height == 0:
        return
    table = model.__table__
    columns = [c for c in frame.columns if c in table.columns]
    frame = frame.select(columns)
    dbapi = session.connection().connection.dbapi_connection
    quoted = ", ".join(f'"{c}"' for c in columns)
    if session.get_bind().dialect.name == "postgresql":
        with dbapi.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in frame.iter_rows():
                copy.write_row(row)
        return
    # SQLite keeps dates as ISO text and booleans as 0/1, as SQLAlchemy does.
    frame = frame.with_columns(
        [pl.col(c).dt.to_string("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date]
        + [pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean]
    )
    marks = ", ".join("?" for _ in columns)
    cursor = dbapi.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', frame.iter_rows())
    finally:
        cursor.close()


def store(session: Session, submission_id: int, result: ValidationResult, started: dt.datetime) -> int:
    for model in (AcceptedCase, AcceptedContact, AcceptedBreach):
        session.execute(delete(model).where(model.submission_id == submission_id))
    old_runs = select(ValidationRun.id).where(ValidationRun.submission_id == submission_id).scalar_subquery()
    session.execute(delete(Finding).where(Finding.validation_run_id.in_(old_runs)))
    session.execute(delete(ValidationRun).where(ValidationRun.submission_id == submission_id))

    run = ValidationRun(
        submission_id=submission_id,
        started_at=started,
        finished_at=clock.now(),
        outcome=result.outcome,
        rules_version=RULES_VERSION,
        reference_version=REFERENCE_VERSION,
        software_version=__version__,
        table_counts=result.tables,
        detail={
            "reasons": result.reasons,
            "gx_results": result.gx_results,
            "parameter_version": result.parameter_version,
        },
    )
    session.add(run)
    session.flush()
    findings = result.findings.rename({"table": "table_name", "column": "column_name"}).with_columns(
        pl.lit(run.id).alias("validation_run_id")
    )
    _bulk(session, Finding, findings)
    accepted = {
        name: frame.with_columns(pl.lit(submission_id).alias("submission_id"))
        for name, frame in result.accepted.items()
    }
    if "cases" in accepted:
        cases = accepted["cases"]
        accepted["cases"] = cases.with_columns(hash_values(cases["pnc_id"]).alias("pnc_hash")).drop("pnc_id")
    for name, model in (("cases", AcceptedCase), ("contacts", AcceptedContact), ("breaches", AcceptedBreach)):
        if name in accepted:
            _bulk(session, model, accepted[name])
    session.info[STORED] = accepted  # for warehouse.recent once committed (see service.validate_submission)
    submission = session.get(Submission, submission_id)
    submission.outcome = result.outcome
    if submission.status != "superseded":
        submission.status = "validated"
    session.flush()
    return run.id
