"""Every integrity signal for a quarter: one row per provider, signal and measure, flagged or not."""

from __future__ import annotations

from probation_returns.integrity import (
    binary_vs_frequency,
    case_mix_drift,
    contact_intensity,
    deadline_heaping,
    exclusion_drift,
    late_flip,
)
from probation_returns.integrity.model import QuarterData, Signal
from probation_returns.integrity.thresholds import thresholds

SIGNALS = {
    deadline_heaping.NAME: deadline_heaping,
    exclusion_drift.NAME: exclusion_drift,
    contact_intensity.NAME: contact_intensity,
    case_mix_drift.NAME: case_mix_drift,
    late_flip.NAME: late_flip,
    binary_vs_frequency.NAME: binary_vs_frequency,
}


def compute(data: QuarterData, codes: list[str], limits: dict[str, dict[str, float]] | None = None) -> list[Signal]:
    """The signals of ``codes`` (every provider of the return, with or without an accepted return)."""
    limits = limits or thresholds()
    rank = {code: i for i, code in enumerate(codes)}
    rows = [row for name, module in SIGNALS.items() for row in module.compute(data, codes, limits[name])]
    order = {name: i for i, name in enumerate(SIGNALS)}
    return sorted(rows, key=lambda r: (rank[r.provider_code], order[r.signal]))
