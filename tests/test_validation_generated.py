"""The validator finds exactly what the generator broke: every listed fault, and nothing else."""

from __future__ import annotations

import json

import polars as pl

from probation_returns.calendar import quarter_range
from probation_returns.generator.dataset import generate
from probation_returns.reference import provider_codes
from probation_returns.validation import validate_files


def test_findings_match_the_fault_manifest_exactly(tmp_path):
    codes = provider_codes("all")[:10] + ["N01", "N02"]
    result = generate(tmp_path, quarter_range("2017Q2..2017Q3"), codes, scale=0.1, faults=0.002)
    faults = json.loads(result.manifest_path.read_text())["faults"]
    previous: dict[str, int] = {}
    outcomes = set()
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
            # The cascade is exactly the contacts and breaches of the rejected cases.
            rejected_cases = set(
                got.findings.filter(
                    (pl.col("table") == "cases")
                    & pl.col("severity").is_in(["E", "F"])
                    & pl.col("row_number").is_not_null()
                )["case_ref"]
            )
            cascade = got.findings.filter(pl.col("rule_id") == "CASCADE")
            assert set(cascade["case_ref"]) <= rejected_cases
    assert {"Rejected", "Accepted with record rejections"} <= outcomes
