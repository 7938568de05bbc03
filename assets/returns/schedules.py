"""The returns area's schedule: once a quarter's submission deadline has passed, build its returns."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from assets.lib.automation import automation_status
from assets.lib.partitions import FIRST_QUARTER, LAST_QUARTER, quarter_key
from assets.returns.assets import BUILD_GRACE, build_expected_by, built_when_due
from assets.returns.jobs import quarter_job
from probation_returns.calendar import Quarter
from probation_returns.measures.quarter import submission_deadline
from probation_returns.parameters import for_quarter

LONDON = "Europe/London"
BUILT_WHEN_DUE = built_when_due.check_key


def quarter_due(moment: dt.datetime) -> tuple[Quarter, dt.datetime]:
    """The most recent quarter to have ended before ``moment``, and its submission deadline."""
    previous = Quarter.containing(moment.date()) - 1
    return previous, submission_deadline(previous, for_quarter(previous))


@dg.schedule(
    job=quarter_job,
    cron_schedule="0 7 * * *",
    execution_timezone=LONDON,
    default_status=dg.DefaultScheduleStatus(automation_status().value),
    description="Daily at 07:00 UK time: once the last quarter's submission deadline (20 business days "
    "after quarter end) has passed, builds that quarter for every provider, once.",
)
def quarter_schedule(context: dg.ScheduleEvaluationContext):
    quarter = Quarter.containing(context.scheduled_execution_time.date()) - 1
    if quarter < FIRST_QUARTER:
        return dg.SkipReason(f"{quarter} is before the contracts began")
    if quarter > LAST_QUARTER:
        return dg.SkipReason(f"{quarter} is after the contracts ended ({LAST_QUARTER} was their last quarter)")
    quarter, deadline = quarter_due(context.scheduled_execution_time)
    if context.scheduled_execution_time < deadline:
        return dg.SkipReason(f"{quarter}: waiting for the submission deadline ({deadline:%Y-%m-%d %H:%M %Z})")
    return dg.RunRequest(
        run_key=f"quarter-build-{quarter}",
        partition_key=quarter_key(quarter),
        tags={"quarter": str(quarter), "reason": "submission deadline passed"},
    )


@dg.schedule(
    job=quarter_job,
    cron_schedule="0 9 * * *",
    execution_timezone=LONDON,
    default_status=dg.DefaultScheduleStatus(automation_status().value),
    description=f"Daily at 09:00 UK time: once {BUILD_GRACE.days} days have passed since the last quarter's "
    "submission deadline, checks once that its build exists: a quarter_build run of ministry_return's "
    "built_when_due check alone, which builds nothing.",
)
def quarter_freshness_schedule(context: dg.ScheduleEvaluationContext):
    quarter, deadline = quarter_due(context.scheduled_execution_time)
    if quarter < FIRST_QUARTER or quarter > LAST_QUARTER:
        return dg.SkipReason(f"{quarter} is outside the contracts ({FIRST_QUARTER} to {LAST_QUARTER})")
    due = build_expected_by(quarter)
    if context.scheduled_execution_time < due:
        return dg.SkipReason(f"{quarter}: its build is not due until {due:%Y-%m-%d %H:%M %Z}")
    return dg.RunRequest(
        run_key=f"quarter-freshness-{quarter}",
        partition_key=quarter_key(quarter),
        asset_selection=[],  # no asset: the check alone
        asset_check_keys=[BUILT_WHEN_DUE],
        tags={"quarter": str(quarter), "reason": "is the build there once due"},
    )
