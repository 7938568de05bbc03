"""The signals' thresholds, from ``parameters/integrity.toml`` (where each is explained)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from probation_returns.parameters import parameters_dir

FILE = "integrity.toml"


@cache
def _read(path: Path) -> dict[str, dict[str, float]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def thresholds() -> dict[str, dict[str, float]]:
    """``{signal: {name: value}}``; the parameters folder in use, else this checkout's."""
    path = parameters_dir() / FILE
    if not path.is_file():
        path = Path(__file__).resolve().parents[2] / "parameters" / FILE
    return _read(path)
