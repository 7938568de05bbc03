"""The same definitions on the multiprocess executor (each step in its own process), and backfills."""

from __future__ import annotations

import json
import os

import dagster as dg
from typer.testing import CliRunner

from cli.main import app
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.warehouse.db import upgrade

Q = Quarter.parse("2017Q3")


def quarter_build():
    from orchestration.definitions import defs

    return defs.resolve_job_def("quarter_build")


def test_the_quarter_build_runs_on_the_multiprocess_executor(tmp_path, monkeypatch):
    from orchestration.runner.quarter import run_quarter

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    made = generate(tmp_path / "landing", [Q], ["C05", "N02"], scale=0.05)
    # the job's resources read their settings from the environment, in every step's process
    for name, value in {
        "RETURNS_DATABASE_URL": db,
        "RETURNS_LANDING": str(tmp_path / "landing"),
        "RETURNS_ARCHIVE": str(tmp_path / "archive"),
        "RETURNS_OUTPUT": str(tmp_path / "out"),
    }.items():
        monkeypatch.setenv(name, value)
    run_quarter(
        Q,
        ["C05", "N02"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        extract=made.extract,
    )

    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    try:
        result = dg.execute_job(
            dg.reconstructable(quarter_build),
            instance=instance,
            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
            tags={"dagster/partition": "2017-07-01"},
        )
        assert result.success
        started = [e for e in result.all_events if e.event_type_value == "STEP_START"]
        assert {e.step_key for e in started} == {
            "quarter_submissions",
            "reoffending_results",
            "quarter_performance",
            "integrity_signals",  # its checks are evaluated in its own step
            "ministry_return",
            "ministry_return_built_when_due",  # the freshness check runs with the build, as its own step
        }
        assert len({e.pid for e in started}) == 6  # one process per step
    finally:
        instance.dispose()
    manifest = json.loads((tmp_path / "out" / "2017Q3" / "manifest.json").read_text())
    assert manifest["build_number"] == 1  # same inputs as the in-process build: the build is kept


def test_a_backfill_rebuilds_each_quarter_and_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert (
        runner.invoke(
            app,
            [
                "generate",
                "--out",
                "landing",
                "--quarters",
                "2017Q2..2017Q3",
                "--providers",
                "C05,N02",
                "--scale",
                "0.03",
            ],
        ).exit_code
        == 0
    )
    args = ["backfill", "--quarters", "2017Q2..2017Q3", "--landing", "landing", "--out", "out"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    builds = {q: json.loads((tmp_path / "out" / q / "manifest.json").read_text()) for q in ("2017Q2", "2017Q3")}
    instance = dg.DagsterInstance.get()  # the command set DAGSTER_HOME (var/dagster here)
    try:
        pids = {r.tags["returns/pid"] for r in instance.get_runs() if r.job_name == "provider_intake"}
        builds_pid = {r.tags["returns/pid"] for r in instance.get_runs() if r.job_name == "quarter_build"}
        assert len(instance.get_runs(filters=dg.RunsFilter(job_name="provider_intake"))) == 2 * 28  # all providers
    finally:
        instance.dispose()
    # the provider runs in 2 worker processes, the same 2 for both quarters; the builds in the command's process
    assert len(pids) <= 2 and str(os.getpid()) not in pids and builds_pid == {str(os.getpid())}
    assert {q: m["build_number"] for q, m in builds.items()} == {"2017Q2": 1, "2017Q3": 1}
    assert {s["provider_code"] for s in builds["2017Q3"]["inputs"]["submissions"]} == {"C05", "N02"}
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    for q, m in builds.items():  # nothing changed: the same builds, byte for byte
        assert json.loads((tmp_path / "out" / q / "manifest.json").read_text()) == m
    assert not (tmp_path / "out" / "2017Q3" / "builds" / "002").exists()
    assert runner.invoke(app, ["backfill", "--quarters", "2017Q9", "--landing", "landing"]).exit_code == 2


def test_provider_runs_in_worker_processes_share_the_instance_and_the_warehouse(tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from probation_returns.warehouse.db import engine_for, session_scope
    from probation_returns.warehouse.models import AcceptedCase, Submission

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    codes = ["C05", "C14", "N02"]
    generate(tmp_path / "landing", [Q], codes, scale=0.03)
    prepare(tmp_path / "dagster")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    seen = []
    run = run_quarter(
        Q,
        codes,
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        workers=2,
        progress=seen.append,
    )
    assert run.failed == [] and sorted(seen) == codes
    with session_scope(engine_for(db)) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 3
        assert session.scalar(select(func.count()).select_from(AcceptedCase)) > 0
    instance = dg.DagsterInstance.get()
    try:
        partitions = sorted(
            r.tags.get("dagster/partition")
            for r in instance.get_runs()
            if r.tags.get("dagster/partition", "").count("|")
        )
        assert partitions == [f"{c}|2017-07-01" for c in codes]  # the workers' runs are in the shared instance
    finally:
        instance.dispose()
