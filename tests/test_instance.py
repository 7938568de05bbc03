"""The Dagster instance: SQLite under DAGSTER_HOME by default, PostgreSQL from a template."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from orchestration.instance import MARK, prepare


def test_the_default_instance_is_sqlite_and_a_hand_written_config_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("RETURNS_DAGSTER_POSTGRES_URL", raising=False)
    path = prepare(tmp_path / "home")
    assert (
        MARK in path.read_text() and "from sqlite.yaml" in path.read_text() and "postgres_url" not in path.read_text()
    )
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    try:  # one run at a time per partition, one quarter build at a time
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert {limit["key"] for limit in limits} == {"dagster/partition", "returns/build"}
        assert type(instance.run_storage).__name__ == "KeptConnectionSqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "KeptConnectionsSqliteEventLogStorage"
        instance.get_runs(limit=1)  # Dagster's own place for the runs, whichever class keeps them
        assert (tmp_path / "home" / "history" / "runs.db").exists()
    finally:
        instance.dispose()
    path.write_text("telemetry:\n  enabled: true\n")
    prepare(tmp_path / "home")
    assert path.read_text() == "telemetry:\n  enabled: true\n"


def test_the_postgres_template_keeps_runs_in_postgresql(database_url, tmp_path, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL instance is tested against the PostgreSQL database only")
    url = make_url(database_url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    monkeypatch.setenv("RETURNS_DAGSTER_POSTGRES_URL", url)
    home = tmp_path / "home"
    prepare(home)

    @dg.asset
    def ping() -> int:
        return 1

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([ping], instance=instance)
        assert result.success
        assert [r.run_id for r in instance.get_runs()] == [result.run_id]
    finally:
        instance.dispose()


@pytest.mark.slow
def test_the_sqlite_event_log_keeps_dagsters_files_and_another_process_reads_them(tmp_path, monkeypatch):
    """Events are where Dagster keeps them (history/runs/<run>.db and the index), readable by a plain instance."""
    import subprocess
    import sys

    monkeypatch.delenv("RETURNS_DAGSTER_POSTGRES_URL", raising=False)
    home = tmp_path / "home with 'quotes' and \"double\" ones"
    prepare(home)
    parts = dg.StaticPartitionsDefinition(["a", "b", "c"])

    @dg.asset(partitions_def=parts, check_specs=[dg.AssetCheckSpec("positive", asset="ping")])
    def ping(context):
        yield dg.MaterializeResult(metadata={"partition": context.partition_key})
        yield dg.AssetCheckResult(check_name="positive", passed=True)

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = [dg.materialize([ping], instance=instance, partition_key=key).run_id for key in "abc"]
        assert sorted(p.name for p in (home / "history" / "runs").glob("*.db")) == sorted(
            [f"{r}.db" for r in runs] + ["index.db"]
        )
        assert instance.get_materialized_partitions(dg.AssetKey("ping")) == {"a", "b", "c"}
    finally:
        instance.dispose()
    # Dagster's own storage class (the webserver of an older install, say) reads the same files
    plain = home / "plain"
    plain.mkdir()
    (plain / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n"
        "  class: SqliteEventLogStorage\n  config:\n"
        f"    base_dir: {json.dumps(str(home / 'history' / 'runs'))}\n"
        "run_storage:\n  module: dagster._core.storage.runs\n  class: SqliteRunStorage\n"
        f"  config:\n    base_dir: {json.dumps(str(home / 'history'))}\n"
    )
    code = (
        "import dagster as dg, sys; i = dg.DagsterInstance.from_config(sys.argv[1]); "
        "print(sorted(i.get_materialized_partitions(dg.AssetKey('ping'))), "
        "sum(len(i.all_logs(r.run_id)) > 10 for r in i.get_runs()))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(plain)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['a', 'b', 'c'] 3"
