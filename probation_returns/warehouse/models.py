"""The warehouse: everything the service received, decided and produced, in one relational schema.

SQLite by default (``var/returns.db``), PostgreSQL in production. Money is ``NUMERIC(14, 2)``;
``pnc_id`` is never stored, only its keyed hash (``pnc_hash``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from probation_returns import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> dt.datetime:
    return clock.now()


class Provider(Base):
    __tablename__ = "providers"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(3))  # CRC or NPS
    owner_2015: Mapped[str | None] = mapped_column(String(100))
    typical_caseload: Mapped[int] = mapped_column(Integer)


class Submission(Base):
    """One version of one provider's return for one quarter, as received."""

    __tablename__ = "submissions"
    # The same bytes may come back as a later version (a provider re-sends an earlier return, and the latest
    # delivery counts), so only the version number is unique; receiving takes the provider-quarter lock.
    __table_args__ = (UniqueConstraint("provider_code", "quarter", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"), index=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # sha256 over the files' own sha256s in name order: the identity of the return's bytes
    sha256: Mapped[str] = mapped_column(String(64))
    file_names: Mapped[list] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # when the provider delivered it: the files' own time stamp (kept by SFTP/rsync), never after received_at;
    # the submission deadline is judged on this
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))  # received, validated, superseded
    outcome: Mapped[str | None] = mapped_column(String(40))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    # files in the provider's folder for the quarter that are not part of a return (named like one, but not a
    # table): never part of the submission's identity, reported as a warning (FIL-007)
    ignored_files: Mapped[list | None] = mapped_column(JSON)
    files: Mapped[list[SubmissionFile]] = relationship(back_populates="submission", order_by="SubmissionFile.file_name")


class SubmissionFile(Base):
    """A file of a submission, archived immutably under its content address."""

    __tablename__ = "submission_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    archive_path: Mapped[str] = mapped_column(Text)
    submission: Mapped[Submission] = relationship(back_populates="files")


class ValidationRun(Base):
    __tablename__ = "validation_runs"
    __table_args__ = (UniqueConstraint("submission_id"),)  # one stored validation per submission
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(40))
    rules_version: Mapped[str] = mapped_column(String(40))
    reference_version: Mapped[str] = mapped_column(String(40))
    software_version: Mapped[str] = mapped_column(String(40))
    table_counts: Mapped[dict] = mapped_column(JSON)  # {table: {rows, rejected, errors, warnings}}
    # what the feedback files need besides the findings (reasons, GX results, parameter version), so that
    # feedback lost after the validation was stored is written again from the warehouse
    detail: Mapped[dict | None] = mapped_column(JSON)


class Finding(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    validation_run_id: Mapped[int] = mapped_column(ForeignKey("validation_runs.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(20))
    row_number: Mapped[int | None] = mapped_column(Integer)
    case_ref: Mapped[str | None] = mapped_column(Text)  # as the provider wrote it (masked if it looks like a PNC id)
    column_name: Mapped[str | None] = mapped_column(Text)
    rule_id: Mapped[str] = mapped_column(String(10), index=True)
    severity: Mapped[str] = mapped_column(String(1))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


class AcceptedCase(Base):
    """A case record that passed validation, as of one submission (the version it came in)."""

    __tablename__ = "accepted_cases"
    __table_args__ = (UniqueConstraint("submission_id", "case_ref"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))  # indexed by the unique constraint (0013)
    row_number: Mapped[int] = mapped_column(Integer)
    case_ref: Mapped[str] = mapped_column(String(7))
    pnc_hash: Mapped[str] = mapped_column(String(64))  # no index: nothing looks people up by it in SQL (0007)
    provider_code: Mapped[str] = mapped_column(String(3))
    sentence_type: Mapped[str] = mapped_column(String(3))
    sentence_date: Mapped[dt.date] = mapped_column(Date)
    start_date: Mapped[dt.date] = mapped_column(Date)
    rosh_level: Mapped[str] = mapped_column(String(2))
    ogrs3_2yr: Mapped[int] = mapped_column(Integer)
    age_at_start: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    index_offence_group: Mapped[str] = mapped_column(String(30))
    em_only: Mapped[bool] = mapped_column(Boolean)
    first_appointment_date: Mapped[dt.date | None] = mapped_column(Date)
    first_appointment_attended: Mapped[bool | None] = mapped_column(Boolean)
    sentence_plan_date: Mapped[dt.date | None] = mapped_column(Date)
    upw_required: Mapped[bool] = mapped_column(Boolean)
    upw_arranged_date: Mapped[dt.date | None] = mapped_column(Date)
    escalation_referral_date: Mapped[dt.date | None] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(String(30))


class AcceptedContact(Base):
    __tablename__ = "accepted_contacts"
    __table_args__ = (UniqueConstraint("submission_id", "row_number"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))  # indexed by the unique constraint (0013)
    row_number: Mapped[int] = mapped_column(Integer)
    case_ref: Mapped[str] = mapped_column(String(7))
    contact_date: Mapped[dt.date] = mapped_column(Date)
    contact_type: Mapped[str] = mapped_column(String(5))
    outcome: Mapped[str] = mapped_column(String(20))
    followup_date: Mapped[dt.date | None] = mapped_column(Date)


class AcceptedBreach(Base):
    __tablename__ = "accepted_breaches"
    __table_args__ = (UniqueConstraint("submission_id", "row_number"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))  # indexed by the unique constraint (0013)
    row_number: Mapped[int] = mapped_column(Integer)
    breach_ref: Mapped[str] = mapped_column(Text)  # free text of the provider's choosing
    case_ref: Mapped[str] = mapped_column(String(7))
    awareness_date: Mapped[dt.date] = mapped_column(Date)
    referral_date: Mapped[dt.date | None] = mapped_column(Date)
    pack_complete: Mapped[bool | None] = mapped_column(Boolean)


class ReoffendingExtract(Base):
    __tablename__ = "reoffending_extracts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of_date: Mapped[dt.date] = mapped_column(Date, index=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    archive_path: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    rows: Mapped[int | None] = mapped_column(Integer)


class Measure(Base):
    """A service level (or reported-only measure) for one provider and quarter."""

    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("quarter", "provider_code", "measure"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    measure: Mapped[str] = mapped_column(String(40))
    numerator: Mapped[int | None] = mapped_column(Integer)
    denominator: Mapped[int | None] = mapped_column(Integer)
    performance: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    parameter_version: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Credit(Base):
    """A service credit as computed; decisions about it are separate rows, never edits.

    A recomputation that changes the figure keeps the old row (``replaced_at`` set) and adds a new one.
    """

    __tablename__ = "credits"
    # one current credit per provider, quarter and measure; replaced ones are history
    __table_args__ = (
        Index(
            "uq_credits_current",
            "quarter",
            "provider_code",
            "measure",
            unique=True,
            postgresql_where=text("replaced_at IS NULL"),
            sqlite_where=text("replaced_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    measure: Mapped[str] = mapped_column(String(40))
    amount_gbp: Mapped[Decimal] = mapped_column(Money)
    unscaled_gbp: Mapped[Decimal] = mapped_column(Money)
    parameter_version: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CreditDecision(Base):
    __tablename__ = "credit_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_id: Mapped[int] = mapped_column(ForeignKey("credits.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # applied, waived, reinvested
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReoffendingResult(Base):
    """Proven reoffending for one provider's cohort quarter, from one extract (final or interim)."""

    __tablename__ = "reoffending_results"
    __table_args__ = (UniqueConstraint("quarter", "provider_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))  # the cohort quarter
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    extract_id: Mapped[int | None] = mapped_column(ForeignKey("reoffending_extracts.id"))
    cohort_size: Mapped[int] = mapped_column(Integer)
    reoffenders: Mapped[int] = mapped_column(Integer)
    reoffences: Mapped[int] = mapped_column(Integer)
    mean_p1: Mapped[Decimal] = mapped_column(Numeric(12, 10))
    binary_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 10))
    frequency_rate: Mapped[Decimal | None] = mapped_column(Numeric(14, 10))
    adjusted_binary_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 10))
    z: Mapped[float | None] = mapped_column(Float)
    significance: Mapped[str] = mapped_column(String(30))
    final: Mapped[bool] = mapped_column(Boolean)
    binary_payment_gbp: Mapped[Decimal] = mapped_column(Money)
    frequency_payment_gbp: Mapped[Decimal] = mapped_column(Money)
    parameter_version: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReturnBuild(Base):
    """A numbered, kept build of a quarter's ministry return."""

    __tablename__ = "return_builds"
    __table_args__ = (UniqueConstraint("quarter", "build_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))
    build_number: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    software_version: Mapped[str] = mapped_column(String(40))
    parameter_version: Mapped[str] = mapped_column(String(40))
    extract_id: Mapped[int | None] = mapped_column(ForeignKey("reoffending_extracts.id"))
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    output_path: Mapped[str] = mapped_column(Text)


class ReturnBuildDecision(Base):
    """A credit decision a build's figures were made from: a decision made since makes the build out of date."""

    __tablename__ = "return_build_decisions"
    build_id: Mapped[int] = mapped_column(ForeignKey("return_builds.id"), primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("credit_decisions.id"), primary_key=True)


class BuildRequest(Base):
    """A contract manager's request, in the portal, to rebuild a quarter: followed like an upload."""

    __tablename__ = "build_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    status: Mapped[str] = mapped_column(String(20))  # received, building, done, failed
    worker: Mapped[str | None] = mapped_column(Text)  # host:pid of the process building it
    run_id: Mapped[str | None] = mapped_column(String(64))  # the Dagster run
    build_id: Mapped[int | None] = mapped_column(ForeignKey("return_builds.id"))  # the build it ended with
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class ReturnBuildSubmission(Base):
    __tablename__ = "return_build_submissions"
    build_id: Mapped[int] = mapped_column(ForeignKey("return_builds.id"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)


class Alert(Base):
    """Something a data engineer must look at: a failed check or a failed run, recorded once."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(100), unique=True)  # the Dagster event it came from
    kind: Mapped[str] = mapped_column(String(20))  # check_failed, run_failed
    title: Mapped[str] = mapped_column(Text)
    asset_key: Mapped[str | None] = mapped_column(String(200))
    partition_key: Mapped[str | None] = mapped_column(String(100))
    check_name: Mapped[str | None] = mapped_column(String(100))
    run_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    notified_via: Mapped[str | None] = mapped_column(String(100))
    notify_error: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """Someone who signs in to the portal: a provider's submitter (bound to one provider), a contract manager
    (all providers) or an administrator (accounts and the audit log). Only an argon2 hash of the password."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))  # provider, manager, admin
    provider_code: Mapped[str | None] = mapped_column(ForeignKey("providers.code"))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # in every session's user id: one more ends every session made before (sign-out, reset, disable)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # wrong passwords in a row
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Who did what, when: sign-ins (both outcomes), uploads, downloads, decisions, sign-offs. Never offenders' data."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    actor: Mapped[str | None] = mapped_column(Text)  # the user's e-mail address (or what was typed at sign-in)
    action: Mapped[str] = mapped_column(String(40))
    provider_code: Mapped[str | None] = mapped_column(String(3))
    quarter: Mapped[str | None] = mapped_column(String(6))
    target: Mapped[str | None] = mapped_column(Text)  # what it was done to: a file, a submission, a build
    detail: Mapped[dict | None] = mapped_column(JSON)


class Upload(Base):
    """A return sent through the portal: who sent it and declared it, and how far its processing has got."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"), index=True)
    quarter: Mapped[str] = mapped_column(String(6))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    declared_by: Mapped[str] = mapped_column(Text)  # the name typed in the declaration
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    identity: Mapped[str] = mapped_column(String(64))  # ingest.identity of its parts: finds its submission
    files: Mapped[list] = mapped_column(JSON)  # [{part, sent_as, sha256, bytes}]
    status: Mapped[str] = mapped_column(String(20))  # received, validating, done, failed
    worker: Mapped[str | None] = mapped_column(Text)  # host:pid of the process validating it
    run_id: Mapped[str | None] = mapped_column(String(64))  # the Dagster run
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class SignOff(Base):
    """A contract manager's sign-off of one build of a quarter's return: that build goes to the ministry."""

    __tablename__ = "sign_offs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("return_builds.id"), unique=True)
    signed_by: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class IntegrityComputation(Base):
    """One working-out of a quarter's integrity signals, keyed by what they were worked out from.

    ``inputs_sha256`` covers every submission of the quarter and its previous four (ids, versions, outcomes,
    delivery times), the contract parameters' versions, the thresholds and the signals' names: the same inputs
    give the same key, so a rerun (or two runs at once) stores nothing twice (the unique constraint decides).
    """

    __tablename__ = "integrity_computations"
    __table_args__ = (UniqueConstraint("quarter", "inputs_sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class IntegritySignalRow(Base):
    """One provider, signal and measure of a computation, flagged or not (integrity.csv's row)."""

    __tablename__ = "integrity_signals"
    __table_args__ = (UniqueConstraint("computation_id", "provider_code", "signal", "measure"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computation_id: Mapped[int] = mapped_column(ForeignKey("integrity_computations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the rows' order in integrity.csv
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    signal: Mapped[str] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(40))
    count: Mapped[int | None] = mapped_column(Integer)
    statistic: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    expected: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    z: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    compared_with: Mapped[str] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean)
    explanation: Mapped[str] = mapped_column(Text)


class CredibilityTallies(Base):
    """One accepted return's credibility figures (``{"family|figure": [count, base]}``), worked out once under the
    version of their definition (``credibility.figures.DEFINITION``): they depend only on that return's records."""

    __tablename__ = "credibility_tallies"
    __table_args__ = (UniqueConstraint("submission_id", "definition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    definition: Mapped[str] = mapped_column(String(20))
    tallies: Mapped[dict] = mapped_column(JSON)


class CredibilityVanished(Base):
    """Cases active at the end of the previous counted return that this one neither lists nor ends, over those
    active: a pair of returns' figure, so keyed by both."""

    __tablename__ = "credibility_vanished"
    __table_args__ = (UniqueConstraint("submission_id", "previous_submission_id", "definition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    previous_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    definition: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    base: Mapped[int] = mapped_column(Integer)


class IntegrityCase(Base):
    """A case reference behind a flagged signal (``case_ref`` only: no PNC id or other personal data)."""

    __tablename__ = "integrity_cases"
    signal_id: Mapped[int] = mapped_column(ForeignKey("integrity_signals.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # a case may be behind two events
    case_ref: Mapped[str] = mapped_column(String(20))


class Query(Base):
    """A provider's answer to a warning or an error rule found in one version of its return (or to an integrity
    signal): open until the contract manager accepts or rejects it, with a reason. Its thread is in
    ``query_messages``."""

    __tablename__ = "queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"), index=True)
    quarter: Mapped[str] = mapped_column(String(6))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    subject: Mapped[str] = mapped_column(String(60))  # a rule id (CAS-012) or a signal (signal:deadline_heaping)
    rows: Mapped[list | None] = mapped_column(JSON)  # the row numbers chosen (None: the rule as a whole)
    state: Mapped[str] = mapped_column(String(10))  # open, accepted, rejected
    raised_by: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class QueryMessage(Base):
    """One step of a query's thread: the provider's explanation, or the contract manager's decision and reason."""

    __tablename__ = "query_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    written_by: Mapped[str] = mapped_column(Text)
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    step: Mapped[str] = mapped_column(String(10))  # raised, accepted, rejected
    words: Mapped[str] = mapped_column(Text)


class Tolerance(Base):
    """A contract manager's allowance: rule X accepted for provider P in quarter Q up to N records, or up to a
    share of the table's records. Beyond it the rule counts again, every record of it. One per rule."""

    __tablename__ = "tolerances"
    __table_args__ = (
        UniqueConstraint("provider_code", "quarter", "rule_id"),
        CheckConstraint("(max_records IS NULL) <> (max_share IS NULL)", name="records_or_share"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    quarter: Mapped[str] = mapped_column(String(6))
    rule_id: Mapped[str] = mapped_column(String(10))
    max_records: Mapped[int | None] = mapped_column(Integer)
    max_share: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))  # 0.05 = 5% of the table's records
    reason: Mapped[str] = mapped_column(Text)
    query_id: Mapped[int | None] = mapped_column(ForeignKey("queries.id"))
    granted_by: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ProviderSignOff(Base):
    """The provider's accountable officer declaring the version that counts an accurate account of the
    provider's work: one per provider, quarter and version."""

    __tablename__ = "provider_sign_offs"
    __table_args__ = (UniqueConstraint("provider_code", "quarter", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_code: Mapped[str] = mapped_column(ForeignKey("providers.code"))
    quarter: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    signed_by: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
