"""What a signal says about one provider, signal and measure, and the quarter's data it is computed from."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from probation_returns.calendar import Quarter

HISTORY_QUARTERS = 4  # a provider's own history: its previous four quarters


@dataclass(frozen=True)
class Versions:
    """A provider's counted return for the quarter and the accepted version before it (``late_flip``): every
    column of both, as the warehouse keeps them."""

    earlier: int  # the earlier version's number
    counted: int  # the counted version's number
    before: dict[str, pl.DataFrame]
    after: dict[str, pl.DataFrame]


@dataclass(frozen=True)
class Reoffending:
    """A provider's proven reoffending for one cohort quarter, as the measures counted it (``binary_vs_frequency``)."""

    cohort_size: int
    reoffenders: int
    reoffences: int
    final: bool  # counted with the full 18 months of data (False: an interim figure)


@dataclass
class QuarterData:
    """Accepted records as the measures read them (typed: dates, booleans), by provider.

    ``current``: each provider with an accepted return for ``quarter``; ``history``: each provider's accepted
    returns for the previous ``HISTORY_QUARTERS`` quarters (those it has); ``versions``: each provider whose
    counted return replaced an earlier accepted version; ``reoffending``: each provider's reoffending by cohort
    quarter, for the quarter and its previous ``HISTORY_QUARTERS`` (those with a result).
    """

    quarter: Quarter
    current: dict[str, dict[str, pl.DataFrame]]
    history: dict[str, dict[Quarter, dict[str, pl.DataFrame]]] = field(default_factory=dict)
    versions: dict[str, Versions] = field(default_factory=dict)
    reoffending: dict[str, dict[Quarter, Reoffending]] = field(default_factory=dict)

    def peers(self, code: str) -> list[dict[str, pl.DataFrame]]:
        return [tables for other, tables in self.current.items() if other != code]


@dataclass(frozen=True)
class Signal:
    quarter: str
    provider_code: str
    signal: str
    measure: str
    count: int | None  # what the statistic was computed over (events, terminations, contacts, new cases)
    statistic: Decimal | None
    expected: Decimal | None
    threshold: Decimal | None
    z: Decimal | None
    compared_with: str  # "other providers", "previous quarters", or why nothing was compared
    flagged: bool
    explanation: str
    cases: tuple[str, ...] = ()  # case references behind the signal: for the contract manager, never in the return


def dp(value: float | None, places: int = 4) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def pct(value: float) -> str:
    """A proportion in words: 0.4567 -> '45.7%'."""
    return f"{Decimal(repr(100 * value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def nothing(quarter: Quarter, code: str, signal: str, measure: str, compared_with: str, explanation: str) -> Signal:
    """A row with nothing to look at: no statistic, never flagged, and why in words."""
    return Signal(str(quarter), code, signal, measure, None, None, None, None, None, compared_with, False, explanation)


def no_return(quarter: Quarter, code: str, signal: str, measure: str) -> Signal:
    return nothing(
        quarter,
        code,
        signal,
        measure,
        "nothing: no accepted return",
        "No accepted return for the quarter, so there is nothing to look at.",
    )
