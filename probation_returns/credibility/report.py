"""The credibility report of a quarter: one row per provider with an accepted return and figure.

Each figure beside the provider's previous four quarters (each from its own accepted return) and the national
figure for the quarter (every provider's accepted return, pooled), with its change against last quarter and
against the mean of the previous four, and a flag where the change against last quarter is implausible: the
family's size of effect (``parameters/credibility.toml``) and a statistical test both passed, above a minimum
count. Shares and rates are proportions from 0 to 1; their changes are in proportion points; a count's change is
relative. Method and weaknesses: docs/credibility.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import (
    DISTRIBUTIONS,
    MIX,
    SERVICE_LEVELS,
    TOTALS,
    VANISHED,
    Tally,
    tallies,
    vanished,
)
from probation_returns.credibility.limits import CHI_SQUARE_1_IN_A_MILLION, limits
from probation_returns.integrity.model import HISTORY_QUARTERS, QuarterData, dp, pct
from probation_returns.integrity.statistics import population_stability_index, two_proportion_z

FAMILIES = ("totals", *DISTRIBUTIONS, "service_level", VANISHED)
BASES = {  # what a family's shares are shares of, in words
    "sentence_type": "cases",
    "rosh_level": "cases",
    "ogrs3_band": "cases",
    "age_band": "cases",
    "offence_group": "cases",
    "contact_type": "contacts",
    "contact_outcome": "contacts",
    "termination_reason": "terminations",
}
LABELS = {
    "sentence_type": "Cases with sentence type {}",
    "rosh_level": "Cases at risk of serious harm level {}",
    "ogrs3_band": "Cases with an OGRS3 score of {}",
    "age_band": "Cases aged {} at the start",
    "offence_group": "Cases with index offence group {}",
    "contact_type": "Contacts of type {}",
    "contact_outcome": "Contacts with outcome {}",
    "termination_reason": "Terminations as {}",
}


@dataclass(frozen=True)
class Figure:
    quarter: str
    provider_code: str
    family: str
    figure: str
    count: int | None  # the count (a share's or rate's numerator)
    base: int | None  # what it is a share of (a rate's denominator); None for a plain count
    value: Decimal | None  # the figure: a count, a share or rate (0-1), or a mix's PSI against last quarter
    previous: tuple[Decimal | None, ...]  # the same figure for q-1, q-2, q-3, q-4 (None: no accepted return)
    national: Decimal | None
    change: Decimal | None  # against last quarter
    change_vs_mean: Decimal | None  # against the mean of the previous quarters there are (up to four)
    threshold: Decimal | None
    statistic: Decimal | None  # the test statistic: z, or the PSI
    test: str
    flagged: bool
    explanation: str


def _points(change: float) -> str:
    """A change of proportion in words: 0.0512 -> '+5.1 points'."""
    return f"{'+' if change >= 0 else '-'}{pct(abs(change))[:-1]} points"


def _pooled(tallies_: list[Tally]) -> Tally:
    base = [t.base for t in tallies_ if t.base is not None]
    return Tally(sum(t.count for t in tallies_), sum(base) if base else None)


def _series_value(t: Tally | None) -> float | None:
    if t is None:
        return None
    if t.base is None:
        return float(t.count)
    return t.count / t.base if t.base else None


def _changes(values: list[float | None], relative: bool) -> tuple[float | None, float | None]:
    now, before = values[0], values[1]
    history = [v for v in values[1:] if v is not None]
    mean = sum(history) / len(history) if history else None

    def diff(ref: float | None) -> float | None:
        if now is None or ref is None:
            return None
        if relative:
            return (now - ref) / ref if ref else None
        return now - ref

    return diff(before), diff(mean)


def _row(q, code, family, figure, series, national, change, vs_mean, threshold, statistic, test, flagged, words):
    values = [_series_value(t) for t in series]
    places = 0 if family in ("totals", VANISHED) else 4
    now = series[0]
    return Figure(
        str(q),
        code,
        family,
        figure,
        now.count,
        now.base,
        dp(values[0], places),
        tuple(dp(v, places) for v in values[1 : HISTORY_QUARTERS + 1]),
        dp(_series_value(national), places) if national is not None else None,
        dp(change, 4),
        dp(vs_mean, 4),
        dp(threshold, 4),
        dp(statistic, 4 if test == "PSI" else 2),
        test,
        flagged,
        words,
    )


def _total(q, code, figure, series, national, lim) -> Figure:
    now, before = series[0], series[1]
    change, vs_mean = _changes([_series_value(t) for t in series], relative=True)
    words = f"{now.count:,} {figure} in this quarter's return"
    if before is None:
        return _row(
            q,
            code,
            "totals",
            figure,
            series,
            national,
            None,
            vs_mean,
            lim["change"],
            None,
            "Poisson z",
            False,
            words + f"; national {national.count:,}. No accepted return last quarter: nothing to compare, not flagged.",
        )
    x1, x0 = now.count, before.count
    z = (x1 - x0) / math.sqrt(x1 + x0) if x1 + x0 else 0.0
    words += f"; last quarter {x0:,}"
    words += f" ({change:+.1%})" if change is not None else ""
    words += f"; national {national.count:,}."
    enough = max(x1, x0) >= lim["minimum"]
    flagged = enough and change is not None and abs(change) >= lim["change"] and abs(z) >= lim["z"]
    rule = f"a change of {lim['change']:.0%} or more either way with |z| at least {lim['z']:g}"
    if not enough:
        words += f" Too few to judge (fewer than {int(lim['minimum'])}): not flagged."
    elif flagged:
        words += f" Flagged: z {z:.2f}; flagged at {rule}."
    else:
        words += f" Not flagged (z {z:.2f}; flagged at {rule})."
    return _row(
        q,
        code,
        "totals",
        figure,
        series,
        national,
        change,
        vs_mean,
        lim["change"],
        z if enough else None,
        "Poisson z",
        flagged,
        words,
    )


def _share(q, code, family, figure, series, national, lim) -> Figure:
    now, before = series[0], series[1]
    values = [_series_value(t) for t in series]
    change, vs_mean = _changes(values, relative=False)
    if family == "service_level":
        words = f"{figure} met {now.count:,} of {now.base:,}"
        words += f" ({pct(values[0])})" if values[0] is not None else ""
    else:
        words = f"{LABELS[family].format(figure)}: {now.count:,} of {now.base:,} {BASES[family]}"
        words += f" ({pct(values[0])})" if values[0] is not None else ""
    if before is not None:
        words += f"; last quarter {before.count:,} of {before.base:,}"
        words += f" ({pct(values[1])})" if values[1] is not None else ""
    nat = _series_value(national)
    words += f"; national {pct(nat)}." if nat is not None else "; national: none."
    if before is None:
        return _row(
            q,
            code,
            family,
            figure,
            series,
            national,
            None,
            vs_mean,
            lim["change"],
            None,
            "two-proportion z",
            False,
            words + " No accepted return last quarter: nothing to compare, not flagged.",
        )
    enough = now.base >= lim["minimum"] and before.base >= lim["minimum"]
    z = two_proportion_z(now.count, now.base, before.count, before.base) if enough else None
    flagged = enough and abs(change) >= lim["change"] and abs(z) >= lim["z"]
    rule = f"a move of {pct(lim['change'])[:-1]} points or more either way with |z| at least {lim['z']:g}"
    if not enough:
        words += f" Too few to judge (fewer than {int(lim['minimum'])} this quarter or last): not flagged."
    elif flagged:
        words += f" Flagged: {_points(change)} (z {z:.2f}); flagged at {rule}."
    else:
        words += f" Not flagged ({_points(change)}, z {z:.2f}; flagged at {rule})."
    return _row(
        q, code, family, figure, series, national, change, vs_mean, lim["change"], z, "two-proportion z", flagged, words
    )


def _mix_of(family: str, t: dict | None) -> dict[str, int] | None:
    return None if t is None else {c: t[(family, c)].count for c in DISTRIBUTIONS[family]}


def _mix(q, code, family, quarters: list[dict | None], national: dict, lim) -> Figure:
    """The family's population stability index against last quarter (each previous quarter's against its own)."""
    mixes = [_mix_of(family, t) for t in quarters]
    psis = [
        population_stability_index(mixes[k], mixes[k + 1]) if mixes[k] and mixes[k + 1] else None
        for k in range(HISTORY_QUARTERS)
    ] + [None]
    n1 = sum(mixes[0].values())
    nat_psi = population_stability_index(mixes[0], _mix_of(family, national))
    label = f"The mix of {BASES[family]} by {family.replace('_', ' ')}"
    words = f"{label}: population stability index {psis[0]:.4f} against last quarter" if psis[0] is not None else ""
    df = len(DISTRIBUTIONS[family]) - 1
    if mixes[1] is None:
        words = f"{label}: no accepted return last quarter, nothing to compare, not flagged"
        threshold = None
        flagged = False
    else:
        n2 = sum(mixes[1].values())
        enough = n1 >= lim["minimum"] and n2 >= lim["minimum"]
        threshold = max(lim["psi"], CHI_SQUARE_1_IN_A_MILLION[df] * (1 / n1 + 1 / n2)) if enough else None
        flagged = enough and psis[0] >= threshold
        words += f" ({n1:,} {BASES[family]} now, {n2:,} then)"
        if not enough:
            words += f". Too few to judge (fewer than {int(lim['minimum'])} this quarter or last): not flagged"
        elif flagged:
            words += f". Flagged: the mix has moved (flagged from {threshold:.4f})"
        else:
            words += f". Not flagged (flagged from {threshold:.4f})"
    words += f"; against the national mix this quarter {nat_psi:.4f}."
    return Figure(
        str(q),
        code,
        family,
        MIX,
        n1,
        None,
        dp(psis[0]),
        tuple(dp(p) for p in psis[1 : HISTORY_QUARTERS + 1]),
        dp(nat_psi),
        None,
        None,
        dp(threshold),
        dp(psis[0]),
        "PSI",
        flagged,
        words,
    )


def _vanished(q, code, series: list[Tally | None], national: Tally, lim) -> Figure:
    now = series[0]
    values = [float(t.count) if t is not None else None for t in series]
    change, vs_mean = _changes(values, relative=False)
    if now is None:
        return Figure(
            str(q),
            code,
            VANISHED,
            VANISHED,
            None,
            None,
            None,
            tuple(dp(v, 0) for v in values[1:]),
            dp(national.count, 0),
            None,
            None,
            None,
            None,
            "none",
            False,
            "No accepted return last quarter: no cases to look for, not flagged.",
        )
    least = max(int(lim["minimum"]), math.ceil(lim["share"] * now.base))
    flagged = now.count >= least and now.count > 0
    words = (
        f"{now.count:,} of the {now.base:,} cases active at the end of last quarter are neither listed nor ended in "
        f"this return (RET-003 names each in the provider's feedback); national {national.count:,}."
    )
    rule = f"{least:,}: {int(lim['minimum'])} cases and {pct(lim['share'])} of those active"
    words += f" Flagged: flagged from {rule}." if flagged else f" Not flagged (flagged from {rule})."
    return Figure(
        str(q),
        code,
        VANISHED,
        VANISHED,
        now.count,
        now.base,
        dp(now.count, 0),
        tuple(dp(v, 0) for v in values[1:]),
        dp(national.count, 0),
        dp(change, 4),
        dp(vs_mean, 4),
        Decimal(least),
        None,
        "count and share",
        flagged,
        words,
    )


def compute(data: QuarterData, codes: list[str], lim: dict[str, dict[str, float]] | None = None) -> list[Figure]:
    """The report for ``codes`` that have an accepted return for the quarter, in the order of ``codes``."""
    q = data.quarter
    figures: dict[tuple[str, int], dict[tuple[str, str], Tally]] = {
        (code, 0): tallies(q, tables) for code, tables in data.current.items()
    }
    lost: dict[tuple[str, int], Tally] = {
        (code, 0): vanished(q, data.history[code][q - 1], tables)
        for code, tables in data.current.items()
        if q - 1 in data.history.get(code, {})
    }
    for code in codes:
        if code not in data.current:
            continue
        hist = data.history.get(code, {})
        by_k = {0: data.current[code]} | {k: hist[q - k] for k in range(1, HISTORY_QUARTERS + 1) if q - k in hist}
        figures |= {(code, k): tallies(q - k, by_k[k]) for k in by_k if k}
        lost |= {(code, k): vanished(q - k, by_k[k + 1], by_k[k]) for k in by_k if k and k + 1 in by_k}
    return assemble(q, codes, figures, lost, lim)


def assemble(
    q: Quarter,
    codes: list[str],
    figures: dict[tuple[str, int], dict[tuple[str, str], Tally]],
    lost: dict[tuple[str, int], Tally],
    lim: dict[str, dict[str, float]] | None = None,
) -> list[Figure]:
    """The report from each provider-quarter's tallies (``(code, k)``: quarter ``q - k``) and vanished cases
    (``(code, k)``: the return of ``q - k`` against the one of ``q - k - 1``). Every provider with tallies for
    ``q`` is in the national figures; rows only for ``codes`` (those with tallies for ``q``)."""
    lim = lim or limits()
    now = {code: t for (code, k), t in figures.items() if k == 0}
    keys = next(iter(now.values())).keys() if now else []
    national = {key: _pooled([t[key] for t in now.values()]) for key in keys}
    gone = [t for (_, k), t in lost.items() if k == 0]
    national_gone = _pooled(gone) if gone else Tally(0, 0)
    rows: list[Figure] = []
    for code in codes:
        if code not in now:
            continue
        quarters = [figures.get((code, k)) for k in range(HISTORY_QUARTERS + 1)]
        for figure in TOTALS:
            series = [t[("totals", figure)] if t else None for t in quarters]
            rows.append(_total(q, code, figure, series, national[("totals", figure)], lim["totals"]))
        for family, categories in DISTRIBUTIONS.items():
            for c in categories:
                series = [t[(family, c)] if t else None for t in quarters]
                rows.append(_share(q, code, family, c, series, national[(family, c)], lim[family]))
            rows.append(_mix(q, code, family, quarters, national, lim[family]))
        for m in SERVICE_LEVELS:
            series = [t[("service_level", m)] if t else None for t in quarters]
            rows.append(
                _share(q, code, "service_level", m, series, national[("service_level", m)], lim["service_level"])
            )
        rows.append(
            _vanished(q, code, [lost.get((code, k)) for k in range(HISTORY_QUARTERS + 1)], national_gone, lim[VANISHED])
        )
    return rows
