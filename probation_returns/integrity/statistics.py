"""The tests the signals use, in plain arithmetic (normal approximations; counts below a signal's minimum are
never tested)."""

from __future__ import annotations

import math


def proportion_z(successes: int, n: int, expected: float) -> float:
    """One-sample z of ``successes`` of ``n`` against the proportion ``expected``."""
    if n == 0 or expected <= 0 or expected >= 1:
        return 0.0
    return (successes / n - expected) / math.sqrt(expected * (1 - expected) / n)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float:
    """The pooled two-proportion z of x1/n1 against x2/n2 (0 when either is empty or the pool is all or none)."""
    if n1 == 0 or n2 == 0:
        return 0.0
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.0
    return (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))


def smallest_count(n: int, passes) -> int | None:
    """The smallest count from 0 to ``n`` for which ``passes(count)`` holds (None: none does)."""
    return next((x for x in range(n + 1) if passes(x)), None)


def mean_difference_z(mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int) -> float:
    """Welch's z for the difference of two means."""
    spread = math.sqrt(var1 / n1 + var2 / n2) if n1 and n2 else 0.0
    return (mean1 - mean2) / spread if spread else 0.0


def population_stability_index(actual: dict[str, int], expected: dict[str, int]) -> float:
    """PSI = sum over categories of (a - e) * ln(a / e), shares smoothed by a half count per category."""
    keys = sorted(set(actual) | set(expected))
    na = sum(actual.values()) + 0.5 * len(keys)
    ne = sum(expected.values()) + 0.5 * len(keys)
    total = 0.0
    for k in keys:
        a = (actual.get(k, 0) + 0.5) / na
        e = (expected.get(k, 0) + 0.5) / ne
        total += (a - e) * math.log(a / e)
    return total
