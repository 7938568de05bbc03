"""One provider's return for one quarter, as its case-management system would export it."""

from __future__ import annotations

import numpy as np
import polars as pl

from probation_returns.calendar import Quarter, add_business_days
from probation_returns.generator.population import active_cases, provider_index
from probation_returns.spec import DATE_COLUMNS, TABLES

CONTACT_TYPE_MIX = (("F2F", 0.80), ("VIDEO", 0.06), ("PHONE", 0.14))
OUTCOME_MIX = (("ATTENDED", 0.85), ("FAILED_TO_ATTEND", 0.10), ("ACCEPTABLE_ABSENCE", 0.05))
FOLLOWUP_ON_TIME = 0.85  # follow-up of a missed appointment within 5 business days
NO_CONTACT_MONTH = 0.02  # case-months with no appointment at all


def provider_return(seed: int, code: str, quarter: Quarter, scale: float) -> dict[str, pl.DataFrame]:
    """The three tables, typed, with everything after the quarter's last day not yet known."""
    cases, breaches = active_cases(seed, code, quarter, scale)
    last = quarter.last_day
    cases = cases.filter(pl.col("start_date") <= last)
    future = {c: pl.when(pl.col(c) <= last).then(pl.col(c)) for c in DATE_COLUMNS["cases"]}
    cases = (
        cases.with_columns(
            pl.when(pl.col("termination_date") <= last).then(pl.col("termination_reason")).alias("termination_reason"),
            pl.when(pl.col("first_appointment_date") <= last)
            .then(pl.col("first_appointment_attended"))
            .alias("first_appointment_attended"),
        )
        .with_columns(**future)
        .sort("start_date", "case_ref")
    )

    breaches = (
        breaches.join(cases.select("case_ref"), on="case_ref", how="semi")
        .filter(
            pl.col("awareness_date").is_between(quarter.first_day, last)
            | pl.col("referral_date").is_between(quarter.first_day, last)
        )
        .filter(pl.col("awareness_date") <= last)
        .with_columns(
            pl.when(pl.col("referral_date") <= last).then(pl.col("pack_complete")).alias("pack_complete"),
            pl.when(pl.col("referral_date") <= last).then(pl.col("referral_date")).alias("referral_date"),
        )
        .sort("awareness_date", "breach_ref")
    )
    rng = np.random.default_rng([seed, provider_index(code), quarter.ordinal, 1])
    contacts = _contacts(rng, cases, quarter)
    return {
        "cases": cases.select(TABLES["cases"]),
        "contacts": contacts.select(TABLES["contacts"]),
        "breaches": breaches.select(TABLES["breaches"]),
    }


def _mix(rng: np.random.Generator, mix, n: int) -> np.ndarray:
    keys = np.array([k for k, _ in mix])
    return keys[rng.choice(len(mix), size=n, p=[p for _, p in mix])]


def _contacts(rng: np.random.Generator, cases: pl.DataFrame, quarter: Quarter) -> pl.DataFrame:
    """The first appointment, then appointments through each month of supervision in the quarter."""
    first_q = np.datetime64(quarter.first_day, "D")
    last_q = np.datetime64(quarter.last_day, "D")
    ref = cases["case_ref"].to_numpy()
    start = cases["start_date"].to_numpy()
    first = cases["first_appointment_date"].to_numpy()
    attended = cases["first_appointment_attended"].to_numpy()
    ends = cases["termination_date"].to_numpy()
    end = np.where(np.isnat(ends), last_q, ends)

    # The first appointment itself, when it fell in this quarter.
    f = (~np.isnat(first)) & (first >= first_q) & (first <= last_q)
    parts = [
        {
            "case_ref": ref[f],
            "contact_date": first[f],
            "contact_type": np.full(int(f.sum()), "F2F"),
            "outcome": np.where(attended[f] == "Y", "ATTENDED", "FAILED_TO_ATTEND"),
        }
    ]
    # Then per month: weekly-ish in the first three months, monthly later.
    for m_first, m_last in quarter.months():
        mf, ml = np.datetime64(m_first, "D"), np.datetime64(m_last, "D")
        lo = np.maximum(mf, np.where(np.isnat(first), start, first) + np.timedelta64(1, "D"))
        hi = np.minimum(ml, end)
        live = hi >= lo
        months_in = (mf - start).astype(np.int64) / 30.44
        lam = np.where(months_in < 3, 0.9, 0.35)
        count = np.where(live & (rng.random(len(ref)) >= NO_CONTACT_MONTH), 1 + rng.poisson(lam), 0)
        idx = np.repeat(np.arange(len(ref)), count)
        span = (hi - lo).astype(np.int64)[idx] + 1
        date = lo[idx] + (rng.random(len(idx)) * span).astype(np.int64).astype("timedelta64[D]")
        parts.append(
            {
                "case_ref": ref[idx],
                "contact_date": date,
                "contact_type": _mix(rng, CONTACT_TYPE_MIX, len(idx)),
                "outcome": _mix(rng, OUTCOME_MIX, len(idx)),
            }
        )
    text = dict.fromkeys(("case_ref", "contact_type", "outcome"), pl.String)
    frame = pl.concat([pl.DataFrame(p, schema_overrides=text) for p in parts])
    n = frame.height
    fta = frame["outcome"].to_numpy() == "FAILED_TO_ATTEND"
    dates = frame["contact_date"].to_numpy()
    lag = np.where(rng.random(n) < FOLLOWUP_ON_TIME, rng.integers(1, 6, n), rng.integers(6, 15, n))
    follow = np.where(fta, add_business_days(dates, lag), np.datetime64("NaT"))
    follow = np.where(follow <= last_q, follow, np.datetime64("NaT"))
    return (
        frame.with_columns(followup_date=pl.Series(follow.astype("datetime64[D]")))
        .unique(subset=["case_ref", "contact_date", "contact_type"], keep="first", maintain_order=True)
        .sort("contact_date", "case_ref", "contact_type")
    )
