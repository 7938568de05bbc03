"""Jobs: what a run materializes."""

import dagster as dg

from assets.intake import provider_submission, quarter_submissions
from assets.performance import provider_measures, quarter_performance, reoffending_extract, reoffending_results
from assets.returns import ministry_return
from assets.validation import accepted_return, provider_validation

intake_job = dg.define_asset_job(
    "provider_intake",
    selection=[provider_submission, provider_validation, accepted_return, provider_measures],
    description="Receive, archive and validate one provider's return for one quarter, then measure it (the run is "
    "tagged returns/outcome, returns/provider and returns/quarter).",
)
quarter_job = dg.define_asset_job(
    "quarter_build",
    selection=[quarter_submissions, reoffending_results, quarter_performance, ministry_return],
    description="The quarter's reoffending results, all providers' figures and money, and the ministry return.",
    tags={"returns/build": "quarter"},  # the instance runs one build at a time (instance_templates/)
)
extract_job = dg.define_asset_job(
    "extract_intake",
    selection=[reoffending_extract],
    description="Archive, check and register a new reoffending extract.",
)
