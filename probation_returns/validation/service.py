"""Validating a received submission: from the archive, through the rules, into the warehouse and feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from probation_returns.validation import ValidationResult, validate_files
from probation_returns.validation.store import previous_accepted_cases, store
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Submission
from reports.feedback import write_feedback


@dataclass
class SubmissionValidation:
    submission_id: int
    validation_run_id: int
    result: ValidationResult
    feedback: Path


def current_submission(session: Session, provider: str, quarter: str) -> Submission | None:
    return session.scalar(
        select(Submission).where(Submission.provider_code == provider, Submission.quarter == quarter,
                                 Submission.status != "superseded").order_by(Submission.version.desc())
    )


def feedback_folder(root: Path, provider: str, quarter: str, submission_id: int) -> Path:
    """One folder per provider (only it is given access), then quarter and submission."""
    return root / provider / quarter / f"submission-{submission_id}"


def validate_submission(engine: Engine, submission_id: int, feedback_root: Path) -> SubmissionValidation:
    started = dt.datetime.now(dt.timezone.utc)
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        provider, quarter = submission.provider_code, submission.quarter
        files = [(Path(f.archive_path), f.file_name) for f in submission.files]
        previous = previous_accepted_cases(session, provider, quarter)
    result = validate_files([p for p, _ in files], provider, quarter, previous_cases=previous,
                            names=[n for _, n in files])
    with session_scope(engine) as session:  # one transaction: run, findings, accepted records
        run_id = store(session, submission_id, result, started)
    folder = feedback_folder(feedback_root, provider, quarter, submission_id)
    write_feedback(result, folder, submission_id)
    return SubmissionValidation(submission_id, run_id, result, folder)
