"""A quarter's figures as the warehouse holds them, as tidy frames: what every return is made from.

The CSVs, the workbook and the Dagster checks all read these frames, so a figure shown anywhere is
the figure stored. Money and rates are exact decimals. Performance and target are proportions from 0
to 1: performance is recomputed from its numerator and denominator to 0.1 percentage point (3
decimal places, half away from zero), never from a stored float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import Engine, func, select

from probation_returns.calendar import Quarter
from probation_returns.measures.service_levels import percent_1dp
from probation_returns.parameters import MEASURES, ContractParameters, for_quarter
from probation_returns.reference import providers
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import (
    Credit,
    CreditDecision,
    Measure,
    ReoffendingExtract,
    ReoffendingResult,
)

ZERO = Decimal("0.00")
MONEY = pl.Decimal(14, 2)
REPORTED = ("successful_completion", "face_to_face_share", "high_risk_not_referred")
MEASURE_ORDER = {m: i for i, m in enumerate(MEASURES + REPORTED)}

SERVICE_LEVELS = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "measure": pl.String,
    "numerator": pl.Int64,
    "denominator": pl.Int64,
    "performance": pl.Decimal(5, 3),
    "target": pl.Decimal(5, 3),
    "status": pl.String,
    "credit_gbp": MONEY,
    "credit_decision": pl.String,
    "parameter_version": pl.String,
}
REOFFENDING = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "cohort_quarter": pl.String,
    "cohort_size": pl.Int64,
    "reoffenders": pl.Int64,
    "reoffences": pl.Int64,
    "binary_rate": pl.Decimal(6, 4),
    "frequency_rate": pl.Decimal(7, 3),
    "mean_p1": pl.Decimal(6, 4),
    "adjusted_binary_rate": pl.Decimal(6, 4),
    "baseline_binary_rate": pl.Decimal(6, 4),
    "baseline_frequency_rate": pl.Decimal(6, 2),
    "z": pl.Decimal(8, 4),
    "significance": pl.String,
    "result": pl.String,
    "outcome_payment_gbp": MONEY,
    "extract_as_of": pl.Date,
    "parameter_version": pl.String,
}
PAYMENTS = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "quarterly_fee_gbp": MONEY,
    "service_credits_gbp": MONEY,
    "credits_waived_gbp": MONEY,
    "credits_reinvested_gbp": MONEY,
    "credits_applied_gbp": MONEY,
    "outcome_payments_gbp": MONEY,
    "net_gbp": MONEY,
    "parameter_version": pl.String,
}


@dataclass(frozen=True)
class ExtractInfo:
    id: int
    as_of: object  # datetime.date
    sha256: str
    file_name: str
    rows: int | None


@dataclass
class QuarterFigures:
    quarter: Quarter
    params: ContractParameters
    service_levels: pl.DataFrame
    reoffending: pl.DataFrame
    payments: pl.DataFrame
    extract: ExtractInfo | None
    decision_ids: tuple[int, ...] = ()  # the latest decision on each current credit: what the figures carry


def _dp(value, places: str) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def quarter_figures(engine: Engine, quarter: Quarter) -> QuarterFigures:
    params = for_quarter(quarter)
    q = str(quarter)
    codes = list(providers())
    with session_scope(engine) as session:
        measures = session.scalars(select(Measure).where(Measure.quarter == q)).all()
        credit_rows = session.scalars(select(Credit).where(Credit.quarter == q, Credit.replaced_at.is_(None))).all()
        latest = (
            select(CreditDecision.credit_id, func.max(CreditDecision.id).label("id"))
            .group_by(CreditDecision.credit_id)
            .subquery()
        )
        latest_rows = list(session.scalars(select(CreditDecision).join(latest, CreditDecision.id == latest.c.id)))
        decisions = {d.credit_id: d.decision for d in latest_rows}
        current = {c.id for c in credit_rows}
        decision_ids = tuple(sorted(d.id for d in latest_rows if d.credit_id in current))
        cohorts = session.scalars(select(ReoffendingResult).where(ReoffendingResult.quarter == q)).all()
        extract_ids = {r.extract_id for r in cohorts if r.extract_id is not None}
        extract = None
        if extract_ids:
            row = session.get(ReoffendingExtract, max(extract_ids))
            extract = ExtractInfo(row.id, row.as_of_date, row.sha256, row.file_name, row.rows)
        credits = {(c.provider_code, c.measure): (c.amount_gbp, decisions.get(c.id, "applied")) for c in credit_rows}
        level_rows = [_level_row(m, credits, params) for m in measures]
        cohort_rows = [_cohort_row(r, params, extract) for r in cohorts]
    rank = {code: i for i, code in enumerate(codes)}
    levels = pl.DataFrame(level_rows, schema=SERVICE_LEVELS, orient="row")
    levels = levels.sort(
        pl.col("provider_code").replace_strict(rank, return_dtype=pl.Int32),
        pl.col("measure").replace_strict(MEASURE_ORDER, default=99, return_dtype=pl.Int32),
    )
    without = {r[1] for r in level_rows if r[7] == "no valid return"}
    have = {r[1] for r in cohort_rows}
    cohort_rows += [_no_cohort_row(q, code, code in without, params) for code in codes if code not in have]
    reoffending = pl.DataFrame(cohort_rows, schema=REOFFENDING, orient="row").sort(
        pl.col("provider_code").replace_strict(rank, return_dtype=pl.Int32)
    )
    payments = _payments(q, codes, credits, reoffending, params)
    return QuarterFigures(quarter, params, levels, reoffending, payments, extract, decision_ids)


def _level_row(m: Measure, credits: dict, params: ContractParameters) -> tuple:
    # no valid return: nothing was measured (the credit is charged as if 0%, but 0% is not shown)
    target_pct = None if m.target is None else Decimal(str(m.target))
    shown = (
        percent_1dp(m.numerator, m.denominator, target_pct) / 100
        if m.denominator and m.status != "no valid return"
        else None
    )
    credit = credits.get((m.provider_code, m.measure))
    is_crc = providers()[m.provider_code].is_crc
    amount = credit[0] if credit else (ZERO if is_crc and m.status != "reported" else None)
    # every credit line says how it is treated, 0.00 included: a blank beside a hidden credit would say it was 0
    decision = (credit[1] if credit else "applied") if amount is not None else None
    target = None if m.target is None else _dp(Decimal(str(m.target)) / 100, "0.001")
    return (
        m.quarter,
        m.provider_code,
        m.measure,
        m.numerator,
        m.denominator,
        shown,
        target,
        m.status,
        amount,
        decision,
        m.parameter_version,
    )


def _no_cohort_row(q: str, code: str, no_valid_return: bool, params: ContractParameters) -> tuple:
    """Every provider has a row: one without a cohort result says why (no valid return, or no result yet)."""
    why = "no valid return" if no_valid_return else "no result yet"
    return (
        q,
        code,
        q,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        why,
        None,
        None,
        params.version,
    )


def _cohort_row(r: ReoffendingResult, params: ContractParameters, extract: ExtractInfo | None) -> tuple:
    terms = params.providers[r.provider_code]
    paid = r.binary_payment_gbp + r.frequency_payment_gbp
    return (
        r.quarter,
        r.provider_code,
        r.quarter,
        r.cohort_size,
        r.reoffenders,
        r.reoffences,
        _dp(r.binary_rate, "0.0001"),
        _dp(r.frequency_rate, "0.001"),
        _dp(r.mean_p1, "0.0001"),
        _dp(r.adjusted_binary_rate, "0.0001"),
        _dp(terms.baseline_binary, "0.0001"),
        _dp(terms.baseline_frequency, "0.01"),
        _dp(r.z, "0.0001"),
        r.significance,
        "final" if r.final else "interim",
        paid,
        extract.as_of if extract else None,
        r.parameter_version,
    )


def _payments(
    q: str, codes: list[str], credits: dict, reoffending: pl.DataFrame, params: ContractParameters
) -> pl.DataFrame:
    """Fee, credits by decision, outcome payments (final results only) and the net, for all 28 providers.

    Only applied credits reduce the fee; waived and reinvested credits are shown but not deducted.
    """
    final = {
        r["provider_code"]: r["outcome_payment_gbp"]
        for r in reoffending.iter_rows(named=True)
        if r["result"] == "final"
    }
    interim = {r["provider_code"] for r in reoffending.iter_rows(named=True) if r["result"] == "interim"}
    rows = []
    for code in codes:
        by = {"applied": ZERO, "waived": ZERO, "reinvested": ZERO}
        for (provider, _), (amount, decision) in credits.items():
            if provider == code:
                by[decision] += amount
        total = sum(by.values(), ZERO)
        fee = params.providers[code].quarterly_fee_gbp
        # an interim result is never paid (0.00); with no result at all there is no payment to show ([x])
        paid = final.get(code, ZERO if code in interim else None)
        rows.append(
            (
                q,
                code,
                fee,
                total,
                by["waived"],
                by["reinvested"],
                by["applied"],
                paid,
                fee - by["applied"] + (paid or ZERO),
                params.version,
            )
        )
    return pl.DataFrame(rows, schema=PAYMENTS, orient="row")
