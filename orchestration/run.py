"""Running the pipeline for the command line (``returns demo``, ``returns run``, ``returns backfill``).

Runs go through Dagster (``materialize``) so that they are recorded in the instance under
``DAGSTER_HOME`` and show in the UI exactly like scheduled runs. With a persistent instance the
28 provider runs of a quarter go to a pool of worker processes (``workers``; each run is still
one Dagster run); otherwise, and always for the quarter's build, they run in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.intake import provider_submission, quarter_submissions
from assets.performance import provider_measures, quarter_performance, reoffending_extract, reoffending_results
from assets.returns import ministry_return
from assets.validation import provider_validation
from orchestration.partitions import quarter_key, return_key
from orchestration.resources import Folders, Warehouse
from probation_returns.calendar import Quarter


@dataclass
class QuarterRun:
    quarter: Quarter
    runs: int
    failed: list[str]
    submissions_csv: Path


def instance() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set, otherwise a throwaway one."""
    try:
        return dg.DagsterInstance.get()
    except Exception:  # DAGSTER_HOME unset: Dagster raises its own invariant error
        return dg.DagsterInstance.ephemeral()


def crashed(result: dg.ExecuteInProcessResult) -> bool:
    """Whether a step really failed; a blocking check that stopped a rejected return is a normal outcome."""
    if result.success:
        return False
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
            if error is None or error.cls_name != "DagsterAssetCheckFailedError":
                return True
    return False


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the CLI reports failures itself


def _settings(folders: Folders) -> dict:
    return {"landing": folders.landing, "archive": folders.archive, "output": folders.output,
            "extract": folders.extract, "quarter_subfolders": folders.quarter_subfolders, "alerts": folders.alerts}


def _materialize_return(inst: dg.DagsterInstance, resources: dict, quarter, code: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([provider_submission, provider_validation, provider_measures],
                          partition_key=return_key(quarter, code), resources=resources, instance=inst,
                          raise_on_error=False, tags={"source": "cli"}, run_config=QUIET)


_WORKER_INSTANCE: dg.DagsterInstance | None = None


def _provider_run(quarter: str, code: str, settings: dict, database_url: str) -> tuple[str, bool]:
    """One provider's run in a worker process, recorded in the shared instance under DAGSTER_HOME."""
    global _WORKER_INSTANCE
    if _WORKER_INSTANCE is None:
        _WORKER_INSTANCE = instance()
    resources = {"warehouse": Warehouse(url=database_url), "folders": Folders(**settings)}
    return code, crashed(_materialize_return(_WORKER_INSTANCE, resources, Quarter.parse(quarter), code))


def run_quarter(quarter: Quarter, providers: list[str], *, landing: Path, archive: Path, output: Path,
                database_url: str = "", extract: Path | None = None, quarter_subfolders: bool = True,
                progress: Callable[[str], None] | None = None,
                dagster_instance: dg.DagsterInstance | None = None, register_extract: bool = True,
                workers: int = 1) -> QuarterRun:
    folders = Folders(landing=str(landing), archive=str(archive), output=str(output),
                      extract=str(extract) if extract else "", quarter_subfolders=quarter_subfolders)
    resources = {"warehouse": Warehouse(url=database_url), "folders": folders}
    inst = dagster_instance or instance()
    failed: list[str] = []
    if register_extract:  # a backfill registers the extract once, not once per quarter
        result = dg.materialize([reoffending_extract], resources=resources, instance=inst, raise_on_error=False,
                                tags={"source": "cli"}, run_config=QUIET)
        if crashed(result):
            failed.append("reoffending extract")
    shared = dagster_instance is None and bool(os.environ.get("DAGSTER_HOME"))  # workers see the same runs
    if workers > 1 and shared and len(providers) > 1:
        spawn = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited engines or threads
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            jobs = [pool.submit(_provider_run, str(quarter), code, _settings(folders), database_url) for code in providers]
            for job in as_completed(jobs):
                code, bad = job.result()
                if bad:
                    failed.append(code)
                if progress:
                    progress(code)
        failed.sort(key=providers.index)
    else:
        for code in providers:
            if crashed(_materialize_return(inst, resources, quarter, code)):
                failed.append(code)
            if progress:
                progress(code)
    result = dg.materialize([quarter_submissions, reoffending_results, quarter_performance, ministry_return],
                            partition_key=quarter_key(quarter), resources=resources, instance=inst,
                            raise_on_error=False, tags={"source": "cli"}, run_config=QUIET)
    if crashed(result):
        failed.append("quarter build")
    return QuarterRun(quarter, len(providers) + 1 + register_extract, failed, folders.quarter_output(quarter) / "submissions.csv")
