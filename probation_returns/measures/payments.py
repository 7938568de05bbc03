"""Proven reoffending results and outcome payments for one cohort (provider x quarter).

Binary rate, frequency, the OGRS3 case-mix adjustment of the binary rate, the significance test,
and for CRCs with final results the outcome payment or deduction, in exact money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from probation_returns.parameters import ContractParameters, ProviderTerms

PENNY = Decimal("0.01")
ONE_YEAR_OFFSET = 0.71914  # logit(p2) - logit(p1): OGRS3's offsets 2.1217 (two years) and 1.40256 (one year)


def p1_from_ogrs3(column: str = "ogrs3_2yr") -> pl.Expr:
    """Expected one-year reoffending probability from the OGRS3 two-year percentage."""
    p2 = pl.col(column).cast(pl.Float64) / 100
    return 1 / (1 + (-((p2 / (1 - p2)).log() - ONE_YEAR_OFFSET)).exp())


@dataclass(frozen=True)
class CohortResult:
    cohort_size: int
    reoffenders: int
    reoffences: int
    mean_p1: Decimal
    binary: Decimal | None
    frequency: Decimal | None
    adjusted_binary: Decimal | None
    z: float | None
    significance: str  # "significant reduction", "significant increase", "not significant", "no cohort"
    final: bool
    binary_payment_gbp: Decimal
    frequency_payment_gbp: Decimal

    @property
    def outcome_payment_gbp(self) -> Decimal:
        return self.binary_payment_gbp + self.frequency_payment_gbp


def outcome(
    n: int,
    reoffenders: int,
    reoffences: int,
    mean_p1: Decimal,
    terms: ProviderTerms,
    params: ContractParameters,
    *,
    final: bool,
    paid: bool,
) -> CohortResult:
    """The cohort's rates, adjustment, significance and money (``paid``: a CRC; NPS divisions never are)."""
    zero = Decimal("0.00")
    if n == 0:
        return CohortResult(0, 0, 0, mean_p1, None, None, None, None, "no cohort", final, zero, zero)
    baseline = Decimal(str(terms.baseline_binary))
    binary = Decimal(reoffenders) / Decimal(n)
    frequency = Decimal(reoffences) / Decimal(reoffenders) if reoffenders else None
    adjusted = binary - (mean_p1 - Decimal(str(terms.baseline_mean_p1)))
    b = terms.baseline_binary
    z = (float(adjusted) - b) / math.sqrt(b * (1 - b) / n)
    if z <= -params.significance_z:
        significance = "significant reduction"
    elif z >= params.significance_z:
        significance = "significant increase"
    else:
        significance = "not significant"
    binary_payment = frequency_payment = zero
    if paid and final and significance != "not significant":
        binary_payment = params.price_binary_gbp * (baseline - adjusted) * n
        if significance == "significant increase":
            binary_payment = max(binary_payment, -params.deduction_cap * terms.quarterly_fee_gbp)
        binary_payment = binary_payment.quantize(PENNY, rounding=ROUND_HALF_UP)
        baseline_frequency = Decimal(str(terms.baseline_frequency))
        if binary_payment > 0 and frequency is not None and frequency < baseline_frequency:
            frequency_payment = (params.price_frequency_gbp * (baseline_frequency - frequency) * reoffenders).quantize(
                PENNY, rounding=ROUND_HALF_UP
            )
    return CohortResult(
        n,
        reoffenders,
        reoffences,
        mean_p1,
        binary,
        frequency,
        adjusted,
        z,
        significance,
        final,
        binary_payment,
        frequency_payment,
    )
