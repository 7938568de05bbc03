"""The code location: assembles each domain's assets with the shared resources and jobs."""

import dagster as dg

from assets import intake, performance, returns, validation
from orchestration.jobs import extract_job, intake_job, quarter_job
from orchestration.resources import Folders, Warehouse
from orchestration.schedules import quarter_schedule
from orchestration.sensors import alert_sensor, extract_rebuild_sensor, extract_sensor, landing_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([intake, validation, performance, returns]),
    jobs=[intake_job, quarter_job, extract_job],
    sensors=[landing_sensor, extract_sensor, extract_rebuild_sensor, alert_sensor],
    schedules=[quarter_schedule],
    resources={"warehouse": Warehouse(), "folders": Folders()},
)
