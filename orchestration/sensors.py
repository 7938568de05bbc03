"""Sensors: returns and extracts arriving in the landing folder start their runs; a new extract
rebuilds the quarters it changes. (Alerts: ``orchestration/alerting.py``.)

Every run request has a deterministic run key, so the same file never runs twice even if a cursor
is lost. Sensors that start work are stopped by default (switch them on in the UI, or set
``RETURNS_AUTOMATION=on``); the run failure alert sensor is always on.
"""

from __future__ import annotations

import json
import os

import dagster as dg
from sqlalchemy import select

from orchestration.jobs import extract_job, intake_job, quarter_job
from orchestration.partitions import quarter_key, return_key
from orchestration.resources import SENSOR_INTERVAL, Folders, Warehouse
from probation_returns.calendar import Quarter, add_months
from probation_returns.ingest import discover, sha256_file
from probation_returns.warehouse.db import reading
from probation_returns.warehouse.models import ReoffendingExtract, Submission

INTERVAL = SENSOR_INTERVAL


def automation_status() -> dg.DefaultSensorStatus:
    on = os.environ.get("RETURNS_AUTOMATION", "").lower() in ("on", "1", "true")
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


@dg.sensor(
    job=intake_job,
    minimum_interval_seconds=INTERVAL,
    default_status=automation_status(),
    description="Starts intake, validation and measures for each complete return that is new or changed.",
)
def landing_sensor(context: dg.SensorEvaluationContext, folders: Folders):
    """One run per delivery of a return: the run key is provider, quarter, the return's content identity and
    its delivery time, so the same files never run twice, and a late file or a re-sent earlier version
    changes the key.

    The cursor keeps each return's sha256 and, per file, its size, time stamp and sha256, so a tick
    reads only files that are new or changed (a landing folder may hold years of returns)."""
    state = json.loads(context.cursor) if context.cursor else {}
    if "returns" not in state:  # a cursor from before the file memo: {provider|quarter: sha256}
        state = {"returns": state, "files": {}}
    seen: dict[str, str] = state["returns"]
    memo: dict[str, list] = state["files"]
    requests = []
    found = discover(folders.landing_path, memo=memo)
    present = {str(f.path) for landed in found for f in landed.files}
    for path in [p for p in memo if p not in present]:
        del memo[path]  # gone from the landing folder: forget it
    for landed in found:
        key = f"{landed.provider}|{landed.quarter}"
        if not landed.is_complete:
            context.log.info(f"{key}: waiting for the rest of the return ({len(landed.files)} file(s) so far)")
            continue
        if seen.get(key) == landed.sha256:
            continue
        seen[key] = landed.sha256
        requests.append(
            dg.RunRequest(
                # the delivery time too: an earlier version sent again after a later one is a new delivery, and counts
                run_key=f"{landed.provider}-{landed.quarter}-{landed.sha256[:16]}-{int(landed.delivered_at.timestamp())}",
                partition_key=return_key(landed.quarter, landed.provider),
                tags={"provider": landed.provider, "quarter": landed.quarter},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(state, sort_keys=True))


@dg.sensor(
    job=extract_job,
    minimum_interval_seconds=INTERVAL,
    default_status=automation_status(),
    description="Registers a new reoffending extract (reoffending_YYYY-MM-DD.csv) when one lands.",
)
def extract_sensor(context: dg.SensorEvaluationContext, folders: Folders):
    path = folders.extract_path
    if path is None or not path.is_file():
        return dg.SkipReason(f"no reoffending_YYYY-MM-DD.csv in {folders.landing_path}")
    digest = sha256_file(path)
    if context.cursor == digest:
        return dg.SkipReason(f"{path.name} is already registered")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"extract-{digest[:16]}", tags={"extract": path.name})], cursor=digest
    )


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
    minimum_interval_seconds=INTERVAL,
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
