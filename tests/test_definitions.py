"""The Dagster code location loads, and the pipeline runs through Dagster in-process."""

from __future__ import annotations

import csv

import dagster as dg
import pytest

from assets.lib.partitions import quarter_key, quarter_of, quarter_partitions, return_partitions
from orchestration.definitions import defs
from orchestration.runner.quarter import run_quarter
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.warehouse.db import upgrade

# A snapshot of what the code location defines: changing it is a decision, so it shows up in review.
ASSETS = [
    "accepted_return",
    "integrity_signals",
    "ministry_return",
    "provider_measures",
    "provider_submission",
    "provider_validation",
    "quarter_performance",
    "quarter_submissions",
    "reoffending_extract",
    "reoffending_results",
]
CHECKS = [
    "integrity_signals:case_mix_drift",  # one per signal (probation_returns/integrity/signals.py), WARN only
    "integrity_signals:contact_intensity",
    "integrity_signals:deadline_heaping",
    "integrity_signals:exclusion_drift",
    "ministry_return:built_when_due",
    "ministry_return:files_match_manifest",
    "provider_validation:breaches_errors",
    "provider_validation:breaches_warnings",
    "provider_validation:cases_errors",
    "provider_validation:cases_warnings",
    "provider_validation:contacts_errors",
    "provider_validation:contacts_warnings",
    "provider_validation:file_readable",
    "quarter_performance:credits_within_caps",
    "quarter_performance:every_provider_present",
    "quarter_performance:numerators_within_denominators",
]
JOBS = ["extract_intake", "provider_intake", "quarter_build"]
SENSORS = ["extract_rebuild_sensor", "extract_sensor", "landing_sensor", "run_failure_alerts"]
SCHEDULES = ["quarter_freshness_schedule", "quarter_schedule"]


def test_definitions_load_and_match_the_snapshot():
    repo = defs.get_repository_def()
    assert sorted(k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()) == ASSETS
    assert sorted(j for j in repo.job_names if not j.startswith("__")) == JOBS
    assert sorted(s.name for s in repo.sensor_defs) == SENSORS
    assert sorted(s.name for s in repo.schedule_defs) == SCHEDULES
    checks = repo.asset_graph.asset_check_keys
    assert sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in checks) == CHECKS
    dg.Definitions.validate_loadable(defs)
    for key in repo.asset_graph.get_all_asset_keys():  # what the UI shows a data engineer about each asset
        node = repo.asset_graph.get(key)
        assert node.description and node.owners == ["team:data-engineering"], key
    for check in checks:  # each return's or quarter's own result, not one line for all partitions
        assert repo.asset_graph.get(check).partitions_def is not None, check


def test_the_code_location_loads_as_workspace_yaml_names_it():
    """``dagster dev -w workspace.yaml`` (and the daemon) load the module's one Definitions object; a second at
    module scope (an area's, imported by name) would stop the code location from loading at all."""
    from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

    targets = loadable_targets_from_python_module("orchestration.definitions", working_directory=".")
    assert [(t.attribute, t.target_definition) for t in targets] == [("defs", defs)]


def test_quarter_partitions_are_keyed_by_the_quarters_first_day():
    assert quarter_key("2017Q3") == "2017-07-01"
    assert str(quarter_of("2017-07-01")) == "2017Q3"
    keys = quarter_partitions.get_partition_keys()
    assert keys[0] == "2015-01-01" and "2017-10-01" in keys
    # the contracts' 25 quarters, 2015Q1 to 2021Q1, whatever today's date: no quarter after them counts as missing
    assert len(keys) == 25 and keys[-1] == "2021-01-01"
    assert len(return_partitions.get_partition_keys()) == len(keys) * 28


@pytest.mark.slow
def test_a_quarter_runs_through_dagster_and_lists_every_provider(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    generate(tmp_path / "landing", [Quarter.parse("2017Q3")], ["C01", "C14"], scale=0.02)
    run = run_quarter(
        Quarter.parse("2017Q3"),
        ["C01", "C14", "C02"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
    )
    assert run.failed == []
    with run.submissions_csv.open(newline="") as f:
        rows = {r["provider_code"]: r for r in csv.DictReader(f)}
    assert len(rows) == 28
    assert rows["C01"]["version"] == "1" and rows["C14"]["files"] == "C14_2017Q3.xlsx"
    assert rows["C01"]["outcome"] == "Accepted" and rows["C01"]["status"] == "validated"
    assert (
        tmp_path / "out" / "feedback" / "C01" / "2017Q3" / f"submission-{rows['C01']['submission_id']}" / "summary.json"
    ).exists()
    assert rows["C02"]["status"] == "no return" and rows["C02"]["submission_id"] == ""
    # Running again changes nothing: the same bytes are recognised.
    run_quarter(
        Quarter.parse("2017Q3"),
        ["C01"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
    )
    with run.submissions_csv.open(newline="") as f:
        assert {r["provider_code"]: r["version"] for r in csv.DictReader(f)}["C01"] == "1"
