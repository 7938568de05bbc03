"""A quarter's integrity inputs straight from the generator (no files, no warehouse): for the false-positive
measurement (benchmarks/integrity_false_positives.py) and the signals' tests over many seeds.

``resubmitted``: honest providers that sent a second version correcting a few records (``generator.corrections``);
a provider with the ``resubmission`` gaming profile always has its honest first version and its gamed second.
Reoffending is counted as the measures count it (``reoffending.cohort``, ``proven_reoffences``), each cohort
with its full 18 months (final), from the generator's PNC records.
"""

from __future__ import annotations

from probation_returns.calendar import Quarter, add_months
from probation_returns.generator.accepted import accepted_return
from probation_returns.generator.corrections import corrected
from probation_returns.generator.gaming import SECOND_VERSION, Gaming, offences
from probation_returns.integrity.model import HISTORY_QUARTERS, QuarterData, Reoffending, Versions
from probation_returns.reoffending import cohort, proven_reoffences


def quarter_data(
    seed: int,
    quarter: Quarter,
    codes: list[str],
    scale: float,
    gaming: dict[str, Gaming] | None = None,
    resubmitted: set[str] | frozenset[str] = frozenset(),
    reoffending: bool = True,
) -> QuarterData:
    gaming = gaming or {}
    quarters = [quarter - k for k in range(HISTORY_QUARTERS, -1, -1)]
    returns = {(code, q): accepted_return(seed, code, q, scale, gaming.get(code)) for code in codes for q in quarters}
    current = {code: returns[(code, quarter)] for code in codes}
    history = {code: {q: returns[(code, q)] for q in quarters[:-1]} for code in codes}
    versions = {}
    for code in codes:
        g = gaming.get(code)
        if g is not None and g.profile in SECOND_VERSION and g.first_day <= quarter.last_day:
            versions[code] = Versions(1, 2, accepted_return(seed, code, quarter, scale), current[code])
        elif code in resubmitted:
            current[code] = corrected(seed, code, quarter, current[code])
            versions[code] = Versions(1, 2, returns[(code, quarter)], current[code])
    results = {}
    if reoffending:
        for code in codes:
            records = offences(gaming.get(code), seed, code, quarters, scale)
            results[code] = {q: _counted(returns[(code, q)]["cases"], q, records) for q in quarters}
    return QuarterData(quarter, current, history, versions, results)


def _counted(cases, q: Quarter, offences) -> Reoffending:
    people = cohort(cases, q)
    counted = proven_reoffences(people, offences, add_months(q.last_day, 18))
    return Reoffending(
        counted.height, int((counted["reoffences"] > 0).sum()), int(counted["reoffences"].sum()), final=True
    )
