"""Connecting to the warehouse and bringing its schema up to date."""

from __future__ import annotations

import os
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from probation_returns.reference import providers
from probation_returns.warehouse.locks import lock_id
from probation_returns.warehouse.models import Provider

DEFAULT_URL = "sqlite:///var/returns.db"
READ_ONLY = "returns_read_only"  # an execution option: the transaction only reads (see read_scope)


def database_url() -> str:
    """``RETURNS_DATABASE_URL``, or the embedded SQLite file ``var/returns.db``."""
    return os.environ.get("RETURNS_DATABASE_URL") or DEFAULT_URL


def engine_for(url: str | None = None) -> Engine:
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})  # wait for another writer, up to a minute

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            dbapi_connection.isolation_level = None  # the driver must not open transactions itself: see _begin
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):  # noqa: ANN001
            # Take the write lock when the transaction starts, so two processes writing at once wait for
            # each other (busy timeout) instead of one failing half way ("database is locked"). A reader
            # (read_scope) takes a snapshot instead and never waits for a writer (WAL).
            reads = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("probation_returns.warehouse") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations, then make sure the provider reference rows are present."""
    url = url or database_url()
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # two commands starting at once on a new warehouse
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id("migrations")})
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        if revision == "head":
            with Session(engine) as session, session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id("migrations")})
                sync_providers(session)
    finally:
        engine.dispose()


def sync_providers(session: Session) -> None:
    existing = {p.code: p for p in session.scalars(select(Provider))}
    for code, ref in providers().items():
        row = existing.get(code) or Provider(code=code)
        row.name, row.type, row.owner_2015, row.typical_caseload = (
            ref.name,
            ref.type,
            ref.owner_2015 or None,
            ref.typical_caseload,
        )
        session.add(row)


@contextmanager
def session_scope(engine: Engine):
    """One transaction: committed if the block finishes, rolled back if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def reading(engine: Engine) -> Engine:
    """The engine for transactions that only read: on SQLite they do not queue behind a writer."""
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def read_scope(engine: Engine):
    """A transaction that only reads, on one consistent snapshot.

    On SQLite it does not take the write lock, so a page or a run's lookup does not wait while another
    process stores a large return. Writing in it is a mistake: on SQLite the write may fail as busy.
    """
    factory = sessionmaker(reading(engine), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
