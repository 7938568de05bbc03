"""A quarter's performance for every provider, from the warehouse's accepted records.

- service levels and credits: per provider, from the return that counts for the quarter (the latest
  version delivered by the deadline that was accepted; none: ``no valid return``, every measure at 0%);
- proven reoffending for the quarter's cohort, from the latest extract (final or interim).
Results are stored, replacing the quarter's earlier figures (credits keep their history);
``probation_returns.measures.figures`` reads them back for the returns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.calendar import LONDON, Quarter, add_months, submission_deadline  # noqa: F401 - LONDON kept here too
from probation_returns.measures.credits import Credit, credits
from probation_returns.measures.payments import CohortResult, outcome, p1_from_ogrs3
from probation_returns.measures.reoffending_extract import Extract
from probation_returns.measures.service_levels import ServiceLevel, reported_only, service_levels
from probation_returns.parameters import ContractParameters, for_quarter
from probation_returns.reference import providers
from probation_returns.reoffending import cohort, proven_reoffences
from probation_returns.warehouse import recent
from probation_returns.warehouse.db import read_scope, reading
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
    Measure,
    ReoffendingResult,
    Submission,
)
from probation_returns.warehouse.models import (
    Credit as CreditRow,
)

COHORT_COLUMNS = ("pnc_hash", "case_ref", "sentence_type", "start_date", "em_only", "ogrs3_2yr")  # what a cohort needs
TABLE_MODELS = {"cases": AcceptedCase, "contacts": AcceptedContact, "breaches": AcceptedBreach}


@dataclass
class ProviderLevels:
    """A provider's service levels, reported-only measures and credits for one quarter."""

    provider: str
    submission_id: int | None
    levels: list[ServiceLevel]
    reported: dict[str, tuple[int, int]]
    credits: list[Credit]


@dataclass
class ProviderCohort:
    provider: str
    submission_id: int | None
    result: CohortResult | None  # None: no accepted cases for the cohort quarter, or no extract


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite drops the offset


def delivered(submission: Submission) -> dt.datetime:
    return _utc(submission.delivered_at or submission.received_at)


def accepted_submission(session: Session, provider: str, quarter: str) -> Submission | None:
    """The return that counts: the last good return, the latest version delivered by the deadline that was
    accepted.

    A later on-time version replaces it only when that version is accepted too: a rejected version never
    takes away an accepted return (NHS England's collections keep the "last good file" the same way).
    Versions delivered after the deadline do not count at all.
    """
    deadline = submission_deadline(Quarter.parse(quarter), for_quarter(Quarter.parse(quarter)))
    versions = session.scalars(
        select(Submission)
        .where(Submission.provider_code == provider, Submission.quarter == quarter)
        .order_by(Submission.version.desc())
    )
    for submission in versions:
        if delivered(submission) < deadline and submission.outcome is not None and submission.outcome != "Rejected":
            return submission
    return None


def accepted_tables(
    engine: Engine,
    submission_id: int,
    only: tuple[str, ...] = ("cases", "contacts", "breaches"),
    columns: tuple[str, ...] | None = None,
) -> dict[str, pl.DataFrame]:
    """The submission's accepted records, typed as validation produced them (only ``columns``, when given).

    Read through the driver's own cursor: SQLAlchemy's per-value type processing made this the
    slowest step of a quarter's measures (see docs/performance.md).
    """
    out = {}
    with reading(engine).connect() as connection:
        dbapi = connection.connection.dbapi_connection
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        for name in only:
            model = TABLE_MODELS[name]
            table = model.__table__
            names = [c.name for c in _columns(name, columns)]
            cursor = dbapi.cursor()
            try:
                cursor.execute(
                    f"SELECT {', '.join(names)} FROM {table.name} WHERE submission_id = {mark} ORDER BY row_number",
                    (submission_id,),
                )
                rows = cursor.fetchall()
            finally:
                cursor.close()
            out[name] = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return {name: as_stored(name, frame, columns) for name, frame in out.items()}


def _columns(name: str, wanted: tuple[str, ...] | None = None) -> list:
    return [
        c
        for c in TABLE_MODELS[name].__table__.columns
        if c.name != "id" and (wanted is None or c.name in wanted or c.name == "row_number")
    ]


def as_stored(name: str, frame: pl.DataFrame, wanted: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Accepted records as the warehouse holds them: its columns (or those wanted), in row order, with its types."""
    columns = _columns(name, wanted)
    frame = frame.select(pl.col(c.name) if c.name in frame.columns else pl.lit(None).alias(c.name) for c in columns)
    return frame.with_columns(_typed(c, frame.schema[c.name]) for c in columns).sort("row_number")


def _tables(engine: Engine, submission_id: int, keep: bool = False) -> dict[str, pl.DataFrame]:
    """The accepted records: from this process's last store when it was this submission's, else read back.

    ``keep``: the measures of the same run will want them again (the feedback's credits come first)."""
    kept = recent.recall(engine, submission_id)
    if kept is not None and set(kept) == set(TABLE_MODELS):
        if not keep:
            recent.forget()  # used for the last time: the memory goes back
        return {name: as_stored(name, kept[name]) for name in TABLE_MODELS}
    return accepted_tables(engine, submission_id)


def _typed(column, dtype) -> pl.Expr:
    """A warehouse column as its model's type (SQLite hands back dates as text and booleans as 0/1)."""
    kind = column.type.python_type
    col = pl.col(column.name)
    if kind is dt.date:
        return (
            col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
            if dtype in (pl.String, pl.Null)
            else col.cast(pl.Date)
        )
    if kind is bool:
        return col.cast(pl.Boolean)
    if kind is str:
        return col.cast(pl.String)
    if kind is int:
        return col.cast(pl.Int64)
    return col


def reoffending_for(
    cases: pl.DataFrame, quarter: Quarter, extract: Extract, params: ContractParameters, provider: str
) -> CohortResult:
    people = cohort(cases, quarter, person="pnc_hash")
    counted = proven_reoffences(people, extract.rows, extract.as_of, person="pnc_hash")
    n = counted.height
    mean_p1 = counted.select(p1_from_ogrs3().mean()).item() if n else 0.0
    terms = params.providers[provider]
    final = extract.as_of >= add_months(quarter.last_day, 18)
    return outcome(
        n,
        int((counted["reoffences"] > 0).sum()),
        int(counted["reoffences"].sum()),
        Decimal(str(round(mean_p1 or 0.0, 10))),
        terms,
        params,
        final=final,
        paid=providers()[provider].is_crc,
    )


def _accepted(engine: Engine, provider: str, quarter: Quarter) -> int | None:
    with read_scope(engine) as session:
        submission = accepted_submission(session, provider, str(quarter))
        return submission.id if submission else None


def provider_levels(engine: Engine, provider: str, quarter: Quarter, keep_recent: bool = False) -> ProviderLevels:
    """Service levels and credits from the provider's accepted return (none: ``no valid return``)."""
    return submission_levels(engine, provider, quarter, _accepted(engine, provider, quarter), keep_recent)


def submission_levels(
    engine: Engine, provider: str, quarter: Quarter, submission_id: int | None, keep_recent: bool = False
) -> ProviderLevels:
    """Service levels and credits from one submission's accepted records (None: ``no valid return``): what
    ``provider_levels`` gives for the return that counts, and the provider's feedback for any version."""
    params = for_quarter(quarter)
    tables = _tables(engine, submission_id, keep_recent) if submission_id else None
    levels = service_levels(quarter, params, tables)
    is_crc = providers()[provider].is_crc
    fee = params.providers[provider].quarterly_fee_gbp
    money = credits(levels, fee, params) if is_crc else []
    reported = reported_only(quarter, tables, is_crc) if tables else {}
    return ProviderLevels(provider, submission_id, levels, reported, money)


def submission_cohort_size(engine: Engine, quarter: Quarter, submission_id: int) -> int:
    """The size of the quarter's reoffending cohort in one submission's accepted cases, as ``cohort_results``
    counts it (the cohort needs no extract; its reoffending does)."""
    cases = accepted_tables(engine, submission_id, only=("cases",), columns=COHORT_COLUMNS)["cases"]
    return cohort(cases, quarter, person="pnc_hash").height


def cohort_results(engine: Engine, quarter: Quarter, extract: Extract | None) -> list[ProviderCohort]:
    """Proven reoffending of every provider's cohort for ``quarter`` (the cases of its accepted return)."""
    params = for_quarter(quarter)
    out = []
    for provider in providers():
        submission_id = _accepted(engine, provider, quarter)
        result = None
        if submission_id and extract is not None:
            cases = accepted_tables(engine, submission_id, only=("cases",), columns=COHORT_COLUMNS)["cases"]
            result = reoffending_for(cases, quarter, extract, params, provider)
        out.append(ProviderCohort(provider, submission_id, result))
    return out


def store_levels(session: Session, quarter: Quarter, result: ProviderLevels, params: ContractParameters) -> None:
    """Replace the provider's measures for the quarter; credits keep their history (a rerun adds nothing)."""
    q = str(quarter)
    hold(session, "measures", q, result.provider)  # a concurrent run waits, then replaces these rows
    session.execute(delete(Measure).where(Measure.quarter == q, Measure.provider_code == result.provider))
    current = {
        c.measure: c
        for c in session.scalars(
            select(CreditRow).where(
                CreditRow.quarter == q, CreditRow.provider_code == result.provider, CreditRow.replaced_at.is_(None)
            )
        )
    }
    for level in result.levels:
        session.add(
            Measure(
                quarter=q,
                provider_code=result.provider,
                measure=level.measure,
                numerator=level.numerator,
                denominator=level.denominator,
                performance=float(level.performance) if level.performance is not None else None,
                target=float(level.target),
                status=level.status,
                submission_id=result.submission_id,
                parameter_version=params.version,
            )
        )
    for measure, (n, d) in result.reported.items():
        session.add(
            Measure(
                quarter=q,
                provider_code=result.provider,
                measure=measure,
                numerator=n,
                denominator=d,
                performance=100 * n / d if d else None,
                target=None,
                status="reported" if d is not None else "not applicable",
                submission_id=result.submission_id,
                parameter_version=params.version,
            )
        )
    now = clock.now()
    for credit in result.credits:
        old = current.pop(credit.measure, None)
        if old is not None and (old.amount_gbp, old.unscaled_gbp, old.parameter_version) == (
            credit.amount_gbp,
            credit.unscaled_gbp,
            params.version,
        ):
            continue  # unchanged: the credit and any decision on it stand
        if old is not None:
            old.replaced_at = now
        session.add(
            CreditRow(
                quarter=q,
                provider_code=result.provider,
                measure=credit.measure,
                amount_gbp=credit.amount_gbp,
                unscaled_gbp=credit.unscaled_gbp,
                parameter_version=params.version,
            )
        )
    for old in current.values():  # no longer computed (e.g. the provider is now an NPS comparison only)
        old.replaced_at = now


def store_cohorts(
    session: Session,
    quarter: Quarter,
    results: list[ProviderCohort],
    params: ContractParameters,
    extract_id: int | None,
) -> None:
    """Replace the quarter's reoffending results (one row per provider with a cohort result)."""
    q = str(quarter)
    hold(session, "reoffending_results", q)
    session.execute(delete(ReoffendingResult).where(ReoffendingResult.quarter == q))
    for cohort_ in results:
        r = cohort_.result
        if r is None:
            continue
        session.add(
            ReoffendingResult(
                quarter=q,
                provider_code=cohort_.provider,
                submission_id=cohort_.submission_id,
                extract_id=extract_id,
                cohort_size=r.cohort_size,
                reoffenders=r.reoffenders,
                reoffences=r.reoffences,
                mean_p1=r.mean_p1,
                binary_rate=r.binary,
                frequency_rate=r.frequency,
                adjusted_binary_rate=r.adjusted_binary,
                z=r.z,
                significance=r.significance,
                final=r.final,
                binary_payment_gbp=r.binary_payment_gbp,
                frequency_payment_gbp=r.frequency_payment_gbp,
                parameter_version=params.version,
            )
        )
