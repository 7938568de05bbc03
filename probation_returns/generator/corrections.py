"""An honest second version of a return: the provider corrects a few records, any field alike.

The yardstick for ``late_flip`` (benchmarks/integrity_false_positives.py): a resubmission that corrects
mistakes touches whatever fields were wrong, a deadline date now and then among them. ``SHARE`` of the cases
and of the breaches each get one field corrected, chosen evenly among those the record has a value in: a risk
level moved one step, an OGRS3 score by up to 5 points, an age by a year, an offence group, a termination
reason, or a date (sentence, first appointment, sentence plan, unpaid work arranged, escalation referral, breach
referral) moved by 1 to 3 days either way, as a typing slip is. A model, not a measurement of real
resubmissions (docs/integrity.md says so).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.generator.population import provider_index

SHARE = 0.05
ROSH = ("L", "M", "H", "VH")
DATES = {
    "cases": ("sentence_date", "first_appointment_date", "sentence_plan_date", "upw_arranged_date"),
    "breaches": ("referral_date",),
}
CASE_FIELDS = ("rosh_level", "ogrs3_2yr", "age_at_start", "index_offence_group", "termination_reason")


def _fix(rng: np.random.Generator, field: str, value, choices: list):
    if field == "rosh_level":
        i = ROSH.index(value)
        return ROSH[i + 1] if i == 0 else ROSH[i - 1] if i == len(ROSH) - 1 else ROSH[i + rng.choice([-1, 1])]
    if field == "ogrs3_2yr":
        return int(min(99, max(1, value + rng.choice([-1, 1]) * int(rng.integers(1, 6)))))
    if field == "age_at_start":
        return int(value + rng.choice([-1, 1]))
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=int(rng.choice([-1, 1]) * rng.integers(1, 4)))
    others = [c for c in choices if c != value]
    return others[int(rng.integers(len(others)))] if others else value


def _correct(rng: np.random.Generator, frame: pl.DataFrame, fields: tuple[str, ...]) -> pl.DataFrame:
    fields = tuple(f for f in fields if f in frame.columns)
    if frame.height == 0 or not fields:
        return frame
    picked = rng.choice(frame.height, size=max(1, round(SHARE * frame.height)), replace=False)
    columns = {f: frame[f].to_list() for f in fields}
    choices = {f: sorted({v for v in columns[f] if v is not None}) for f in fields}
    for row in sorted(int(i) for i in picked):
        present = [f for f in fields if columns[f][row] is not None]
        if not present:
            continue
        field = present[int(rng.integers(len(present)))]
        columns[field][row] = _fix(rng, field, columns[field][row], choices[field])
    return frame.with_columns(pl.Series(f, columns[f], dtype=frame.schema[f]) for f in fields)


def corrected(seed: int, code: str, quarter: Quarter, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The provider's second version of ``tables``: a few records corrected (see the module's docstring)."""
    rng = np.random.default_rng([seed, provider_index(code), quarter.ordinal, 27])
    out = dict(tables)
    out["cases"] = _correct(rng, tables["cases"], CASE_FIELDS + DATES["cases"])
    out["breaches"] = _correct(rng, tables["breaches"], DATES["breaches"])
    return out
