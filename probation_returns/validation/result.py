"""What a validation found: the outcome, the findings, the counts per table, and the words for a table's file."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import polars as pl

from probation_returns.spec import RULES_BY_ID, TABLES
from probation_returns.validation.advice import rule_actions
from probation_returns.validation.cascade import CASCADE

# Each revision of the rules that run (expectations/rules_version.toml); the last is the version every output
# stamps and a stored validation must match to be reused.
RULES_REVISIONS: tuple[dict, ...] = tuple(
    tomllib.loads(resources.files("expectations").joinpath("rules_version.toml").read_text(encoding="utf-8"))[
        "revisions"
    ]
)
RULES_VERSION: str = RULES_REVISIONS[-1]["version"]
OUTCOMES = ("Rejected", "Accepted with record rejections", "Accepted with warnings", "Accepted")


@dataclass
class ValidationResult:
    provider: str
    quarter: str
    outcome: str
    findings: pl.DataFrame
    tables: dict[str, dict[str, int]]
    # The accepted records, typed: made when first asked for (storing them needs them; checking a return
    # before sending it does not), so ``returns validate`` does not pay for them.
    _accepted: dict[str, pl.DataFrame] | Callable[[], dict[str, pl.DataFrame]] = field(default_factory=dict, repr=False)
    gx_results: dict[str, list[dict]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # why the outcome is what it is, in plain words
    parameter_version: str | None = None

    @property
    def accepted(self) -> dict[str, pl.DataFrame]:
        if callable(self._accepted):
            self._accepted = self._accepted()
        return self._accepted

    @property
    def accepted_ok(self) -> bool:
        return self.outcome != "Rejected"

    def gx_document(self) -> dict:
        """All tables' results in GX's ExpectationSuiteValidationResult shape (Data Docs can render it)."""
        results = [r for table in TABLES for r in self.gx_results.get(table, [])] + self._return_results()
        passed = sum(r["success"] for r in results)
        return {
            "success": passed == len(results) and self.outcome != "Rejected",
            "results": results,
            "suite_name": "provider_return",
            "suite_parameters": {},
            "statistics": {
                "evaluated_expectations": len(results),
                "successful_expectations": passed,
                "unsuccessful_expectations": len(results) - passed,
                "success_percent": 100.0 * passed / len(results) if results else None,
            },
            "meta": {
                "provider": self.provider,
                "quarter": self.quarter,
                "outcome": self.outcome,
                "rules_version": RULES_VERSION,
                "engine": "probation_returns polars engine",
            },
        }

    def _return_results(self) -> list[dict]:
        """A table whose file could not be read, as the failed row-count expectation it is, so the statistics
        agree with the outcome (without it a UTF-16 cases file showed every expectation passed)."""
        return [
            {
                "success": False,
                "expectation_config": {
                    "type": "expect_table_row_count_to_be_between",
                    "kwargs": {"min_value": 1, "max_value": None},
                    "meta": {
                        "table": table,
                        "rule_id": "FIL-002" if table_state(counts) == "not sent" else "FIL-001",
                        "note": part_words(table, counts),
                    },
                },
                "result": {"observed_value": 0},
                "exception_info": {"raised_exception": False},
            }
            for table, counts in self.tables.items()
            if counts.get("read", True) is False
        ] + self._file_results()

    def _file_results(self) -> list[dict]:
        """Each whole-return rule that failed (file name, type, size, a missing table...), as a failed expectation
        on the return, so a return rejected only for its name does not read as every expectation passed."""
        if self.findings.height == 0:
            return []
        file_findings = self.findings.filter(pl.col("table") == "file")
        out = []
        for rule_id in file_findings.get_column("rule_id").unique(maintain_order=True).to_list():
            rows = file_findings.filter(pl.col("rule_id") == rule_id)
            rule = RULES_BY_ID.get(rule_id)
            out.append(
                {
                    "success": False,
                    "expectation_config": {
                        "type": "unexpected_rows_expectation",
                        "kwargs": {"unexpected_rows_query": f"whole-return rule {rule_id}"},
                        "meta": {"table": "file", "rule_id": rule_id, "note": rule.summary if rule else ""},
                    },
                    "result": {
                        "observed_value": rows.height,
                        "details": {"findings": rows.get_column("message").head(20).to_list()},
                    },
                    "exception_info": {"raised_exception": False},
                }
            )
        return out

    def rules(self) -> list[dict]:
        """Each rule that fired, what to fix first first: fatal, then errors (the cascade last), then warnings;
        within each, the cases table's rules before the contacts' and breaches', then the most frequent first.
        Id, severity, count, message (what it checks) and what to do."""
        if self.findings.height == 0:
            return []
        counts = self.findings.group_by("rule_id", "severity").agg(pl.len().alias("count"))
        rank = {"F": 0, "E": 1, "W": 2}
        # Contacts and breaches name their case: a rule of the cases table comes before theirs, however many
        # of theirs follow from one broken case (a mistyped case_ref is one CAS-001 and a CON-001 per contact).
        tables = {"cases": 0, "contacts": 1, "breaches": 2}

        def table_rank(rule_id: str) -> int:
            rule = RULES_BY_ID.get(rule_id)
            return tables.get(rule.table, -1) if rule else 3

        ordered = sorted(
            counts.iter_rows(), key=lambda r: (rank.get(r[1], 3), r[0] == CASCADE, table_rank(r[0]), -r[2], r[0])
        )
        actions = rule_actions()
        out = []
        for rule_id, severity, count in ordered:
            rule = RULES_BY_ID.get(rule_id)
            out.append(
                {
                    "rule_id": rule_id,
                    "severity": severity,
                    "count": count,
                    "message": rule.summary if rule else "record rejected because its case was rejected",
                    "action": actions.get(rule_id, ""),
                }
            )
        return out


def table_state(counts: dict) -> str:
    """A table's state, also for validations stored before states were recorded."""
    return counts.get("state") or ("read" if counts.get("read", True) else "not read")


def part_words(table: str, counts: dict, rows_in_words: bool = True) -> str:
    """What happened to the table's file, in words: 'read: 7,854 rows', 'not sent', 'could not be read: ...'.

    Without ``rows_in_words`` the count is left to the table's rows column ('read'), where disclosure control
    can hide it."""
    state, rows = table_state(counts), counts.get("rows")
    name = f"{counts['file']} " if counts.get("file") else ""
    read = f"read: {rows:,} rows" if rows_in_words and rows is not None else "read"
    if state == "not sent":
        return f"not sent: no {table} table was among the files received"
    if state == "not read":
        why = counts.get("why")
        return f"{name}could not be read" + (f": {why}" if why else "")
    if state == "not checked":
        return f"{name}{read}; its records were not checked, because the return could not be used"
    return f"{name}{read}"


def whole_return_counts(findings: pl.DataFrame) -> dict[str, int]:
    """Errors and warnings about the return as a whole (file names, files sent beside it): not in any table."""
    mine = findings.filter(pl.col("table") == "file")
    return {
        "errors": mine.filter(pl.col("severity").is_in(["E", "F"])).height,
        "warnings": mine.filter(pl.col("severity") == "W").height,
    }
