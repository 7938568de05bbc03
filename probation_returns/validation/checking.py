"""Validating a provider return: read, run every rule on every record, cascade, decide the outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from expectations.catalogue import CASE_LIST_RULES, RETURN_RULES, Params
from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import Tally
from probation_returns.pnc import mask_identifiers
from probation_returns.reference import providers
from probation_returns.spec import DATE_COLUMNS, RULES_BY_ID, TABLES
from probation_returns.validation import engine as _engine
from probation_returns.validation.cascade import CASCADE, cascade
from probation_returns.validation.engine import FINDING_SCHEMA, run_table, whole_return_finding
from probation_returns.validation.history import moved_figures
from probation_returns.validation.outcome import decide
from probation_returns.validation.reader import ROW, RawReturn, read_return
from probation_returns.validation.result import ValidationResult
from probation_returns.validation.tolerance import Allowance, with_tolerated, within

DEFAULT_TOLERANCE = 0.01  # the specification's default; validate_files takes it from the contract parameters


def params_for(
    provider: str, quarter: str, previous_cases: int | None = None, previous_active: Sequence[str] | None = None
) -> Params:
    q = Quarter.parse(quarter)
    return Params(
        provider_code=provider,
        provider_is_crc=providers()[provider].is_crc,
        quarter=str(q),
        quarter_first_day=q.first_day,
        quarter_last_day=q.last_day,
        previous_cases=previous_cases,
        previous_active=None if previous_active is None else tuple(previous_active),
    )


def validate_files(
    files: list[Path],
    provider: str,
    quarter: str,
    *,
    previous_cases: int | None = None,
    previous_active: Sequence[str] | None = None,
    previous_figures: Mapping[Quarter, dict[tuple[str, str], Tally]] | None = None,
    tolerance: float | None = None,
    names: list[str] | None = None,
    allowances: dict[str, Allowance] | None = None,
) -> ValidationResult:
    """Validate the files of one return (``names``: the names they were sent under, if archived).

    ``previous_cases`` and ``previous_active`` describe the provider's accepted return for the quarter before
    (its row count; the case references still active at that quarter's end); None when there is none.
    ``previous_figures``: the credibility figures of the provider's own accepted returns for its previous quarters
    (by quarter: ``credibility.store.provider_history``), for RET-004; None or empty: not compared.

    The rejection tolerance comes from the quarter's contract parameters unless given; ``allowances`` are the
    tolerances a contract manager granted the provider for the quarter, by rule.
    """
    from probation_returns.parameters import for_quarter

    contract = for_quarter(quarter)
    raw = read_return(files, provider, str(Quarter.parse(quarter)), names)
    result = validate(
        raw,
        params_for(provider, quarter, previous_cases, previous_active),
        tolerance=contract.rejection_tolerance if tolerance is None else tolerance,
        previous_figures=previous_figures,
        allowances=allowances,
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


def validate(
    raw: RawReturn,
    params: Params,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    previous_figures: Mapping[Quarter, dict[tuple[str, str], Tally]] | None = None,
    allowances: dict[str, Allowance] | None = None,
) -> ValidationResult:
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
                    whole_return_finding(
                        table,
                        "FIL-001",
                        "F",
                        f"The {table} table has {result.flooded:,} findings, more than the {_engine.MAX_FINDINGS:,} a "
                        f"return can have listed: it does not look like the return (blank or junk rows?). "
                        f"The first {_engine.LISTED_WHEN_FLOODED:,} rows of each rule are listed.",
                    )
                )
        for rule in RETURN_RULES:
            hit = rule.check(params, raw.tables)
            if hit:
                value, message = hit
                parts.append(whole_return_finding(rule.table, rule.rule_id, rule.severity, message, value))
        for rule in CASE_LIST_RULES:
            hits = rule.check(params, raw.tables)
            if hits:
                parts.append(
                    pl.DataFrame(
                        [
                            {
                                "table": rule.table,
                                "row_number": None,  # the case has no row in this return: its reference says which
                                "case_ref": case_ref,
                                "column": "case_ref",
                                "rule_id": rule.rule_id,
                                "severity": rule.severity,
                                "value": case_ref,
                                "message": message,
                            }
                            for case_ref, message in hits
                        ],
                        schema=FINDING_SCHEMA,
                    )
                )
        if not flooded:  # a flooded return is rejected whole: its cascade would only add volume
            parts.append(cascade(raw.tables, pl.concat(parts)))
    parts.extend(frame.cast(FINDING_SCHEMA) for frame in raw.cell_findings)
    findings = mask_identifiers(pl.concat(parts))
    tables = _table_counts(raw, findings, flooded, checked=not unusable)
    tables = with_tolerated(tables, findings, within(findings, tables, allowances))
    outcome, reasons = decide(findings, tables, tolerance, unusable)
    accepted = {} if outcome == "Rejected" else (lambda: _accepted(raw.tables, findings))
    if previous_figures and outcome != "Rejected":
        # RET-004 reads the records this return has accepted; its warnings reject nothing, so they stay accepted.
        accepted = _accepted(raw.tables, findings)
        moved = moved_figures(params.quarter, params.provider_code, accepted, dict(previous_figures))
        if moved.height:
            findings = pl.concat([findings, mask_identifiers(moved)])
            tables = _table_counts(raw, findings, flooded, checked=not unusable)
            tables = with_tolerated(tables, findings, within(findings, tables, allowances))
            outcome, reasons = decide(findings, tables, tolerance, unusable)
    return ValidationResult(params.provider_code, params.quarter, outcome, findings, tables, accepted, gx, reasons)


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


def typed_records(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Records as read (text, one frame per table) typed as accepted records are, none rejected: to give a
    provider's earlier returns by hand (the rule catalogue's examples, tests)."""
    numbered = {
        t: f.with_columns(pl.col(pl.String).replace("", None))  # a blank cell is read as no value
        .with_row_index(ROW, offset=2)
        .with_columns(pl.col(ROW).cast(pl.Int64))
        for t, f in tables.items()
    }
    return _accepted(numbered, pl.DataFrame([], schema=FINDING_SCHEMA))
