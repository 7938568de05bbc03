"""A quarter's credibility inputs from the warehouse, as ``integrity.inputs`` reads the integrity signals': each
provider's accepted records for the quarter and its previous four quarters (``integrity.model.QuarterData``),
from the return that counts for each, with the columns the figures need (the signals need fewer)."""

from __future__ import annotations

from sqlalchemy import Engine

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import COLUMNS
from probation_returns.integrity.model import HISTORY_QUARTERS, QuarterData
from probation_returns.measures.quarter import accepted_submission, accepted_tables
from probation_returns.warehouse.db import read_scope


def quarter_data(
    engine: Engine, quarter: Quarter, codes: list[str], history_for: list[str] | None = None
) -> QuarterData:
    """Every provider's quarter and the one before it (the national figures, vanished cases included), and the
    whole history of ``history_for`` (default: all)."""
    wanted = [quarter - k for k in range(HISTORY_QUARTERS, -1, -1)]
    historied = set(codes if history_for is None else history_for)
    with read_scope(engine) as session:
        counted = {
            (code, q): s.id
            for code in codes
            for q in (wanted if code in historied else wanted[-2:])
            if (s := accepted_submission(session, code, str(q))) is not None
        }
    tables = {key: accepted_tables(engine, sid, columns=COLUMNS) for key, sid in counted.items()}
    current = {code: tables[(code, quarter)] for code in codes if (code, quarter) in tables}
    history = {code: {q: tables[(code, q)] for q in wanted[:-1] if (code, q) in tables} for code in codes}
    return QuarterData(quarter, current, history)
