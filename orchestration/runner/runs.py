"""The named jobs run in-process (``execute_in_process``) for the command line and its worker processes.

Runs are the named jobs (``provider_intake``, ``quarter_build``, ``extract_intake``) executed through
Dagster, so that they are recorded in the instance under ``DAGSTER_HOME`` and show in the UI exactly
like the sensors' and schedule's runs, with the same job names and tags. A whole quarter's runs:
``orchestration/runner/quarter.py``; the processes that take its provider runs: ``workers.py``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

from assets.lib.partitions import return_key
from assets.lib.resources import Folders, Warehouse
from orchestration import origin
from orchestration.instance import open_instance
from probation_returns.calendar import Quarter

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
