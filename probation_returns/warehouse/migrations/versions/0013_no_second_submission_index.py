"""Accepted records: no index on submission_id alone

Each accepted table's unique constraint starts with ``submission_id`` (``(submission_id, case_ref)``,
``(submission_id, row_number)``), so it already serves every lookup, read and delete by submission, on
SQLite and PostgreSQL alike. The second index on ``submission_id`` alone was kept up for every row stored:
a quarter of the work of storing a return's accepted records on SQLite (docs/performance.md, issue 29).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("accepted_cases", "accepted_contacts", "accepted_breaches")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_submission_id", table_name=table)  # in place, no table copy


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_submission_id", table, ["submission_id"], unique=False)
