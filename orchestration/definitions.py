"""The code location: each area's definitions (``assets/<area>/definitions.py``) put together, with the shared
resources and the run failure alerts."""

import dagster as dg

from assets.intake import definitions as intake
from assets.integrity import definitions as integrity
from assets.lib.alerting import run_failure_alerts
from assets.lib.resources import Folders, Warehouse
from assets.performance import definitions as performance
from assets.returns import definitions as returns
from assets.validation import definitions as validation

# By module, not by their ``defs``: Dagster loads the one Definitions object at this module's scope.
AREAS = [area.defs for area in (intake, validation, performance, integrity, returns)]
OWNERS = ["team:data-engineering"]  # who the UI says to ask; every asset has them
ASSETS = dg.map_asset_specs(
    lambda spec: spec.replace_attributes(owners=spec.owners or OWNERS),
    [asset for area in AREAS for asset in area.assets],
)
JOBS = [job for area in AREAS for job in area.jobs]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=[check for area in AREAS for check in area.asset_checks or []],
    jobs=JOBS,
    sensors=[*(sensor for area in AREAS for sensor in area.sensors), run_failure_alerts],
    schedules=[schedule for area in AREAS for schedule in area.schedules],
    resources={"warehouse": Warehouse(), "folders": Folders()},
)
