"""The credibility report's thresholds, from ``parameters/credibility.toml`` (where each is explained), and the
chi-square points its mix test uses."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from probation_returns.parameters import parameters_dir

FILE = "credibility.toml"

# The chi-square distribution's 1-in-10,000 upper point by degrees of freedom (a mix of k categories has k - 1):
# chance alone gives a PSI of about chi-square(k - 1) x (1/n1 + 1/n2) between two samples of n1 and n2.
CHI_SQUARE_1_IN_10000 = {
    1: 15.14,
    2: 18.42,
    3: 21.11,
    4: 23.51,
    5: 25.74,
    6: 27.86,
    7: 29.88,
    8: 31.83,
    9: 33.72,
    10: 35.56,
    11: 37.37,
    12: 39.13,
}


@cache
def _read(path: Path) -> dict[str, dict[str, float]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def limits() -> dict[str, dict[str, float]]:
    """``{family: {name: value}}``; the parameters folder in use, else this checkout's."""
    path = parameters_dir() / FILE
    if not path.is_file():
        path = Path(__file__).resolve().parents[2] / "parameters" / FILE
    return _read(path)
