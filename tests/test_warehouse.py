"""Migrations build the whole schema from empty, on SQLite and on PostgreSQL, and can be repeated."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import Base, Provider

EXPECTED_TABLES = {
    "providers", "submissions", "submission_files", "validation_runs", "findings", "accepted_cases",
    "accepted_contacts", "accepted_breaches", "reoffending_extracts", "measures", "credits",
    "credit_decisions", "reoffending_results", "return_builds", "return_build_submissions", "alerts",
}


def test_migrations_run_up_from_empty_and_match_the_models(database_url):
    upgrade(database_url)
    engine = engine_for(database_url)
    try:
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        with session_scope(engine) as session:
            codes = session.scalars(select(Provider.code).order_by(Provider.code)).all()
        assert len(codes) == 28 and codes[0] == "C01" and codes[-1] == "N07"
    finally:
        engine.dispose()


def test_upgrade_is_safe_to_repeat(database_url):
    upgrade(database_url)
    upgrade(database_url)
    engine = engine_for(database_url)
    try:
        with session_scope(engine) as session:
            assert session.scalar(select(Provider).where(Provider.code == "C14")).name == "Norfolk and Suffolk"
            assert len(session.scalars(select(Provider)).all()) == 28
    finally:
        engine.dispose()


def test_a_failed_transaction_leaves_nothing_behind(database_url):
    upgrade(database_url)
    engine = engine_for(database_url)
    try:
        try:
            with session_scope(engine) as session:
                session.add(Provider(code="X99", name="temporary", type="CRC", typical_caseload=1))
                session.flush()
                raise RuntimeError("crash part-way")
        except RuntimeError:
            pass
        with session_scope(engine) as session:
            assert session.get(Provider, "X99") is None
    finally:
        engine.dispose()
