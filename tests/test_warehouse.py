"""Migrations build the whole schema from empty, on SQLite and on PostgreSQL, and can be repeated."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from probation_returns.warehouse.db import engine_for, read_scope, session_scope, upgrade
from probation_returns.warehouse.models import Base, Provider

EXPECTED_TABLES = {
    "providers",
    "submissions",
    "submission_files",
    "validation_runs",
    "findings",
    "accepted_cases",
    "accepted_contacts",
    "accepted_breaches",
    "reoffending_extracts",
    "measures",
    "credits",
    "credit_decisions",
    "reoffending_results",
    "return_builds",
    "return_build_submissions",
    "alerts",
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


def test_upgrading_a_warehouse_with_duplicates_from_concurrent_runs_keeps_the_newest_row(database_url):
    """Warehouses written before the unique constraints may hold duplicates; the migration resolves them."""
    from sqlalchemy import text

    upgrade(database_url, revision="0004")
    with engine_for(database_url).begin() as conn:
        conn.execute(text("INSERT INTO providers (code, name, type, typical_caseload) VALUES ('C05', 'x', 'CRC', 1)"))
        for performance in (0.5, 0.7):
            conn.execute(
                text(
                    "INSERT INTO measures (quarter, provider_code, measure, status, parameter_version, "
                    "computed_at, performance) VALUES ('2017Q3', 'C05', 'SL001R', 'met', 'p', "
                    "CURRENT_TIMESTAMP, :p)"
                ),
                {"p": performance},
            )
        for amount in (10, 20):
            conn.execute(
                text(
                    "INSERT INTO credits (quarter, provider_code, measure, amount_gbp, unscaled_gbp, "
                    "parameter_version, computed_at) VALUES ('2017Q3', 'C05', 'SL001R', :a, :a, 'p', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"a": amount},
            )
    upgrade(database_url)
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT performance FROM measures")).scalars().all() == [0.7]
            current = conn.execute(text("SELECT amount_gbp FROM credits WHERE replaced_at IS NULL")).scalars().all()
            assert [float(a) for a in current] == [20.0]
            assert conn.execute(text("SELECT COUNT(*) FROM credits")).scalar() == 2  # the older one kept as history
    finally:
        engine.dispose()


def test_a_read_does_not_wait_for_a_writer_and_sees_only_what_was_committed(database_url):
    """A portal page or a run's lookup reads while another process stores a large return."""
    upgrade(database_url)
    engine, other = engine_for(database_url), engine_for(database_url)
    try:
        with session_scope(other) as writer:  # on SQLite this holds the write lock (BEGIN IMMEDIATE)
            writer.get(Provider, "C14").name = "Renamed, not yet committed"
            writer.flush()
            with read_scope(engine) as reader:  # would wait (and fail after the busy timeout) if it took the lock
                assert reader.get(Provider, "C14").name == "Norfolk and Suffolk"
        with read_scope(engine) as reader:
            assert reader.get(Provider, "C14").name == "Renamed, not yet committed"
    finally:
        engine.dispose()
        other.dispose()


def test_a_held_lock_is_held_before_the_transactions_first_query(database_url):
    """Work done right after ``hold`` (tidying a build's staging folders) is already under the lock: on SQLite
    the write lock came only with the first query, so two builds at once could delete each other's files."""
    import sqlite3

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from probation_returns.warehouse.locks import hold, lock_id

    upgrade(database_url)
    engine, other = engine_for(database_url), engine_for(database_url)
    try:
        with session_scope(engine) as session:
            hold(session, "return_build", "2017Q3")
            if database_url.startswith("sqlite"):
                second = sqlite3.connect(make_url(database_url).database, timeout=0.2, isolation_level=None)
                try:
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        second.execute("BEGIN IMMEDIATE")
                finally:
                    second.close()
            else:
                with other.connect() as conn:
                    got = conn.execute(
                        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id("return_build", "2017Q3")}
                    ).scalar()
                    assert got is False
    finally:
        engine.dispose()
        other.dispose()
