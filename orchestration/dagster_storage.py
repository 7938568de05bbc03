"""Dagster's SQLite event log, keeping its database connections open.

Dagster's own ``SqliteEventLogStorage`` builds a new SQLAlchemy engine, opens a connection and checks the
schema for every event it stores: 5 to 6 connections an event, about 48 events a provider run. That was
more than half of each run's fixed cost (0.57 s of bookkeeping a run, 0.25 s with this class; measured
with ``benchmarks/dagster_overhead.py``, see docs/performance.md). This class stores the same events in
the same files with the same schema, but keeps one engine per database for the recently used runs and
the index (access is still serialised by Dagster's own lock, so one connection per database suffices),
and makes each new run's database by copying an empty one that Dagster's own code made.

``orchestration/instance_templates/sqlite.yaml`` names this class; PostgreSQL instances are unaffected.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool


def _no_fsync_per_commit(dbapi_connection, _record) -> None:  # noqa: ANN001
    """Dagster's databases are in WAL mode; with ``synchronous=NORMAL`` a commit no longer waits for the disk
    (the WAL is synced at checkpoints). A killed process loses nothing it committed (the operating system
    has the writes); only a power cut can lose the last few events. Waiting for ``fsync`` at every event
    was about a third of a run's bookkeeping (docs/performance.md, issue 29). The warehouse keeps
    SQLite's full synchronous commits."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


KEPT_RUNS = 8  # engines kept for run databases; the webserver reads many runs, a run writes one


class KeptConnectionsSqliteEventLogStorage(SqliteEventLogStorage):
    """The SQLite event log of ``DAGSTER_HOME/history/runs``, with engines kept between events."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables_seen: set[str] = set()
        self._template: bytes | None = None
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent returns its own class
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _no_fsync_per_commit)
            self._engines[shard] = engine
            runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
            for old in runs[:-KEPT_RUNS]:
                self._engines.pop(old).dispose()
            return engine

    def _from_template(self, shard: str) -> bool:
        """A new run's database as a copy of an empty one made by Dagster's own ``_initdb``, once a process.

        Making each run's database (tables, indexes, Alembic's stamp) was 0.06-0.1 s of every run.
        """
        target = Path(self.path_for_shard(shard))
        if shard == INDEX_SHARD_NAME or target.exists():
            return False
        if self._template is None:
            with tempfile.TemporaryDirectory(prefix="returns-dagster-") as folder:
                made = Path(folder) / "run.db"
                engine = create_engine(f"sqlite:///{made}", poolclass=NullPool)
                super()._initdb(engine)
                engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
                self._template = made.read_bytes()
        part = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        part.write_bytes(self._template)
        try:
            os.link(part, target)  # whole or not at all; if another process made it meanwhile, theirs stands
        except FileExistsError:
            return False
        finally:
            part.unlink(missing_ok=True)
        return True

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            if shard not in self._initialized_dbs:
                if not self._from_template(shard):
                    self._initdb(self._engine(shard))
                self._initialized_dbs.add(shard)
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:  # asked at every asset check event; a table once made stays
        if table_name in self._tables_seen:
            return True
        with self._engine(INDEX_SHARD_NAME).connect() as conn:  # no _db_lock: asked while it is held
            found = bool(conn.dialect.has_table(conn, table_name))
        if found:
            self._tables_seen.add(table_name)
        return found

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:  # it deletes run databases: no connection may stay open on them
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class KeptConnectionSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (``DAGSTER_HOME/history/runs.db``, same file, same schema), keeping one
    engine instead of building an engine and opening a connection for every query (about 45 a run), its
    commits not waiting for the disk (``_no_fsync_per_commit``)."""

    def __init__(self, conn_string: str, inst_data=None):
        self._kept: Engine | None = None
        self._kept_lock = threading.Lock()
        super().__init__(conn_string, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent returns its own class
        return cls.from_local(inst_data=inst_data, **config_value)

    def _engine(self) -> Engine:
        with self._kept_lock:
            if self._kept is None:
                # one connection kept; a burst of threads (the webserver) opens more, as before, and closes them
                self._kept = create_engine(self._conn_string, pool_size=1, max_overflow=-1)
                event.listen(self._kept, "connect", _no_fsync_per_commit)
            return self._kept

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine().connect() as conn, conn.begin():
            yield conn

    def _dispose_engine(self) -> None:
        with self._kept_lock:
            if self._kept is not None:
                self._kept.dispose()
                self._kept = None

    def wipe(self) -> None:
        super().wipe()
        self._dispose_engine()

    def dispose(self) -> None:
        self._dispose_engine()
        super().dispose()
