"""The integrity area: the quarter's integrity signals, stored, with a check per signal. Its runs are the
returns area's ``quarter_build`` (which selects it by key, before the ministry return that reads it)."""

import dagster as dg

from assets.integrity import assets as integrity_assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([integrity_assets]), jobs=[], sensors=[], schedules=[])
