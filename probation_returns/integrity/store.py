"""The integrity signals as stored in the warehouse: what the quarter build's ``integrity_signals`` asset worked
out, read by the ministry return (``integrity.csv`` and its sheet) and the contract manager's pages.

A computation is keyed by its inputs (``inputs_key``): every submission of the quarter and its previous four
quarters (by its natural key), the stored reoffending results of their cohorts, the contract parameters' versions,
the thresholds and the signals' names. Stored rows are current
only while that key is the key of the warehouse as it is now: a resubmission, a validation finishing or a new
threshold makes them out of date, and the readers then say so instead of showing them as current. Every query
about stored signals is here (the portal's views call these functions and import no SQLAlchemy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import astuple, dataclass, replace

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter
from probation_returns.integrity import signals
from probation_returns.integrity.inputs import reoffending_results
from probation_returns.integrity.model import HISTORY_QUARTERS, Signal
from probation_returns.integrity.table import quarter_signals
from probation_returns.integrity.thresholds import thresholds
from probation_returns.parameters import FIRST_QUARTER, for_quarter, last_quarter
from probation_returns.warehouse.db import read_scope, session_scope
from probation_returns.warehouse.models import IntegrityCase, IntegrityComputation, IntegritySignalRow, Submission

ATTEMPTS = 3  # the inputs changed while the signals were worked out: work them out again, at most this often


@dataclass(frozen=True)
class Stored:
    """A stored computation: its rows in ``integrity.csv``'s order (flagged rows with their case references)."""

    id: int
    quarter: str
    inputs_sha256: str
    computed_at: dt.datetime
    rows: list[Signal]
    new: bool = False  # stored by this call (else it was there already)


def inputs_key(session: Session, quarter: Quarter, codes: list[str]) -> str:
    """The sha256 of what the quarter's signals are worked out from (see the module's docstring)."""
    wanted = [str(quarter - k) for k in range(HISTORY_QUARTERS, -1, -1)]
    submissions = session.execute(
        select(
            Submission.provider_code,
            Submission.quarter,
            Submission.version,
            Submission.outcome,
            Submission.delivered_at,
            Submission.received_at,
        )
        .where(Submission.quarter.in_(wanted))
        .order_by(Submission.provider_code, Submission.quarter, Submission.version)
    ).all()
    described = {
        "codes": codes,
        "signals": sorted(signals.SIGNALS),
        "thresholds": thresholds(),
        "parameters": {q: for_quarter(q).version for q in wanted if _in_contract(Quarter.parse(q))},
        "submissions": [
            # by natural key, never the surrogate id: PostgreSQL spends an id on a killed run's insert, so the
            # same submissions can carry other ids after a rerun
            [s.provider_code, s.quarter, s.version, s.outcome, _moment(s.delivered_at or s.received_at)]
            for s in submissions
        ],
        # binary_vs_frequency reads the stored cohorts: a new extract that changes them changes the key
        "reoffending": sorted([code, q, *astuple(r)] for code, q, r in reoffending_results(session, wanted, codes)),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _in_contract(quarter: Quarter) -> bool:
    return FIRST_QUARTER.ordinal <= quarter.ordinal <= last_quarter().ordinal


def _moment(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the offset
    return aware.astimezone(dt.UTC).isoformat()


def current(session: Session, quarter: Quarter, codes: list[str], *, cases: bool = True) -> Stored | None:
    """The stored signals of the quarter for the warehouse as it is now; None when they are not stored
    (the quarter build has not run since its inputs last changed)."""
    key = inputs_key(session, quarter, codes)
    found = session.scalar(
        select(IntegrityComputation).where(
            IntegrityComputation.quarter == str(quarter), IntegrityComputation.inputs_sha256 == key
        )
    )
    return None if found is None else _read(session, found, cases=cases)


def flag_counts(session: Session, quarter: Quarter, codes: list[str]) -> dict[str, int] | None:
    """Flagged rows per provider (providers with none left out) from the current stored signals; None when the
    quarter's signals are not stored for its current inputs."""
    key = inputs_key(session, quarter, codes)
    found = session.scalar(
        select(IntegrityComputation.id).where(
            IntegrityComputation.quarter == str(quarter), IntegrityComputation.inputs_sha256 == key
        )
    )
    if found is None:
        return None
    counted = session.execute(
        select(IntegritySignalRow.provider_code, func.count())
        .where(IntegritySignalRow.computation_id == found, IntegritySignalRow.flagged.is_(True))
        .group_by(IntegritySignalRow.provider_code)
    ).all()
    return {code: n for code, n in counted}


def _read(session: Session, computation: IntegrityComputation, *, cases: bool) -> Stored:
    rows = session.scalars(
        select(IntegritySignalRow)
        .where(IntegritySignalRow.computation_id == computation.id)
        .order_by(IntegritySignalRow.position)
    ).all()
    behind: dict[int, list[str]] = {}
    if cases:
        for signal_id, ref in session.execute(
            select(IntegrityCase.signal_id, IntegrityCase.case_ref)
            .join(IntegritySignalRow, IntegritySignalRow.id == IntegrityCase.signal_id)
            .where(IntegritySignalRow.computation_id == computation.id)
            .order_by(IntegrityCase.signal_id, IntegrityCase.position)
        ):
            behind.setdefault(signal_id, []).append(ref)
    signals_ = [
        Signal(
            computation.quarter,
            r.provider_code,
            r.signal,
            r.measure,
            r.count,
            r.statistic,
            r.expected,
            r.threshold,
            r.z,
            r.compared_with,
            bool(r.flagged),
            r.explanation,
            tuple(behind.get(r.id, ())),
        )
        for r in rows
    ]
    at = computation.computed_at
    return Stored(
        computation.id,
        computation.quarter,
        computation.inputs_sha256,
        at if at.tzinfo else at.replace(tzinfo=dt.UTC),
        signals_,
    )


def ensure(engine: Engine, quarter: Quarter, codes: list[str]) -> Stored:
    """The quarter's signals for the warehouse as it is now: read when stored, else worked out and stored.

    Stored in one transaction (a run killed while storing leaves nothing); the same inputs are stored once,
    however many runs store them at once (the unique constraint on quarter and inputs decides; the loser
    reads the winner's rows).
    """
    for _ in range(ATTEMPTS):
        with read_scope(engine) as session:
            key = inputs_key(session, quarter, codes)
            found = current(session, quarter, codes)
        if found is not None:
            return found
        rows = quarter_signals(engine, quarter, codes)
        with read_scope(engine) as session:
            if inputs_key(session, quarter, codes) != key:
                continue  # a return arrived (or was validated) while they were worked out
        try:
            with session_scope(engine) as session:
                wrote = _write(session, quarter, key, rows)
        except IntegrityError:
            wrote = False  # another run stored the same inputs first: read its rows
        with read_scope(engine) as session:
            stored = current(session, quarter, codes)
        if stored is not None:
            return replace(stored, new=wrote)
    raise RuntimeError(f"{quarter}: the returns kept changing while the integrity signals were worked out")


def _write(session: Session, quarter: Quarter, key: str, rows: list[Signal]) -> bool:
    exists = session.scalar(
        select(IntegrityComputation.id).where(
            IntegrityComputation.quarter == str(quarter), IntegrityComputation.inputs_sha256 == key
        )
    )
    if exists is not None:  # SQLite: the write lock was waited for, and the other run stored them meanwhile
        return False
    computation = IntegrityComputation(quarter=str(quarter), inputs_sha256=key)
    session.add(computation)
    session.flush()
    ids = session.scalars(
        insert(IntegritySignalRow).returning(IntegritySignalRow.id, sort_by_parameter_order=True),
        [
            {
                "computation_id": computation.id,
                "position": i,
                "provider_code": r.provider_code,
                "signal": r.signal,
                "measure": r.measure,
                "count": r.count,
                "statistic": r.statistic,
                "expected": r.expected,
                "threshold": r.threshold,
                "z": r.z,
                "compared_with": r.compared_with,
                "flagged": r.flagged,
                "explanation": r.explanation,
            }
            for i, r in enumerate(rows)
        ],
    ).all()
    cases = [
        {"signal_id": signal_id, "position": j, "case_ref": ref}
        for signal_id, r in zip(ids, rows)
        for j, ref in enumerate(r.cases)
    ]
    if cases:
        session.execute(insert(IntegrityCase), cases)
    return True
