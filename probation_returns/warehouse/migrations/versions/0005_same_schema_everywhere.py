"""The same schema on every backend, and duplicates made impossible

Measure names fit (``high_risk_not_referred`` overflowed ``varchar(20)`` on PostgreSQL); text a provider
chose (case references in findings, breach references, file names, paths) is unbounded; one row per
thing replaced as a whole is enforced by unique constraints (measures, current credits, accepted
contacts and breaches, reoffending results, one stored validation per submission). Duplicates left
by earlier concurrent runs are removed first (the newest row is kept; older current credits become
history). Submissions may repeat bytes as a later version (a re-sent earlier return); they record
the files that were not part of the return.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_KEEP_NEWEST = """
DELETE FROM {table} WHERE id NOT IN (SELECT keep FROM (SELECT MAX(id) AS keep FROM {table} GROUP BY {key}) AS k)
"""


def upgrade() -> None:
    op.execute(_KEEP_NEWEST.format(table="measures", key="quarter, provider_code, measure"))
    op.execute(_KEEP_NEWEST.format(table="reoffending_results", key="quarter, provider_code"))
    op.execute(_KEEP_NEWEST.format(table="accepted_contacts", key="submission_id, row_number"))
    op.execute(_KEEP_NEWEST.format(table="accepted_breaches", key="submission_id, row_number"))
    op.execute("""
        DELETE FROM findings WHERE validation_run_id IN (
            SELECT id FROM validation_runs WHERE id NOT IN (
                SELECT keep FROM (SELECT MAX(id) AS keep FROM validation_runs GROUP BY submission_id) AS k))
    """)
    op.execute(_KEEP_NEWEST.format(table="validation_runs", key="submission_id"))
    op.execute("""
        UPDATE credits SET replaced_at = computed_at WHERE replaced_at IS NULL AND id NOT IN (
            SELECT keep FROM (SELECT MAX(id) AS keep FROM credits WHERE replaced_at IS NULL
                              GROUP BY quarter, provider_code, measure) AS k)
    """)

    with op.batch_alter_table("measures") as batch:
        batch.alter_column(
            "measure", type_=sa.String(length=40), existing_type=sa.String(length=20), existing_nullable=False
        )
        batch.drop_index("ix_measures_quarter_provider")
        batch.create_unique_constraint(
            op.f("uq_measures_quarter_provider_code_measure"), ["quarter", "provider_code", "measure"]
        )
    with op.batch_alter_table("credits") as batch:
        batch.alter_column(
            "measure", type_=sa.String(length=40), existing_type=sa.String(length=20), existing_nullable=False
        )
    op.create_index(
        "uq_credits_current",
        "credits",
        ["quarter", "provider_code", "measure"],
        unique=True,
        postgresql_where=sa.text("replaced_at IS NULL"),
        sqlite_where=sa.text("replaced_at IS NULL"),
    )
    with op.batch_alter_table("reoffending_results") as batch:
        batch.drop_index("ix_reoffending_results_quarter_provider")
        batch.create_unique_constraint(
            op.f("uq_reoffending_results_quarter_provider_code"), ["quarter", "provider_code"]
        )
    for table in ("accepted_contacts", "accepted_breaches"):
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(
                op.f(f"uq_{table}_submission_id_row_number"), ["submission_id", "row_number"]
            )
    with op.batch_alter_table("accepted_breaches") as batch:
        batch.alter_column("breach_ref", type_=sa.Text(), existing_type=sa.String(length=40), existing_nullable=False)
    with op.batch_alter_table("validation_runs") as batch:
        batch.create_unique_constraint(op.f("uq_validation_runs_submission_id"), ["submission_id"])
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    with op.batch_alter_table("findings") as batch:
        batch.alter_column("case_ref", type_=sa.Text(), existing_type=sa.String(length=40), existing_nullable=True)
        batch.alter_column("column_name", type_=sa.Text(), existing_type=sa.String(length=100), existing_nullable=True)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submissions_provider_code_quarter_sha256", type_="unique")
        batch.add_column(sa.Column("ignored_files", sa.JSON(), nullable=True))
    for table, column in (
        ("submission_files", "file_name"),
        ("submission_files", "archive_path"),
        ("reoffending_extracts", "file_name"),
        ("reoffending_extracts", "archive_path"),
        ("return_builds", "output_path"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("title", type_=sa.Text(), existing_type=sa.String(length=300), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("title", type_=sa.String(length=300), existing_type=sa.Text(), existing_nullable=False)
    for table, column, length in (
        ("submission_files", "file_name", 255),
        ("submission_files", "archive_path", 500),
        ("reoffending_extracts", "file_name", 255),
        ("reoffending_extracts", "archive_path", 500),
        ("return_builds", "output_path", 500),
    ):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(length=length), existing_nullable=False)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("ignored_files")
        batch.create_unique_constraint(
            "uq_submissions_provider_code_quarter_sha256", ["provider_code", "quarter", "sha256"]
        )
    with op.batch_alter_table("findings") as batch:
        batch.alter_column("case_ref", type_=sa.String(length=40), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("column_name", type_=sa.String(length=100), existing_type=sa.Text(), existing_nullable=True)
    with op.batch_alter_table("validation_runs") as batch:
        batch.drop_column("detail")
        batch.drop_constraint("uq_validation_runs_submission_id", type_="unique")
    with op.batch_alter_table("accepted_breaches") as batch:
        batch.alter_column("breach_ref", type_=sa.String(length=40), existing_type=sa.Text(), existing_nullable=False)
    for table in ("accepted_contacts", "accepted_breaches"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_submission_id_row_number", type_="unique")
    with op.batch_alter_table("reoffending_results") as batch:
        batch.drop_constraint("uq_reoffending_results_quarter_provider_code", type_="unique")
        batch.create_index("ix_reoffending_results_quarter_provider", ["quarter", "provider_code"])
    op.drop_index("uq_credits_current", table_name="credits")
    with op.batch_alter_table("credits") as batch:
        batch.alter_column(
            "measure", type_=sa.String(length=20), existing_type=sa.String(length=40), existing_nullable=False
        )
    with op.batch_alter_table("measures") as batch:
        batch.drop_constraint("uq_measures_quarter_provider_code_measure", type_="unique")
        batch.create_index("ix_measures_quarter_provider", ["quarter", "provider_code"])
        batch.alter_column(
            "measure", type_=sa.String(length=20), existing_type=sa.String(length=40), existing_nullable=False
        )
