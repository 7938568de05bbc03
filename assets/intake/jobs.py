"""The intake area's job: one provider's return, from the landing folder to its measures.

The job spans the areas a return passes through (intake, validation, performance); it selects their assets by
key, so the areas need not import one another (``orchestration/definitions.py`` puts them together).
"""

import dagster as dg

intake_job = dg.define_asset_job(
    "provider_intake",
    selection=dg.AssetSelection.assets(
        "provider_submission", "provider_validation", "accepted_return", "provider_measures"
    ),
    description="Receive, archive and validate one provider's return for one quarter, then measure it (the run is "
    "tagged returns/outcome, returns/provider and returns/quarter).",
)
