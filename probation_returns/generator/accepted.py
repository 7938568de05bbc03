"""A generated return as validation accepts it, without writing files: for measuring many seeds quickly.

Only for returns generated without faults (every record passes): the typed tables as ``provider_return`` (and
any gaming profile) give them, with Y/N flags as the booleans the warehouse keeps. The PNC id stays as it is
(the warehouse keeps a keyed hash); nothing that reads these needs it.
"""

from __future__ import annotations

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.generator.gaming import Gaming, game
from probation_returns.generator.quarter import provider_return

FLAGS = ("em_only", "first_appointment_attended", "upw_required", "pack_complete")


def accepted_return(
    seed: int, code: str, quarter: Quarter, scale: float, gaming: Gaming | None = None
) -> dict[str, pl.DataFrame]:
    typed = provider_return(seed, code, quarter, scale)
    if gaming is not None:
        typed = game(gaming, typed, quarter)
    return {
        name: frame.with_columns(
            pl.when(pl.col(c).is_not_null()).then(pl.col(c) == "Y").alias(c) for c in FLAGS if c in frame.columns
        )
        for name, frame in typed.items()
    }
