"""Accepted cases: no index on pnc_hash

Nothing looks a person up in the warehouse by hash: proven reoffending joins a cohort to the extract in
Polars. The index cost a quarter of the time to store a return's cases on SQLite, and more as history
grows (random inserts into an index of every quarter's cases).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_accepted_cases_pnc_hash", table_name="accepted_cases")  # in place, no table copy


def downgrade() -> None:
    op.create_index("ix_accepted_cases_pnc_hash", "accepted_cases", ["pnc_hash"], unique=False)
