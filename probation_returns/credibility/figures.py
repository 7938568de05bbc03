"""The main figures of one provider's accepted return for one quarter, as counts over a base.

Every figure is a ``Tally``: a count, and the base it is a share of (None for a plain count). Service levels are
counted by ``measures.service_levels.counts``, the code the ministry return's service levels come from, so the
numerators and denominators here are the return's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from expectations.catalogue import Params, vanished_cases
from probation_returns.calendar import Quarter
from probation_returns.measures.service_levels import counts
from probation_returns.spec import (
    CONTACT_OUTCOMES,
    CONTACT_TYPES,
    OFFENCE_GROUPS,
    ROSH_LEVELS,
    SENTENCE_TYPES,
    TERMINATION_REASONS,
)

# OGRS3 two-year score bands as probation uses them (low, medium, high, very high), and age bands at the start of
# the order as the ministry's offender management statistics group them.
OGRS3_BANDS = {"0-49": (0, 49), "50-74": (50, 74), "75-89": (75, 89), "90-100": (90, 100)}
AGE_BANDS = {"18-20": (18, 20), "21-24": (21, 24), "25-29": (25, 29), "30-39": (30, 39), "40-49": (40, 49)}
AGE_TOP = "50+"

# family -> its categories, in the order shown; each is a share of the family's base (a distribution, with a mix row)
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "sentence_type": SENTENCE_TYPES,
    "rosh_level": ROSH_LEVELS,
    "ogrs3_band": tuple(OGRS3_BANDS),
    "age_band": (*AGE_BANDS, AGE_TOP),
    "offence_group": OFFENCE_GROUPS,
    "contact_type": CONTACT_TYPES,
    "contact_outcome": CONTACT_OUTCOMES,
    "termination_reason": TERMINATION_REASONS,
}
TOTALS = ("cases", "contacts", "breaches", "terminations")
SERVICE_LEVELS = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")
# The version of what ``tallies`` and ``vanished`` count (and of the measures' ``counts`` they use): figures are
# stored under it (credibility.store), so a change to their definition must change it or old figures are reused.
DEFINITION = "1"
MIX = "mix"  # the figure name of a distribution's population stability index row
VANISHED = "vanished_cases"

CASE_COLUMNS = (
    "case_ref",
    "sentence_type",
    "start_date",
    "rosh_level",
    "ogrs3_2yr",
    "age_at_start",
    "index_offence_group",
    "first_appointment_date",
    "first_appointment_attended",
    "sentence_plan_date",
    "upw_required",
    "upw_arranged_date",
    "termination_date",
    "termination_reason",
)
COLUMNS = (*CASE_COLUMNS, "contact_date", "contact_type", "outcome", "followup_date", "awareness_date")
COLUMNS += ("referral_date", "pack_complete")


@dataclass(frozen=True)
class Tally:
    count: int
    base: int | None = None  # what the count is a share of (None: a plain count)


def _banded(column: str, bands: dict[str, tuple[int, int]], top: str | None = None) -> pl.Expr:
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for name, (low, high) in bands.items():
        expr = expr.when(pl.col(column).is_between(low, high)).then(pl.lit(name))
    return expr.otherwise(pl.lit(top)) if top else expr


def _shares(frame: pl.DataFrame, family: str, column: str | pl.Expr) -> dict[tuple[str, str], Tally]:
    values = frame.select((pl.col(column) if isinstance(column, str) else column).alias("v"))["v"]
    found = values.value_counts()
    tally = dict(zip(found["v"].to_list(), found["count"].to_list(), strict=True))
    base = frame.height
    return {(family, k): Tally(int(tally.get(k, 0)), base) for k in DISTRIBUTIONS[family]}


def tallies(quarter: Quarter, tables: dict[str, pl.DataFrame]) -> dict[tuple[str, str], Tally]:
    """``{(family, figure): Tally}`` of one accepted return (not the mix or vanished rows, which compare two)."""
    cases, contacts, breaches = tables["cases"], tables["contacts"], tables["breaches"]
    ended = cases.filter(pl.col("termination_date").is_between(quarter.first_day, quarter.last_day).fill_null(False))
    out = {
        ("totals", "cases"): Tally(cases.height),
        ("totals", "contacts"): Tally(contacts.height),
        ("totals", "breaches"): Tally(breaches.height),
        ("totals", "terminations"): Tally(ended.height),
    }
    out |= _shares(cases, "sentence_type", "sentence_type")
    out |= _shares(cases, "rosh_level", "rosh_level")
    out |= _shares(cases, "ogrs3_band", _banded("ogrs3_2yr", OGRS3_BANDS))
    out |= _shares(cases, "age_band", _banded("age_at_start", AGE_BANDS, AGE_TOP))
    out |= _shares(cases, "offence_group", "index_offence_group")
    out |= _shares(contacts, "contact_type", "contact_type")
    out |= _shares(contacts, "contact_outcome", "outcome")
    out |= _shares(ended, "termination_reason", "termination_reason")
    levels = counts(quarter, cases, contacts, breaches)
    out |= {("service_level", m): Tally(*levels[m]) for m in SERVICE_LEVELS}
    return out


def active_at_end(quarter: Quarter, cases: pl.DataFrame) -> list[str]:
    """Case references active at the end of ``quarter`` in its return: no termination date, or a later one (as
    RET-003 reads the previous accepted return)."""
    open_ = pl.col("termination_date").is_null() | (pl.col("termination_date") > quarter.last_day)
    return cases.filter(open_)["case_ref"].to_list()


def vanished(quarter: Quarter, previous: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]) -> Tally:
    """ESFA's check: cases active at the end of last quarter's return that this return neither lists nor ends,
    over the cases active then. The cases are RET-003's, by the rule's own function."""
    before = active_at_end(quarter - 1, previous["cases"])
    params = Params("", False, str(quarter), quarter.first_day, quarter.last_day, previous_active=tuple(before))
    return Tally(len(vanished_cases(params, {"cases": tables["cases"]})), len(before))
