"""The quarter's figures as CSV: ``service_levels.csv``, ``reoffending.csv``, ``payments.csv``."""

from __future__ import annotations

from pathlib import Path

from probation_returns.measures.figures import QuarterFigures
from reports.csv import write_csv


def write_measures(figures: QuarterFigures, out: Path) -> dict[str, Path]:
    paths = {}
    for name, frame in (("service_levels.csv", figures.service_levels), ("reoffending.csv", figures.reoffending),
                        ("payments.csv", figures.payments)):
        paths[name] = out / name
        write_csv(frame, paths[name])
    return paths
