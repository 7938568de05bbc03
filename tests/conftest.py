"""Shared fixtures: databases (SQLite always, PostgreSQL when RETURNS_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("RETURNS_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test touches the developer's var/ folder or database."""
    monkeypatch.setenv("RETURNS_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    # set, then delete: monkeypatch then restores the original state even if the CLI sets it
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("DAGSTER_HOME")


def _postgres_database() -> tuple[str, callable]:
    base = make_url(POSTGRES_URL)
    name = f"{base.database or 'returns_test'}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty database of each backend; PostgreSQL is skipped only when no server was given."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("RETURNS_REQUIRE_POSTGRES"):
            pytest.fail("RETURNS_REQUIRE_POSTGRES is set but RETURNS_TEST_POSTGRES_URL is not")
        pytest.skip("RETURNS_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    url, drop = _postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def engine(database_url):
    """A migrated warehouse on each backend."""
    from probation_returns.warehouse.db import engine_for, upgrade

    upgrade(database_url)
    engine = engine_for(database_url)
    yield engine
    engine.dispose()
