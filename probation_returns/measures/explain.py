"""Why each service credit is what it is, in figures and words, for the contract manager's credits page.

The same arithmetic as ``measures.credits`` (the contract terms of the credit's parameter version): the
shortfall in percentage points below target, times the rate per point, times the provider's quarterly fee;
no more than the cap per measure; and, when the quarter's credits together exceed the quarterly cap, every
credit scaled down in proportion (``unscaled_gbp`` is the credit before that).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns.parameters import for_quarter
from probation_returns.warehouse.models import Credit, Measure

PENNY = Decimal("0.01")


@dataclass(frozen=True)
class Explained:
    measure: str
    numerator: int | None
    denominator: int | None
    performance: Decimal  # per cent, exact (0 when there was no valid return)
    target: Decimal  # per cent
    shortfall: Decimal  # percentage points
    rate: Decimal  # of the fee, per point
    fee: Decimal
    uncapped: Decimal  # shortfall x rate x fee, to the penny
    measure_cap: Decimal
    capped: bool  # the cap per measure bit
    quarter_cap: Decimal
    scaled: bool  # the quarter's credits were over the quarterly cap: scaled down
    unscaled: Decimal
    amount: Decimal
    why: str


def _money(value: Decimal) -> str:
    return f"£{value.quantize(PENNY, rounding=ROUND_HALF_UP):,.2f}"


def _pct(value: Decimal, places: str = "0.1") -> str:
    return f"{value.quantize(Decimal(places), rounding=ROUND_HALF_UP).normalize():f}%"


def explain(session: Session, quarter: str, provider: str) -> list[Explained]:
    """Each current credit above 0.00 of the provider's quarter, explained."""
    params = for_quarter(quarter)
    fee = params.providers[provider].quarterly_fee_gbp
    credits = list(
        session.scalars(
            select(Credit)
            .where(
                Credit.quarter == quarter,
                Credit.provider_code == provider,
                Credit.replaced_at.is_(None),
                Credit.amount_gbp > 0,
            )
            .order_by(Credit.measure)
        )
    )
    measures = {
        m.measure: m
        for m in session.scalars(select(Measure).where(Measure.quarter == quarter, Measure.provider_code == provider))
    }
    out = []
    for credit in credits:
        m = measures.get(credit.measure)
        if m is None or m.target is None:
            continue
        no_return = m.status == "no valid return" or not m.denominator
        performance = Decimal(0) if no_return else Decimal(m.numerator) * 100 / Decimal(m.denominator)
        target = Decimal(str(m.target))
        shortfall = target - performance
        uncapped = params.credit_rate_per_point * fee * shortfall
        measure_cap = params.credit_cap_per_measure * fee
        capped = uncapped > measure_cap
        quarter_cap = params.credit_cap_per_quarter * fee
        scaled = credit.amount_gbp < credit.unscaled_gbp
        rate = params.credit_rate_per_point * 100
        what = (
            "no valid return counts, so the measure is taken as 0%"
            if no_return
            else f"{m.numerator:,} of {m.denominator:,} is {_pct(performance)}"
        )
        why = (
            f"{what} against a target of {_pct(target)}: {_pct(shortfall, '0.01').removesuffix('%')} points short. "
            f"{_pct(shortfall, '0.01').removesuffix('%')} x {_pct(rate, '0.01')} of the {_money(fee)} quarterly fee "
            f"is {_money(uncapped)}."
        )
        if capped:
            why += (
                f" That is over the cap per measure ({_pct(params.credit_cap_per_measure * 100, '0.01')} of the fee, "
                f"{_money(measure_cap)}), so the credit is {_money(measure_cap)}."
            )
        if scaled:
            why += (
                " The quarter's credits together were over the quarterly cap "
                f"({_pct(params.credit_cap_per_quarter * 100, '0.01')} of the fee, {_money(quarter_cap)}), "
                f"so each was scaled down in proportion: {_money(credit.unscaled_gbp)} "
                f"becomes {_money(credit.amount_gbp)}."
            )
        out.append(
            Explained(
                credit.measure,
                m.numerator,
                m.denominator,
                performance,
                target,
                shortfall,
                params.credit_rate_per_point,
                fee,
                uncapped.quantize(PENNY, rounding=ROUND_HALF_UP),
                measure_cap,
                capped,
                quarter_cap,
                scaled,
                credit.unscaled_gbp,
                credit.amount_gbp,
                why,
            )
        )
    return out
