"""Integrity signals stored: what the quarter build's integrity_signals asset worked out

``integrity_computations``: one per quarter and inputs (unique), so a rerun or two runs at once store one;
``integrity_signals``: its rows (integrity.csv's), one per provider, signal and measure; ``integrity_cases``:
the case references behind a flagged row (case_ref only), for the contract manager's downloads.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integrity_computations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_computations")),
        sa.UniqueConstraint("quarter", "inputs_sha256", name=op.f("uq_integrity_computations_quarter_inputs_sha256")),
    )
    op.create_index(op.f("ix_integrity_computations_quarter"), "integrity_computations", ["quarter"])
    op.create_table(
        "integrity_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("signal", sa.String(length=40), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("statistic", sa.Numeric(16, 4), nullable=True),
        sa.Column("expected", sa.Numeric(16, 4), nullable=True),
        sa.Column("threshold", sa.Numeric(16, 4), nullable=True),
        sa.Column("z", sa.Numeric(12, 2), nullable=True),
        sa.Column("compared_with", sa.Text(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["computation_id"],
            ["integrity_computations.id"],
            name=op.f("fk_integrity_signals_computation_id_integrity_computations"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_code"], ["providers.code"], name=op.f("fk_integrity_signals_provider_code_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_signals")),
        sa.UniqueConstraint(
            "computation_id",
            "provider_code",
            "signal",
            "measure",
            name=op.f("uq_integrity_signals_computation_id_provider_code_signal_measure"),
        ),
    )
    op.create_index(op.f("ix_integrity_signals_computation_id"), "integrity_signals", ["computation_id"])
    op.create_table(
        "integrity_cases",
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["integrity_signals.id"], name=op.f("fk_integrity_cases_signal_id_integrity_signals")
        ),
        sa.PrimaryKeyConstraint("signal_id", "position", name=op.f("pk_integrity_cases")),
    )


def downgrade() -> None:
    op.drop_table("integrity_cases")
    op.drop_index(op.f("ix_integrity_signals_computation_id"), table_name="integrity_signals")
    op.drop_table("integrity_signals")
    op.drop_index(op.f("ix_integrity_computations_quarter"), table_name="integrity_computations")
    op.drop_table("integrity_computations")
