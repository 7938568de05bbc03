"""The Dagster instance: SQLite under DAGSTER_HOME by default, PostgreSQL from a template."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from orchestration.instance import MARK, prepare


def test_the_default_instance_is_sqlite_and_a_hand_written_config_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("RETURNS_DAGSTER_POSTGRES_URL", raising=False)
    path = prepare(tmp_path / "home")
    assert MARK in path.read_text() and "from sqlite.yaml" in path.read_text() and "storage:" not in path.read_text()
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    try:  # one run at a time per partition, one quarter build at a time
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert {limit["key"] for limit in limits} == {"dagster/partition", "returns/build"}
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
