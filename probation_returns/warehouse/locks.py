"""One writer at a time for each thing that is replaced as a whole (a provider's quarter, a quarter's build).

Two runs at once must leave what one run leaves. Each replace-the-lot write (delete the old rows,
insert the new) takes a lock named after what it replaces, in the same transaction, so the second
writer waits for the first to commit and then sees and replaces its rows. On PostgreSQL this is a
transaction-level advisory lock (released at commit or rollback, also when the process is killed);
on SQLite every write transaction holds the database's single write lock from its first statement
(``BEGIN IMMEDIATE``, see ``warehouse.db``), so ``hold`` only makes sure that statement has run. The database's
unique constraints are the backstop: a duplicate that slipped past a lock fails instead of being stored.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_id(*name: object) -> int:
    """A stable signed 64-bit id for a lock name (advisory locks are numbered)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold(session: Session, *name: object) -> None:
    """Take the lock ``name`` until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(*name)})
    else:
        # SQLite's write lock comes with the transaction's first statement (BEGIN IMMEDIATE), so start it
        # now: work the caller does before its first query (tidying files) must already be under the lock.
        session.execute(text("SELECT 1"))
