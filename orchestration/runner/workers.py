"""Worker processes for the command line's provider runs, started before anything heavy.

A worker spends about 1.5 s importing Dagster, the definitions and Polars. Started first, workers import
while the command migrates the warehouse and registers the extract, and ``returns backfill`` keeps the
same workers for every quarter instead of starting new ones each time. Only the standard library is
imported here, so starting them costs the command nothing.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def _warm() -> None:
    import orchestration.runner.runs  # noqa: F401 - the import is the point (the provider runs are there)


def start(workers: int) -> ProcessPoolExecutor | None:
    """``workers`` spawned processes already importing, or None when runs stay in this process.

    Workers record their runs in the instance under ``DAGSTER_HOME``, so it must be set (and prepared) first.
    """
    if workers < 2 or not os.environ.get("DAGSTER_HOME"):
        return None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers):
        pool.submit(_warm)
    return pool
