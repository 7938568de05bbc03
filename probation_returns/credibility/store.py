"""Each counted return's credibility figures, worked out once and kept in the warehouse.

A provider-quarter's figures depend only on the records of the return that counts for it, so they are stored
keyed by that submission and the version of their definition (``figures.DEFINITION``); the vanished cases
depend on two returns (this quarter's and the one that counted the quarter before), so they are keyed by both.
A resubmission that counts is a new submission id: its figures are worked out afresh, and the old ones are
simply no longer read. The report of a quarter then reads stored figures for the quarter and its previous four,
and reads records back only for returns whose figures are not stored yet.

Stored in one transaction with the unique constraints deciding (insert, or nothing when the key is there), so
a rerun stores nothing twice and two runs at once store one row each.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import COLUMNS, DEFINITION, Tally, tallies, vanished
from probation_returns.credibility.report import Figure, assemble
from probation_returns.integrity.model import HISTORY_QUARTERS
from probation_returns.measures.quarter import TABLE_MODELS, accepted_submission, accepted_tables, as_stored
from probation_returns.warehouse import recent
from probation_returns.warehouse.db import read_scope, session_scope
from probation_returns.warehouse.models import CredibilityTallies, CredibilityVanished

SEPARATOR = "|"


def counted(session: Session, quarter: Quarter, codes: list[str], history_for: list[str] | None = None):
    """``{(code, k): submission id}`` of the returns that count for ``quarter - k``: k from 0 to 4 for the
    providers of ``history_for`` (default: all), 0 and 1 for the others (national figures, vanished cases)."""
    historied = set(codes if history_for is None else history_for)
    return {
        (code, k): s.id
        for code in codes
        for k in range(HISTORY_QUARTERS + 1 if code in historied else 2)
        if (s := accepted_submission(session, code, str(quarter - k))) is not None
    }


def stored(session: Session, ids: dict[tuple[str, int], int]):
    """The stored figures and vanished cases of those returns, by ``(code, k)``."""
    by_id = {sid: key for key, sid in ids.items()}
    figures = {
        by_id[sid]: {tuple(name.split(SEPARATOR, 1)): Tally(*pair) for name, pair in found.items()}
        for sid, found in session.execute(
            select(CredibilityTallies.submission_id, CredibilityTallies.tallies).where(
                CredibilityTallies.definition == DEFINITION, CredibilityTallies.submission_id.in_(list(by_id))
            )
        )
    }
    pairs = {(ids[(code, k)], ids[(code, k + 1)]): (code, k) for code, k in ids if (code, k + 1) in ids}
    lost = {}
    for sid, before, count, base in session.execute(
        select(
            CredibilityVanished.submission_id,
            CredibilityVanished.previous_submission_id,
            CredibilityVanished.count,
            CredibilityVanished.base,
        ).where(CredibilityVanished.definition == DEFINITION, CredibilityVanished.submission_id.in_(list(by_id)))
    ):
        if (sid, before) in pairs:
            lost[pairs[(sid, before)]] = Tally(count, base)
    return figures, lost


def ensure(engine: Engine, quarter: Quarter, codes: list[str], history_for: list[str] | None = None):
    """Every figure the quarter's report needs (see ``counted``), read when stored, else worked out from the
    returns' records and stored: ``(ids, figures, lost, worked_out)``, ``worked_out`` how many figures' rows this
    call worked out (0: all were stored; a run at the same time may have stored the same first)."""
    with read_scope(engine) as session:
        ids = counted(session, quarter, codes, history_for)
        figures, lost = stored(session, ids)
    missing = [key for key in ids if key not in figures]
    missing_pairs = [(code, k) for code, k in ids if (code, k + 1) in ids and (code, k) not in lost]
    needed = set(missing) | {(code, k + d) for code, k in missing_pairs for d in (0, 1)}
    if not needed:
        return ids, figures, lost, 0
    only_cases = needed - set(missing) - {(code, k) for code, k in missing_pairs}  # an earlier return of a pair
    tables = {key: _records(engine, ids[key], key in only_cases) for key in sorted(needed)}
    new_figures = {(code, k): tallies(quarter - k, tables[(code, k)]) for code, k in missing}
    new_lost = {(code, k): vanished(quarter - k, tables[(code, k + 1)], tables[(code, k)]) for code, k in missing_pairs}
    with session_scope(engine) as session:
        _insert(
            session,
            CredibilityTallies,
            [
                {
                    "submission_id": ids[key],
                    "definition": DEFINITION,
                    "tallies": {SEPARATOR.join(name): [t.count, t.base] for name, t in found.items()},
                }
                for key, found in new_figures.items()
            ],
        )
        _insert(
            session,
            CredibilityVanished,
            [
                {
                    "submission_id": ids[(code, k)],
                    "previous_submission_id": ids[(code, k + 1)],
                    "definition": DEFINITION,
                    "count": t.count,
                    "base": t.base,
                }
                for (code, k), t in new_lost.items()
            ],
        )
    return ids, figures | new_figures, lost | new_lost, len(new_figures) + len(new_lost)


def _records(engine: Engine, submission_id: int, only_cases: bool) -> dict[str, pl.DataFrame]:
    """The return's accepted records: as this process just stored them when it did (the provider's run), else
    read back."""
    kept = recent.recall(engine, submission_id)
    if kept is not None and set(TABLE_MODELS) <= set(kept):
        return {name: as_stored(name, kept[name], COLUMNS) for name in TABLE_MODELS}
    return accepted_tables(
        engine, submission_id, only=("cases",) if only_cases else tuple(TABLE_MODELS), columns=COLUMNS
    )


def provider_history(engine: Engine, quarter: Quarter, code: str) -> dict[Quarter, dict[tuple[str, str], Tally]]:
    """The figures of one provider's own counted returns for the previous four quarters of ``quarter`` (those it
    has), for validation's RET-004: read when stored, else worked out from the return's records and stored. No
    other provider's records or figures are read."""
    with read_scope(engine) as session:
        ids = {
            (code, k): s.id
            for k in range(1, HISTORY_QUARTERS + 1)
            if (s := accepted_submission(session, code, str(quarter - k))) is not None
        }
        figures, _ = stored(session, ids)
    worked_out = {
        key: tallies(quarter - key[1], _records(engine, ids[key], False)) for key in ids if key not in figures
    }
    if worked_out:
        with session_scope(engine) as session:
            _insert(
                session,
                CredibilityTallies,
                [
                    {
                        "submission_id": ids[key],
                        "definition": DEFINITION,
                        "tallies": {SEPARATOR.join(name): [t.count, t.base] for name, t in found.items()},
                    }
                    for key, found in worked_out.items()
                ],
            )
    return {quarter - k: found for (_, k), found in (figures | worked_out).items()}


def keep_return(engine: Engine, provider: str, quarter: Quarter) -> int:
    """Work out and store the figures of the provider's counted return for the quarter (and its vanished cases
    against last quarter's) while the provider's run still holds its records, so the quarter's build reads them
    as stored. The number of figures' rows worked out (0: stored already, or no return counts)."""
    return ensure(engine, quarter, [provider], history_for=[])[3]


def _insert(session: Session, model, rows: list[dict]) -> None:
    """Insert, or nothing where the unique key is there already (a rerun, or another run storing the same)."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(model).on_conflict_do_nothing(), rows)


def report(engine: Engine, quarter: Quarter, codes: list[str], history_for: list[str] | None = None) -> list[Figure]:
    """The report of ``history_for`` (default: every provider of ``codes``) from stored figures, the national
    figures over every provider of ``codes``."""
    _, figures, lost, _ = ensure(engine, quarter, codes, history_for)
    return assemble(quarter, codes if history_for is None else history_for, figures, lost)
