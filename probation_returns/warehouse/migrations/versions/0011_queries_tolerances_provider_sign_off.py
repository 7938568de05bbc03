"""Queries on findings, tolerances, and the provider's sign-off of the version that counts

``queries`` and ``query_messages``: a provider's answer to a finding's rule (or an integrity signal) in one
version, and its thread to the contract manager's decision. ``tolerances``: a rule accepted for a provider and
quarter up to a number or share of records (one per rule). ``provider_sign_offs``: the accountable officer's
declaration, one per provider, quarter and version.

Revision ID: 0011
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("raised_by", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["provider_code"], ["providers.code"], name=op.f("fk_queries_provider_code_providers")),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_queries_submission_id_submissions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queries")),
    )
    op.create_index(op.f("ix_queries_provider_code"), "queries", ["provider_code"])
    op.create_index(op.f("ix_queries_submission_id"), "queries", ["submission_id"])
    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("written_by", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["query_id"], ["queries.id"], name=op.f("fk_query_messages_query_id_queries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_messages")),
    )
    op.create_index(op.f("ix_query_messages_query_id"), "query_messages", ["query_id"])
    op.create_table(
        "tolerances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("rule_id", sa.String(length=10), nullable=False),
        sa.Column("max_records", sa.Integer(), nullable=True),
        sa.Column("max_share", sa.Numeric(precision=7, scale=6), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=True),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(max_records IS NULL) <> (max_share IS NULL)", name=op.f("ck_tolerances_records_or_share")),
        sa.ForeignKeyConstraint(
            ["provider_code"], ["providers.code"], name=op.f("fk_tolerances_provider_code_providers")
        ),
        sa.ForeignKeyConstraint(["query_id"], ["queries.id"], name=op.f("fk_tolerances_query_id_queries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tolerances")),
        sa.UniqueConstraint(
            "provider_code", "quarter", "rule_id", name=op.f("uq_tolerances_provider_code_quarter_rule_id")
        ),
    )
    op.create_table(
        "provider_sign_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_code", sa.String(length=3), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_code"], ["providers.code"], name=op.f("fk_provider_sign_offs_provider_code_providers")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_provider_sign_offs_submission_id_submissions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_sign_offs")),
        sa.UniqueConstraint(
            "provider_code", "quarter", "version", name=op.f("uq_provider_sign_offs_provider_code_quarter_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("provider_sign_offs")
    op.drop_table("tolerances")
    op.drop_index(op.f("ix_query_messages_query_id"), table_name="query_messages")
    op.drop_table("query_messages")
    op.drop_index(op.f("ix_queries_submission_id"), table_name="queries")
    op.drop_index(op.f("ix_queries_provider_code"), table_name="queries")
    op.drop_table("queries")
