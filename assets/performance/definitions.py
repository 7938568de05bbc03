"""The performance area: the reoffending extract, each provider's measures and credits, each cohort's proven
reoffending and the quarter's checked figures; the job and sensor that register a new extract."""

import dagster as dg

from assets.performance import assets as performance_assets
from assets.performance.jobs import extract_job
from assets.performance.sensors import extract_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([performance_assets]), jobs=[extract_job], sensors=[extract_sensor], schedules=[]
)
