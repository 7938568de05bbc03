"""The code location: assembles each domain's assets with the shared resources and jobs."""

import dagster as dg

from assets import intake
from orchestration.jobs import intake_job, quarter_job
from orchestration.resources import Folders, Warehouse

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([intake]),
    jobs=[intake_job, quarter_job],
    resources={"warehouse": Warehouse(), "folders": Folders()},
)
