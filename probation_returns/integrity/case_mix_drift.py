"""``case_mix_drift``: new cases riskier (or less risky) on paper than the provider's own new cases before.

The outcome payment adjusts the binary reoffending rate by the cohort's expected rate, from each person's OGRS3
score, so scores recorded higher than they are earn money. Method: the quarter's new cases (start in the
quarter) against the provider's new cases of its previous four quarters (each from its own accepted return).
``ogrs3_mean``: the mean OGRS3 two-year score; flagged when it is at least ``points`` away from expected and the
two-sided z of the difference is at least ``z``. ``rosh_mix``: the population stability index of the RoSH levels
(L, M, H, VH); flagged at ``psi`` or more, and at ``psi_chi_square`` x (1/n1 + 1/n2) or more (what chance alone
reaches about once in ten thousand times with n1 cases now and n2 before). At least ``minimum_cases`` new cases
now and before.
"""

from __future__ import annotations

import math

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.integrity.model import QuarterData, Signal, dp, no_return, pct
from probation_returns.integrity.statistics import mean_difference_z, population_stability_index

NAME = "case_mix_drift"
MEASURES = ("ogrs3_mean", "rosh_mix")


def new_cases(quarter: Quarter, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return tables["cases"].filter(pl.col("start_date").is_between(quarter.first_day, quarter.last_day))


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    out = []
    for code in codes:
        if code not in data.current:
            out += [no_return(data.quarter, code, NAME, m) for m in MEASURES]
            continue
        now = new_cases(data.quarter, data.current[code])
        past_quarters = data.history.get(code, {})
        past = [new_cases(q, t) for q, t in past_quarters.items()]
        before = pl.concat(past) if past else now.head(0)
        compared = (
            f"previous {len(past)} quarter{'s' if len(past) != 1 else ''}" if past else "nothing: no previous quarters"
        )
        enough = now.height >= limits["minimum_cases"] and before.height >= limits["minimum_cases"]
        out.append(_ogrs(data, code, now, before, compared, enough, limits))
        out.append(_rosh(data, code, now, before, compared, enough, limits))
    return out


def _ogrs(data, code, now, before, compared, enough, limits) -> Signal:
    n1, n2 = now.height, before.height
    mean = float(now["ogrs3_2yr"].mean()) if n1 else None
    expected = float(before["ogrs3_2yr"].mean()) if n2 else None
    z = bound = None
    flagged = False
    if enough:
        var1, var2 = float(now["ogrs3_2yr"].var() or 0.0), float(before["ogrs3_2yr"].var() or 0.0)
        z = mean_difference_z(mean, var1, n1, expected, var2, n2)
        reach = max(limits["points"], limits["z"] * math.sqrt(var1 / n1 + var2 / n2))
        bound = expected + reach
        flagged = abs(mean - expected) >= reach
    if not n1:
        words = "No new cases this quarter, so there is nothing to look at."
    else:
        words = f"The {n1:,} new cases' mean OGRS3 two-year score is {mean:.1f}"
        words += f"; {compared}: {expected:.1f}." if expected is not None else f"; {compared}."
        if not enough:
            words += (
                f" Too few new cases to judge (fewer than {int(limits['minimum_cases'])} now or before): not flagged."
            )
        elif flagged:
            words += (
                f" Flagged: {abs(mean - expected):.1f} points away is more than chance; a higher score lowers the "
                "case-mix adjusted reoffending rate and so raises the outcome payment."
            )
        else:
            words += f" Not flagged (flagged at {bound:.1f} or more, or {expected - (bound - expected):.1f} or less)."
    cases = tuple(now["case_ref"].to_list()) if flagged else ()
    return Signal(
        str(data.quarter),
        code,
        NAME,
        "ogrs3_mean",
        n1,
        dp(mean, 2),
        dp(expected, 2),
        dp(bound, 2),
        dp(z, 2),
        compared,
        flagged,
        words,
        cases,
    )


def _levels(frame: pl.DataFrame) -> dict[str, int]:
    return dict(frame.group_by("rosh_level").len().iter_rows())


def _rosh(data, code, now, before, compared, enough, limits) -> Signal:
    n1, n2 = now.height, before.height
    psi = population_stability_index(_levels(now), _levels(before)) if enough else None
    # By chance alone PSI is about chi-square (3 degrees of freedom) x (1/n1 + 1/n2): small samples need more.
    bound = max(limits["psi"], limits["psi_chi_square"] * (1 / n1 + 1 / n2)) if enough else None
    flagged = psi is not None and psi >= bound
    if not n1:
        words = "No new cases this quarter, so there is nothing to look at."
    elif not enough:
        words = (
            f"{n1:,} new cases; {compared}. Too few new cases to judge (fewer than {int(limits['minimum_cases'])} now "
            "or before): not flagged."
        )
    else:
        shares = ", ".join(f"{k} {pct(v / n1)}" for k, v in sorted(_levels(now).items()))
        words = (
            f"The {n1:,} new cases' risk of serious harm levels ({shares}) against the {compared}: stability index "
            f"{psi:.4f}."
        )
        words += " Flagged: the mix has shifted." if flagged else f" Not flagged (flagged from {bound:.4f})."
    return Signal(
        str(data.quarter),
        code,
        NAME,
        "rosh_mix",
        n1,
        dp(psi),
        dp(0.0) if enough else None,
        dp(bound),
        None,
        compared,
        flagged,
        words,
        tuple(now["case_ref"].to_list()) if flagged else (),
    )
