"""Running the pipeline for the command line (``returns demo``, ``returns run``, ``returns backfill``).

Runs are the named jobs (``provider_intake``, ``quarter_build``, ``extract_intake``) executed through
Dagster, so that they are recorded in the instance under ``DAGSTER_HOME`` and show in the UI exactly
like the sensors' and schedule's runs, with the same job names and tags. With a persistent instance the
28 provider runs of a quarter go to a pool of worker processes (``workers``; each run is still
one Dagster run); otherwise, and always for the quarter's build, they run in this process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration import origin
from orchestration import workers as worker_processes
from orchestration.instance import open_instance
from orchestration.partitions import quarter_key, return_key
from orchestration.resources import Folders, Warehouse
from probation_returns.calendar import Quarter


@dataclass
class QuarterRun:
    quarter: Quarter
    runs: int
    failed: list[str]  # what failed: provider codes, "reoffending extract", "quarter build"
    submissions_csv: Path
    reasons: dict[str, str] = field(default_factory=dict)  # what failed -> why, in one line


# The command line's runs print to the terminal that runs them: capturing their stdout and stderr into the
# instance (a tee process and files per step) was a fifth of each provider run's fixed cost. Runs launched
# by the daemon or the portal keep Dagster's capture.
NO_CAPTURE = {
    "compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}
}


def instance() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set (without log capture), otherwise a throwaway one."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    return open_instance(Path(home), overrides=NO_CAPTURE)  # two commands at once on a new home: one makes it


def failure(result) -> str | None:
    """Why a step really failed, in one line (None: it did not)."""
    if result.success:
        return None
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue
            user = getattr(data, "user_failure_data", None)
            text = (getattr(user, "description", None) or (error.message if error else "") or "failed").strip()
            return f"{event.step_key}: {text.splitlines()[0][:300]}"
    return "the run failed before its steps (see the Dagster UI)"


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the CLI reports failures itself
HOST, PID = "returns/host", "returns/pid"


def _tags() -> dict[str, str]:
    """Who runs it: a run whose process is gone while it is still 'started' was killed (see fail_orphaned_runs)."""
    return {"source": "cli", HOST: socket.gethostname(), PID: str(os.getpid())}


def fail_orphaned_runs(inst: dg.DagsterInstance) -> list[str]:
    """Mark failed the command line's runs on this machine whose process no longer exists (killed part-way).

    Without this a killed run stays 'Started' in the Dagster UI for good; the daemon's run monitoring
    (instance templates, max_runtime_seconds) catches runs killed on other machines, later.
    """
    failed = []
    host = socket.gethostname()
    for run in inst.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING], tags={HOST: host})
    ):
        try:
            os.kill(int(run.tags.get(PID, "0")), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except (PermissionError, ValueError):
            continue
        inst.report_run_failed(
            run,
            f"The process running it (pid {run.tags.get(PID)}) ended without finishing it; "
            "a later run redoes the work.",
        )
        failed.append(run.run_id)
    return failed


def _settings(folders: Folders) -> dict:
    return {
        "landing": folders.landing,
        "archive": folders.archive,
        "output": folders.output,
        "extract": folders.extract,
        "quarter_subfolders": folders.quarter_subfolders,
        "alerts": folders.alerts,
    }


def _execute(job: str, resources: dict, inst: dg.DagsterInstance, partition_key: str | None = None):
    """The code location's job, run in this process and recorded as its run (``orchestration.origin``); the
    given resources are the run's configuration. Failures are in the result, not raised."""
    config = {**QUIET, **origin.resource_config(resources)}
    return origin.execute(job, inst, run_config=config, partition_key=partition_key, tags=_tags())


def _materialize_return(inst: dg.DagsterInstance, resources: dict, quarter, code: str):
    return _execute("provider_intake", resources, inst, return_key(quarter, code))


_WORKER_INSTANCE: dg.DagsterInstance | None = None


def _provider_run(quarter: str, code: str, settings: dict, database_url: str) -> tuple[str, str | None]:
    """One provider's run in a worker process, recorded in the shared instance under DAGSTER_HOME."""
    global _WORKER_INSTANCE
    if _WORKER_INSTANCE is None:
        _WORKER_INSTANCE = instance()
    resources = {"warehouse": Warehouse(url=database_url), "folders": Folders(**settings)}
    return code, failure(_materialize_return(_WORKER_INSTANCE, resources, Quarter.parse(quarter), code))


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
    inst = dagster_instance or instance()
    fail_orphaned_runs(inst)
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
            pool.submit(_provider_run, str(quarter), code, _settings(folders), database_url)
            for code in _largest_first(folders.landing_path, quarter, providers)
        ]
    if register_extract:  # a backfill registers the extract once, not once per quarter
        if why := failure(_execute("extract_intake", resources, inst)):
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
            if why := failure(_materialize_return(inst, resources, quarter, code)):
                reasons[code] = why
            if progress:
                progress(code)
    result = _execute("quarter_build", resources, inst, quarter_key(quarter))
    if why := failure(result):
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
