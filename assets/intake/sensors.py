"""The intake area's sensor: returns arriving in the landing folder start their runs.

Every run request has a deterministic run key, so the same file never runs twice even if a cursor
is lost. The sensor is stopped by default (switch it on in the UI, or set ``RETURNS_AUTOMATION=on``;
``assets/lib/automation.py``).
"""

from __future__ import annotations

import json

import dagster as dg

from assets.intake.jobs import intake_job
from assets.lib.automation import SENSOR_INTERVAL, automation_status
from assets.lib.partitions import return_key
from assets.lib.resources import Folders
from probation_returns.ingest import discover


@dg.sensor(
    job=intake_job,
    minimum_interval_seconds=SENSOR_INTERVAL,
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
