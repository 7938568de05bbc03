"""A submission's findings as the provider reads them: filtered by rule or table, a page at a time, from the
feedback's findings.csv (already in the order to fix them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class FindingsPage:
    rows: list[dict]
    total: int  # findings the filter keeps
    page: int  # the page shown (the last one when asked for more)
    pages: int


def findings_page(
    path: Path, *, rule: str | None = None, table: str | None = None, page: int = 1, per_page: int = 50
) -> FindingsPage:
    findings = pl.scan_csv(path, infer_schema=False)
    if rule:
        findings = findings.filter(pl.col("rule_id") == rule)
    if table:
        findings = findings.filter(pl.col("table") == table)
    total = findings.select(pl.len()).collect().item()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = findings.slice((page - 1) * per_page, per_page).collect().to_dicts()
    return FindingsPage(rows, total, page, pages)
