"""The tests the signals use, in plain arithmetic (normal approximations; counts below a signal's minimum are
never tested)."""

from __future__ import annotations

import math


def proportion_z(successes: int, n: int, expected: float) -> float:
    """One-sample z of ``successes`` of ``n`` against the proportion ``expected``."""
    if n == 0 or expected <= 0 or expected >= 1:
        return 0.0
    return (successes / n - expected) / math.sqrt(expected * (1 - expected) / n)


def smoothed(successes: int, n: int) -> float:
    """A reference proportion that is never exactly 0 or 1 (add a half to each side)."""
    return (successes + 0.5) / (n + 1)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float:
    """z of x1/n1 against x2/n2, with the reference's (smoothed) proportion as the spread under no change."""
    if n1 == 0 or n2 == 0:
        return 0.0
    p2 = smoothed(x2, n2)
    return (x1 / n1 - x2 / n2) / math.sqrt(p2 * (1 - p2) * (1 / n1 + 1 / n2))


def two_proportion_bound(p2: float, n1: int, n2: int, z: float) -> float:
    """The proportion x1/n1 at which ``two_proportion_z`` reaches ``z`` (p2 smoothed as there)."""
    return p2 + z * math.sqrt(p2 * (1 - p2) * (1 / n1 + 1 / n2))


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
