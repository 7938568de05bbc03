"""Tolerances: a rule accepted for one provider and quarter up to a number of records, or up to a share of its
table's records (HESA's rule). Within it, the rule's records do not count toward rejecting the return (they
are still rejected records, kept out of the figures: the data is still wrong) nor toward its unresolved
findings. One record more than the tolerance and the rule counts again, every record of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import polars as pl

from probation_returns.spec import RULES_BY_ID
from probation_returns.validation.cascade import CASCADE

if TYPE_CHECKING:  # the warehouse is imported where it is read: checking a return needs no SQLAlchemy
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Allowance:
    rule_id: str
    max_records: int | None = None
    max_share: Decimal | None = None

    def words(self) -> str:
        if self.max_records is not None:
            return f"up to {self.max_records:,} record{'' if self.max_records == 1 else 's'}"
        table = RULES_BY_ID[self.rule_id].table if self.rule_id in RULES_BY_ID else "its table"
        percent = f"{self.max_share * 100:f}".rstrip("0").rstrip(".")
        return f"up to {percent}% of the {table} records"

    def covers(self, records: int, rows: int | None) -> bool:
        """Whether ``records`` of the rule's findings are within the tolerance (at the limit is within)."""
        if self.max_records is not None:
            return records <= self.max_records
        return Decimal(records) <= (self.max_share or Decimal(0)) * Decimal(rows or 0)


def records_of(findings: pl.DataFrame, rule_id: str) -> int:
    """The records a rule found: each row once, and each finding without a row (a whole-return or missing-case
    finding) as one."""
    mine = findings.filter(pl.col("rule_id") == rule_id)
    with_row = mine.filter(pl.col("row_number").is_not_null())
    return with_row.select(pl.struct("table", "row_number").n_unique()).item() + (mine.height - with_row.height)


def within(findings: pl.DataFrame, tables: dict[str, dict], allowances: dict[str, Allowance] | None) -> dict[str, int]:
    """The rules found whose records are within their tolerance: {rule id: records}."""
    out = {}
    for rule_id, allowance in (allowances or {}).items():
        records = records_of(findings, rule_id)
        table = RULES_BY_ID[rule_id].table if rule_id in RULES_BY_ID else None
        if records and allowance.covers(records, (tables.get(table) or {}).get("rows")):
            out[rule_id] = records
    return out


def with_tolerated(tables: dict[str, dict], findings: pl.DataFrame, tolerated: dict[str, int]) -> dict[str, dict]:
    """Each checked table's count of rejected records whose every error is of a rule within its tolerance
    (``tolerated``): they do not count toward rejecting the return. Unchanged when nothing is tolerated."""
    if not tolerated:
        return tables
    errors = findings.filter(pl.col("severity").is_in(["E", "F"]) & pl.col("row_number").is_not_null())
    rules = list(tolerated)
    cases = errors.filter(pl.col("table") == "cases")
    untouched = cases.filter(~pl.col("rule_id").is_in(rules))["row_number"].unique()
    # a case rejected only by tolerated rules takes its contacts and breaches with it (the cascade): those are
    # within the tolerance too
    cases_tolerated = cases.filter(~pl.col("row_number").is_in(untouched.implode()))["case_ref"].unique()
    out = {}
    for name, counts in tables.items():
        counts = dict(counts)
        if counts.get("rejected") is not None:
            mine = errors.filter(pl.col("table") == name)
            counted = mine.filter(
                ~pl.col("rule_id").is_in(rules)
                & ~((pl.col("rule_id") == CASCADE) & pl.col("case_ref").is_in(cases_tolerated.implode()))
            )["row_number"].n_unique()
            counts["tolerated"] = mine["row_number"].n_unique() - counted
        out[name] = counts
    return out


def granted(session: Session, provider: str, quarter: str) -> dict[str, Allowance]:
    """The tolerances granted to the provider for the quarter, by rule: what its next validation applies."""
    from sqlalchemy import select

    from probation_returns.warehouse.models import Tolerance

    rows = session.scalars(select(Tolerance).where(Tolerance.provider_code == provider, Tolerance.quarter == quarter))
    return {t.rule_id: Allowance(t.rule_id, t.max_records, t.max_share) for t in rows}
