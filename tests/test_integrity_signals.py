"""The integrity signals over many seeds: each gaming profile is flagged for its provider by its signal, and no
honest provider is flagged by any signal; and each statistic is what its explanation says, by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from probation_returns.calendar import Quarter
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity import binary_vs_frequency, deadline_heaping, exclusion_drift, late_flip
from probation_returns.integrity.model import QuarterData, Reoffending, Versions
from probation_returns.integrity.signals import compute
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.integrity.thresholds import thresholds

Q = Quarter.parse("2016Q4")
SEEDS = range(1, 21)
SCALE = 0.05
HONEST = ["C01", "C02", "C03", "C04", "C12", "C13", "C14"]
GAMED = {  # provider: (profile, the signal and measures meant to see it)
    "C05": ("due_day_appointments", "deadline_heaping", {"SL001R", "SL002R"}),
    "C06": ("transfers", "exclusion_drift", {"successful_completion"}),
    "C07": ("due_day_referrals", "deadline_heaping", {"AE"}),
    "C08": ("phone_parking", "contact_intensity", {"rosh_low"}),
    "C17": ("ogrs_inflation", "case_mix_drift", {"ogrs3_mean"}),
    "C10": ("resubmission", "late_flip", {"deadline_dates", "missed_to_met"}),
    "C11": ("reoffending_focus", "binary_vs_frequency", {"binary_rate", "frequency"}),
}
CODES = sorted(HONEST + list(GAMED))
LIMITS = thresholds()["late_flip"]
BVF = thresholds()["binary_vs_frequency"]


@pytest.mark.slow
def test_each_gaming_profile_is_flagged_by_its_signal_and_no_honest_provider_is_flagged_over_20_seeds():
    gaming = {code: Gaming(profile, Q) for code, (profile, _, _) in GAMED.items()}  # honest history, gamed quarter
    missed, false_flags = [], []
    for seed in SEEDS:
        # every honest provider sent a second version correcting a few records: late_flip's yardstick
        rows = compute(quarter_data(seed, Q, CODES, SCALE, gaming, resubmitted=set(HONEST)), CODES)
        assert len(rows) == len(CODES) * 15  # 5 + 1 + 3 + 2 + 2 + 2 measures per provider, flagged or not
        flagged = {(r.provider_code, r.signal, r.measure) for r in rows if r.flagged}
        for code, (profile, signal, measures) in GAMED.items():
            missed += [(seed, code, profile, m) for m in measures if (code, signal, m) not in flagged]
        false_flags += [(seed, *f) for f in flagged if f[0] in HONEST]
    # reoffending_focus at C11's size at this scale (about 175 people a cohort, a twentieth of a real one) is seen in
    # FOCUS_SEEN of the 20 seeds (docs/integrity.md): the binary rate's fall is within chance in the others.
    # At a realistic cohort size it is seen in every seed (the next test).
    focus = {m[0] for m in missed if m[1] == "C11"}
    assert len(focus) == 20 - FOCUS_SEEN, sorted(focus)
    assert [m for m in missed if m[1] != "C11"] == []
    assert false_flags == []


FOCUS_SEEN = 16  # seeds of the 20 in which the signal sees reoffending_focus at scale 0.05 (docs/integrity.md)
FOCUS_SCALE = 0.25  # C11's cohort about 870 people a quarter: a quarter of its real size (about 3,500 at full scale)


@pytest.mark.slow
def test_reoffending_focus_is_flagged_in_every_one_of_20_seeds_at_a_quarter_of_a_real_cohort():
    """binary_vs_frequency at C11 gaming from the quarter, beside honest providers, at a quarter of the full scale:
    flagged in every seed, and no honest provider flagged (the thresholds are the ones measured on honest seeds
    disjoint from these: docs/integrity.md)."""
    codes = ["C11", "C01", "C02", "C03", "N01"]
    gaming = {"C11": Gaming("reoffending_focus", Q)}
    seen, false_flags = [], []
    for seed in SEEDS:
        rows = binary_vs_frequency.compute(quarter_data(seed, Q, codes, FOCUS_SCALE, gaming), codes, BVF)
        seen += [seed] if all(r.flagged for r in rows if r.provider_code == "C11") else []  # both rows flag together
        false_flags += [(seed, r.provider_code, r.measure) for r in rows if r.flagged and r.provider_code != "C11"]
    assert seen == list(SEEDS)
    assert false_flags == []


def _cases(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "case_ref": pl.String,
            "sentence_type": pl.String,
            "start_date": pl.Date,
            "first_appointment_date": pl.Date,
            "termination_date": pl.Date,
            "termination_reason": pl.String,
        },
        orient="row",
    ).with_columns(
        first_appointment_attended=pl.lit(True),
        sentence_plan_date=pl.lit(None, pl.Date),
        upw_required=pl.lit(False),
        upw_arranged_date=pl.lit(None, pl.Date),
    )


def _no_breaches() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"case_ref": pl.String, "awareness_date": pl.Date, "referral_date": pl.Date, "pack_complete": pl.Boolean}
    )


def test_deadline_heaping_counts_the_due_day_against_the_four_business_days_before_it_by_hand():
    # Licence cases need a first appointment 1 business day after the start; community orders 5. Start on
    # Monday 3 October 2016: the SL001R due day is Monday 10 October (5 business days later).
    start = dt.date(2016, 10, 3)
    due = dt.date(2016, 10, 10)
    days = {0: due, 1: dt.date(2016, 10, 7), 2: dt.date(2016, 10, 6), 4: dt.date(2016, 10, 4)}
    # A: 24 on the due day, 1 the day before (and one late, not counted); B: 5 on each of the 5 days.
    a = [(f"A{i:06d}", "CO", start, days[0], None, None) for i in range(24)]
    a += [("A100000", "CO", start, days[1], None, None), ("A100001", "CO", start, dt.date(2016, 10, 12), None, None)]
    b_days = [due, dt.date(2016, 10, 7), dt.date(2016, 10, 6), dt.date(2016, 10, 5), dt.date(2016, 10, 4)]
    b = [(f"B{i:06d}", "CO", start, d, None, None) for i, d in enumerate(b_days * 5)]
    empty = pl.DataFrame(schema={"case_ref": pl.String, "contact_date": pl.Date, "contact_type": pl.String})
    data = QuarterData(
        Q,
        {
            "C01": {"cases": _cases(a), "contacts": empty, "breaches": _no_breaches()},
            "C02": {"cases": _cases(b), "contacts": empty, "breaches": _no_breaches()},
        },
    )
    limits = thresholds()["deadline_heaping"]
    rows = {(r.provider_code, r.measure): r for r in deadline_heaping.compute(data, ["C01", "C02", "C03"], limits)}
    a_row = rows[("C01", "SL001R")]
    assert a_row.count == 25 and a_row.statistic == Decimal("0.9600") and a_row.expected == Decimal("0.2000")
    assert a_row.flagged and len(a_row.cases) == 24
    assert a_row.explanation.startswith(
        "24 of 25 first appointments made in time for SL001R (96.0%) were recorded on the due business day itself "
        "rather than on the 4 business days before it; other providers: 20.0%. Flagged"
    )
    b_row = rows[("C02", "SL001R")]
    assert b_row.count == 25 and b_row.statistic == Decimal("0.2000") and b_row.expected == Decimal("0.9600")
    assert not b_row.flagged and b_row.cases == ()
    c_row = rows[("C03", "SL001R")]
    assert c_row.count is None and not c_row.flagged and c_row.compared_with == "nothing: no accepted return"


def test_exclusion_drift_compares_the_share_ending_by_transfer_or_death_with_the_previous_quarters_by_hand():
    def quarter_of(q: Quarter, transfers: int, others: int) -> dict[str, pl.DataFrame]:
        day = q.first_day + dt.timedelta(days=40)
        rows = [
            (f"T{q.number}{i:05d}", "CO", dt.date(2015, 1, 5), None, day, "TRANSFERRED_NPS") for i in range(transfers)
        ]
        rows += [(f"X{q.number}{i:05d}", "SSO", dt.date(2015, 1, 5), None, day, "COMPLETED") for i in range(others)]
        return {"cases": _cases(rows), "contacts": pl.DataFrame(), "breaches": _no_breaches()}

    now = quarter_of(Q, 15, 35)
    history = {Q - k: quarter_of(Q - k, 1, 49) for k in (1, 2, 3, 4)}  # 4 of 200 before: 2%
    data = QuarterData(Q, {"C01": now}, {"C01": history})
    (row,) = exclusion_drift.compute(data, ["C01"], thresholds()["exclusion_drift"])
    assert (row.count, row.statistic, row.expected) == (50, Decimal("0.3000"), Decimal("0.0200"))
    assert row.compared_with == "previous 4 quarters" and row.flagged and len(row.cases) == 15
    assert row.explanation.startswith(
        "15 of 50 community orders ending this quarter (30.0%) ended as transferred to the NPS or by death, which "
        "takes them out of successful completion; previous 4 quarters: 2.0%. Flagged"
    )


def _contacts_none() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "case_ref": pl.String,
            "contact_date": pl.Date,
            "contact_type": pl.String,
            "outcome": pl.String,
            "followup_date": pl.Date,
        }
    )


def _version(firsts: list[dt.date], rosh: list[str]) -> dict[str, pl.DataFrame]:
    # Community orders starting on Monday 3 October 2016: SL001R's due day is Monday 10 October.
    rows = [(f"A{i:06d}", "CO", dt.date(2016, 10, 3), first, None, None) for i, first in enumerate(firsts)]
    cases = _cases(rows).with_columns(rosh_level=pl.Series(rosh))
    breaches = _no_breaches().with_columns(breach_ref=pl.lit(None, pl.String))
    return {"cases": cases, "contacts": _contacts_none(), "breaches": breaches}


def test_late_flip_sees_a_resubmission_that_moves_only_deadline_dates_and_the_service_level_it_flips_by_hand():
    late, due, early = dt.date(2016, 10, 12), dt.date(2016, 10, 10), dt.date(2016, 10, 5)
    # C01's second version: 20 late first appointments moved onto the due day, and one risk level corrected.
    before = _version([late] * 20 + [early], ["M"] * 21)
    after = _version([due] * 20 + [early], ["M"] * 20 + ["H"])
    # C02's second version: 20 risk levels corrected and two late first appointments moved onto the due day.
    honest_before = _version([late] * 2 + [early] * 19, ["M"] * 21)
    honest_after = _version([due] * 2 + [early] * 19, ["M"] * 2 + ["H"] * 19)
    data = QuarterData(
        Q,
        {"C01": after, "C02": honest_after, "C03": before},
        versions={"C01": Versions(1, 2, before, after), "C02": Versions(3, 4, honest_before, honest_after)},
    )
    rows = {(r.provider_code, r.measure): r for r in late_flip.compute(data, ["C01", "C02", "C03", "C04"], LIMITS)}
    dates = rows[("C01", "deadline_dates")]
    # 21 changed fields, 20 of them deadline dates; of the 10 fields compared per case, 4 are deadline dates
    # (start, first appointment, sentence plan, unpaid work): 0.4 if the changes fell on any field alike.
    # z = (20/21 - 0.4) / sqrt(0.4 x 0.6 / 21) = 5.17; flagged from 0.4 + 4 x sqrt(0.4 x 0.6 / 21) = 0.8276.
    assert (dates.count, dates.statistic, dates.expected, dates.threshold, dates.z) == (
        21,
        Decimal("0.9524"),
        Decimal("0.4000"),
        Decimal("0.8276"),
        Decimal("5.17"),
    )
    assert dates.flagged and dates.cases == tuple(f"A{i:06d}" for i in range(20))
    assert dates.explanation.startswith(
        "20 of the 21 fields changed in version 2 (the one that counts) against version 1 (95.2%) are dates that "
        "decide a deadline service level; 40.0% if the changes had fallen on any field alike. 20 deadline events "
        "late or missing in version 1 are in time now (SL001R 20). Flagged"
    )
    # SL001R: 1 of 21 in time before (missed), 21 of 21 now (met); SL003 (no sentence plans) and AK (no contacts)
    # are missed in both; the rest have no population.
    flips = rows[("C01", "missed_to_met")]
    assert (flips.count, flips.statistic, flips.threshold, flips.flagged) == (3, Decimal("1.0000"), Decimal("1"), True)
    assert flips.explanation.startswith("1 of the 3 service levels missed in version 1 is met in version 2 (SL001R).")
    assert flips.cases == tuple(f"A{i:06d}" for i in range(20))
    honest = rows[("C02", "deadline_dates")]
    assert (honest.count, honest.statistic, honest.flagged, honest.cases) == (21, Decimal("0.0952"), False, ())
    assert not rows[("C02", "missed_to_met")].flagged  # SL001R flipped too, but the changes were corrections
    assert rows[("C03", "deadline_dates")].compared_with == "nothing: one version only"
    assert rows[("C04", "missed_to_met")].compared_with == "nothing: no accepted return"


def test_binary_vs_frequency_flags_fewer_reoffenders_each_reoffending_more_by_hand():
    cases = pl.DataFrame(
        {
            "case_ref": ["A000001", "A000002"],
            "pnc_id": ["P1", "P2"],
            "sentence_type": ["CO", "LIC"],
            "start_date": [dt.date(2016, 10, 3), dt.date(2016, 11, 1)],
            "em_only": [False, False],
            "ogrs3_2yr": [40, 50],
        }
    )
    earlier = {Q - k: Reoffending(200, 90, 270, True) for k in (1, 2, 3, 4)}  # 360 of 800 (45%), 3.00 each
    data = QuarterData(
        Q,
        {"C01": {"cases": cases}, "C02": {"cases": cases}},
        reoffending={
            "C01": {Q: Reoffending(200, 60, 300, True), **earlier},  # 30%, 5.00 each
            "C02": {Q: Reoffending(200, 90, 270, True), **earlier},
        },
    )
    rows = {(r.provider_code, r.measure): r for r in binary_vs_frequency.compute(data, ["C01", "C02"], BVF)}
    binary, freq = rows[("C01", "binary_rate")], rows[("C01", "frequency")]
    # binary: pooled 420 of 1,000; z = (0.30 - 0.45) / sqrt(0.42 x 0.58 x (1/200 + 1/800)) = -3.84
    assert (binary.count, binary.statistic, binary.expected, binary.z) == (
        200,
        Decimal("0.3000"),
        Decimal("0.4500"),
        Decimal("-3.84"),
    )
    # further reoffences: 240 by 60 against 720 by 360; p = 60/420, mean 960 p = 137.14,
    # z = (240 - 137.14) / sqrt(2.9 x 137.14 x (1 - p)) = 5.57 (the dispersion 2.9)
    assert (freq.count, freq.statistic, freq.expected, freq.z) == (
        60,
        Decimal("5.0000"),
        Decimal("3.0000"),
        Decimal("5.57"),
    )
    assert binary.flagged and freq.flagged and binary.compared_with == "previous 4 cohorts"
    assert binary.cases == ("A000001", "A000002")  # the quarter's cohort
    assert binary.explanation.startswith(
        "60 of the 200 people in the quarter's cohort reoffended (30.0%); previous 4 cohorts: 45.0%. Flagged"
    )
    assert freq.explanation.startswith(
        "300 proven reoffences by 60 reoffenders (5.00 each); previous 4 cohorts: 3.00 each."
    )
    assert not rows[("C02", "binary_rate")].flagged and rows[("C02", "binary_rate")].z == Decimal("0.00")
