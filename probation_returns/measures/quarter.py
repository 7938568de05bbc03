"""A quarter's performance and money for every provider, from the warehouse's accepted records.

- service levels and credits: per provider, from its current accepted submission for the quarter
  (none: ``no valid return``, every measure at 0%);
- proven reoffending for the quarter's cohort, from the latest extract (final or interim);
- payments: fee, credits, outcome payments (final results only) and the net.
Results are stored (replacing the quarter's earlier figures) and written as CSV.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter, add_months
from probation_returns.measures.credits import Credit, credits
from probation_returns.measures.payments import CohortResult, outcome, p1_from_ogrs3
from probation_returns.measures.reoffending_extract import Extract
from probation_returns.measures.service_levels import ServiceLevel, reported_only, service_levels
from probation_returns.parameters import ContractParameters, for_quarter
from probation_returns.reference import providers
from probation_returns.reoffending import cohort, proven_reoffences
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
    Credit as CreditRow,
    Measure,
    Payment,
    Submission,
)
from reports.csv import write_csv

TABLE_MODELS = {"cases": AcceptedCase, "contacts": AcceptedContact, "breaches": AcceptedBreach}


@dataclass
class ProviderQuarter:
    provider: str
    submission_id: int | None
    levels: list[ServiceLevel]
    reported: dict[str, tuple[int, int]]
    credits: list[Credit]
    reoffending: CohortResult | None


def accepted_submission(session: Session, provider: str, quarter: str) -> Submission | None:
    return session.scalar(
        select(Submission).where(Submission.provider_code == provider, Submission.quarter == quarter,
                                 Submission.status != "superseded",
                                 Submission.outcome.is_not(None), Submission.outcome != "Rejected")
        .order_by(Submission.version.desc())
    )


def accepted_tables(engine: Engine, submission_id: int) -> dict[str, pl.DataFrame]:
    """The submission's accepted records, typed as validation produced them.

    Read through the driver's own cursor: SQLAlchemy's per-value type processing made this the
    slowest step of a quarter's measures (see docs/performance.md).
    """
    out = {}
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        for name, model in TABLE_MODELS.items():
            table = model.__table__
            columns = [c for c in table.columns if c.name != "id"]
            cursor = dbapi.cursor()
            try:
                cursor.execute(f'SELECT {", ".join(c.name for c in columns)} FROM {table.name} '
                               f"WHERE submission_id = {mark} ORDER BY row_number", (submission_id,))
                rows = cursor.fetchall()
            finally:
                cursor.close()
            frame = pl.DataFrame(rows, schema=[c.name for c in columns], orient="row", infer_schema_length=None)
            out[name] = frame.with_columns(_typed(c, frame.schema[c.name]) for c in columns)
    return out


def _typed(column, dtype) -> pl.Expr:
    """A warehouse column as its model's type (SQLite hands back dates as text and booleans as 0/1)."""
    kind = column.type.python_type
    col = pl.col(column.name)
    if kind is dt.date:
        return col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False) if dtype in (pl.String, pl.Null) else col.cast(pl.Date)
    if kind is bool:
        return col.cast(pl.Boolean)
    if kind is str:
        return col.cast(pl.String)
    if kind is int:
        return col.cast(pl.Int64)
    return col


def reoffending_for(cases: pl.DataFrame, quarter: Quarter, extract: Extract, params: ContractParameters,
                    provider: str) -> CohortResult:
    people = cohort(cases, quarter, person="pnc_hash")
    counted = proven_reoffences(people, extract.rows, extract.as_of, person="pnc_hash")
    n = counted.height
    mean_p1 = counted.select(p1_from_ogrs3().mean()).item() if n else 0.0
    terms = params.providers[provider]
    final = extract.as_of >= add_months(quarter.last_day, 18)
    return outcome(n, int((counted["reoffences"] > 0).sum()), int(counted["reoffences"].sum()),
                   Decimal(str(round(mean_p1 or 0.0, 10))), terms, params, final=final,
                   paid=providers()[provider].is_crc)


def provider_quarter(engine: Engine, provider: str, quarter: Quarter, extract: Extract | None) -> ProviderQuarter:
    params = for_quarter(quarter)
    with session_scope(engine) as session:
        submission = accepted_submission(session, provider, str(quarter))
        submission_id = submission.id if submission else None
    tables = accepted_tables(engine, submission_id) if submission_id else None
    levels = service_levels(quarter, params, tables)
    is_crc = providers()[provider].is_crc
    fee = params.providers[provider].quarterly_fee_gbp
    money = credits(levels, fee, params) if is_crc else []
    reported = reported_only(quarter, tables, is_crc) if tables else {}
    reoffending = reoffending_for(tables["cases"], quarter, extract, params, provider) if tables and extract else None
    return ProviderQuarter(provider, submission_id, levels, reported, money, reoffending)


def store(session: Session, quarter: Quarter, result: ProviderQuarter, params: ContractParameters,
          extract_id: int | None = None) -> None:
    """Replace the provider's figures for the quarter (a rerun gives the same rows)."""
    q = str(quarter)
    for model in (Measure, Payment):
        session.execute(delete(model).where(model.quarter == q, model.provider_code == result.provider))
    current = {c.measure: c for c in session.scalars(select(CreditRow).where(
        CreditRow.quarter == q, CreditRow.provider_code == result.provider, CreditRow.replaced_at.is_(None)))}
    for level in result.levels:
        session.add(Measure(quarter=q, provider_code=result.provider, measure=level.measure, numerator=level.numerator,
                            denominator=level.denominator,
                            performance=float(level.performance) if level.performance is not None else None,
                            target=float(level.target), status=level.status, submission_id=result.submission_id,
                            parameter_version=params.version))
    now = dt.datetime.now(dt.timezone.utc)
    for credit in result.credits:
        old = current.pop(credit.measure, None)
        if old is not None and (old.amount_gbp, old.unscaled_gbp, old.parameter_version) == (
                credit.amount_gbp, credit.unscaled_gbp, params.version):
            continue  # unchanged: the credit and any decision on it stand
        if old is not None:
            old.replaced_at = now
        session.add(CreditRow(quarter=q, provider_code=result.provider, measure=credit.measure,
                              amount_gbp=credit.amount_gbp, unscaled_gbp=credit.unscaled_gbp,
                              parameter_version=params.version))
    for old in current.values():  # no longer computed (e.g. the provider is now an NPS comparison only)
        old.replaced_at = now
    r = result.reoffending
    if r is not None:
        for kind, amount in (("binary", r.binary_payment_gbp), ("frequency", r.frequency_payment_gbp)):
            session.add(Payment(quarter=q, provider_code=result.provider, cohort_quarter=q, kind=kind,
                                amount_gbp=amount, final=r.final, extract_id=extract_id,
                                parameter_version=params.version))


def _pct(value) -> float | None:
    return None if value is None else float(value)


def write_outputs(quarter: Quarter, results: list[ProviderQuarter], extract: Extract | None, out: Path,
                  decisions: dict[tuple[str, str], str] | None = None) -> dict[str, Path]:
    """``service_levels.csv``, ``reoffending.csv`` and ``payments.csv`` for the quarter.

    ``decisions``: the latest decision on each (provider, measure) credit, for the credit_decision column.
    """
    decisions = decisions or {}
    params = for_quarter(quarter)
    q = str(quarter)
    levels, reoffending, payments = [], [], []
    for r in results:
        credit_by = {c.measure: c.amount_gbp for c in r.credits}
        for s in r.levels:
            levels.append({"quarter": q, "provider_code": r.provider, "measure": s.measure, "numerator": s.numerator,
                           "denominator": s.denominator,
                           "performance_pct": str(s.performance_shown) if s.performance_shown is not None else None,
                           "target_pct": str(s.target.quantize(Decimal("0.1"))), "status": s.status,
                           "credit_gbp": str(credit_by.get(s.measure, Decimal("0.00"))) if r.credits else None,
                           "credit_decision": (decisions.get((r.provider, s.measure), "applied")
                                               if credit_by.get(s.measure) else None),
                           "parameter_version": params.version})
        terms = params.providers[r.provider]
        o = r.reoffending
        if o is not None:
            reoffending.append({
                "quarter": q, "provider_code": r.provider, "cohort_size": o.cohort_size, "reoffenders": o.reoffenders,
                "reoffences": o.reoffences,
                "binary_rate": f"{o.binary:.4f}" if o.binary is not None else None,
                "frequency_rate": f"{o.frequency:.3f}" if o.frequency is not None else None,
                "mean_p1": f"{o.mean_p1:.4f}",
                "adjusted_binary_rate": f"{o.adjusted_binary:.4f}" if o.adjusted_binary is not None else None,
                "baseline_binary_rate": f"{terms.baseline_binary:.4f}",
                "baseline_frequency_rate": f"{terms.baseline_frequency:.2f}",
                "z": f"{o.z:.4f}" if o.z is not None else None, "significance": o.significance,
                "result": "final" if o.final else "interim",
                "outcome_payment_gbp": str(o.outcome_payment_gbp), "extract_as_of": extract.as_of.isoformat(),
                "parameter_version": params.version})
        fee = terms.quarterly_fee_gbp
        credit_total = sum((c.amount_gbp for c in r.credits), Decimal("0.00"))
        paid = o.outcome_payment_gbp if o is not None and o.final else Decimal("0.00")
        payments.append({"quarter": q, "provider_code": r.provider, "quarterly_fee_gbp": str(fee),
                         "service_credits_gbp": str(credit_total), "outcome_payments_gbp": str(paid),
                         "net_gbp": str(fee - credit_total + paid), "parameter_version": params.version})
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in (("service_levels.csv", levels), ("reoffending.csv", reoffending), ("payments.csv", payments)):
        paths[name] = out / name
        frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)) if rows else pl.DataFrame(
            schema={"quarter": pl.String, "provider_code": pl.String})
        write_csv(_numbers(frame), paths[name])
    return paths


NUMERIC = {"numerator": 0, "denominator": 0, "performance_pct": 1, "target_pct": 1, "credit_gbp": 2, "cohort_size": 0,
           "reoffenders": 0, "reoffences": 0, "binary_rate": 4, "frequency_rate": 3, "mean_p1": 4,
           "adjusted_binary_rate": 4, "baseline_binary_rate": 4, "baseline_frequency_rate": 2, "z": 4,
           "outcome_payment_gbp": 2, "quarterly_fee_gbp": 2, "service_credits_gbp": 2, "outcome_payments_gbp": 2,
           "net_gbp": 2}


def _numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Figures as exact decimals (plain digits in the CSV), text stays text."""
    return frame.with_columns(
        pl.col(c).cast(pl.Int64) if scale == 0 else pl.col(c).cast(pl.Decimal(20, scale))
        for c, scale in NUMERIC.items() if c in frame.columns
    )
