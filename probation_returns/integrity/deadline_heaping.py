"""``deadline_heaping``: events piled up on the due business day of a deadline-based service level.

Method: of the measure's population (its denominator: the deadline falls in the quarter), take the events made
in time on the due day itself or in the ``window`` business days just before it (fewer where the deadline is
shorter: SL002R's is one day). Honest work spreads over those days; a provider that books first appointments,
or dates referrals, on the last allowed day piles them on the due day. The statistic is the share on the due
day; expected is the same share over every other provider's events this quarter (pooled). Flagged when the
provider's share is at least ``ratio`` times the expected one and its one-sided binomial z is at least ``z``,
with at least ``minimum_events`` events; where ``ratio`` times expected is more than halfway from expected to all
(SL002R, whose expected share is near a half), halfway is the size of effect asked for.
"""

from __future__ import annotations

import math

import polars as pl

from probation_returns.integrity.model import QuarterData, Signal, dp, no_return, pct
from probation_returns.integrity.statistics import proportion_z
from probation_returns.measures.service_levels import DEADLINE_MEASURES, business_days_between, deadline_population

NAME = "deadline_heaping"
MEASURES = tuple(DEADLINE_MEASURES)  # SL001R, SL002R, SL003, SL006R, AE
EVENTS = {
    "SL001R": "first appointments",
    "SL002R": "first appointments",
    "SL003": "sentence plans",
    "SL006R": "unpaid work arrangements",
    "AE": "breach referrals",
}


def _days(measure: str, window: int) -> int:
    return min(window, DEADLINE_MEASURES[measure].days)


def _events(data: QuarterData, tables: dict[str, pl.DataFrame], measure: str, window: int) -> pl.DataFrame:
    """In-time events on the due day (``before`` 0) or in the window before it (``before`` 1 to ``window``:
    business days before the due day), with their case reference."""
    m = DEADLINE_MEASURES[measure]
    population = deadline_population(data.quarter, measure, tables[m.table])
    # An event on a weekend or holiday just before the due day is a day before it, not on it.
    before = pl.when(pl.col(m.event) == pl.col("due")).then(0).otherwise(pl.max_horizontal(pl.col("_days"), 1))
    return (
        population.filter(pl.col(m.event) <= pl.col("due"))
        .with_columns(business_days_between(m.event, "due").alias("_days"))
        .with_columns(before.alias("before"))
        .filter(pl.col("before") <= _days(measure, window))
        .select("case_ref", "before")
    )


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    window = int(limits["window_business_days"])
    out = []
    for measure in MEASURES:
        events = {code: _events(data, tables, measure, window) for code, tables in data.current.items()}
        tally = {code: (int((e["before"] == 0).sum()), e.height) for code, e in events.items()}
        for code in codes:
            if code not in data.current:
                out.append(no_return(data.quarter, code, NAME, measure))
                continue
            out.append(_signal(data, code, measure, window, events[code], tally, limits))
    return out


def _signal(data, code, measure, window, events, tally, limits) -> Signal:
    on_due, n = tally[code]
    peers_on = sum(t[0] for c, t in tally.items() if c != code)
    peers_n = sum(t[1] for c, t in tally.items() if c != code)
    days = _days(measure, window)
    even = 1 / (days + 1)
    expected = peers_on / peers_n if peers_n >= limits["minimum_events"] else even
    compared = "other providers" if peers_n >= limits["minimum_events"] else "an even spread over the days"
    expected = min(max(expected, 1e-6), 1 - 1e-6)
    z = proportion_z(on_due, n, expected)
    # The size of effect: ``ratio`` times expected, or halfway from expected to all, whichever is less (SL002R's
    # expected share is near a half, so twice it would be out of reach); and the binomial z.
    effect = min(expected * limits["ratio"], expected + (1 - expected) / 2)
    bound = max(effect, expected + limits["z"] * math.sqrt(expected * (1 - expected) / max(n, 1)))
    share = on_due / n if n else None
    enough = n >= limits["minimum_events"]
    flagged = enough and share is not None and share >= bound  # i.e. both the ratio and the z are reached
    what = EVENTS[measure]
    span = "the business day before it" if days == 1 else f"the {days} business days before it"
    if not n:
        words = f"No {what} made in time for {measure} this quarter, so there is nothing to look at."
    else:
        words = (
            f"{on_due:,} of {n:,} {what} made in time for {measure} ({pct(share)}) were recorded on the due business "
            f"day itself rather than on {span}; {compared}: {pct(expected)}."
        )
        if not enough:
            words += f" Too few to judge (fewer than {int(limits['minimum_events'])}): not flagged."
        elif flagged:
            words += f" Flagged: at {pct(bound)} or more the pile-up on the last allowed day is not chance."
        else:
            words += (
                f" Not flagged (flagged from {pct(bound)})."
                if bound <= 1
                else " Not flagged (with so few, not even all of them on the due day would be)."
            )
    cases = tuple(events.filter(pl.col("before") == 0)["case_ref"].to_list()) if flagged else ()
    return Signal(
        str(data.quarter),
        code,
        NAME,
        measure,
        n,
        dp(share),
        dp(expected),
        dp(bound) if bound <= 1 else None,  # no share reaches it: not a share (the words say so)
        dp(z, 2),
        compared,
        flagged,
        words,
        cases,
    )
