"""``exclusion_drift``: more cases leaving a measure's denominator than the provider's own history.

Method: successful completion counts community orders (CO, SSO) ending in the quarter, except those ending as
transferred to the NPS or by death, which leave its denominator. The statistic is the share of the quarter's
community order terminations that are so excluded; expected is the same share over the provider's previous
four quarters (each quarter's terminations from its own accepted return), or, with too little history, over the
other providers this quarter. Flagged when the share is at least ``difference`` above expected and the
one-sided two-proportion z is at least ``z``, with at least ``minimum_terminations`` terminations.
"""

from __future__ import annotations

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.integrity.model import QuarterData, Signal, dp, no_return, pct
from probation_returns.integrity.statistics import smallest_count, two_proportion_z

NAME = "exclusion_drift"
MEASURE = "successful_completion"
EXCLUDED = ("TRANSFERRED_NPS", "DIED")


def _terminations(quarter: Quarter, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    cases = tables["cases"]
    ended = pl.col("sentence_type").is_in(["CO", "SSO"]) & pl.col("termination_date").is_between(
        quarter.first_day, quarter.last_day
    )
    return cases.filter(ended.fill_null(False)).select(
        "case_ref", excluded=pl.col("termination_reason").is_in(EXCLUDED)
    )


def _tally(frame: pl.DataFrame) -> tuple[int, int]:
    return int(frame["excluded"].sum()), frame.height


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    now = {code: _terminations(data.quarter, tables) for code, tables in data.current.items()}
    tally = {code: _tally(frame) for code, frame in now.items()}
    out = []
    for code in codes:
        if code not in data.current:
            out.append(no_return(data.quarter, code, NAME, MEASURE))
            continue
        past = [_tally(_terminations(q, t)) for q, t in data.history.get(code, {}).items()]
        x2, n2 = sum(p[0] for p in past), sum(p[1] for p in past)
        compared = f"previous {len(past)} quarter{'s' if len(past) != 1 else ''}"
        if n2 < limits["minimum_terminations"]:
            x2 = sum(t[0] for c, t in tally.items() if c != code)
            n2 = sum(t[1] for c, t in tally.items() if c != code)
            compared = "other providers"
        out.append(_signal(data, code, now[code], tally[code], x2, n2, compared, limits))
    return out


def _signal(data, code, frame, mine, x2, n2, compared, limits) -> Signal:
    x1, n1 = mine
    share = x1 / n1 if n1 else None
    expected = x2 / n2 if n2 else None
    enough = n1 >= limits["minimum_terminations"] and n2 >= limits["minimum_terminations"]
    z = two_proportion_z(x1, n1, x2, n2) if enough else None
    bound = None
    if enough:  # the smallest share of this quarter's terminations that would flag
        least = smallest_count(
            n1,
            lambda x: x / n1 >= expected + limits["difference"] and two_proportion_z(x, n1, x2, n2) >= limits["z"],
        )
        bound = least / n1 if least is not None else None
    flagged = bound is not None and share >= bound
    if not n1:
        words = "No community order ended this quarter, so there is nothing to look at."
    else:
        words = (
            f"{x1:,} of {n1:,} community orders ending this quarter ({pct(share)}) ended as transferred to the NPS "
            "or by death, which takes them out of successful completion"
        )
        words += f"; {compared}: {pct(expected)}." if expected is not None else "."
        if not enough:
            words += f" Too few terminations to judge (fewer than {int(limits['minimum_terminations'])}): not flagged."
        elif bound is None:
            words += " Not flagged (no share of so few terminations could be)."
        elif flagged:
            words += f" Flagged: at {pct(bound)} or more, more cases are leaving the measure than before."
        else:
            words += f" Not flagged (flagged from {pct(bound)})."
    cases = tuple(frame.filter(pl.col("excluded"))["case_ref"].to_list()) if flagged else ()
    return Signal(
        str(data.quarter),
        code,
        NAME,
        MEASURE,
        n1,
        dp(share),
        dp(expected),
        dp(min(bound, 1.0)) if bound is not None else None,
        dp(z, 2),
        compared,
        flagged,
        words,
        cases,
    )
