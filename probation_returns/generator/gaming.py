"""Providers that game their measures: profiles the generator can switch on per provider.

A profile changes a provider's typed return the way a provider chasing its targets, not the truth, would
record it. Deadlines are the measures' own (``service_levels.deadline``), so "the due day" is the day the
measure counts up to. Every change is decided by the case's own dates and from the profile's first day
(``since``), never by which quarter's return is being written, so a case reads the same in every return
that holds it; a date is moved only within its own quarter, so what one return shows as not yet known the
next does not contradict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.generator.population import cohort, offences_for, provider_index
from probation_returns.measures.service_levels import deadline
from probation_returns.reference import providers

PROFILES = {
    "due_day_appointments": "first appointments recorded on the due business day (SL001R, SL002R)",
    "due_day_referrals": "breach referrals dated on the last allowed business day (AE)",
    "transfers": "community orders ending in failure recoded as transferred to the NPS (successful completion)",
    "phone_parking": "low-risk cases seen only by phone after their first three months (contact intensity)",
    "ogrs_inflation": "new cases' OGRS3 scores recorded 12 points higher (case mix, the outcome payment)",
    "resubmission": "a second version of the return that moves late deadline dates onto the due day (late flip)",
    "reoffending_focus": "work aimed at people likely to reoffend once; prolific reoffenders left to reoffend more "
    "(binary rate falls, reoffences per reoffender rise)",
}
# A profile that changes what people do, so the PNC extract, not the provider's return (``offences``).
PNC_PROFILES = ("reoffending_focus",)
FOCUS_UPTO = 4  # people who would have reoffended at most this many times in their year are the "near misses"
FOCUS_SPARED = 0.6  # the share of them who, with the provider's help, do not reoffend
FOCUS_EXTRA = 2  # further reoffences of each of the others who reoffend, left to it
# A profile whose gamed return is a second version, sent after the honest first one (``dataset.generate``
# writes it under this folder of its output, a landing folder of its own).
SECOND_VERSION = {"resubmission": "resubmissions"}
OGRS_INFLATION = 12  # points added to a new case's OGRS3 two-year score
PARKED_AFTER_DAYS = 91  # a low-risk case is "parked" on the phone after its first three months


@dataclass(frozen=True)
class Gaming:
    profile: str
    since: Quarter | None = None  # None: from the first quarter generated

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown gaming profile {self.profile!r}: one of {', '.join(PROFILES)}")

    @property
    def first_day(self) -> dt.date:
        return self.since.first_day if self.since else dt.date.min


def parse(specs: list[str]) -> dict[str, Gaming]:
    """``["C05:transfers", "N02:due_day_referrals:2016Q1"]`` -> each provider's profile (from a quarter on)."""
    out: dict[str, Gaming] = {}
    for spec in specs:
        parts = spec.strip().split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(f"--gaming {spec!r}: write PROVIDER:profile or PROVIDER:profile:YYYYQn")
        code = parts[0].upper()
        if code not in providers():
            raise ValueError(f"--gaming {spec!r}: {code} is not a provider code")
        if code in out:
            raise ValueError(f"--gaming {spec!r}: {code} already has a profile")
        out[code] = Gaming(parts[1], Quarter.parse(parts[2]) if len(parts) == 3 else None)
    return out


def game(gaming: Gaming, tables: dict[str, pl.DataFrame], quarter: Quarter) -> dict[str, pl.DataFrame]:
    """The provider's typed return (as ``quarter.provider_return`` gives it) as the profile records it."""
    since = gaming.first_day
    if since > quarter.last_day or gaming.profile in PNC_PROFILES:
        return tables
    change = {
        "due_day_appointments": _due_day_appointments,
        "due_day_referrals": _due_day_referrals,
        "transfers": _transfers,
        "phone_parking": _phone_parking,
        "ogrs_inflation": _ogrs_inflation,
        "resubmission": _resubmission,
    }[gaming.profile]
    return change(dict(tables), since)


def _same_quarter(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (a.dt.year() == b.dt.year()) & (a.dt.quarter() == b.dt.quarter())


def _due_day_appointments(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """A first appointment made in time is recorded on the due day (the deadline SL001R or SL002R counts to)."""
    first = pl.col("first_appointment_date")
    due = (
        pl.when(pl.col("sentence_type").is_in(["CO", "SSO"]))
        .then(deadline("start_date", 5))
        .otherwise(deadline("start_date", 1))
    )
    cases = t["cases"].with_columns(_due=due)
    move = (
        first.is_not_null()
        & (first >= since)
        & (first < pl.col("_due"))
        & _same_quarter(first, pl.col("_due"))
        & (pl.col("termination_date").is_null() | (pl.col("_due") <= pl.col("termination_date")))
    )
    moved = cases.filter(move).select("case_ref", _old=first, _new=pl.col("_due"))
    t["cases"] = cases.with_columns(
        pl.when(move).then(pl.col("_due")).otherwise(first).alias("first_appointment_date")
    ).drop("_due")
    return _move_first_contacts(t, moved)


def _move_first_contacts(t: dict[str, pl.DataFrame], moved: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The first appointment's own contact moves with it (``moved``: case_ref, _old and _new dates)."""
    contacts = t["contacts"].join(moved, on="case_ref", how="left")
    is_first = ((pl.col("contact_date") == pl.col("_old")) & (pl.col("contact_type") == "F2F")).fill_null(False)
    # A missed first appointment's follow-up keeps its distance from it (and is not yet known past quarter end).
    followup = pl.col("followup_date") + (pl.col("_new") - pl.col("_old"))
    followup = pl.when(_same_quarter(followup, pl.col("_new"))).then(followup)
    t["contacts"] = _tidy_contacts(
        contacts.with_columns(
            pl.when(is_first).then(pl.col("_new")).otherwise(pl.col("contact_date")).alias("contact_date"),
            pl.when(is_first).then(followup).otherwise(pl.col("followup_date")).alias("followup_date"),
        ),
        t["contacts"].columns,
    )
    return t


def _tidy_contacts(contacts: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return (
        contacts.select(columns)
        .unique(subset=["case_ref", "contact_date", "contact_type"], keep="first", maintain_order=True)
        .sort("contact_date", "case_ref", "contact_type")
    )


def _due_day_referrals(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """A breach referred in time is dated on the last allowed day (the deadline AE counts to)."""
    referral = pl.col("referral_date")
    due = deadline("awareness_date", 8)
    move = referral.is_not_null() & (referral >= since) & (referral < due) & _same_quarter(referral, due)
    t["breaches"] = t["breaches"].with_columns(pl.when(move).then(due).otherwise(referral).alias("referral_date"))
    return t


def _transfers(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """Community orders ending in failure are recorded as transferred to the NPS, which takes them out of
    successful completion's denominator."""
    failed = (
        pl.col("sentence_type").is_in(["CO", "SSO"])
        & pl.col("termination_reason").is_in(["FAILURE_TO_COMPLY", "FURTHER_OFFENCE"])
        & (pl.col("termination_date") >= since)
    )
    t["cases"] = t["cases"].with_columns(
        pl.when(failed)
        .then(pl.lit("TRANSFERRED_NPS"))
        .otherwise(pl.col("termination_reason"))
        .alias("termination_reason")
    )
    return t


def _phone_parking(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """Low-risk cases past their first three months are seen only by phone (their first appointment stays)."""
    cases = t["cases"].select("case_ref", "rosh_level", "start_date", "first_appointment_date")
    contacts = t["contacts"].join(cases, on="case_ref", how="left")
    parked = (
        (pl.col("rosh_level") == "L")
        & (pl.col("contact_date") >= since)
        & (pl.col("contact_date") > pl.col("start_date") + dt.timedelta(days=PARKED_AFTER_DAYS))
        & (pl.col("contact_date") != pl.col("first_appointment_date")).fill_null(True)
    )
    t["contacts"] = _tidy_contacts(
        contacts.with_columns(
            pl.when(parked.fill_null(False))
            .then(pl.lit("PHONE"))
            .otherwise(pl.col("contact_type"))
            .alias("contact_type")
        ),
        t["contacts"].columns,
    )
    return t


def _ogrs_inflation(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """New cases are scored as riskier than they are: a higher expected reoffending rate lowers the adjusted
    binary rate, which the outcome payment rewards."""
    inflated = pl.min_horizontal(pl.col("ogrs3_2yr") + OGRS_INFLATION, pl.lit(99)).cast(pl.Int64)
    t["cases"] = t["cases"].with_columns(
        pl.when(pl.col("start_date") >= since).then(inflated).otherwise(pl.col("ogrs3_2yr")).alias("ogrs3_2yr")
    )
    return t


def _first_appointment_due() -> pl.Expr:
    return (
        pl.when(pl.col("sentence_type").is_in(["CO", "SSO"]))
        .then(deadline("start_date", 5))
        .otherwise(deadline("start_date", 1))
    )


def _onto_due(event: str, due: pl.Expr, since: dt.date) -> pl.Expr:
    """A recorded event after its due day (both in one quarter, the due day from ``since``) goes onto it."""
    late = pl.col(event).is_not_null() & (due >= since) & (pl.col(event) > due) & _same_quarter(pl.col(event), due)
    return pl.when(late.fill_null(False)).then(due).otherwise(pl.col(event)).alias(event)


def _resubmission(t: dict[str, pl.DataFrame], since: dt.date) -> dict[str, pl.DataFrame]:
    """The second version of the return: each late first appointment, sentence plan, unpaid work arrangement and
    breach referral dated on its due day, so that late work reads as in time; nothing else changes (but the first
    appointment's own contact, which moves with it). The sentence plan's due day is counted from the first
    appointment as now recorded."""
    cases = t["cases"]
    moved = cases.with_columns(_onto_due("first_appointment_date", _first_appointment_due(), since))
    changed = pl.col("first_appointment_date") != pl.col("_was")
    firsts = moved.with_columns(_was=cases["first_appointment_date"]).filter(changed.fill_null(False))
    moved = moved.with_columns(
        _onto_due("sentence_plan_date", deadline("first_appointment_date", 15), since),
        _onto_due("upw_arranged_date", deadline("start_date", 7), since),
    )
    t["cases"] = moved
    t["breaches"] = t["breaches"].with_columns(_onto_due("referral_date", deadline("awareness_date", 8), since))
    return _move_first_contacts(t, firsts.select("case_ref", _old="_was", _new="first_appointment_date"))


def offences(gaming: Gaming | None, seed: int, code: str, quarters: list[Quarter], scale: float) -> pl.DataFrame:
    """The PNC records of ``code``'s cohorts (``population.offences_for``), as the profile changes what people do:
    ``reoffending_focus``, for cohorts starting from ``since``, spares ``FOCUS_SPARED`` of those who would have
    reoffended at most ``FOCUS_UPTO`` times in their year and gives each who would have reoffended more
    ``FOCUS_EXTRA`` more."""
    if gaming is None or gaming.profile not in PNC_PROFILES:
        return offences_for(seed, code, quarters, scale)
    out = []
    for q in sorted(quarters):
        records = offences_for(seed, code, [q], scale)
        if q.first_day >= gaming.first_day:
            records = _focus(
                np.random.default_rng([seed, provider_index(code), q.ordinal, 28]), q, records, seed, code, scale
            )
        out.append(records)
    return pl.concat(out)


def _focus(
    rng: np.random.Generator, q: Quarter, records: pl.DataFrame, seed: int, code: str, scale: float
) -> pl.DataFrame:
    columns = records.columns
    starts = cohort(seed, code, q, scale).cases.group_by("pnc_id").agg(pl.col("start_date").min().alias("_start"))
    records = records.with_row_index("_row").join(starts, on="pnc_id", how="left")
    within = (
        (pl.col("offence_group") != "BREACH")
        & (pl.col("offence_date") >= pl.col("_start"))
        & (pl.col("offence_date") < pl.col("_start") + dt.timedelta(days=365))
    ).fill_null(False)
    records = records.with_columns(_within=within, _count=within.sum().over("pnc_id"))
    near = records.filter(pl.col("_within") & (pl.col("_count") <= FOCUS_UPTO))["pnc_id"].unique().sort()
    spared = near.filter(pl.Series(rng.random(near.len()) < FOCUS_SPARED))
    kept = records.filter(~(pl.col("_within") & pl.col("pnc_id").is_in(spared.implode())))
    prolific = (
        kept.filter(pl.col("_within") & (pl.col("_count") > FOCUS_UPTO)).sort("_row").unique("pnc_id", keep="first")
    )
    more = [
        prolific.with_columns(
            pl.min_horizontal(
                pl.col("offence_date") + dt.timedelta(days=7 * k), pl.col("_start") + dt.timedelta(days=364)
            ).alias("offence_date"),
            (pl.col("disposal_date") + dt.timedelta(days=7 * k)).alias("disposal_date"),
        )
        for k in range(1, FOCUS_EXTRA + 1)
    ]
    return pl.concat([kept, *more]).sort("_row").select(columns)
