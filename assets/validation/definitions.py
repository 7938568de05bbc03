"""The validation area: each return checked against the rules (its checks show the result in the UI), and the
return that counts for the quarter. Its runs are the intake area's ``provider_intake``."""

import dagster as dg

from assets.validation import assets as validation_assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([validation_assets]), jobs=[], sensors=[], schedules=[])
