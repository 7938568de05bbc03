"""The integrity signals over many seeds: each gaming profile is flagged for its provider by its signal, and no
honest provider is flagged by any signal; and each statistic is what its explanation says, by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from probation_returns.calendar import Quarter
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity import deadline_heaping, exclusion_drift
from probation_returns.integrity.model import QuarterData
from probation_returns.integrity.signals import compute
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.integrity.thresholds import thresholds

Q = Quarter.parse("2016Q4")
SEEDS = range(1, 21)
SCALE = 0.05
HONEST = ["C01", "C02", "C03", "C04", "C10", "C11", "C12"]
GAMED = {  # provider: (profile, the signal and measures meant to see it)
    "C05": ("due_day_appointments", "deadline_heaping", {"SL001R", "SL002R"}),
    "C06": ("transfers", "exclusion_drift", {"successful_completion"}),
    "C07": ("due_day_referrals", "deadline_heaping", {"AE"}),
    "C08": ("phone_parking", "contact_intensity", {"rosh_low"}),
    "C17": ("ogrs_inflation", "case_mix_drift", {"ogrs3_mean"}),
}
CODES = sorted(HONEST + list(GAMED))


@pytest.mark.slow
def test_each_gaming_profile_is_flagged_by_its_signal_and_no_honest_provider_is_flagged_over_20_seeds():
    gaming = {code: Gaming(profile, Q) for code, (profile, _, _) in GAMED.items()}  # honest history, gamed quarter
    missed, false_flags = [], []
    for seed in SEEDS:
        rows = compute(quarter_data(seed, Q, CODES, SCALE, gaming), CODES)
        assert len(rows) == len(CODES) * 11  # 5 + 1 + 3 + 2 measures per provider, flagged or not
        flagged = {(r.provider_code, r.signal, r.measure) for r in rows if r.flagged}
        for code, (profile, signal, measures) in GAMED.items():
            missed += [(seed, code, profile, m) for m in measures if (code, signal, m) not in flagged]
        false_flags += [(seed, *f) for f in flagged if f[0] in HONEST]
    assert missed == []
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
