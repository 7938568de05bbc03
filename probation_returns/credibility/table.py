"""The credibility report as one tidy table: ``credibility.csv`` of the ministry return (internal copy only) and
its workbook sheet "Credibility"; and one provider's report for the contract manager's page. No case reference."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from probation_returns.calendar import Quarter
from probation_returns.credibility import store
from probation_returns.credibility.report import Figure

NUMBER = pl.Decimal(14, 4)
CREDIBILITY = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "family": pl.String,
    "figure": pl.String,
    "count": pl.Int64,
    "base": pl.Int64,
    "value": NUMBER,
    "q_minus_1": NUMBER,
    "q_minus_2": NUMBER,
    "q_minus_3": NUMBER,
    "q_minus_4": NUMBER,
    "national": NUMBER,
    "change": NUMBER,
    "change_vs_mean": NUMBER,
    "threshold": NUMBER,
    "test": pl.String,
    "statistic": NUMBER,
    "flagged": pl.String,
    "explanation": pl.String,
}


def frame(rows: list[Figure]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (
                r.quarter,
                r.provider_code,
                r.family,
                r.figure,
                r.count,
                r.base,
                r.value,
                *r.previous,
                r.national,
                r.change,
                r.change_vs_mean,
                r.threshold,
                r.test,
                r.statistic,
                "yes" if r.flagged else "no",
                r.explanation,
            )
            for r in rows
        ],
        schema=CREDIBILITY,
        orient="row",
    )


def quarter_report(engine: Engine, quarter: Quarter, codes: list[str]) -> list[Figure]:
    """Every provider's credibility report for the quarter, from the warehouse's accepted returns (their figures
    as stored, worked out and stored first for returns that have none)."""
    return store.report(engine, quarter, codes)


def provider_report(engine: Engine, quarter: Quarter, code: str, codes: list[str]) -> list[Figure]:
    """One provider's report (``codes`` for the national figures); only its own history is read in full."""
    return store.report(engine, quarter, codes, history_for=[code])
