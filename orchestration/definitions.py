"""The code location: assembles each domain's assets with the shared resources and jobs."""

import dagster as dg

from assets import intake, performance, returns, validation
from orchestration.alerting import run_failure_alerts
from orchestration.jobs import extract_job, intake_job, quarter_job
from orchestration.resources import Folders, Warehouse
from orchestration.schedules import quarter_schedule
from orchestration.sensors import extract_rebuild_sensor, extract_sensor, landing_sensor

OWNERS = ["team:data-engineering"]  # who the UI says to ask; every asset has them
ASSETS = dg.map_asset_specs(
    lambda spec: spec.replace_attributes(owners=spec.owners or OWNERS),
    dg.load_assets_from_modules([intake, validation, performance, returns]),
)
JOBS = [intake_job, quarter_job, extract_job]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=JOBS,
    sensors=[landing_sensor, extract_sensor, extract_rebuild_sensor, run_failure_alerts],
    schedules=[quarter_schedule],
    resources={"warehouse": Warehouse(), "folders": Folders()},
)
