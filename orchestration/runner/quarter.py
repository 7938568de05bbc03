"""A quarter through the named jobs for the command line (``returns demo``, ``returns run``, ``returns backfill``).

The extract, then the 28 provider runs, then the quarter's build, each one Dagster run (``runs.py``). With a
persistent instance the provider runs go to a pool of worker processes (``workers.py``); otherwise, and always
for the quarter's build, they run in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.lib.partitions import quarter_key
from assets.lib.resources import Folders, Warehouse
from orchestration.runner import runs  # by module: a benchmark times runs._execute by replacing it
from orchestration.runner import workers as worker_processes
from probation_returns.calendar import Quarter


@dataclass
class QuarterRun:
    quarter: Quarter
    runs: int
    failed: list[str]  # what failed: provider codes, "reoffending extract", "quarter build"
    submissions_csv: Path
    reasons: dict[str, str] = field(default_factory=dict)  # what failed -> why, in one line


def _settings(folders: Folders) -> dict:
    return {
        "landing": folders.landing,
        "archive": folders.archive,
        "output": folders.output,
        "extract": folders.extract,
        "quarter_subfolders": folders.quarter_subfolders,
        "alerts": folders.alerts,
    }


def _largest_first(landing: Path, quarter: Quarter, providers: list[str]) -> list[str]:
    """The providers by how much they sent for the quarter, most first: the big returns should not run last."""
    sent = dict.fromkeys(providers, 0)
    try:
        for path in landing.rglob(f"*_{quarter}*"):
            code = path.name.split("_", 1)[0].upper()
            if code in sent and path.is_file():
                sent[code] += path.stat().st_size
    except OSError:
        pass  # only the order is lost
    return sorted(providers, key=lambda code: -sent[code])


def run_quarter(
    quarter: Quarter,
    providers: list[str],
    *,
    landing: Path,
    archive: Path,
    output: Path,
    database_url: str = "",
    extract: Path | None = None,
    quarter_subfolders: bool = True,
    progress: Callable[[str], None] | None = None,
    dagster_instance: dg.DagsterInstance | None = None,
    register_extract: bool = True,
    workers: int = 1,
    pool: Executor | None = None,
) -> QuarterRun:
    """One quarter through the named jobs: the extract, the 28 provider runs (in ``pool``, or in ``workers``
    processes started here, when the instance is shared), then the quarter's build."""
    folders = Folders(
        landing=str(landing),
        archive=str(archive),
        output=str(output),
        extract=str(extract) if extract else "",
        quarter_subfolders=quarter_subfolders,
    )
    resources = {"warehouse": Warehouse(url=database_url), "folders": folders}
    inst = dagster_instance or runs.instance()
    runs.fail_orphaned_runs(inst)
    reasons: dict[str, str] = {}
    shared = dagster_instance is None and bool(os.environ.get("DAGSTER_HOME"))  # workers see the same runs
    own = None
    if not shared or len(providers) < 2:
        pool = None
    elif pool is None:
        pool = own = worker_processes.start(workers)
    if pool is not None:
        # Submitted before the extract is registered, so workers start on them at once. The largest returns
        # go first, so no large one is left running alone at the end.
        jobs = [
            pool.submit(runs._provider_run, str(quarter), code, _settings(folders), database_url)
            for code in _largest_first(folders.landing_path, quarter, providers)
        ]
    if register_extract:  # a backfill registers the extract once, not once per quarter
        if why := runs.failure(runs._execute("extract_intake", resources, inst)):
            reasons["reoffending extract"] = why
    if pool is not None:
        try:
            for job in as_completed(jobs):
                code, why = job.result()
                if why:
                    reasons[code] = why
                if progress:
                    progress(code)
        finally:
            if own is not None:
                own.shutdown(wait=False)  # the workers' exit need not delay the quarter's build
    else:
        for code in providers:
            if why := runs.failure(runs._materialize_return(inst, resources, quarter, code)):
                reasons[code] = why
            if progress:
                progress(code)
    result = runs._execute("quarter_build", resources, inst, quarter_key(quarter))
    if why := runs.failure(result):
        reasons["quarter build"] = why
    order = ["reoffending extract", *providers, "quarter build"]
    failed = sorted(reasons, key=order.index)
    return QuarterRun(
        quarter,
        len(providers) + 1 + register_extract,
        failed,
        folders.quarter_output(quarter) / "submissions.csv",
        {k: reasons[k] for k in failed},
    )
