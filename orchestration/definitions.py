"""The code location: assembles each domain's assets with the shared resources and jobs."""

import dagster as dg

from assets import intake, validation
from orchestration.jobs import intake_job, quarter_job
from orchestration.resources import Folders, Warehouse

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([intake, validation]),
    asset_checks=dg.load_asset_checks_from_modules([validation]),
    jobs=[intake_job, quarter_job],
    resources={"warehouse": Warehouse(), "folders": Folders()},
)
