"""Jobs: what a run materializes."""

import dagster as dg

from assets.intake import provider_submission, quarter_submissions

intake_job = dg.define_asset_job(
    "provider_intake", selection=[provider_submission],
    description="Receive and archive one provider's return for one quarter.",
)
quarter_job = dg.define_asset_job(
    "quarter_intake_summary", selection=[quarter_submissions],
    description="List the current submission of every provider for the quarter.",
)
