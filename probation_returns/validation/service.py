"""Validating a received submission: from the archive, through the rules, into the warehouse and feedback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.credibility.store import provider_history
from probation_returns.pnc import mask_identifiers
from probation_returns.provisional import provisional_performance
from probation_returns.spec import TABLES
from probation_returns.standing import standing
from probation_returns.validation.checking import validate_files
from probation_returns.validation.engine import FINDING_SCHEMA, whole_return_finding
from probation_returns.validation.feedback import FeedbackContent, feedback_content, feedback_folder
from probation_returns.validation.header import about
from probation_returns.validation.result import RULES_VERSION, ValidationResult
from probation_returns.validation.store import STORED, previous_accepted_cases, previous_active_cases, store
from probation_returns.validation.tolerance import granted
from probation_returns.warehouse import recent
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import Finding, Submission, ValidationRun


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
    reasons: list[str] | None = None  # why the outcome is what it is, in the clerk's words (the first says most)
    content: FeedbackContent | None = None  # the feedback to write (None: reused, written when it was stored)


def current_submission(session: Session, provider: str, quarter: str) -> Submission | None:
    return session.scalar(
        select(Submission)
        .where(Submission.provider_code == provider, Submission.quarter == quarter, Submission.status != "superseded")
        .order_by(Submission.version.desc())
    )


def _stored(session: Session, submission: Submission, folder: Path) -> SubmissionValidation | None:
    run = session.scalar(
        select(ValidationRun).where(
            ValidationRun.submission_id == submission.id, ValidationRun.rules_version == RULES_VERSION
        )
    )
    if run is None:
        return None
    counts = dict(
        session.execute(
            select(Finding.rule_id, func.count()).where(Finding.validation_run_id == run.id).group_by(Finding.rule_id)
        ).all()
    )
    fatal = session.scalars(
        select(Finding.rule_id).where(Finding.validation_run_id == run.id, Finding.severity == "F").distinct()
    ).all()
    return SubmissionValidation(
        submission.id,
        run.id,
        run.outcome,
        run.table_counts,
        counts,
        sorted(fatal),
        folder,
        reused=True,
        reasons=(run.detail or {}).get("reasons", []),
    )


def stored_result(session: Session, submission: Submission) -> ValidationResult:
    """The stored validation as a result again (findings in their stored order), to write its feedback."""
    run = session.scalar(select(ValidationRun).where(ValidationRun.submission_id == submission.id))
    rows = session.execute(
        select(
            Finding.table_name,
            Finding.row_number,
            Finding.case_ref,
            Finding.column_name,
            Finding.rule_id,
            Finding.severity,
            Finding.value,
            Finding.message,
        )
        .where(Finding.validation_run_id == run.id)
        .order_by(Finding.id)
    ).all()
    findings = pl.DataFrame(rows, schema=FINDING_SCHEMA, orient="row")
    detail = run.detail or {}
    return ValidationResult(
        submission.provider_code,
        submission.quarter,
        run.outcome,
        findings,
        run.table_counts,
        gx_results=detail.get("gx_results", {}),
        reasons=detail.get("reasons", []),
        parameter_version=detail.get("parameter_version"),
    )


def unreadable(provider: str, quarter: str, files: list[str], exc: BaseException) -> ValidationResult:
    """A return that could not be validated at all: rejected with a fatal finding, never left unanswered."""
    cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    message = (
        f"The return ({', '.join(files)}) could not be read: {type(exc).__name__}: {cause}. "
        "Save the files again (as .xlsx, or UTF-8 CSV) and resubmit; if this persists, tell the ministry."
    )
    findings = whole_return_finding("file", "FIL-001", "F", message)
    empty = {
        "read": False,
        "state": "not read",
        "file": None,
        "why": "the service could not read the return",
        "rows": None,
        "rejected": None,
        "errors": 0,
        "warnings": 0,
    }
    why = f"The return cannot be used: FIL-001 is fatal (one finding is enough to reject the whole return). {message}"
    return ValidationResult(
        provider, quarter, "Rejected", mask_identifiers(findings), {t: dict(empty) for t in TABLES}, reasons=[why]
    )


def _header(submission: Submission) -> dict:
    return about(
        submission.provider_code,
        submission.quarter,
        [(f.file_name, f.sha256) for f in submission.files],
        delivered_at=submission.delivered_at or submission.received_at,
        version=submission.version,
    )


def stored_content(engine: Engine, submission_id: int) -> FeedbackContent:
    """The feedback of the submission's stored validation, as it was first written (to write it again when a
    kill or a full disk lost the files): its findings in stored order, its header, and where it stands now."""
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        result, header = stored_result(session, submission), _header(submission)
    return feedback_content(
        result,
        submission_id,
        {**header, "standing": standing(engine, submission_id).as_dict()},
        _provisional(engine, submission_id),
    )


def _provisional(engine: Engine, submission_id: int) -> dict | None:
    found = provisional_performance(engine, submission_id, RULES_VERSION)
    return found.as_dict() if found else None


def validate_submission(
    engine: Engine, submission_id: int, feedback_root: Path, *, force: bool = False
) -> SubmissionValidation:
    """Validate the submission once; a later call reuses the stored result unless ``force``.

    Whatever happens after the files were archived ends in a stored outcome: a file no reader can take (even a
    crash inside Polars or calamine) is a rejected return with a FIL-001 finding. A fresh validation carries its
    feedback's content for the caller to write into ``feedback``; a reused one's was written when it was stored
    (``stored_content`` gives it again, should the files have been lost).
    """
    started = clock.now()
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        provider, quarter = submission.provider_code, submission.quarter
        folder = feedback_folder(feedback_root, provider, quarter, submission_id)
        done = None if force else _stored(session, submission, folder)
        files = [(Path(f.archive_path), f.file_name) for f in submission.files]
        previous = previous_accepted_cases(session, provider, quarter)
        active_before = previous_active_cases(session, provider, quarter)
        allowances = granted(session, provider, quarter)
        header = _header(submission)
    if done is not None:
        return done
    history = provider_history(engine, Quarter.parse(quarter), provider)  # its own quarters' figures (RET-004)
    try:
        result = validate_files(
            [p for p, _ in files],
            provider,
            quarter,
            previous_cases=previous,
            previous_active=active_before,
            previous_figures=history,
            names=[n for _, n in files],
            allowances=allowances,
        )
    except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException; the provider must hear back
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        result = unreadable(provider, quarter, [n for _, n in files], exc)
    with session_scope(engine) as session:  # one transaction: run, findings, accepted records
        hold(session, "return", provider, quarter)
        submission = session.get(Submission, submission_id)
        result = _with_ignored(result, submission)
        earlier = None if force else _stored(session, submission, folder)
        if earlier is None:
            run_id = store(session, submission_id, result, started)
        else:  # another run stored it while this one was validating: theirs stands, once
            result, run_id = stored_result(session, submission), earlier.validation_run_id
        accepted = session.info.pop(STORED, None)
    if accepted:  # committed: the measures in this run can use them as they are
        recent.remember(engine, submission_id, run_id, started, accepted)
    content = feedback_content(
        result,
        submission_id,
        {**header, "standing": standing(engine, submission_id).as_dict()},
        _provisional(engine, submission_id),
    )
    fatal = sorted(set(result.findings.filter(result.findings["severity"] == "F")["rule_id"]))
    return SubmissionValidation(
        submission_id,
        run_id,
        result.outcome,
        result.tables,
        {r["rule_id"]: r["count"] for r in content.rules},
        fatal,
        folder,
        reasons=list(result.reasons),
        content=content,
    )


def _with_ignored(result: ValidationResult, submission: Submission, stored: bool = False) -> ValidationResult:
    """The files sent beside the return that are not part of it, as warnings (FIL-007)."""
    if stored or not submission.ignored_files:
        return result
    rows = [
        {
            "table": "file",
            "row_number": None,
            "case_ref": None,
            "column": None,
            "rule_id": "FIL-007",
            "severity": "W",
            "value": f["file_name"],
            "message": f"{f['file_name']} was sent with the return but is not one of its files (the workbook "
            f"{submission.provider_code}_{submission.quarter}.xlsx, or the cases, contacts and breaches "
            "CSVs), so it was ignored.",
        }
        for f in submission.ignored_files
    ]
    extra = mask_identifiers(pl.DataFrame(rows, schema=FINDING_SCHEMA))
    findings = pl.concat([extra, result.findings])
    outcome = result.outcome
    if outcome == "Accepted":
        outcome = "Accepted with warnings"
        result.reasons = ["No record was rejected; some records have warnings."]
    result.findings, result.outcome = findings, outcome
    return result
