"""Timing: the credibility report of a quarter end to end from a populated warehouse, as the ministry return's
content asks for it (``credibility.table.quarter_report(engine, quarter, codes)``), on SQLite or PostgreSQL.

The warehouse holds one accepted return for each of the 28 providers in 2017Q3 and each of its previous four
quarters, the generator's records (``integrity.synthetic``, seed 7, scale 1.0 by default) stored as validation
stores accepted records (made once per database and reused; not timed). Three states are timed, each the median
of ``--repeats`` runs:

- ``nothing stored``: no credibility figures in the warehouse, so every return's records are read back and its
  figures worked out and stored (what every build did before the figures were stored: the "before" figure);
- ``previous quarters stored``: the first build of a new quarter: the 28 returns of the quarter are read and
  worked out, the previous quarters' figures read as stored;
- ``all stored``: a rebuild, or the contract manager's page: nothing read back but stored figures.

Each state also prints the sha256 of ``credibility.csv``'s rows (``credibility.table.frame``): they must agree.
Peak resident memory (VmHWM) at the end. With ``--signals``, also the integrity signals' working-out for the same
quarter (``integrity.store.ensure``, what the quarter build's integrity_signals asset does; nothing stored before,
once): with the credibility report, what a national quarter's build spends on credibility and integrity.

    .venv/bin/python benchmarks/credibility_warehouse.py [--url sqlite:///...|postgresql+psycopg://...] [--scale 1.0]

Figures go to stdout and ``benchmarks/results/credibility_warehouse_<backend>.json`` (at scale 1.0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import polars as pl
from sqlalchemy import delete, func, select

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.credibility.table import frame, quarter_report
from probation_returns.integrity.model import HISTORY_QUARTERS
from probation_returns.integrity.store import ensure as stored_signals
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.pseudonym import hash_values
from probation_returns.reference import providers
from probation_returns.validation.store import _bulk
from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
    CredibilityTallies,
    CredibilityVanished,
    IntegrityCase,
    IntegrityComputation,
    IntegritySignalRow,
    Submission,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "credibility"
MODELS = {"cases": AcceptedCase, "contacts": AcceptedContact, "breaches": AcceptedBreach}


def _peak_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def populate(engine, quarter: Quarter, codes: list[str], seed: int, scale: float) -> None:
    """Every provider's accepted return for the five quarters, as validation stores them (once per database)."""
    with session_scope(engine) as session:
        if session.scalar(select(func.count()).select_from(Submission)):
            return
    started = time.perf_counter()
    data = quarter_data(seed, quarter, codes, scale)
    for code in codes:
        returns = {quarter: data.current[code]} | data.history.get(code, {})
        for q, tables in sorted(returns.items(), key=lambda kv: kv[0].ordinal):
            with session_scope(engine) as session:
                moment = dt.datetime.combine(q.last_day + dt.timedelta(days=1), dt.time(9), dt.UTC)
                s = Submission(
                    provider_code=code,
                    quarter=str(q),
                    version=1,
                    sha256=hashlib.sha256(f"{code}{q}".encode()).hexdigest(),
                    file_names=[],
                    received_at=moment,
                    delivered_at=moment,
                    status="validated",
                    outcome="Accepted",
                )
                session.add(s)
                session.flush()
                for name, model in MODELS.items():
                    rows = (
                        tables[name]
                        .with_row_index("row_number", offset=1)
                        .with_columns(pl.col("row_number").cast(pl.Int64), pl.lit(s.id).alias("submission_id"))
                    )
                    if name == "cases":
                        rows = rows.with_columns(
                            hash_values(rows["pnc_id"], secret=b"benchmark-key-0123456789").alias("pnc_hash")
                        ).drop("pnc_id")
                    _bulk(session, model, rows)
    print(f"populated 5 quarters x {len(codes)} providers in {time.perf_counter() - started:.0f} s", flush=True)


def forget(engine, quarter: Quarter | None) -> None:
    """Delete the stored figures: all of them, or only those of ``quarter``'s returns."""
    with session_scope(engine) as session:
        if quarter is None:
            session.execute(delete(CredibilityVanished))
            session.execute(delete(CredibilityTallies))
            return
        ids = select(Submission.id).where(Submission.quarter == str(quarter)).scalar_subquery()
        session.execute(delete(CredibilityVanished).where(CredibilityVanished.submission_id.in_(ids)))
        session.execute(delete(CredibilityTallies).where(CredibilityTallies.submission_id.in_(ids)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="default: a SQLite file under benchmarks/.data/credibility/")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quarter", default="2017Q3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--signals", action="store_true", help="also time the integrity signals (once)")
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    codes = list(providers())
    if args.url is None:
        DATA.mkdir(parents=True, exist_ok=True)
        args.url = f"sqlite:///{DATA / f'warehouse-{args.scale:g}-{args.seed}.sqlite'}"
    upgrade(args.url)
    engine = engine_for(args.url)
    populate(engine, quarter, codes, args.seed, args.scale)
    timed: dict[str, list[float]] = {}
    digests: dict[str, set[str]] = {}
    states = (("nothing stored", "all"), ("previous quarters stored", "quarter"), ("all stored", None))
    for _ in range(args.repeats):
        for state, what in states:
            if what is not None:
                forget(engine, None if what == "all" else quarter)
            t = time.perf_counter()
            rows = quarter_report(engine, quarter, codes)
            timed.setdefault(state, []).append(time.perf_counter() - t)
            digests.setdefault(state, set()).add(hashlib.sha256(frame(rows).write_csv().encode()).hexdigest())
            print(f"{state}: {timed[state][-1]:.2f} s, {len(rows):,} rows", flush=True)
    if args.signals:
        with session_scope(engine) as session:
            for model in (IntegrityCase, IntegritySignalRow, IntegrityComputation):
                session.execute(delete(model))
        t = time.perf_counter()
        signals = stored_signals(engine, quarter, codes)
        timed["integrity signals, nothing stored"] = [time.perf_counter() - t]
        print(f"integrity signals: {timed['integrity signals, nothing stored'][0]:.2f} s, {len(signals.rows):,} rows")
    backend = engine.dialect.name
    result = {
        "what": f"credibility.table.quarter_report from the warehouse ({backend}), {quarter} with its previous "
        f"{HISTORY_QUARTERS}, 28 providers; seconds",
        "date": clock.now().date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "polars": pl.__version__},
        "scale": args.scale,
        "seed": args.seed,
        "seconds": {state: [round(t, 2) for t in ts] for state, ts in timed.items()},
        "median_seconds": {state: round(statistics.median(ts), 2) for state, ts in timed.items()},
        "credibility_csv_sha256": {state: sorted(d) for state, d in digests.items()},
        "peak_mib": round(_peak_mib() or 0, 0),
    }
    print(json.dumps(result, indent=1))
    if args.scale == 1.0:
        name = f"credibility_warehouse_{backend}{'_signals' if args.signals else ''}.json"
        out = ROOT / "benchmarks" / "results" / name
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
