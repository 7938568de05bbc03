"""The returns area: the quarter's ministry return and its checks, the ``quarter_build`` job that makes it, the
schedule that runs it once the submission deadline has passed, the schedule that checks the build exists once it is
due, and the sensor that reruns it when a new extract changes it."""

import dagster as dg

from assets.returns import assets as returns_assets
from assets.returns.jobs import quarter_job
from assets.returns.schedules import quarter_freshness_schedule, quarter_schedule
from assets.returns.sensors import extract_rebuild_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([returns_assets]),
    asset_checks=dg.load_asset_checks_from_modules([returns_assets]),
    jobs=[quarter_job],
    sensors=[extract_rebuild_sensor],
    schedules=[quarter_schedule, quarter_freshness_schedule],
)
