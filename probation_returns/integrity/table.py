"""The signals as one tidy table: ``integrity.csv`` of the ministry return (internal copy only) and its
workbook sheet. No case reference: those stay behind the contract manager's page."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from probation_returns.calendar import Quarter
from probation_returns.integrity import inputs, signals
from probation_returns.integrity.model import Signal

INTEGRITY = {
    "quarter": pl.String,
    "provider_code": pl.String,
    "signal": pl.String,
    "measure": pl.String,
    "count": pl.Int64,
    "statistic": pl.Decimal(12, 4),
    "expected": pl.Decimal(12, 4),
    "threshold": pl.Decimal(12, 4),
    "z": pl.Decimal(8, 2),
    "compared_with": pl.String,
    "flagged": pl.String,
    "explanation": pl.String,
}


def frame(rows: list[Signal]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (
                r.quarter,
                r.provider_code,
                r.signal,
                r.measure,
                r.count,
                r.statistic,
                r.expected,
                r.threshold,
                r.z,
                r.compared_with,
                "yes" if r.flagged else "no",
                r.explanation,
            )
            for r in rows
        ],
        schema=INTEGRITY,
        orient="row",
    )


def quarter_signals(engine: Engine, quarter: Quarter, codes: list[str]) -> list[Signal]:
    """Every provider's signals for the quarter, from the warehouse's accepted returns."""
    return signals.compute(inputs.quarter_data(engine, quarter, codes), codes)


def provider_signals(engine: Engine, quarter: Quarter, code: str, codes: list[str]) -> list[Signal]:
    """One provider's signals for the quarter (with the case references behind each flag), against ``codes``
    as its peers; only its own history is read."""
    data = inputs.quarter_data(engine, quarter, codes, history_for=[code])
    return [s for s in signals.compute(data, codes) if s.provider_code == code]
