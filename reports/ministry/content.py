"""Everything a quarter's ministry return shows, gathered from the warehouse as tidy frames.

The CSV twin is these frames as they are; the workbook lays the same frames out for people. No
frame holds a personal identifier: submissions are named by id and checksum, never by case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Engine, func, select

from probation_returns import __version__, conversation
from probation_returns.calendar import Quarter
from probation_returns.credibility.table import CREDIBILITY, quarter_report
from probation_returns.credibility.table import frame as credibility_frame
from probation_returns.integrity.store import ensure as stored_signals
from probation_returns.integrity.table import INTEGRITY
from probation_returns.integrity.table import frame as integrity_frame
from probation_returns.measures.figures import QuarterFigures, quarter_figures
from probation_returns.measures.quarter import accepted_submission, delivered, submission_deadline
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.validation.feedback import WHOLE_RETURN
from probation_returns.validation.outcome import why_rejected
from probation_returns.validation.result import RULES_VERSION, part_words, table_state
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Finding, Submission, ValidationRun
from reports.ministry import tidy

SUBMISSIONS = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "submission_id": pl.Int64,
    "version": pl.Int64,
    "delivered_at": pl.String,
    "received_at": pl.String,
    "files": pl.String,
    "file_sha256": pl.String,
    "return_identity": pl.String,
    "status": pl.String,
    "outcome": pl.String,
    "counted": pl.String,
    "counted_submission_id": pl.Int64,
    "provider_signed_off": pl.String,
    "provider_signed_off_on": pl.String,
    "open_queries": pl.Int64,
}
DATA_QUALITY = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "submission_id": pl.Int64,
    "table": pl.String,
    "file": pl.String,
    "rows": pl.Int64,
    "rejected_records": pl.Int64,
    "errors": pl.Int64,
    "warnings": pl.Int64,
    "top_rules": pl.String,
    "rejected_because": pl.String,
}
TABLES = ("cases", "contacts", "breaches")
PARTS = (*TABLES, WHOLE_RETURN)  # the return as a whole: findings about its files rather than a table
TOP_RULES = 3


@dataclass
class ReturnContent:
    quarter: Quarter
    figures: QuarterFigures
    submissions: pl.DataFrame
    data_quality: pl.DataFrame
    deadline: dt.datetime
    received: list[dict] = field(default_factory=list)  # every submission of the quarter, oldest first
    software_version: str = __version__
    rules_version: str = RULES_VERSION
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)  # the figures, before markers
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)  # the internal copy's tables, marked
    # the integrity signals: internal copy only (integrity.csv and its sheet), never in the publication copy
    integrity: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=INTEGRITY))
    # the credibility report: internal copy only too (credibility.csv and its sheet)
    credibility: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CREDIBILITY))

    def __post_init__(self) -> None:
        self.tables = tidy.return_tables(
            self.figures.service_levels,
            self.figures.reoffending,
            self.figures.payments,
            self.data_quality,
            self.submissions,
        )
        self.frames = tidy.mark(self.tables)

    @property
    def counted_submission_ids(self) -> list[int]:
        return sorted(self.submissions["counted_submission_id"].drop_nulls().to_list())

    def inputs(self) -> dict:
        """What the return was made from; the same inputs give the same return (and build number).

        Every submission of the quarter is listed, rejected and late ones included: a rejected return
        is why a provider's measures count as 0% and carry the largest credits.
        """
        extract = self.figures.extract
        return {
            "quarter": str(self.quarter),
            "parameter_version": self.figures.params.version,
            "rules_version": self.rules_version,
            "software_version": self.software_version,
            "submission_deadline": self.deadline.isoformat(),
            "submissions": self.received,
            "reoffending_extract": (
                {"as_of": extract.as_of.isoformat(), "sha256": extract.sha256, "file_name": extract.file_name}
                if extract
                else None
            ),
        }

    def inputs_sha256(self) -> str:
        """The inputs' own checksum: the bytes of every file received, when each was delivered, the
        parameters, rules, software and extract; nothing the service numbers or clocks itself (submission ids,
        intake times), so the same inputs give the same checksum on every rerun, after a kill or on another
        database."""
        inputs = self.inputs()
        inputs["submissions"] = [{k: v for k, v in s.items() if k != "submission_id"} for s in inputs["submissions"]]
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def content_sha256(self, file_hashes: dict[str, str]) -> str:
        """Inputs plus the content of the tables, which decides whether a new build is needed: a credit
        decision changes the content, not the inputs."""
        body = json.dumps({"inputs": self.inputs(), "tables": file_hashes}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()


def _files(submission: Submission) -> list[dict]:
    """Each file of the submission with its own SHA-256, as ``sha256sum`` prints it for the file the provider
    holds, by name."""
    return sorted(({"name": f.file_name, "sha256": f.sha256} for f in submission.files), key=lambda f: f["name"])


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def gather(engine: Engine, quarter: Quarter) -> ReturnContent:
    figures = quarter_figures(engine, quarter)
    q = str(quarter)
    deadline = submission_deadline(quarter, figures.params)
    with session_scope(engine) as session:
        latest = {
            s.provider_code: s
            for s in session.scalars(select(Submission).where(Submission.quarter == q).order_by(Submission.version))
        }
        counted = {code: accepted_submission(session, code, q) for code in providers()}
        declared = conversation.declarations(session, q)
        sub_rows, quality_rows = [], []
        for code in providers():
            s, c = latest.get(code), counted.get(code)
            if s is None:
                state = "no return"
            elif c is not None:
                state = "yes" if c.id == s.id else f"yes (version {c.version}; later versions were late)"
            elif delivered(s) >= deadline and not any(
                delivered(v) < deadline
                for v in session.scalars(
                    select(Submission).where(Submission.quarter == q, Submission.provider_code == code)
                )
            ):
                state = "no: delivered after the deadline"
            else:
                state = "no: no accepted return"
            sub_rows.append(
                (
                    q,
                    code,
                    s.id if s else None,
                    s.version if s else None,
                    _iso(delivered(s)) if s else None,
                    _iso(s.received_at) if s else None,
                    ";".join(f["name"] for f in _files(s)) if s else None,
                    "; ".join(f"{f['sha256']}  {f['name']}" for f in _files(s)) if s else None,
                    s.sha256 if s else None,
                    s.status if s else "no return",
                    s.outcome if s else None,
                    state,
                    c.id if c else None,
                    "yes" if declared[code].signed else "no",
                    conversation.signed_on(declared[code].signed) or None,
                    declared[code].open_queries,
                )
            )
            quality_rows.extend(_quality(session, q, code, c or s))
        rank = {code: i for i, code in enumerate(providers())}
        every = sorted(
            session.scalars(select(Submission).where(Submission.quarter == q)),
            key=lambda s: (rank.get(s.provider_code, len(rank)), s.version),
        )
        counted_ids = {c.id for c in counted.values() if c is not None}
        received = [
            {
                "provider_code": s.provider_code,
                "submission_id": s.id,
                "version": s.version,
                "return_identity": s.sha256,
                "files": _files(s),
                "delivered_at": _iso(delivered(s)),
                "outcome": s.outcome or s.status,
                "counts": s.id in counted_ids,
            }
            for s in every
        ]
    submissions = pl.DataFrame(sub_rows, schema=SUBMISSIONS, orient="row")
    quality = pl.DataFrame(quality_rows, schema=DATA_QUALITY, orient="row")
    # as the quarter build's integrity_signals asset stored them (stored here first when it has not run)
    integrity = tidy.with_names(integrity_frame(stored_signals(engine, quarter, list(providers())).rows))
    credibility = tidy.with_names(credibility_frame(quarter_report(engine, quarter, list(providers()))))
    return ReturnContent(
        quarter, figures, submissions, quality, deadline, received, integrity=integrity, credibility=credibility
    )


def _quality(session, q: str, code: str, submission: Submission | None) -> list[tuple]:
    """Per table of the submission that counts (else the latest): what happened to its file, its rows, rejected
    records, errors and warnings, then the same for the return as a whole; a rejected return's fatal reason
    on each of its rows."""
    if submission is None:
        return [(q, code, None, t, "no return", None, None, None, None, None, None) for t in PARTS]
    run = session.scalar(
        select(ValidationRun).where(ValidationRun.submission_id == submission.id).order_by(ValidationRun.id.desc())
    )
    if run is None:
        return [(q, code, submission.id, t, "not validated", None, None, None, None, None, None) for t in PARTS]
    counts = session.execute(
        select(Finding.table_name, Finding.rule_id, Finding.severity, func.count())
        .where(Finding.validation_run_id == run.id)
        .group_by(Finding.table_name, Finding.rule_id, Finding.severity)
    ).all()
    because = None
    if run.outcome == "Rejected":
        fatal = [rule for _, rule, severity, _ in counts if severity == "F"]
        because = why_rejected(fatal, run.table_counts, for_quarter(q).rejection_tolerance)
    out = []
    for t in PARTS:
        mine = [
            (n, rule, severity) for table, rule, severity, n in counts if table == ("file" if t == WHOLE_RETURN else t)
        ]
        ranked = sorted(((n, rule) for n, rule, _ in mine), key=lambda x: (-x[0], x[1]))
        top = "; ".join(f"{rule} ({n})" for n, rule in ranked[:TOP_RULES]) or "none"
        errors = sum(n for n, _, severity in mine if severity in ("E", "F"))
        warnings = sum(n for n, _, severity in mine if severity == "W")
        if t == WHOLE_RETURN:
            out.append(
                (
                    q,
                    code,
                    submission.id,
                    t,
                    "the files' names, and files sent beside the return",
                    None,
                    None,
                    errors,
                    warnings,
                    top,
                    because,
                )
            )
            continue
        c = run.table_counts.get(t, {})
        state = table_state(c)
        rows = c.get("rows") if c.get("read", True) else None  # not sent or not read: unknown, not 0
        rejected = c.get("rejected") if state == "read" else None
        out.append(
            (
                q,
                code,
                submission.id,
                t,
                part_words(t, c, rows_in_words=False),
                rows,
                rejected,
                errors,
                warnings,
                top,
                because,
            )
        )
    return out
