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

# What each test file costs (markers in pyproject.toml; README, "Running the tests"). A test marked in its own
# file (e.g. @pytest.mark.browser, @pytest.mark.slow) keeps that mark beside its file's.
UNIT, INTEGRATION, BROWSER, SLOW = "unit", "integration", "browser", "slow"
SUITES = {
    "test_calendar.py": (UNIT,),
    "test_clock.py": (UNIT,),
    "test_pnc.py": (UNIT,),
    "test_rule_advice.py": (UNIT,),
    "test_suppression.py": (UNIT,),
    "test_cli.py": (INTEGRATION,),
    "test_deadline.py": (INTEGRATION,),
    "test_definitions.py": (INTEGRATION,),
    "test_disclosure_attack.py": (INTEGRATION,),
    "test_feedback_and_storage.py": (INTEGRATION,),
    "test_gaming.py": (INTEGRATION,),
    "test_feedback_for_clerks.py": (INTEGRATION,),
    "test_hostile_inputs.py": (INTEGRATION,),
    "test_ingest.py": (INTEGRATION,),
    "test_instance.py": (INTEGRATION,),
    "test_measures.py": (INTEGRATION,),
    "test_parameters.py": (INTEGRATION,),
    "test_reoffending.py": (INTEGRATION,),
    "test_sensors.py": (INTEGRATION,),
    "test_rule_catalogue.py": (INTEGRATION,),
    "test_validation_rules.py": (INTEGRATION,),
    "test_version_diff.py": (INTEGRATION, SLOW),
    "test_vanished_cases.py": (INTEGRATION,),
    "test_figure_history.py": (INTEGRATION,),
    "test_warehouse.py": (INTEGRATION,),
    "test_automation.py": (INTEGRATION, SLOW),
    "test_crash_and_concurrency.py": (INTEGRATION, SLOW),
    "test_end_to_end.py": (INTEGRATION, SLOW),
    "test_generator.py": (INTEGRATION, SLOW),
    "test_gx_parity.py": (INTEGRATION, SLOW),
    "test_integrity_return.py": (INTEGRATION, SLOW),
    "test_integrity_signals.py": (INTEGRATION, SLOW),
    "test_integrity_stored.py": (INTEGRATION, SLOW),
    "test_credibility.py": (INTEGRATION, SLOW),
    "test_hostile_corpus.py": (INTEGRATION, SLOW),
    "test_ministry_return.py": (INTEGRATION, SLOW),
    "test_per_file_truth.py": (INTEGRATION, SLOW),
    "test_performance_run.py": (INTEGRATION, SLOW),
    "test_portal.py": (INTEGRATION, SLOW),
    "test_portal_rebuild.py": (INTEGRATION, SLOW),
    "test_portal_served.py": (INTEGRATION, SLOW),
    "test_portal_uploads_burst.py": (INTEGRATION, SLOW),
    "test_portal_intake_pool.py": (INTEGRATION, SLOW),
    "test_production_guarantees.py": (INTEGRATION, SLOW),
    "test_provisional_performance.py": (INTEGRATION, SLOW),
    "test_queries_and_signoff.py": (INTEGRATION, SLOW),
    "test_scale_out.py": (INTEGRATION, SLOW),
    "test_validation_generated.py": (INTEGRATION, SLOW),
    "test_feedback_in_a_browser.py": (BROWSER, SLOW),
    "test_portal_in_a_browser.py": (BROWSER, SLOW),
    "test_integrity_in_a_browser.py": (BROWSER, SLOW),
    "test_queries_in_a_browser.py": (BROWSER, SLOW),
    "test_dagster_ui_in_a_browser.py": (BROWSER, SLOW),
}
COSTS = (UNIT, INTEGRATION, BROWSER)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test gets its file's cost markers; a test file not in SUITES is an error, so none goes unmarked."""
    for item in items:
        suite = SUITES.get(item.path.name)
        if suite is None:
            raise pytest.UsageError(f"{item.path.name}: say what it costs in SUITES (tests/conftest.py)")
        own = {m.name for m in item.iter_markers()}
        for marker in suite:
            if marker in COSTS and own & set(COSTS):
                continue  # the test says its own cost (a LibreOffice test in an integration file)
            item.add_marker(marker)


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
