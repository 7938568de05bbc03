"""Builds and decisions in step, and rebuilds asked for in the portal

``return_build_decisions``: the credit decisions a build's figures were made from, so a decision made
since is seen (the build is out of date and cannot be signed off). Builds made before this migration are
taken to include the decisions made before they were built. ``build_requests``: a contract manager's
request to rebuild a quarter, followed like an upload (received, building, done, failed).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_build_decisions",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["return_builds.id"], name=op.f("fk_return_build_decisions_build_id_return_builds")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_return_build_decisions_decision_id_credit_decisions"),
        ),
        sa.PrimaryKeyConstraint("build_id", "decision_id", name=op.f("pk_return_build_decisions")),
    )
    op.execute("""
        INSERT INTO return_build_decisions (build_id, decision_id)
        SELECT b.id, d.id FROM return_builds b
        JOIN credits c ON c.quarter = b.quarter
        JOIN credit_decisions d ON d.credit_id = c.id
        WHERE d.decided_at <= b.built_at
    """)
    op.create_table(
        "build_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("build_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["build_id"], ["return_builds.id"], name=op.f("fk_build_requests_build_id_return_builds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_requests")),
    )


def downgrade() -> None:
    op.drop_table("build_requests")
    op.drop_table("return_build_decisions")
