"""Service credits for CRCs, in exact money.

For each measure below target with at least the minimum volume (or every measure, at 0%, when the
provider has no valid return): ``min(cap_per_measure x fee, rate x fee x shortfall)``, shortfall in
percentage points. The quarter's total is capped; where the cap bites every credit is scaled down in
proportion. Computed in Decimal.

The penny rule, held everywhere (credits, payments, summary): every credit is its exact amount
rounded half up to the penny, and the provider's total is the sum of its credits, always. Only
when the quarterly cap bites (the exact total is over the cap, or the rounded credits would add up
to more than the cap rounded half up) is the capped total, rounded half up, shared out in whole
pennies by largest remainder (ties: the measures' order), so the credits add up to it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from probation_returns.measures.service_levels import ServiceLevel
from probation_returns.parameters import ContractParameters

PENNY = Decimal("0.01")


@dataclass(frozen=True)
class Credit:
    measure: str
    unscaled_gbp: Decimal  # before the quarterly cap
    amount_gbp: Decimal  # what is levied
    parameter_version: str


def credits(levels: list[ServiceLevel], fee: Decimal, params: ContractParameters) -> list[Credit]:
    raw: dict[str, Decimal] = {}
    for level in levels:
        if level.status not in ("missed", "no valid return"):
            raw[level.measure] = Decimal(0)
            continue
        shortfall = level.target - level.performance
        raw[level.measure] = min(params.credit_cap_per_measure * fee, params.credit_rate_per_point * fee * shortfall)
    total = sum(raw.values(), Decimal(0))
    cap = params.credit_cap_per_quarter * fee
    amounts = {m: v.quantize(PENNY, rounding=ROUND_HALF_UP) for m, v in raw.items()}
    if total > cap or sum(amounts.values()) > cap.quantize(PENNY, rounding=ROUND_HALF_UP):  # the cap bites
        amounts = _share(raw, min(total, cap).quantize(PENNY, rounding=ROUND_HALF_UP), total)
    return [
        Credit(m, value.quantize(PENNY, rounding=ROUND_HALF_UP), amounts[m], params.version) for m, value in raw.items()
    ]


def _share(raw: dict[str, Decimal], levied: Decimal, total: Decimal) -> dict[str, Decimal]:
    """``raw`` scaled to ``levied`` in whole pennies that add up to it exactly."""
    exact = {m: v * levied / total for m, v in raw.items()}
    floors = {m: v.quantize(PENNY, rounding=ROUND_DOWN) for m, v in exact.items()}
    pennies = int((levied - sum(floors.values())) / PENNY)
    order = sorted(exact, key=lambda m: (-(exact[m] - floors[m]), list(raw).index(m)))
    for m in order[:pennies]:
        floors[m] += PENNY
    return floors
