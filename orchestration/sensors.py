"""Sensors: returns and extracts arriving in the landing folder start their runs; a new extract
rebuilds the quarters it changes; failed checks and failed runs become alerts.

Every run request has a deterministic run key, so the same file never runs twice even if a cursor
is lost. Sensors that start work are stopped by default (switch them on in the UI, or set
``RETURNS_AUTOMATION=on``); the alert sensor is always on.
"""

from __future__ import annotations

import json
import os

import dagster as dg
from sqlalchemy import select

from orchestration.jobs import extract_job, intake_job, quarter_job
from orchestration.partitions import quarter_key, return_key
from orchestration.resources import Folders, Warehouse
from probation_returns.alerts import Alert, raise_alert
from probation_returns.calendar import Quarter, add_months
from probation_returns.ingest import discover, sha256_file
from probation_returns.warehouse.models import ReoffendingExtract, Submission

INTERVAL = int(os.environ.get("RETURNS_SENSOR_INTERVAL", "60"))


def automation_status() -> dg.DefaultSensorStatus:
    on = os.environ.get("RETURNS_AUTOMATION", "").lower() in ("on", "1", "true")
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


@dg.sensor(job=intake_job, minimum_interval_seconds=INTERVAL, default_status=automation_status(),
           description="Starts intake, validation and measures for each complete return that is new or changed.")
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
        requests.append(dg.RunRequest(
            # the delivery time too: an earlier version sent again after a later one is a new delivery, and counts
            run_key=f"{landed.provider}-{landed.quarter}-{landed.sha256[:16]}-{int(landed.delivered_at.timestamp())}",
            partition_key=return_key(landed.quarter, landed.provider),
            tags={"provider": landed.provider, "quarter": landed.quarter},
        ))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(state, sort_keys=True))


@dg.sensor(job=extract_job, minimum_interval_seconds=INTERVAL, default_status=automation_status(),
           description="Registers a new reoffending extract (reoffending_YYYY-MM-DD.csv) when one lands.")
def extract_sensor(context: dg.SensorEvaluationContext, folders: Folders):
    path = folders.extract_path
    if path is None or not path.is_file():
        return dg.SkipReason(f"no reoffending_YYYY-MM-DD.csv in {folders.landing_path}")
    digest = sha256_file(path)
    if context.cursor == digest:
        return dg.SkipReason(f"{path.name} is already registered")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"extract-{digest[:16]}",
                                                       tags={"extract": path.name})], cursor=digest)


def quarters_changed_by(engine, as_of, previous_as_of) -> list[Quarter]:
    """Cohort quarters whose results a new extract can change: those with returns, ended before the
    new as-of date, and not already final under the previous extract."""
    with engine.connect() as connection:
        known = sorted(Quarter.parse(q) for q in connection.execute(select(Submission.quarter).distinct()).scalars())
    out = []
    for q in known:
        if q.last_day >= as_of:
            continue
        if previous_as_of is not None and previous_as_of >= add_months(q.last_day, 18):
            continue  # already final: a newer extract changes nothing
        out.append(q)
    return out


@dg.asset_sensor(asset_key=dg.AssetKey("reoffending_extract"), job=quarter_job, minimum_interval_seconds=INTERVAL,
                 default_status=automation_status(),
                 description="After a new extract is registered, rebuilds every quarter whose reoffending it changes.")
def extract_rebuild_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, warehouse: Warehouse):
    return rebuild_requests(warehouse.engine)


def rebuild_requests(engine) -> list[dg.RunRequest] | dg.SkipReason:
    """One quarter_build run per quarter the latest extract changes, keyed by the extract and quarter."""
    with engine.connect() as connection:
        extracts = connection.execute(select(ReoffendingExtract.as_of_date, ReoffendingExtract.sha256)
                                      .order_by(ReoffendingExtract.as_of_date.desc())).all()
    if not extracts:
        return dg.SkipReason("no extract registered")
    as_of, digest = extracts[0]
    previous = extracts[1][0] if len(extracts) > 1 else None
    quarters = quarters_changed_by(engine, as_of, previous)
    if not quarters:
        return dg.SkipReason(f"extract as of {as_of} changes no quarter's results")
    return [dg.RunRequest(run_key=f"extract-{digest[:16]}-{q}", partition_key=quarter_key(q),
                          tags={"quarter": str(q), "reason": f"reoffending extract as of {as_of}"}) for q in quarters]


def _plain(metadata) -> dict:
    out = {}
    for key, value in (metadata or {}).items():
        shown = getattr(value, "value", value)
        out[key] = shown if isinstance(shown, (int, float, bool)) else str(shown)[:300]
    return out


@dg.sensor(minimum_interval_seconds=min(INTERVAL, 30), default_status=dg.DefaultSensorStatus.RUNNING,
           description="Turns failed checks (severity ERROR; one alert per run and asset) and failed runs into alerts: "
                       "a warehouse record, "
                       "a line in var/alerts/alerts.jsonl, and e-mail or webhook when configured.")
def alert_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse, folders: Folders):
    cursor = json.loads(context.cursor) if context.cursor else {}
    raised = 0
    # check evaluations: no fetch_* API exists for them in Dagster 1.13, so the event log storage is read
    checks = context.instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=cursor.get("checks")),
        limit=500, ascending=True)
    failures = context.instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=500,
                                                         cursor=cursor.get("runs"), ascending=True)
    failed: dict[tuple, list] = {}  # one alert per run and asset, naming every check of it that failed
    for record in checks:
        cursor["checks"] = record.storage_id
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed.setdefault((record.run_id, evaluation.asset_key.to_user_string()), []).append(record)
    for (run_id, asset), records in failed.items():
        raised += raise_alert(warehouse.engine, folders.alerts_path, _checks_alert(context.instance, run_id, asset, records))
    for record in failures.records:
        raised += raise_alert(warehouse.engine, folders.alerts_path, _run_alert(context.instance, record))
    if failures.cursor:
        cursor["runs"] = failures.cursor
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not raised:
        return dg.SkipReason("nothing failed since the last tick")
    context.log.info(f"{raised} alert(s) raised")
    return None


def _partition(instance: dg.DagsterInstance, run_id: str | None) -> str | None:
    run = instance.get_run_by_id(run_id) if run_id else None
    return run.tags.get("dagster/partition") if run else None


def _checks_alert(instance: dg.DagsterInstance, run_id: str, asset: str, records: list) -> Alert:
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    partition = evaluations[0].partition or _partition(instance, run_id)
    names = [e.check_name for e in evaluations]
    detail = {f"{e.check_name}.{k}": v for e in evaluations for k, v in _plain(e.metadata).items()}
    title = (f"Check{'s' if len(names) > 1 else ''} {', '.join(names)} failed on {asset}"
             f"{f' {partition}' if partition else ''}")
    return Alert(key=f"checks-{records[0].storage_id}", kind="check_failed", asset_key=asset, partition_key=partition,
                 check_name=", ".join(names)[:100], run_id=run_id, title=title, detail=detail)


def _run_alert(instance: dg.DagsterInstance, record) -> Alert:
    run = instance.get_run_by_id(record.run_id) if record.run_id else None
    partition = _partition(instance, record.run_id)
    job = run.job_name if run else "a run"
    message = (record.event_log_entry.user_message or "").splitlines()[0][:300] if record.event_log_entry.user_message else ""
    return Alert(key=f"run-{record.storage_id}", kind="run_failed", run_id=record.run_id, partition_key=partition,
                 title=f"Run of {job}{f' for {partition}' if partition else ''} failed",
                 detail={"job": job, "message": message})
