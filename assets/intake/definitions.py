"""The intake area: a provider's return received and archived, the quarter's list of current returns, the job
that takes one return through every area, and the sensor that starts it when a return lands."""

import dagster as dg

from assets.intake import assets as intake_assets
from assets.intake.jobs import intake_job
from assets.intake.sensors import landing_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([intake_assets]), jobs=[intake_job], sensors=[landing_sensor], schedules=[]
)
