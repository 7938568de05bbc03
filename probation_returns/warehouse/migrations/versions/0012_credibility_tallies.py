"""Credibility tallies stored: each counted return's figures, worked out once

``credibility_tallies``: one accepted return's figures (counts and bases, as JSON) under the version of their
definition (unique: a rerun, or two runs at once, store one); ``credibility_vanished``: the vanished-cases count
of a return against the return that counted the quarter before (unique on both and the definition).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credibility_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("definition", sa.String(length=20), nullable=False),
        sa.Column("tallies", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_credibility_tallies_submission_id_submissions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credibility_tallies")),
        sa.UniqueConstraint(
            "submission_id", "definition", name=op.f("uq_credibility_tallies_submission_id_definition")
        ),
    )
    op.create_table(
        "credibility_vanished",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("previous_submission_id", sa.Integer(), nullable=False),
        sa.Column("definition", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_credibility_vanished_submission_id_submissions")
        ),
        sa.ForeignKeyConstraint(
            ["previous_submission_id"],
            ["submissions.id"],
            name=op.f("fk_credibility_vanished_previous_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credibility_vanished")),
        sa.UniqueConstraint(
            "submission_id",
            "previous_submission_id",
            "definition",
            name=op.f("uq_credibility_vanished_submission_id_previous_submission_id_definition"),
        ),
    )


def downgrade() -> None:
    op.drop_table("credibility_vanished")
    op.drop_table("credibility_tallies")
