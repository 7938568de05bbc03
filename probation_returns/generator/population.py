"""Synthetic supervision cases over their whole life, one start-quarter cohort at a time.

A cohort is every case a provider starts in one quarter. It is drawn from its own random stream,
seeded by (seed, provider, quarter), so a quarter's cohort is the same whatever range of quarters
is generated, and a return for quarter Q (the cases active in Q) is the same in every run.

The rates below are the calibration: they come from ../shared/reference/calibration.md and the
published CRC service-level ranges; docs/synthetic-data.md explains each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from probation_returns.calendar import Quarter, add_business_days
from probation_returns.measures.payments import ONE_YEAR_OFFSET as OGRS_ONE_YEAR_OFFSET
from probation_returns.pnc import format_many
from probation_returns.reference import Provider, providers
from probation_returns.spec import OFFENCE_GROUPS, TERMINATION_REASONS


@dataclass(frozen=True)
class TypeProfile:
    """What differs between CRC and NPS caseloads."""

    sentence_mix: dict[str, float]
    rosh_mix: dict[str, float]
    male_share: float
    duration_months: dict[str, tuple[tuple[int, ...], tuple[float, ...]]]
    reoffences_per_reoffender: float
    max_duration_quarters: int


CRC = TypeProfile(
    sentence_mix={"CO": 0.45, "SSO": 0.25, "LIC": 0.20, "PSS": 0.10},
    rosh_mix={"L": 0.52, "M": 0.45, "H": 0.028, "VH": 0.002},
    male_share=0.85,
    duration_months={
        "CO": ((6, 9, 12, 18, 24), (0.25, 0.20, 0.30, 0.13, 0.12)),
        "SSO": ((6, 9, 12, 18, 24), (0.20, 0.20, 0.30, 0.15, 0.15)),
        "LIC": ((2, 3, 6, 9, 12), (0.25, 0.25, 0.25, 0.15, 0.10)),
        "PSS": ((12,), (1.0,)),
    },
    reoffences_per_reoffender=4.75,
    max_duration_quarters=9,
)
NPS = TypeProfile(
    sentence_mix={"CO": 0.22, "SSO": 0.13, "LIC": 0.55, "PSS": 0.10},
    rosh_mix={"L": 0.02, "M": 0.25, "H": 0.62, "VH": 0.11},
    male_share=0.94,
    duration_months={
        "CO": ((12, 18, 24, 36), (0.3, 0.3, 0.25, 0.15)),
        "SSO": ((12, 18, 24), (0.4, 0.3, 0.3)),
        "LIC": ((12, 24, 36, 48, 60, 72), (0.1, 0.15, 0.2, 0.2, 0.2, 0.15)),
        "PSS": ((12,), (1.0,)),
    },
    reoffences_per_reoffender=4.08,
    max_duration_quarters=25,
)

OFFENCE_MIX = dict(zip(OFFENCE_GROUPS, (0.20, 0.03, 0.02, 0.22, 0.05, 0.10, 0.04, 0.06, 0.05, 0.04, 0.11, 0.08)))

# The providers' practice, drawn once per provider from these centres (published national ranges).
SERVICE_LEVEL_CENTRES = {
    "sl001": 0.957,  # initial contact, community sentences (published 93.8-97.6%)
    "sl002": 0.958,  # initial contact, licence (93.9-97.8%)
    "sl003": 0.925,  # sentence plan within 15 business days
    "sl006": 0.875,  # unpaid work arranged (82.7-89.1%)
    "ae": 0.915,  # breach referral timeliness (86.6-92.1%), of the 97% referred
    "pack": 0.925,  # breach pack complete
}
COMPLETION_CENTRE = 0.75  # successful completion, national average (seed 001)
COMPLETION_OVERRIDES = {"C14": 0.62}  # Norfolk & Suffolk (seed 001)
REOFFENDING_EFFECT = 0.955  # reoffending against baseline: 45.6% vs 47.5% for all CRCs, Oct-Dec 2015


def provider_index(code: str) -> int:
    return list(providers()).index(code)


def profile(provider: Provider) -> TypeProfile:
    return CRC if provider.is_crc else NPS


def _mean_months(p: TypeProfile) -> float:
    total = 0.0
    for st, share in p.sentence_mix.items():
        months, probs = p.duration_months[st]
        total += share * float(np.dot(months, probs))
    return total


def starts_per_quarter(provider: Provider, scale: float) -> int:
    """Starts a quarter so that the active caseload sits near the reference ``typical_caseload``."""
    # Early terminations shorten a quarter of cases by about half on average.
    mean_quarters = _mean_months(profile(provider)) * 0.88 / 3.0
    return max(1, int(round(provider.typical_caseload * scale / mean_quarters)))


@lru_cache(maxsize=64)
def _practice(seed: int, code: str) -> dict[str, float]:
    """Each provider's own performance level, fixed for the run's seed."""
    rng = np.random.default_rng([seed, provider_index(code), 999_999])
    practice = {k: float(np.clip(rng.normal(c, 0.012), 0.5, 0.995)) for k, c in SERVICE_LEVEL_CENTRES.items()}
    practice["completion"] = float(
        np.clip(rng.normal(COMPLETION_OVERRIDES.get(code, COMPLETION_CENTRE), 0.015), 0.4, 0.95)
    )
    return practice


@lru_cache(maxsize=64)
def _logit_mean_for(mean_p1: float) -> float:
    """The centre of a logit-normal (sd 1) whose mean is ``mean_p1`` (bisection on a fixed grid)."""
    z = np.sqrt(2) * np.array([float(x) for x in np.linspace(-3, 3, 241)])
    w = np.exp(-(z**2) / 4)
    w /= w.sum()
    lo, hi = -6.0, 6.0
    for _ in range(60):
        mid = (lo + hi) / 2
        mean = float(np.dot(w, 1 / (1 + np.exp(-(mid + z / np.sqrt(2))))))
        lo, hi = (mid, hi) if mean < mean_p1 else (lo, mid)
    return (lo + hi) / 2


def _choice(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    keys = list(mix)
    probs = np.array([mix[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=probs / probs.sum())]


def _bdays(start: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """``lag`` business days after ``start``; lag 0 is the same day."""
    return np.where(lag == 0, start, add_business_days(start, lag.astype(np.int64)))


def _lags(
    rng: np.random.Generator, n: int, on_time: float, within: int, late_upto: int, earliest: int = 1
) -> np.ndarray:
    """Business-day lags: on time (earliest..within) with probability ``on_time``, else late."""
    ok = rng.random(n) < on_time
    return np.where(ok, rng.integers(earliest, within + 1, n), rng.integers(within + 1, late_upto + 1, n))


def case_ref_for(provider_idx: int, serials: np.ndarray) -> np.ndarray:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[(provider_idx + serials // 1_000_000) % 26]
    return np.char.add(letters.astype("U1"), np.char.zfill((serials % 1_000_000).astype("U6"), 6))


@dataclass
class Cohort:
    cases: pl.DataFrame  # every column of the cases table, typed, over the case's whole life
    breaches: pl.DataFrame  # every breach over the case's life
    offences: pl.DataFrame  # the person's PNC record around the case (for the reoffending extract)


def cohort(seed: int, code: str, quarter: Quarter, scale: float) -> Cohort:
    """Every case ``code`` starts in ``quarter``, with its whole history."""
    return _cohort(seed, code, quarter.ordinal, scale)


@lru_cache(maxsize=256)
def _cohort(seed: int, code: str, ordinal: int, scale: float) -> Cohort:
    provider = providers()[code]
    prof = profile(provider)
    quarter = Quarter.from_ordinal(ordinal)
    pidx = provider_index(code)
    rng = np.random.default_rng([seed, pidx, ordinal])
    practice = _practice(seed, code)
    n = starts_per_quarter(provider, scale)

    serial = ordinal * n + np.arange(n, dtype=np.int64)
    case_ref = case_ref_for(pidx, serial)
    q_first = np.datetime64(quarter.first_day, "D")
    q_days = (quarter.last_day - quarter.first_day).days + 1
    start = q_first + rng.integers(0, q_days, n).astype("timedelta64[D]")

    sentence_type = _choice(rng, prof.sentence_mix, n)
    community = np.isin(sentence_type, ["CO", "SSO"])
    sentence_lag = np.where(community, rng.geometric(0.25, n) - 1, rng.integers(60, 1800, n))
    sentence_date = start - sentence_lag.astype("timedelta64[D]")

    rosh = _choice(rng, prof.rosh_mix, n)
    logit_p1 = rng.normal(_logit_mean_for(provider.baseline_mean_p1), 1.0, n)
    p2 = 1 / (1 + np.exp(-(logit_p1 + OGRS_ONE_YEAR_OFFSET)))
    ogrs3 = np.clip(np.round(p2 * 100), 1, 99).astype(np.int64)
    age = np.minimum(18 + np.floor(rng.gamma(2.0, 7.0, n)), 90).astype(np.int64)
    sex = _choice(rng, {"M": prof.male_share, "F": 0.99 - prof.male_share, "U": 0.01}, n)
    offence = _choice(rng, OFFENCE_MIX, n)
    em_only = np.where(community & (rng.random(n) < 0.03), "Y", "N")

    # First appointment: 5 business days for community sentences, 1 for licences (SL001R, SL002R).
    first_lag = np.where(
        community,
        _lags(rng, n, practice["sl001"], 5, 15),
        _lags(rng, n, practice["sl002"], 1, 8, earliest=0),
    )
    first_appt = _bdays(start, first_lag)
    attended = np.where(rng.random(n) < 0.9, "Y", "N")

    plan_lag = _lags(rng, n, practice["sl003"], 15, 30)
    has_plan = (attended == "Y") | (rng.random(n) < 0.4)
    plan_date = np.where(has_plan, _bdays(first_appt, plan_lag + np.where(attended == "Y", 0, 5)), np.datetime64("NaT"))

    upw_required = np.where(community & (rng.random(n) < 0.45), "Y", "N")
    upw_lag = _lags(rng, n, practice["sl006"], 7, 25)
    upw_date = np.where((upw_required == "Y") & (rng.random(n) < 0.97), _bdays(start, upw_lag), np.datetime64("NaT"))

    high_risk = np.isin(rosh, ["H", "VH"])
    refer = provider.is_crc & (high_risk | (rng.random(n) < 0.03))
    # High-risk cases are referred for risk review at allocation; a few others later on.
    escalation_lag = np.where(high_risk, 0, rng.integers(1, 21, n))
    escalation = np.where(refer, _bdays(start, escalation_lag), np.datetime64("NaT"))

    # Termination: reasons so that successful completion is near the provider's rate.
    done = practice["completion"] * 0.975
    reason_mix = {
        "COMPLETED": done * 0.87,
        "EARLY_GOOD_PROGRESS": done * 0.13,
        "FAILURE_TO_COMPLY": (0.975 - done) * 0.6,
        "FURTHER_OFFENCE": (0.975 - done) * 0.3,
        "OTHER": (0.975 - done) * 0.1,
        "TRANSFERRED_NPS": 0.02 if provider.is_crc else 0.0,
        "DIED": 0.005 if provider.is_crc else 0.025,
    }
    reason = _choice(rng, reason_mix, n)
    months = np.zeros(n)
    for st, (choices, probs) in prof.duration_months.items():
        mask = sentence_type == st
        months[mask] = rng.choice(np.array(choices, dtype=float), size=int(mask.sum()), p=probs)
    early = ~np.isin(reason, ["COMPLETED", "EARLY_GOOD_PROGRESS"])
    fraction = np.where(
        reason == "EARLY_GOOD_PROGRESS", rng.uniform(0.6, 0.9, n), np.where(early, rng.uniform(0.15, 0.9, n), 1.0)
    )
    duration_days = np.maximum(np.round(months * 30.44 * fraction), 14).astype(np.int64)
    cap = prof.max_duration_quarters * 91 - q_days
    termination = start + np.minimum(duration_days, cap).astype("timedelta64[D]")
    # Nothing happens after the case ends.
    for arr in (plan_date, upw_date, escalation):
        arr[arr > termination] = np.datetime64("NaT")
    first_appt = np.minimum(first_appt, termination)

    pnc_year = rng.integers(1985, quarter.year + 1, n)
    pnc_serial = rng.integers(0, 10_000_000, n)
    pnc = format_many(pnc_year, pnc_serial)
    # About 4% of starts are a second order for someone already starting in the quarter.
    repeat = np.flatnonzero(rng.random(n) < 0.04)
    repeat = repeat[repeat > 0]
    pnc[repeat] = pnc[rng.integers(0, repeat, len(repeat))] if len(repeat) else pnc[repeat]
    primary = np.ones(n, dtype=bool)
    primary[repeat] = False

    cases = pl.DataFrame(
        {
            "case_ref": case_ref,
            "pnc_id": pnc,
            "provider_code": np.full(n, code),
            "sentence_type": sentence_type.astype(str),
            "sentence_date": sentence_date,
            "start_date": start,
            "rosh_level": rosh.astype(str),
            "ogrs3_2yr": ogrs3,
            "age_at_start": age,
            "sex": sex.astype(str),
            "index_offence_group": offence.astype(str),
            "em_only": em_only,
            "first_appointment_date": first_appt,
            "first_appointment_attended": attended,
            "sentence_plan_date": plan_date.astype("datetime64[D]"),
            "upw_required": upw_required,
            "upw_arranged_date": upw_date.astype("datetime64[D]"),
            "escalation_referral_date": escalation.astype("datetime64[D]"),
            "termination_date": termination,
            "termination_reason": reason.astype(str),
        }
    )
    assert set(reason_mix) == set(TERMINATION_REASONS)
    return Cohort(
        cases=cases,
        breaches=_breaches(rng, cases, practice, pidx, serial),
        offences=_offences(rng, provider, prof, cases.filter(pl.Series(primary)), p2, primary),
    )


def _breaches(
    rng: np.random.Generator, cases: pl.DataFrame, practice: dict[str, float], pidx: int, serial: np.ndarray
) -> pl.DataFrame:
    n = cases.height
    reason = cases["termination_reason"].to_numpy()
    count = np.where(reason == "FAILURE_TO_COMPLY", rng.integers(1, 3, n), (rng.random(n) < 0.08).astype(np.int64))
    row = np.repeat(np.arange(n), count)
    k = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)  # 0, 1, .. within each case
    start = cases["start_date"].to_numpy()[row]
    end = cases["termination_date"].to_numpy()[row]
    span = np.maximum((end - start).astype(np.int64) - 14, 1)
    awareness = start + (14 + (rng.random(len(row)) * span).astype(np.int64)).astype("timedelta64[D]")
    m = len(row)
    referred = rng.random(m) < 0.97
    referral = np.where(referred, _bdays(awareness, _lags(rng, m, practice["ae"], 8, 20)), np.datetime64("NaT"))
    pack = np.where(rng.random(m) < practice["pack"], "Y", "N")
    return pl.DataFrame(
        {
            "breach_ref": pl.Series(serial[row]).cast(pl.String).str.zfill(12),
            "case_ref": cases["case_ref"].to_numpy()[row],
            "awareness_date": awareness,
            "referral_date": referral.astype("datetime64[D]"),
            "pack_complete": pack,
        },
        schema_overrides=dict.fromkeys(("breach_ref", "case_ref", "pack_complete"), pl.String),
    ).with_columns(
        pl.format("BR{}-{}", pl.col("breach_ref"), pl.Series(k)).alias("breach_ref"),
        pl.when(pl.col("referral_date").is_not_null()).then(pl.col("pack_complete")).alias("pack_complete"),
    )


def _offences(
    rng: np.random.Generator,
    provider: Provider,
    prof: TypeProfile,
    people: pl.DataFrame,
    p2: np.ndarray,
    primary: np.ndarray,
) -> pl.DataFrame:
    """The person's PNC record: proven reoffences after the index date, and older or later noise."""
    n = people.height
    p2 = p2[primary]
    p1 = 1 / (1 + np.exp(-(np.log(p2 / (1 - p2)) - OGRS_ONE_YEAR_OFFSET)))
    strength = provider.baseline_binary / provider.baseline_mean_p1 * REOFFENDING_EFFECT
    reoffends = rng.random(n) < np.clip(p1 * strength, 0.01, 0.97)
    freq = prof.reoffences_per_reoffender * provider.baseline_frequency / (4.6 if provider.is_crc else 4.0)
    extra = rng.negative_binomial(2, 2 / (2 + max(freq - 1.0, 0.1)), n)
    within = np.where(reoffends, 1 + extra, 0)
    prior = np.where(rng.random(n) < 0.3, rng.integers(1, 4, n), 0)
    later = np.where(rng.random(n) < 0.25, rng.integers(1, 3, n), 0)
    breach = (rng.random(n) < 0.1).astype(np.int64)

    start = people["start_date"].to_numpy()
    pnc = people["pnc_id"].to_numpy()
    parts = []
    for count, lo, hi, group in (
        (within, 0, 365, None),
        (prior, -1500, -30, None),
        (later, 380, 900, None),
        (breach, 0, 365, "BREACH"),
    ):
        idx = np.repeat(np.arange(n), count)
        m = len(idx)
        offence_date = start[idx] + rng.integers(lo, hi, m).astype("timedelta64[D]")
        disposal = offence_date + np.round(rng.gamma(2.0, 40.0, m)).astype("timedelta64[D]")
        groups = np.full(m, group, dtype=object) if group else _choice(rng, OFFENCE_MIX, m)
        parts.append(
            pl.DataFrame(
                {
                    "pnc_id": pnc[idx],
                    "offence_date": offence_date,
                    "disposal_date": disposal,
                    "disposal_type": np.where(rng.random(m) < 0.8, "CONVICTION", "CAUTION"),
                    "offence_group": groups.astype(str),
                },
                schema_overrides=dict.fromkeys(("pnc_id", "disposal_type", "offence_group"), pl.String),
            )
        )
    return pl.concat(parts)


def active_cases(seed: int, code: str, quarter: Quarter, scale: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cases active at any time in ``quarter`` and all their breaches, unmasked (whole-life dates)."""
    prof = profile(providers()[code])
    cohorts = [cohort(seed, code, quarter - k, scale) for k in range(prof.max_duration_quarters, -1, -1)]
    first = quarter.first_day
    cases = pl.concat([c.cases for c in cohorts]).filter(pl.col("termination_date") >= first)
    refs = cases.select("case_ref")
    breaches = pl.concat([c.breaches for c in cohorts]).join(refs, on="case_ref", how="semi")
    return cases, breaches


def offences_for(seed: int, code: str, quarters: list[Quarter], scale: float) -> pl.DataFrame:
    """PNC records of everyone who started supervision with ``code`` in one of ``quarters``.

    Those are the people whose reoffending the returns can measure (a cohort is the quarter's
    starts); people who started earlier are left out to keep the extract a sensible size.
    """
    return pl.concat([_cohort(seed, code, q.ordinal, scale).offences for q in sorted(quarters)])
