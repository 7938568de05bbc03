"""Sensors: new and changed returns in the landing folder start their provider x quarter run."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.jobs import intake_job
from orchestration.partitions import return_key
from orchestration.resources import Folders
from probation_returns.ingest import discover


@dg.sensor(job=intake_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts intake and validation for each complete return that is new or changed.")
def landing_sensor(context: dg.SensorEvaluationContext, folders: Folders):
    """One run per distinct return content: the run key is provider, quarter and the return's sha256,
    so the same files never run twice, and a late or out-of-order file changes the key."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for landed in discover(folders.landing_path):
        key = f"{landed.provider}|{landed.quarter}"
        if not landed.is_complete:
            context.log.info(f"{key}: waiting for the rest of the return ({len(landed.files)} file(s) so far)")
            continue
        if seen.get(key) == landed.sha256:
            continue
        seen[key] = landed.sha256
        requests.append(dg.RunRequest(
            run_key=f"{landed.provider}-{landed.quarter}-{landed.sha256[:16]}",
            partition_key=return_key(landed.quarter, landed.provider),
            tags={"provider": landed.provider, "quarter": landed.quarter},
        ))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
