"""Validating a received submission: from the archive, through the rules, into the warehouse and feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from probation_returns.validation import RULES_VERSION, validate_files
from probation_returns.validation.store import previous_accepted_cases, store
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Finding, Submission, ValidationRun
from reports.feedback import write_feedback


@dataclass
class SubmissionValidation:
    """What a validation of a submission found (fresh, or as stored by an earlier run)."""

    submission_id: int
    validation_run_id: int
    outcome: str
    tables: dict[str, dict[str, int]]
    rule_counts: dict[str, int]
    fatal_rules: list[str]
    feedback: Path
    reused: bool = False


def current_submission(session: Session, provider: str, quarter: str) -> Submission | None:
    return session.scalar(
        select(Submission).where(Submission.provider_code == provider, Submission.quarter == quarter,
                                 Submission.status != "superseded").order_by(Submission.version.desc())
    )


def feedback_folder(root: Path, provider: str, quarter: str, submission_id: int) -> Path:
    """One folder per provider (only it is given access), then quarter and submission."""
    return root / provider / quarter / f"submission-{submission_id}"


def _stored(session: Session, submission: Submission, folder: Path) -> SubmissionValidation | None:
    run = session.scalar(select(ValidationRun).where(ValidationRun.submission_id == submission.id,
                                                     ValidationRun.rules_version == RULES_VERSION)
                         .order_by(ValidationRun.id.desc()))
    if run is None or not (folder / "summary.json").exists():
        return None
    counts = dict(session.execute(select(Finding.rule_id, func.count()).where(Finding.validation_run_id == run.id)
                                  .group_by(Finding.rule_id)).all())
    fatal = session.scalars(select(Finding.rule_id).where(Finding.validation_run_id == run.id,
                                                          Finding.severity == "F").distinct()).all()
    return SubmissionValidation(submission.id, run.id, run.outcome, run.table_counts, counts, sorted(fatal), folder,
                                reused=True)


def validate_submission(engine: Engine, submission_id: int, feedback_root: Path, *,
                        force: bool = False) -> SubmissionValidation:
    """Validate the submission once; a later call reuses the stored result unless ``force``."""
    started = dt.datetime.now(dt.timezone.utc)
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        provider, quarter = submission.provider_code, submission.quarter
        folder = feedback_folder(feedback_root, provider, quarter, submission_id)
        if not force and (done := _stored(session, submission, folder)):
            return done
        files = [(Path(f.archive_path), f.file_name) for f in submission.files]
        previous = previous_accepted_cases(session, provider, quarter)
    result = validate_files([p for p, _ in files], provider, quarter, previous_cases=previous,
                            names=[n for _, n in files])
    with session_scope(engine) as session:  # one transaction: run, findings, accepted records
        run_id = store(session, submission_id, result, started)
    write_feedback(result, folder, submission_id)
    fatal = sorted(set(result.findings.filter(result.findings["severity"] == "F")["rule_id"]))
    return SubmissionValidation(submission_id, run_id, result.outcome, result.tables,
                                {r["rule_id"]: r["count"] for r in result.rules()}, fatal, folder)
