"""The validator finds exactly what the generator broke: every listed fault, and nothing else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import polars as pl

from probation_returns.calendar import quarter_range
from probation_returns.generator.dataset import generate
from probation_returns.reference import provider_codes
from probation_returns.validation.checking import validate_files


def _case_refs(files: list[Path], code: str, quarter: str, table: str) -> list[tuple[int, str | None]]:
    """(row number as the provider sees it, header = 1; case_ref) of every row of one table, CSV or workbook."""
    for path in files:
        if path.name == f"{code}_{quarter}_{table}.csv":
            with path.open(newline="", encoding="utf-8-sig") as f:
                return [(n, (r["case_ref"] or "").strip() or None) for n, r in enumerate(csv.DictReader(f), start=2)]
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            if table not in book.sheetnames:
                return []
            rows = book[table].iter_rows(values_only=True)
            column = next(rows).index("case_ref")
            found = [
                (n, str(r[column]).strip() if r[column] is not None else None) for n, r in enumerate(rows, start=2)
            ]
            book.close()
            return found
    return []


def test_findings_match_the_fault_manifest_exactly(tmp_path):
    codes = provider_codes("all")[:10] + ["N01", "N02"]
    result = generate(tmp_path, quarter_range("2017Q2..2017Q3"), codes, scale=0.1, faults=0.002)
    faults = json.loads(result.manifest_path.read_text())["faults"]
    previous: dict[str, int] = {}
    outcomes = set()
    cascaded = 0
    for quarter in ("2017Q2", "2017Q3"):
        for code in codes:
            files = [f for f in (tmp_path / code).iterdir() if quarter in f.name]
            got = validate_files(files, code, quarter, previous_cases=previous.get(code))
            outcomes.add(got.outcome)
            if got.outcome != "Rejected":
                previous[code] = got.tables["cases"]["rows"]
            mine = [f for f in faults if f["provider"] == code and f["quarter"] == quarter]
            expected_rows = sorted(
                (f["table"], f["row_number"], f["rule_id"]) for f in mine if f["row_number"] is not None
            )
            found = got.findings.filter(pl.col("row_number").is_not_null() & (pl.col("rule_id") != "CASCADE"))
            assert sorted(found.select("table", "row_number", "rule_id").iter_rows()) == expected_rows, (code, quarter)
            expected_whole = {f["rule_id"] for f in mine if f["row_number"] is None}
            found_whole = set(got.findings.filter(pl.col("row_number").is_null())["rule_id"])
            assert found_whole == expected_whole, (code, quarter)
            # The cascade is exactly the contacts and breaches of the rejected cases: every row, read from the files.
            rejected_cases = {
                f["case_ref"]
                for f in mine
                if f["table"] == "cases" and f["severity"] in ("E", "F") and f["row_number"] is not None
            }
            expected_cascade = sorted(
                (table, row)
                for table in ("contacts", "breaches")
                for row, case_ref in _case_refs(files, code, quarter, table)
                if case_ref in rejected_cases
            )
            cascade = got.findings.filter(pl.col("rule_id") == "CASCADE")
            assert sorted(cascade.select("table", "row_number").iter_rows()) == expected_cascade, (code, quarter)
            cascaded += len(expected_cascade)
    assert {"Rejected", "Accepted with record rejections"} <= outcomes
    assert cascaded > 0  # some rejected case has contacts or breaches, so the cascade was tested
