"""Alerts for data engineers, raised where the failure is known, through Dagster's public APIs only.

- A failed check (severity ERROR: a rejected return, an unreadable file, figures out of bounds) does
  not fail its run, so the step that evaluates the checks raises the alert itself
  (``with_check_alerts``), once per run, asset and partition, naming every check that failed.
- A failed run is alerted by ``run_failure_alerts``, a ``run_failure_sensor``: Dagster keeps its
  cursor, on every instance storage (the run-sharded SQLite default and PostgreSQL alike).

Alert keys (``checks-<asset>-<partition>-submission-<id>-<hash of the checks' names>`` for a return, so one rejected
submission is alerted once however often it is checked again; ``checks-<run id>-<asset>-<partition>``
for the quarter's checks; ``run-<run id>``) are stored under a unique constraint, so a restarted
daemon, a re-evaluated tick or two processes at once never alert twice, and no alert is skipped
because another run's event shared a number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import dagster as dg

from assets.lib.automation import SENSOR_INTERVAL
from assets.lib.resources import Folders, Warehouse
from probation_returns.alerts import Alert, raise_alert


def _plain(metadata) -> dict:
    out = {}
    for key, value in (metadata or {}).items():
        shown = getattr(value, "value", value)
        out[key] = shown if isinstance(shown, (int, float, bool)) else str(shown)[:300]
    return out


def check_alert(run_id: str, asset: str, partition: str | None, failed: list[dg.AssetCheckResult]) -> Alert:
    """One alert for the checks that failed. A return's checks carry its submission: the alert is keyed by the
    submission and what failed, so checking the same return again (a rerun from the UI, a rerun after a kill)
    raises no second alert; other checks are keyed by run."""
    names = [r.check_name for r in failed]
    detail = {f"{r.check_name}.{k}": v for r in failed for k, v in _plain(r.metadata).items()}
    title = (
        f"Check{'s' if len(names) > 1 else ''} {', '.join(names)} failed on {asset}"
        f"{f' {partition}' if partition else ''}"
    )
    if failed[0].description:
        title += f": {failed[0].description}"
    submissions = {_plain(r.metadata).get("submission_id") for r in failed}
    if len(submissions) == 1 and None not in submissions:
        which = hashlib.sha256("+".join(sorted(names)).encode()).hexdigest()[:12]  # the key column holds 100
        key = f"checks-{asset}-{partition or 'all'}-submission-{submissions.pop()}-{which}"
    else:
        key = f"checks-{run_id}-{asset}-{partition or 'all'}"
    return Alert(
        key=key[:100],
        kind="check_failed",
        asset_key=asset,
        partition_key=partition,
        check_name=", ".join(names)[:100],
        run_id=run_id,
        title=title[:300],
        detail=detail,
    )


def with_check_alerts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders, results: Iterable
) -> Iterator:
    """Pass the asset's results through; after the last, alert on its failed ERROR checks (if any)."""
    failed = []
    for item in results:
        if isinstance(item, dg.AssetCheckResult) and not item.passed and item.severity == dg.AssetCheckSeverity.ERROR:
            failed.append(item)
        yield item
    if failed:
        asset = context.assets_def.key.to_user_string()
        partition = context.partition_key if context.has_partition_key else None
        raise_alert(warehouse.engine, folders.alerts_path, check_alert(context.run.run_id, asset, partition, failed))


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=min(SENSOR_INTERVAL, 30),
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Turns every failed run into an alert: a warehouse record, a line in "
    "var/alerts/alerts.jsonl, and e-mail or webhook when configured. (Failed checks "
    "are alerted by the step that evaluates them.)",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, warehouse: Warehouse, folders: Folders):
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    message = (_step_reason(context) or context.failure_event.message or "").strip().splitlines()
    title = f"Run of {run.job_name}{f' for {partition}' if partition else ''} failed"
    raise_alert(
        warehouse.engine,
        folders.alerts_path,
        Alert(
            key=f"run-{run.run_id}",
            kind="run_failed",
            run_id=run.run_id,
            partition_key=partition,
            title=title,
            detail={"job": run.job_name, "message": message[0][:300] if message else ""},
        ),
    )


def _step_reason(context: dg.RunFailureSensorContext) -> str | None:
    """The first failed step's own words (a ``Failure``'s description, else its error), like the CLI's."""
    for event in context.get_step_failure_events():
        data = event.event_specific_data
        user = getattr(data, "user_failure_data", None)
        error = getattr(data, "error", None)
        text = getattr(user, "description", None) or (error.message if error else None)
        if text:
            return f"{event.step_key}: {text}"
    return None
