"""Measures and money, each against figures worked out by hand in the test."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probation_returns.calendar import Quarter
from probation_returns.measures.credits import credits
from probation_returns.measures.payments import outcome
from probation_returns.measures.service_levels import ServiceLevel, counts, percent_1dp, service_levels
from probation_returns.parameters import for_quarter

Q = Quarter.parse("2017Q3")
PARAMS = for_quarter(Q)
D = dt.date


def _cases(rows):
    base = {
        "case_ref": "A000000",
        "sentence_type": "CO",
        "start_date": D(2017, 7, 3),
        "first_appointment_date": None,
        "first_appointment_attended": None,
        "sentence_plan_date": None,
        "upw_required": False,
        "upw_arranged_date": None,
        "escalation_referral_date": None,
        "termination_date": None,
        "termination_reason": None,
        "rosh_level": "M",
    }
    return pl.DataFrame(
        [{**base, **r} for r in rows],
        schema={
            "case_ref": pl.String,
            "sentence_type": pl.String,
            "start_date": pl.Date,
            "first_appointment_date": pl.Date,
            "first_appointment_attended": pl.Boolean,
            "sentence_plan_date": pl.Date,
            "upw_required": pl.Boolean,
            "upw_arranged_date": pl.Date,
            "escalation_referral_date": pl.Date,
            "termination_date": pl.Date,
            "termination_reason": pl.String,
            "rosh_level": pl.String,
        },
    )


NO_CONTACTS = pl.DataFrame(
    schema={
        "case_ref": pl.String,
        "contact_date": pl.Date,
        "contact_type": pl.String,
        "outcome": pl.String,
        "followup_date": pl.Date,
    }
)
NO_BREACHES = pl.DataFrame(
    schema={
        "breach_ref": pl.String,
        "case_ref": pl.String,
        "awareness_date": pl.Date,
        "referral_date": pl.Date,
        "pack_complete": pl.Boolean,
    }
)


def test_the_worked_example_holds_to_the_penny():
    terms = PARAMS.providers["C01"].__class__(
        quarterly_fee_gbp=Decimal("5000000.00"), baseline_binary=0.45, baseline_frequency=4.50, baseline_mean_p1=0.37
    )
    r = outcome(400, 160, 700, Decimal("0.3900"), terms, PARAMS, final=True, paid=True)
    assert r.binary == Decimal("0.4") and r.adjusted_binary == Decimal("0.38")
    assert round(r.z, 4) == -2.8141 and r.significance == "significant reduction"
    assert r.binary_payment_gbp == Decimal("84000.00")
    assert r.frequency == Decimal("4.375") and r.frequency_payment_gbp == Decimal("10000.00")
    assert r.outcome_payment_gbp == Decimal("94000.00")
    # Interim results and NPS divisions are never paid.
    assert outcome(400, 160, 700, Decimal("0.39"), terms, PARAMS, final=False, paid=True).outcome_payment_gbp == 0
    assert outcome(400, 160, 700, Decimal("0.39"), terms, PARAMS, final=True, paid=False).outcome_payment_gbp == 0


def test_a_significant_increase_is_a_deduction_capped_at_a_tenth_of_the_fee():
    terms = PARAMS.providers["C01"].__class__(
        quarterly_fee_gbp=Decimal("100000.00"), baseline_binary=0.45, baseline_frequency=4.50, baseline_mean_p1=0.37
    )
    # n 400, 220 reoffenders: binary 0.55, adjusted 0.55; 3000 x (0.45 - 0.55) x 400 = -120,000 -> capped -10,000.
    r = outcome(400, 220, 900, Decimal("0.37"), terms, PARAMS, final=True, paid=True)
    assert r.significance == "significant increase"
    assert r.binary_payment_gbp == Decimal("-10000.00") and r.frequency_payment_gbp == Decimal("0.00")


def test_first_contact_deadline_skips_the_august_bank_holiday():
    # Started Tue 22 Aug 2017: 5 business days later is Wed 30 Aug (Mon 28 Aug is a bank holiday).
    cases = _cases(
        [
            {
                "case_ref": "A1",
                "start_date": D(2017, 8, 22),
                "first_appointment_date": D(2017, 8, 30),
            },  # on the deadline
            {"case_ref": "A2", "start_date": D(2017, 8, 22), "first_appointment_date": D(2017, 8, 31)},  # a day late
            # Thu 28 Sep: deadline Thu 5 Oct falls in the next quarter, so not measured here.
            {"case_ref": "A3", "start_date": D(2017, 9, 28), "first_appointment_date": D(2017, 9, 29)},
            # Licence released Fri 25 Aug: 1 business day is Tue 29 Aug.
            {
                "case_ref": "A4",
                "sentence_type": "LIC",
                "start_date": D(2017, 8, 25),
                "first_appointment_date": D(2017, 8, 29),
            },
        ]
    )
    found = counts(Q, cases, NO_CONTACTS, NO_BREACHES)
    assert found["SL001R"] == (1, 2) and found["SL002R"] == (1, 1)


def test_a_case_starting_late_in_the_previous_quarter_is_measured_in_this_one():
    cases = _cases([{"case_ref": "A1", "start_date": D(2017, 6, 29), "first_appointment_date": D(2017, 7, 6)}])
    # 5 business days after Thu 29 Jun is Thu 6 Jul: in 2017Q3, met.
    assert counts(Q, cases, NO_CONTACTS, NO_BREACHES)["SL001R"] == (1, 1)
    assert counts(Quarter.parse("2017Q2"), cases, NO_CONTACTS, NO_BREACHES)["SL001R"] == (0, 0)


def test_monthly_contact_counts_whole_months_and_timely_follow_up():
    cases = _cases(
        [
            {"case_ref": "A1", "start_date": D(2017, 6, 1)},  # supervised all of Jul, Aug, Sep: 3 case-months
            {"case_ref": "A2", "start_date": D(2017, 7, 2)},  # not for the whole of July: Aug, Sep
            {
                "case_ref": "A3",
                "start_date": D(2017, 1, 1),
                "termination_date": D(2017, 8, 31),
            },  # ends on Aug's last day: Jul only
        ]
    )
    contacts = pl.DataFrame(
        {
            "case_ref": ["A1", "A1", "A1", "A2", "A2", "A3"],
            "contact_date": [
                D(2017, 7, 10),
                D(2017, 8, 4),
                D(2017, 9, 5),
                D(2017, 8, 7),
                D(2017, 9, 12),
                D(2017, 7, 20),
            ],
            "contact_type": ["F2F", "F2F", "PHONE", "VIDEO", "F2F", "F2F"],
            "outcome": ["ATTENDED", "FAILED_TO_ATTEND", "ATTENDED", "FAILED_TO_ATTEND", "FAILED_TO_ATTEND", "ATTENDED"],
            # A1 Aug: missed Fri 4 Aug, followed up Fri 11 Aug = 5 business days: met.
            # A2 Aug: missed Mon 7 Aug, followed up Tue 15 Aug = 6 business days: not met. A2 Sep: no follow-up.
            "followup_date": [None, D(2017, 8, 11), None, D(2017, 8, 15), None, None],
        }
    )
    # Case-months: A1 x3, A2 x2, A3 x1 = 6. Met: A1 Jul, A1 Aug, A3 Jul = 3 (A1 Sep was by phone).
    assert counts(Q, cases, contacts, NO_BREACHES)["AK"] == (3, 6)


def test_breach_measures():
    breaches = pl.DataFrame(
        {
            "breach_ref": ["B1", "B2", "B3"],
            "case_ref": ["A1", "A1", "A1"],
            # 8 business days after Mon 21 Aug is Fri 1 Sep (Mon 28 Aug is a holiday).
            "awareness_date": [D(2017, 8, 21), D(2017, 8, 21), D(2017, 6, 1)],
            "referral_date": [D(2017, 9, 1), D(2017, 9, 4), D(2017, 7, 3)],
            "pack_complete": [True, False, True],
        }
    )
    found = counts(Q, _cases([{"case_ref": "A1"}]), NO_CONTACTS, breaches)
    assert found["AE"] == (1, 2)  # B3's deadline (13 Jun) is in the previous quarter
    assert found["SL016"] == (2, 3)  # all three referred in the quarter


def test_a_missed_measure_is_never_shown_at_its_target():
    """C10's SL001R in the demo: 1,779 of 1,873 is 94.98%, missed against 95.0%, and was shown as 95.0%."""
    assert percent_1dp(1779, 1873) == Decimal("95.0")  # half up, with no target to respect
    assert percent_1dp(1779, 1873, Decimal("95")) == Decimal("94.9")  # below target: rounded down
    assert percent_1dp(1780, 1873, Decimal("95")) == Decimal("95.0")  # 95.03%: met, shown half up
    assert percent_1dp(1777, 1873, Decimal("95")) == Decimal("94.9")  # 94.87%: half up already below
    assert percent_1dp(18, 20, Decimal("90")) == Decimal("90.0")  # exactly on target: met


def test_statuses_and_rounding():
    assert (
        percent_1dp(1, 8) == Decimal("12.5")
        and percent_1dp(2, 3) == Decimal("66.7")
        and percent_1dp(1, 16) == Decimal("6.3")
    )
    ok = _cases(
        [{"case_ref": f"A{i}", "start_date": D(2017, 7, 3), "first_appointment_date": D(2017, 7, 5)} for i in range(10)]
    )
    levels = {
        s.measure: s for s in service_levels(Q, PARAMS, {"cases": ok, "contacts": NO_CONTACTS, "breaches": NO_BREACHES})
    }
    assert levels["SL001R"].status == "met" and levels["SL001R"].performance == 100
    assert levels["SL002R"].status == "insufficient volume" and levels["SL002R"].denominator == 0
    late = ok.with_columns(
        pl.when(pl.col("case_ref") == "A0")
        .then(D(2017, 7, 20))
        .otherwise(pl.col("first_appointment_date"))
        .alias("first_appointment_date")
    )
    levels = {
        s.measure: s
        for s in service_levels(Q, PARAMS, {"cases": late, "contacts": NO_CONTACTS, "breaches": NO_BREACHES})
    }
    assert levels["SL001R"].status == "missed" and levels["SL001R"].performance_shown == Decimal("90.0")
    none = service_levels(Q, PARAMS, None)
    assert {s.status for s in none} == {"no valid return"} and all(s.performance == 0 for s in none)


def _level(measure, performance, status="missed", target="90"):
    return ServiceLevel(measure, None, None, Decimal(performance), Decimal(target), status)


def test_credit_per_measure_cap_and_quarterly_scaling():
    fee = Decimal("4000000.00")
    # 2 points short: 0.25% x 4,000,000 x 2 = 20,000.00 (under the 2.5% cap of 100,000).
    [c] = credits([_level("SL006R", "88")], fee, PARAMS)
    assert (c.unscaled_gbp, c.amount_gbp) == (Decimal("20000.00"), Decimal("20000.00"))
    # 15 points short: 150,000 -> capped at 100,000.
    [c] = credits([_level("AE", "75")], fee, PARAMS)
    assert c.amount_gbp == Decimal("100000.00")
    # No valid return: all 7 measures at 0% -> 7 x 100,000 = 700,000, over the 10% quarterly cap of
    # 400,000: each scaled by 4/7 -> 57,142.857...; in pennies that add up to the cap: five of
    # 57,142.86 and two of 57,142.85 (= 400,000.00).
    result = credits(service_levels(Q, PARAMS, None), fee, PARAMS)
    assert [c.amount_gbp for c in result] == [Decimal("57142.86")] * 5 + [Decimal("57142.85")] * 2
    assert sum(c.amount_gbp for c in result) == Decimal("400000.00")
    assert all(c.unscaled_gbp == Decimal("100000.00") for c in result)
    # Met and insufficient volume earn no credit.
    assert (
        credits([_level("AK", "95", "met"), _level("AE", "10", "insufficient volume")], fee, PARAMS)[1].amount_gbp == 0
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 40)), min_size=7, max_size=7),
    st.decimals(min_value=1000, max_value=20_000_000, places=2),
)  # quarterly fees are thousands to millions
def test_credits_never_exceed_the_caps_and_improvement_never_costs_more(pairs, fee):
    levels = []
    for measure, (met, extra) in zip(["SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK"], pairs):
        d = met + extra
        perf = Decimal(met) * 100 / Decimal(d) if d else Decimal(0)
        status = "insufficient volume" if d < 10 else ("met" if perf >= 90 else "missed")
        levels.append(ServiceLevel(measure, met, d, perf, Decimal(90), status))
    result = credits(levels, fee, PARAMS)

    def pence(x):
        return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    assert all(0 <= c.amount_gbp <= pence(PARAMS.credit_cap_per_measure * fee) + Decimal("0.01") for c in result)
    assert sum(c.amount_gbp for c in result) <= pence(PARAMS.credit_cap_per_quarter * fee)
    better = [
        ServiceLevel(
            s.measure,
            s.denominator,
            s.denominator,
            Decimal(100) if s.denominator else s.performance,
            s.target,
            "met" if s.status == "missed" else s.status,
        )
        for s in levels
    ]
    assert sum(c.amount_gbp for c in credits(better, fee, PARAMS)) <= sum(c.amount_gbp for c in result)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 15), st.booleans()), min_size=1, max_size=30))
def test_numerators_never_exceed_denominators(rows):
    cases = _cases(
        [
            {
                "case_ref": f"A{i}",
                "start_date": D(2017, 6, 1) + dt.timedelta(days=start),
                "first_appointment_date": D(2017, 6, 1) + dt.timedelta(days=start + lag),
                "upw_required": upw,
                "upw_arranged_date": D(2017, 6, 1) + dt.timedelta(days=start + lag),
            }
            for i, (start, lag, upw) in enumerate(rows)
        ]
    )
    for n, d in counts(Q, cases, NO_CONTACTS, NO_BREACHES).values():
        assert 0 <= n <= d


def test_the_penny_rule_lines_rounded_half_up_and_the_total_is_their_sum_unless_the_cap_bites():
    fee = Decimal("1234567.00")  # 0.25% of the fee is 3,086.4175 a point
    # Three measures one point short: each line 3,086.4175 -> 3,086.42; the total is the sum of the lines,
    # 9,259.26, although the exact total 9,259.2525 alone would round to 9,259.25 (no penny moved).
    result = credits([_level(m, "89") for m in ("SL001R", "SL002R", "SL003")], fee, PARAMS)
    assert [c.amount_gbp for c in result] == [Decimal("3086.42")] * 3
    assert sum(c.amount_gbp for c in result) == Decimal("9259.26")
    # Lines that round down add up below the exact total: still the sum of the lines.
    fee = Decimal("1000001.00")  # 2,500.0025 a point: two lines of 2,500.00, exact total 5,000.005
    result = credits([_level("SL001R", "89"), _level("SL002R", "89")], fee, PARAMS)
    assert [c.amount_gbp for c in result] == [Decimal("2500.00")] * 2
    # The cap bites: 10% of 1,000,001.00 = 100,000.10; seven measures at 0% ask for 7 x 25,000.025
    # (capped per measure at 2.5%); scaled, each is 14,285.72857...: seven floors of 14,285.72 make
    # 100,000.04, so the 6 pennies left go to the first six (equal remainders: the measures' order).
    result = credits(service_levels(Q, PARAMS, None), fee, PARAMS)
    assert [c.amount_gbp for c in result] == [Decimal("14285.73")] * 6 + [Decimal("14285.72")]
    assert sum(c.amount_gbp for c in result) == Decimal("100000.10")


def test_a_credit_of_nothing_cannot_be_waived(engine):
    from probation_returns.measures.decisions import DecisionError, decide
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Credit as CreditRow

    with session_scope(engine) as session:
        session.add(
            CreditRow(
                quarter="2017Q3",
                provider_code="C05",
                measure="AK",
                amount_gbp=Decimal("0.00"),
                unscaled_gbp=Decimal("0.00"),
                parameter_version="p",
            )
        )
    with pytest.raises(DecisionError, match="is 0.00: there is nothing to waive"), session_scope(engine) as session:
        decide(session, "2017Q3", "C05", "AK", "waived", "agreed", "J Smith")
