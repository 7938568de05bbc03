"""Validating a provider return: read, run every rule on every record, cascade, decide the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from expectations.catalogue import RETURN_RULES, Params
from probation_returns.calendar import Quarter
from probation_returns.pnc import mask_identifiers
from probation_returns.reference import providers
from probation_returns.spec import DATE_COLUMNS, RULES_BY_ID, SPEC_VERSION, TABLES
from probation_returns.validation import engine as _engine
from probation_returns.validation.engine import FINDING_SCHEMA, run_table
from probation_returns.validation.reader import ROW, RawReturn, read_return

RULES_VERSION = f"spec-{SPEC_VERSION}"
DEFAULT_TOLERANCE = 0.01  # the specification's default; validate_files takes it from the contract parameters
OUTCOMES = ("Rejected", "Accepted with record rejections", "Accepted with warnings", "Accepted")
CASCADE = "CASCADE"


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


# What to do, for rules that span several columns (the suites' actions are per column).
RULE_ACTIONS = {
    CASCADE: "Fix the case in the cases table; its contacts and breaches will then be accepted.",
    "CAS-006": "Write dates as YYYY-MM-DD (e.g. 2017-07-31) or as real date cells in a workbook; check the day exists.",
    "CAS-012": "Use only the listed codes: sex M, F or U; the listed offence groups and termination reasons; "
    "Y or N for flags.",
    "CAS-015": "Events of a case cannot come before supervision started; correct the date or the start date.",
    "CAS-016": "Only report what had happened by the end of the quarter; leave later dates for the next return.",
    "CAS-004": "Every case must carry your own provider code. This rule is fatal: one case under another "
    "provider's code means the file may hold another provider's data, so the whole return is rejected.",
    "CON-002": "Give each appointment's date as YYYY-MM-DD, within the quarter.",
    "CON-004": "A follow-up cannot come before its appointment; correct the follow-up date or the contact date.",
    "CON-003": "Use the listed codes: contact_type F2F, VIDEO or PHONE; "
    "outcome ATTENDED, FAILED_TO_ATTEND or ACCEPTABLE_ABSENCE.",
    "BRE-003": "Give the awareness date (required) and referral date (if referred) as YYYY-MM-DD.",
}


def rule_actions() -> dict[str, str]:
    """What to do about each rule, by id: the suites' advice per column, overridden where a rule spans columns."""
    from expectations.catalogue import RECORD_RULES
    from probation_returns.validation.engine import expectations

    out = {t.rule_id: t.action for t in RECORD_RULES}
    out.update({t.rule_id: t.action for t in RETURN_RULES})
    for table in TABLES:
        for e in expectations(table):
            out.setdefault(e.rule_id, e.meta.get("action", ""))
    out.update(RULE_ACTIONS)
    out.update(
        {
            "FIL-001": "Send the return as a readable .xlsx workbook or UTF-8, comma-separated CSV files.",
            "FIL-002": "Send all three tables: cases, contacts and breaches.",
            "FIL-003": "Add the missing column; header names must match the specification.",
            "FIL-004": "Name the files <provider>_<quarter>.xlsx or <provider>_<quarter>_<table>.csv.",
            "FIL-005": "Remove columns the specification does not define (they are ignored).",
            "FIL-006": "List every case supervised in the quarter.",
            "FIL-007": "Keep only the return's files in the folder: "
            "<provider>_<quarter>.xlsx, or the three table CSVs.",
            "FIL-008": "Remove control characters (often pasted from another system) from the cells named.",
        }
    )
    return out


def params_for(provider: str, quarter: str, previous_cases: int | None = None) -> Params:
    q = Quarter.parse(quarter)
    return Params(
        provider_code=provider,
        provider_is_crc=providers()[provider].is_crc,
        quarter=str(q),
        quarter_first_day=q.first_day,
        quarter_last_day=q.last_day,
        previous_cases=previous_cases,
    )


def validate_files(
    files: list[Path],
    provider: str,
    quarter: str,
    *,
    previous_cases: int | None = None,
    tolerance: float | None = None,
    names: list[str] | None = None,
) -> ValidationResult:
    """Validate the files of one return (``names``: the names they were sent under, if archived).

    The rejection tolerance comes from the quarter's contract parameters unless given.
    """
    from probation_returns.parameters import for_quarter

    contract = for_quarter(quarter)
    raw = read_return(files, provider, str(Quarter.parse(quarter)), names)
    result = validate(
        raw,
        params_for(provider, quarter, previous_cases),
        tolerance=contract.rejection_tolerance if tolerance is None else tolerance,
    )
    result.parameter_version = contract.version
    return result


def _file_findings(raw: RawReturn) -> pl.DataFrame:
    rows = [
        {
            "table": f.table,
            "row_number": None,
            "case_ref": None,
            "column": f.column,
            "rule_id": f.rule_id,
            "severity": RULES_BY_ID[f.rule_id].severity,
            "value": f.value,
            "message": f.message,
        }
        for f in raw.findings
    ]
    return pl.DataFrame(rows, schema=FINDING_SCHEMA)


def validate(raw: RawReturn, params: Params, *, tolerance: float = DEFAULT_TOLERANCE) -> ValidationResult:
    parts = [_file_findings(raw)]
    gx: dict[str, list[dict]] = {}
    unusable = raw.fatal or not raw.tables
    flooded: dict[str, int] = {}  # table -> rejected rows, for tables with too many findings to list
    if not unusable:
        shared: dict = {}
        for table, frame in raw.tables.items():
            result = run_table(table, frame, raw.tables, params, raw.missing_columns.get(table, set()), shared)
            parts.append(result.findings)
            gx[table] = result.gx_results
            if result.flooded:
                flooded[table] = result.rejected_rows
                parts.append(
                    pl.DataFrame(
                        [
                            {
                                "table": table,
                                "row_number": None,
                                "case_ref": None,
                                "column": None,
                                "rule_id": "FIL-001",
                                "severity": "F",
                                "value": None,
                                "message": f"The {table} table has {result.flooded:,} findings, "
                                f"more than the {_engine.MAX_FINDINGS:,} a "
                                f"return can have listed: it does not look like the return (blank or junk rows?). "
                                f"The first {_engine.LISTED_WHEN_FLOODED:,} rows of each rule are listed.",
                            }
                        ],
                        schema=FINDING_SCHEMA,
                    )
                )
        for rule in RETURN_RULES:
            hit = rule.check(params, raw.tables)
            if hit:
                value, message = hit
                parts.append(
                    pl.DataFrame(
                        [
                            {
                                "table": rule.table,
                                "row_number": None,
                                "case_ref": None,
                                "column": None,
                                "rule_id": rule.rule_id,
                                "severity": rule.severity,
                                "value": value,
                                "message": message,
                            }
                        ],
                        schema=FINDING_SCHEMA,
                    )
                )
        if not flooded:  # a flooded return is rejected whole: its cascade would only add volume
            parts.append(_cascade(raw.tables, pl.concat(parts)))
    parts.extend(frame.cast(FINDING_SCHEMA) for frame in raw.cell_findings)
    findings = mask_identifiers(pl.concat(parts))
    tables = _table_counts(raw, findings, flooded, checked=not unusable)
    outcome, reasons = _outcome(findings, tables, tolerance, unusable)
    accepted = {} if outcome == "Rejected" else (lambda: _accepted(raw.tables, findings))
    return ValidationResult(params.provider_code, params.quarter, outcome, findings, tables, accepted, gx, reasons)


def _cascade(tables: dict[str, pl.DataFrame], findings: pl.DataFrame) -> pl.DataFrame:
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


def _table_counts(
    raw: RawReturn, findings: pl.DataFrame, flooded: dict[str, int] | None = None, checked: bool = True
) -> dict[str, dict]:
    """Per table: its file's state (read, not checked, not read, not sent), the file's name, its rows when
    they are known, records rejected when it was checked, and the errors and warnings found in it."""
    out = {}
    for table in TABLES:
        mine = findings.filter(pl.col("table") == table)
        part = raw.parts.get(table)
        rows = raw.tables[table].height if table in raw.tables else (part.rows if part else None)
        if rows is None:
            state = "not read" if part else "not sent"
        else:
            state = "read" if checked and table in raw.tables else "not checked"
        rejected = cascaded = None
        if state == "read":
            rows_of = mine.filter(pl.col("severity").is_in(["E", "F"]) & pl.col("row_number").is_not_null())
            rejected = (flooded or {}).get(table, rows_of["row_number"].n_unique())
            own = rows_of.filter(pl.col("rule_id") != CASCADE)["row_number"].n_unique()
            cascaded = rows_of["row_number"].n_unique() - own  # rejected only because their case was
        out[table] = {
            "read": rows is not None,  # False: no rows to count (not sent, or the file could not be read)
            "state": state,
            "file": part.file if part else None,
            "why": part.why if state == "not read" else None,
            "rows": rows,
            "rejected": rejected,
            "rejected_by_cascade": cascaded,
            "errors": mine.filter(pl.col("severity").is_in(["E", "F"])).height,
            "warnings": mine.filter(pl.col("severity") == "W").height,
        }
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


def why_rejected(fatal_rules: list[str], tables: dict[str, dict], tolerance: float) -> str:
    """Why a rejected return was rejected, in rule terms and without counts: each fatal rule (fatal at any
    count), or each table over the rejection threshold."""
    parts = [
        f"{rule}: {RULES_BY_ID[rule].summary if rule in RULES_BY_ID else 'fatal'} (fatal at any count)"
        for rule in sorted(set(fatal_rules))
    ]
    if not parts:
        parts = [
            f"{name}: more than {_share(tolerance)} of its records were rejected"
            for name, t in tables.items()
            if t.get("rows") and (t.get("rejected") or 0) / t["rows"] > tolerance
        ]
    return "; ".join(parts) or "FIL-001: the files could not be read (fatal at any count)"


def _outcome(
    findings: pl.DataFrame, tables: dict[str, dict[str, int]], tolerance: float, unusable: bool
) -> tuple[str, list[str]]:
    fatal = (
        findings.filter(pl.col("severity") == "F")
        .select("rule_id", "message")
        .unique(maintain_order=True)
        .sort("rule_id", maintain_order=True)
    )
    if unusable or fatal.height:
        # every fatal problem in the finding's own words, which say what to do ("Name it C03_2017Q2.xlsx ...")
        reasons = [f"{rule}: {message}" for rule, message in fatal.head(MAX_REASONS).iter_rows()]
        if fatal.height > MAX_REASONS:
            reasons.append(f"and {fatal.height - MAX_REASONS} more fatal problems: see findings.csv")
        fatal_ids = sorted(set(fatal["rule_id"]))
        why = (
            f"The return cannot be used: {', '.join(fatal_ids)} {'is' if len(fatal_ids) == 1 else 'are'} fatal "
            "(one finding is enough to reject the whole return). "
            if fatal_ids
            else "The return cannot be used. "
        )
        return "Rejected", [why + (reasons[0] if reasons else "FIL-001: the files could not be read."), *reasons[1:]]
    over = [
        f"{name}: {t['rejected']:,} of {t['rows']:,} records rejected "
        f"({_share(t['rejected'], t['rows'], tolerance)}), above "
        f"the {_share(tolerance)} allowed."
        for name, t in tables.items()
        if t["rows"] and t["rejected"] / t["rows"] > tolerance
    ]
    if over:
        return "Rejected", over
    if (findings["severity"] == "E").any():
        rejected = sum(t["rejected"] for t in tables.values())
        return "Accepted with record rejections", [
            f"{rejected:,} records were rejected; no table is over the {_share(tolerance)} of its rows allowed."
        ]
    if (findings["severity"] == "W").any():
        return "Accepted with warnings", ["No record was rejected; some records have warnings."]
    return "Accepted", []


MAX_REASONS = 10


def _share(part: float, whole: float = 1, limit: float | None = None) -> str:
    """A share as a percentage with the decimals it needs: 0.01 -> '1%', 4 of 383 -> '1.04%'; never shown equal
    to a limit it is above (101 of 10,000 -> '1.01%'; 10,001 of 1,000,000 -> '1.0001%')."""
    for places in (2, 4, 6):
        text = f"{100 * part / whole:.{places}f}".rstrip("0").rstrip(".") + "%"
        if limit is None or text != _share(limit):
            return text
    return text


def _accepted(tables: dict[str, pl.DataFrame], findings: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The records that passed, typed: dates as dates, whole numbers as integers, Y/N as booleans."""
    out = {}
    for table, frame in tables.items():
        bad = (
            findings.filter(
                (pl.col("table") == table) & pl.col("severity").is_in(["E", "F"]) & pl.col("row_number").is_not_null()
            )
            .select(pl.col("row_number").alias(ROW))
            .unique()
        )
        kept = frame.join(bad, on=ROW, how="anti")
        typed = kept.with_columns(
            [pl.col(c).str.to_date("%Y-%m-%d") for c in DATE_COLUMNS[table]]
            + [pl.col(c).cast(pl.Int64) for c in ("ogrs3_2yr", "age_at_start") if c in kept.columns]
            + [
                (pl.col(c) == "Y").alias(c)
                for c in ("em_only", "first_appointment_attended", "upw_required", "pack_complete")
                if c in kept.columns
            ]
        )
        out[table] = mask_identifiers(typed.rename({ROW: "row_number"}))  # e.g. a PNC id typed into breach_ref
    return out
