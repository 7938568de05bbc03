"""The returns area's job: the quarter's build, from the current returns to the ministry return.

It selects the assets of the areas it builds on (intake, performance, integrity) by key, so the areas need not
import one another (``orchestration/definitions.py`` puts them together).
"""

import dagster as dg

quarter_job = dg.define_asset_job(
    "quarter_build",
    selection=dg.AssetSelection.assets(
        "quarter_submissions", "reoffending_results", "quarter_performance", "integrity_signals", "ministry_return"
    ),
    description="The quarter's reoffending results, all providers' figures and money, the integrity signals "
    "(stored, with a warning check per signal), and the ministry return.",
    tags={"returns/build": "quarter"},  # the instance runs one build at a time (instance_templates/)
)
