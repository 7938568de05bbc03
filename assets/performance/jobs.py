"""The performance area's job: a new reoffending extract registered."""

import dagster as dg

extract_job = dg.define_asset_job(
    "extract_intake",
    selection=dg.AssetSelection.assets("reoffending_extract"),
    description="Archive, check and register a new reoffending extract.",
)
