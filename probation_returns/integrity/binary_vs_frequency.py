"""``binary_vs_frequency``: the binary proven reoffending rate falling while reoffences per reoffender rise.

Method: the quarter's cohort as the reoffending measures counted it (``measures.quarter.cohort_results``: people
starting a CO, SSO or licence in the quarter, their proven reoffences from the PNC extract) against the provider's
cohorts of its previous four quarters pooled (with fewer than ``minimum_cohort`` people in them, the other
providers' cohorts this quarter). ``binary_rate``: reoffenders per person, with the one-sided two-proportion z of
its fall; ``frequency``: reoffences per reoffender, with the z of the rise in further reoffences (those beyond
each reoffender's first) per reoffender, a Poisson comparison whose variance is taken ``dispersion`` times the
Poisson one (reoffences bunch in prolific people). Both rows flag together, when the binary rate is at least
``difference`` below expected with z at most -``z_binary``, and the frequency at least ``ratio`` times expected
with z at least ``z_frequency``, with at least ``minimum_cohort`` people and ``minimum_reoffenders`` reoffenders now.
"""

from __future__ import annotations

import math

from probation_returns.integrity.model import QuarterData, Reoffending, Signal, dp, no_return, nothing, pct
from probation_returns.integrity.statistics import smallest_count, two_proportion_z
from probation_returns.reoffending import cohort

NAME = "binary_vs_frequency"
MEASURES = ("binary_rate", "frequency")


def rate_z(x1: int, t1: int, x2: int, t2: int, dispersion: float = 1.0) -> float:
    """z of the rate x1/t1 against x2/t2 (counts over exposures), conditional on x1 + x2: under no difference
    x1 is binomial with p = t1 / (t1 + t2); the variance is ``dispersion`` times the binomial one."""
    if not t1 or not t2 or not (x1 + x2):
        return 0.0
    p = t1 / (t1 + t2)
    mean = (x1 + x2) * p
    return (x1 - mean) / math.sqrt(dispersion * mean * (1 - p))


def _pool(results: list[Reoffending]) -> Reoffending:
    return Reoffending(
        sum(r.cohort_size for r in results),
        sum(r.reoffenders for r in results),
        sum(r.reoffences for r in results),
        all(r.final for r in results),
    )


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    now = {code: r[data.quarter] for code, r in data.reoffending.items() if data.quarter in r}
    out = []
    for code in codes:
        if code not in data.current:
            out += [no_return(data.quarter, code, NAME, m) for m in MEASURES]
            continue
        if code not in now:
            out += [_no_result(data, code, m) for m in MEASURES]
            continue
        past = [r for q, r in data.reoffending.get(code, {}).items() if q < data.quarter]
        before = _pool(past)
        compared = f"previous {len(past)} cohort{'s' if len(past) != 1 else ''}"
        if before.cohort_size < limits["minimum_cohort"]:
            before = _pool([r for c, r in now.items() if c != code])
            compared = "other providers"
        out += _signals(data, code, now[code], before, compared, limits)
    return out


def _no_result(data: QuarterData, code: str, measure: str) -> Signal:
    return nothing(
        data.quarter,
        code,
        NAME,
        measure,
        "nothing: no reoffending result",
        "No proven reoffending result for the quarter's cohort yet (no extract), so there is nothing to look at.",
    )


def _cases(data: QuarterData, code: str) -> tuple[str, ...]:
    cases = data.current[code]["cases"]
    person = "pnc_hash" if "pnc_hash" in cases.columns else "pnc_id"
    return tuple(sorted(cohort(cases, data.quarter, person=person)["case_ref"].to_list()))


def _signals(data, code, now: Reoffending, before: Reoffending, compared: str, limits) -> list[Signal]:
    n1, r1, o1 = now.cohort_size, now.reoffenders, now.reoffences
    n2, r2, o2 = before.cohort_size, before.reoffenders, before.reoffences
    binary = r1 / n1 if n1 else None
    binary_expected = r2 / n2 if n2 else None
    freq = o1 / r1 if r1 else None
    freq_expected = o2 / r2 if r2 else None
    enough = (
        n1 >= limits["minimum_cohort"]
        and n2 >= limits["minimum_cohort"]
        and r1 >= limits["minimum_reoffenders"]
        and r2 >= limits["minimum_reoffenders"]
    )
    zb = two_proportion_z(r1, n1, r2, n2) if enough else None
    zf = rate_z(o1 - r1, r1, o2 - r2, r2, limits["dispersion"]) if enough else None
    fell = enough and binary <= binary_expected - limits["difference"] and zb <= -limits["z_binary"]
    rose = enough and freq >= freq_expected * limits["ratio"] and zf >= limits["z_frequency"]
    flagged = fell and rose
    if not enough:
        verdict = (
            f" Too few to judge (fewer than {int(limits['minimum_cohort'])} people or "
            f"{int(limits['minimum_reoffenders'])} reoffenders): not flagged."
        )
    elif flagged:
        verdict = (
            " Flagged: fewer people reoffend but those who do reoffend more, as when work is aimed at the binary "
            "measure and prolific reoffenders are left to it."
        )
    else:
        verdict = (
            " Not flagged (flagged when the binary rate falls and the frequency rises together, both past threshold)."
        )
    interim = "" if now.final and before.final else " Some of these figures are interim (the 18 months are not over)."
    words_b = (
        f"{r1:,} of the {n1:,} people in the quarter's cohort reoffended ({pct(binary) if n1 else 'none'}); "
        f"{compared}: {pct(binary_expected) if n2 else 'none'}."
    )
    words_f = (
        f"{o1:,} proven reoffences by {r1:,} reoffenders ({freq:.2f} each); {compared}: "
        + (f"{freq_expected:.2f} each." if r2 else "none.")
        if r1
        else f"No one in the quarter's cohort reoffended; {compared}: "
        + (f"{freq_expected:.2f} reoffences per reoffender." if r2 else "none.")
    )
    cases = _cases(data, code) if flagged else ()
    b_bound = f_bound = None
    if enough:  # the binary rate at or below which, and the frequency at or above which, each condition holds
        most = next(
            (
                x
                for x in range(n1, -1, -1)
                if x / n1 <= binary_expected - limits["difference"]
                and two_proportion_z(x, n1, r2, n2) <= -limits["z_binary"]
            ),
            None,
        )
        b_bound = most / n1 if most is not None else None
        least = smallest_count(
            r1 * 50,
            lambda o: (
                o >= r1
                and o / r1 >= freq_expected * limits["ratio"]
                and rate_z(o - r1, r1, o2 - r2, r2, limits["dispersion"]) >= limits["z_frequency"]
            ),
        )
        f_bound = least / r1 if least is not None else None
    return [
        Signal(
            str(data.quarter),
            code,
            NAME,
            "binary_rate",
            n1,
            dp(binary),
            dp(binary_expected),
            dp(b_bound),
            dp(zb, 2),
            compared,
            flagged,
            words_b + verdict + interim,
            cases,
        ),
        Signal(
            str(data.quarter),
            code,
            NAME,
            "frequency",
            r1,
            dp(freq),
            dp(freq_expected),
            dp(f_bound),
            dp(zf, 2),
            compared,
            flagged,
            words_f + verdict + interim,
            cases,
        ),
    ]
