"""The cascade: contacts and breaches of a rejected case are rejected with it, and the provider is told why."""

from __future__ import annotations

import polars as pl

from probation_returns.validation.engine import FINDING_SCHEMA
from probation_returns.validation.reader import ROW

CASCADE = "CASCADE"  # the rule id of a record rejected only because its case was


def cascade(tables: dict[str, pl.DataFrame], findings: pl.DataFrame) -> pl.DataFrame:
    """Contacts and breaches of a rejected case are rejected too, and said so."""
    rejected_rows = findings.filter(
        (pl.col("table") == "cases") & pl.col("severity").is_in(["E", "F"]) & pl.col("row_number").is_not_null()
    )
    if rejected_rows.height == 0 or "cases" not in tables:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    rejected = (
        tables["cases"]
        .join(rejected_rows.select(pl.col("row_number").alias(ROW)).unique(), on=ROW)
        .filter(pl.col("case_ref").is_not_null())
        .group_by("case_ref")
        .agg(pl.col(ROW).min().alias("case_row"))
    )
    parts = []
    for table in ("contacts", "breaches"):
        if table not in tables:
            continue
        parts.append(
            tables[table]
            .join(rejected, on="case_ref", how="inner")
            .select(
                pl.lit(table).alias("table"),
                pl.col(ROW).alias("row_number"),
                "case_ref",
                pl.lit("case_ref").alias("column"),
                pl.lit(CASCADE).alias("rule_id"),
                pl.lit("E").alias("severity"),
                pl.col("case_ref").alias("value"),
                pl.format(
                    "Row {}: rejected because its case {} (cases row {}) was rejected.",
                    pl.col(ROW),
                    pl.col("case_ref"),
                    pl.col("case_row"),
                ).alias("message"),
            )
        )
    return (
        pl.concat(parts).cast(FINDING_SCHEMA).sort("table", "row_number")
        if parts
        else pl.DataFrame(schema=FINDING_SCHEMA)
    )
