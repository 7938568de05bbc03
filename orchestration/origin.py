"""Runs the command line and the portal execute in their own process, recorded as runs of their job in the code
location that ``workspace.yaml`` loads (``orchestration.definitions``), as if launched from the Dagster UI.

``JobDefinition.execute_in_process`` records a run with no code-location origin: such a run has no
``.dagster/repository`` tag, so the UI's Timeline and each job's Runs tab (which filter by it) leave it out, and
Re-execute warns that the job "may be a different version". Here the run is created with the origin Dagster's
webserver gives the code location, from the code location's own job (the same snapshot, so Re-execute sees the
same version), and executed in this process by Dagster's ``execute_run``. What differs between the command line's
runs (its folders, its warehouse) is the run's resource configuration, which Re-execute reuses.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"

# in this process, one step after another: no subprocess per step (the job's default executor would start one)
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@functools.cache
def code_location():
    """The repository ``workspace.yaml`` names, its origin as the webserver records it, and its definition."""
    from dagster._core.code_pointer import CodePointer
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths
    from dagster._grpc.utils import get_loadable_targets

    [location] = location_origins_from_yaml_paths([str(WORKSPACE)])
    target = location.loadable_target_origin
    [loadable] = get_loadable_targets(
        python_file=None,
        module_name=target.module_name,
        package_name=None,
        autoload_defs_module_name=None,
        working_directory=target.working_directory,
        attribute=target.attribute,
        resolve_lazy_defs=True,
    )
    pointer = CodePointer.from_module(target.module_name, loadable.attribute, target.working_directory)
    repository = ReconstructableRepository(pointer, executable_path=target.executable_path or sys.executable)
    definition = repository.get_definition()
    return repository, RemoteRepositoryOrigin(location, definition.name), definition


def repository_label() -> str:
    """What the UI filters a job's runs by (the ``.dagster/repository`` tag): ``repository@location``."""
    return code_location()[1].get_label()


def resource_config(resources: Mapping[str, dg.ConfigurableResource]) -> dict:
    """Resources as run configuration for the code location's own (unconfigured) resources.

    The run's configuration is stored with it and shown in the UI, so a warehouse URL is written into it only
    when it is not the environment's own (``RETURNS_DATABASE_URL``, which the resource reads when its URL is
    empty) and carries no password."""
    from sqlalchemy.engine import make_url

    from probation_returns.warehouse.db import database_url

    config = {
        name: {"config": {field: getattr(resource, field) for field in type(resource).model_fields}}
        for name, resource in resources.items()
    }
    warehouse = config.get("warehouse", {}).get("config", {})
    if warehouse.get("url") == database_url():
        warehouse["url"] = ""
    elif warehouse.get("url") and make_url(warehouse["url"]).password:
        raise ValueError("a warehouse URL with a password must come from RETURNS_DATABASE_URL")
    return {"resources": config}


def execute(
    job_name: str,
    instance: dg.DagsterInstance,
    *,
    run_config: Mapping | None = None,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
):
    """Run the code location's job ``job_name`` in this process, recorded with its origin. Failures are in the
    result (``success``, its events), as ``execute_in_process(raise_on_error=False)`` gives them."""
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.api import create_execution_plan, execute_run
    from dagster._core.execution.execute_in_process import merge_run_tags
    from dagster._core.remote_origin import RemoteJobOrigin

    repository, origin, definition = code_location()
    job = definition.get_job(job_name)
    config = {**IN_PROCESS, **(run_config or {})}
    run_tags = merge_run_tags(
        job_def=job, partition_key=partition_key, tags=tags, asset_selection=None, instance=instance, run_config=config
    )
    plan = create_execution_plan(
        job, run_config=config, instance_ref=instance.get_ref() if instance.is_persistent else None, tags=run_tags
    )
    run = instance.create_run_for_job(
        job_def=job,
        execution_plan=plan,
        run_config=config,
        tags=run_tags,
        remote_job_origin=RemoteJobOrigin(origin, job_name),
        job_code_origin=repository.get_reconstructable_job(job_name).get_python_origin(),
    )
    return execute_run(InMemoryJob(job), run, instance, raise_on_error=False)
