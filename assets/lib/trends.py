"""The numbers a data engineer watches over quarters, as materialization metadata.

Dagster plots a numeric metadata value of an asset by partition (the asset's Plots tab), so each value here is an
int or a float, and a value that does not apply is left out rather than written as a word: a plot has no point for
a partition without it. Only counts, shares and durations: never a record's content.
"""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter
from probation_returns.measures.quarter import delivered, submission_deadline
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.validation.result import table_state
from probation_returns.warehouse.models import Submission


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6)


def return_trends(tables: dict[str, dict], outcome: str) -> dict[str, int | float]:
    """A validated return's volume and rejections.

    - ``<table>_rows``: the records read from the table (left out when the file was not sent or not read);
      ``<table>_rejected`` and ``<table>_rejected_share`` (of its rows) when the rules checked it.
    - ``records``, ``records_rejected`` and ``rejected_share`` = records rejected / records read, over the three
      tables, when every table read was checked (a return rejected as a whole before its records were checked has
      no share). A record rejected only because its case was rejected counts as rejected.
    - ``return_rejected``: 1 when the return was rejected, else 0 (so the plot shows which quarters were).
    """
    out: dict[str, int | float] = {"return_rejected": int(outcome == "Rejected")}
    records = rejected_records = 0
    every_table_checked = True
    for table, counts in tables.items():
        rows, rejected = counts.get("rows"), counts.get("rejected")
        if rows is None or table_state(counts) != "read":
            continue
        out[f"{table}_rows"] = rows
        records += rows
        if rejected is None:
            every_table_checked = False
            continue
        out[f"{table}_rejected"] = rejected
        rejected_records += rejected
        if rows:
            out[f"{table}_rejected_share"] = _share(rejected, rows)
    if records and every_table_checked:
        out.update(records=records, records_rejected=rejected_records, rejected_share=_share(rejected_records, records))
    return out


def seconds_since_run_start(context: dg.AssetExecutionContext) -> dict[str, float]:
    """How long the run had been going when the asset was materialized (the run's start as the instance recorded
    it); nothing when the instance has no start time for the run."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    start = record.start_time if record else None
    return {"seconds_since_run_start": round(time.time() - start, 3)} if start else {}


def quarter_return_counts(session: Session, quarter: Quarter) -> dict[str, int | float]:
    """The quarter's returns by each provider's current version: ``returns_received``, ``returns_rejected``,
    ``returns_late`` (delivered after the submission deadline, so it does not count), ``returns_missing`` (no
    return at all) and ``returns_rejected_share`` = rejected / received (left out when none was received)."""
    deadline = submission_deadline(quarter, for_quarter(quarter))
    known = set(providers())
    current = {
        s.provider_code: s
        for s in session.scalars(
            select(Submission).where(Submission.quarter == str(quarter), Submission.status != "superseded")
        )
        if s.provider_code in known
    }
    rejected = sum(1 for s in current.values() if s.outcome == "Rejected")
    out: dict[str, int | float] = {
        "returns_received": len(current),
        "returns_rejected": rejected,
        "returns_late": sum(1 for s in current.values() if delivered(s) >= deadline),
        "returns_missing": len(known) - len(current),
    }
    if current:
        out["returns_rejected_share"] = _share(rejected, len(current))
    return out


def days_after_deadline(quarter: Quarter, moment: dt.datetime) -> float:
    """Days from the quarter's submission deadline to ``moment`` (negative before it), to two places."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    deadline = submission_deadline(quarter, for_quarter(quarter))
    return round((aware - deadline).total_seconds() / 86400, 2)
