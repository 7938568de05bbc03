"""Jobs: what a run materializes."""

import dagster as dg

from assets.intake import provider_submission, quarter_submissions
from assets.performance import quarter_performance
from assets.validation import provider_validation

intake_job = dg.define_asset_job(
    "provider_intake", selection=[provider_submission, provider_validation],
    description="Receive, archive and validate one provider's return for one quarter.",
)
quarter_job = dg.define_asset_job(
    "quarter_build", selection=[quarter_submissions, quarter_performance],
    description="The quarter's submissions list, service levels, credits, reoffending and payments.",
)
