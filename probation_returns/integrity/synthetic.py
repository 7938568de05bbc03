"""A quarter's integrity inputs straight from the generator (no files, no warehouse): for the false-positive
measurement (benchmarks/integrity_false_positives.py) and the signals' tests over many seeds."""

from __future__ import annotations

from probation_returns.calendar import Quarter
from probation_returns.generator.accepted import accepted_return
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity.model import HISTORY_QUARTERS, QuarterData


def quarter_data(
    seed: int, quarter: Quarter, codes: list[str], scale: float, gaming: dict[str, Gaming] | None = None
) -> QuarterData:
    gaming = gaming or {}
    current = {code: accepted_return(seed, code, quarter, scale, gaming.get(code)) for code in codes}
    history = {
        code: {
            quarter - k: accepted_return(seed, code, quarter - k, scale, gaming.get(code))
            for k in range(HISTORY_QUARTERS, 0, -1)
        }
        for code in codes
    }
    return QuarterData(quarter, current, history)
