"""Proven reoffending: cohorts and the binary and frequency rates (the public definition).

- Cohort of provider P, quarter Q: people with a CO, SSO or LIC case starting in Q, excluding
  electronic-monitoring-only orders; one entry per ``pnc_id``, at the earliest start (ties broken
  by ``case_ref``). That start is the index date.
- A proven reoffence: a non-BREACH offence on or after the index date and before index + 12
  months, disposed of before index + 18 months (and on or before the extract's as-of date).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from probation_returns.calendar import Quarter, add_months

COHORT_SENTENCES = ("CO", "SSO", "LIC")


def _offset_months(col: str, months: int) -> pl.Expr:
    return pl.col(col).dt.offset_by(f"{months}mo")


def cohort(cases: pl.DataFrame, quarter: Quarter, person: str = "pnc_id") -> pl.DataFrame:
    """One row per person: ``person``, ``case_ref``, ``index_date``, ``ogrs3_2yr`` (typed ``cases``).

    ``person`` is ``pnc_id``, or ``pnc_hash`` for cases read back from the warehouse; ``em_only`` may
    be ``Y``/``N`` text or a boolean.
    """
    em = pl.col("em_only")
    em_only = (em == "Y") if cases.schema["em_only"] == pl.String else em.cast(pl.Boolean)
    return (
        cases.filter(
            pl.col("sentence_type").is_in(COHORT_SENTENCES)
            & ~em_only.fill_null(False)
            & pl.col("start_date").is_between(quarter.first_day, quarter.last_day)
        )
        .sort(person, "start_date", "case_ref")
        .unique(subset=person, keep="first", maintain_order=True)
        .select(person, "case_ref", pl.col("start_date").alias("index_date"), "ogrs3_2yr")
    )


def proven_reoffences(
    people: pl.DataFrame, extract: pl.DataFrame, as_of: dt.date, person: str = "pnc_id"
) -> pl.DataFrame:
    """Each person's count of proven reoffences (0 for none)."""
    counted = (
        extract.join(people.select(person, "index_date"), on=person, how="inner")
        .filter(
            (pl.col("offence_group") != "BREACH")
            & (pl.col("offence_date") >= pl.col("index_date"))
            & (pl.col("offence_date") < _offset_months("index_date", 12))
            & (pl.col("disposal_date") < _offset_months("index_date", 18))
            & (pl.col("disposal_date") <= as_of)
        )
        .group_by(person)
        .agg(pl.len().alias("reoffences"))
    )
    return people.join(counted, on=person, how="left").with_columns(pl.col("reoffences").fill_null(0))


def rates(people: pl.DataFrame, extract: pl.DataFrame, as_of: dt.date, quarter: Quarter) -> dict:
    """Cohort size, reoffenders, reoffences, binary and frequency rates, and final/interim."""
    counted = proven_reoffences(people, extract, as_of)
    n = counted.height
    reoffenders = int((counted["reoffences"] > 0).sum())
    reoffences = int(counted["reoffences"].sum())
    return {
        "cohort_size": n,
        "reoffenders": reoffenders,
        "reoffences": reoffences,
        "binary": reoffenders / n if n else None,
        "frequency": reoffences / reoffenders if reoffenders else None,
        "final": as_of >= add_months(quarter.last_day, 18),
    }
