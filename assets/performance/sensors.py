"""The performance area's sensor: a reoffending extract arriving in the landing folder is registered.

The run key is the extract's sha256, so the same file never runs twice even if the cursor is lost. The sensor
is stopped by default (switch it on in the UI, or set ``RETURNS_AUTOMATION=on``; ``assets/lib/automation.py``).
"""

from __future__ import annotations

import dagster as dg

from assets.lib.automation import SENSOR_INTERVAL, automation_status
from assets.lib.resources import Folders
from assets.performance.jobs import extract_job
from probation_returns.ingest import sha256_file


@dg.sensor(
    job=extract_job,
    minimum_interval_seconds=SENSOR_INTERVAL,
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
