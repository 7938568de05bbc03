"""The returns area's sensor: a newly registered reoffending extract rebuilds the quarters it changes.

Every run request has a deterministic run key (the extract and the quarter), so the same extract never
rebuilds a quarter twice even if a cursor is lost. The sensor is stopped by default (switch it on in the
UI, or set ``RETURNS_AUTOMATION=on``; ``assets/lib/automation.py``).
"""

from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from assets.lib.automation import SENSOR_INTERVAL, automation_status
from assets.lib.partitions import quarter_key
from assets.lib.resources import Warehouse
from assets.returns.jobs import quarter_job
from probation_returns.calendar import Quarter, add_months
from probation_returns.warehouse.db import reading
from probation_returns.warehouse.models import ReoffendingExtract, Submission


def quarters_changed_by(engine, as_of, previous_as_of) -> list[Quarter]:
    """Cohort quarters whose results a new extract can change: those with returns, ended before the
    new as-of date, and not already final under the previous extract."""
    with reading(engine).connect() as connection:
        known = sorted(Quarter.parse(q) for q in connection.execute(select(Submission.quarter).distinct()).scalars())
    out = []
    for q in known:
        if q.last_day >= as_of:
            continue
        if previous_as_of is not None and previous_as_of >= add_months(q.last_day, 18):
            continue  # already final: a newer extract changes nothing
        out.append(q)
    return out


@dg.asset_sensor(
    asset_key=dg.AssetKey("reoffending_extract"),
    job=quarter_job,
    minimum_interval_seconds=SENSOR_INTERVAL,
    default_status=automation_status(),
    description="After a new extract is registered, rebuilds every quarter whose reoffending it changes.",
)
def extract_rebuild_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, warehouse: Warehouse):
    return rebuild_requests(warehouse.engine)


def rebuild_requests(engine) -> list[dg.RunRequest] | dg.SkipReason:
    """One quarter_build run per quarter the latest extract changes, keyed by the extract and quarter."""
    with reading(engine).connect() as connection:
        extracts = connection.execute(
            select(ReoffendingExtract.as_of_date, ReoffendingExtract.sha256).order_by(
                ReoffendingExtract.as_of_date.desc()
            )
        ).all()
    if not extracts:
        return dg.SkipReason("no extract registered")
    as_of, digest = extracts[0]
    previous = extracts[1][0] if len(extracts) > 1 else None
    quarters = quarters_changed_by(engine, as_of, previous)
    if not quarters:
        return dg.SkipReason(f"extract as of {as_of} changes no quarter's results")
    return [
        dg.RunRequest(
            run_key=f"extract-{digest[:16]}-{q}",
            partition_key=quarter_key(q),
            tags={"quarter": str(q), "reason": f"reoffending extract as of {as_of}"},
        )
        for q in quarters
    ]
