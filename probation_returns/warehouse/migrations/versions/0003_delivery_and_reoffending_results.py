"""Submissions record when they were delivered; reoffending results are kept per cohort

The payments table is dropped: payments are derived from the fee, the credits and the reoffending
results, so a separate copy could only disagree with them.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "reoffending_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("extract_id", sa.Integer(), nullable=True),
        sa.Column("cohort_size", sa.Integer(), nullable=False),
        sa.Column("reoffenders", sa.Integer(), nullable=False),
        sa.Column("reoffences", sa.Integer(), nullable=False),
        sa.Column("mean_p1", sa.Numeric(12, 10), nullable=False),
        sa.Column("binary_rate", sa.Numeric(12, 10), nullable=True),
        sa.Column("frequency_rate", sa.Numeric(14, 10), nullable=True),
        sa.Column("adjusted_binary_rate", sa.Numeric(12, 10), nullable=True),
        sa.Column("z", sa.Float(), nullable=True),
        sa.Column("significance", sa.String(length=30), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("binary_payment_gbp", sa.Numeric(14, 2), nullable=False),
        sa.Column("frequency_payment_gbp", sa.Numeric(14, 2), nullable=False),
        sa.Column("parameter_version", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_code"], ["providers.code"], name=op.f("fk_reoffending_results_provider_code_providers")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_reoffending_results_submission_id_submissions")
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["reoffending_extracts.id"],
            name=op.f("fk_reoffending_results_extract_id_reoffending_extracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reoffending_results")),
    )
    op.create_index("ix_reoffending_results_quarter_provider", "reoffending_results", ["quarter", "provider_code"])
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_quarter")
    op.drop_table("payments")


def downgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("cohort_quarter", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_gbp", sa.Numeric(14, 2), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("extract_id", sa.Integer(), nullable=True),
        sa.Column("parameter_version", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["extract_id"], ["reoffending_extracts.id"], name=op.f("fk_payments_extract_id_reoffending_extracts")
        ),
        sa.ForeignKeyConstraint(
            ["provider_code"], ["providers.code"], name=op.f("fk_payments_provider_code_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_quarter", "payments", ["quarter"])
    op.drop_index("ix_reoffending_results_quarter_provider", table_name="reoffending_results")
    op.drop_table("reoffending_results")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("delivered_at")
