"""The credibility report's thresholds, from ``parameters/credibility.toml`` (where each is explained), and the
chi-square points its mix test uses."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from probation_returns.parameters import parameters_dir

FILE = "credibility.toml"

# The chi-square distribution's 1-in-a-million upper point by degrees of freedom (a mix of k categories has k - 1):
# chance alone gives a PSI of about chi-square(k - 1) x (1/n1 + 1/n2) between two samples of n1 and n2. One in a
# million, not one in ten thousand: with rare categories (deaths, "other" terminations) the half count added to
# each makes the honest PSI's tail heavier than chi-square's, and the 1-in-10,000 point flagged an honest provider
# in the first measurement (docs/credibility.md).
CHI_SQUARE_1_IN_A_MILLION = {
    1: 23.93,
    2: 27.63,
    3: 30.66,
    4: 33.38,
    5: 35.89,
    6: 38.26,
    7: 40.52,
    8: 42.70,
    9: 44.81,
    10: 46.86,
    11: 48.87,
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
