"""A Polars engine for the Great Expectations suites in ``expectations/``.

Each supported expectation type compiles to a boolean Polars expression (``True`` = unexpected)
with the same meaning as GX's own engine, including how it treats blanks; all of a table's
expectations run in one pass over the whole table, every failing row is kept, and the results
come out both as findings and in GX's validation-result shape. GX itself is not imported here
(importing it takes seconds); ``tests/test_gx_parity.py`` runs GX's engine on the same suites as
the reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import polars as pl

from expectations.catalogue import RECORD_RULES, Params
from probation_returns.shown import shown_value
from probation_returns.spec import DATE_COLUMNS
from probation_returns.validation.reader import ROW

FINDING_SCHEMA = {
    "table": pl.String,
    "row_number": pl.Int64,
    "case_ref": pl.String,
    "column": pl.String,
    "rule_id": pl.String,
    "severity": pl.String,
    "value": pl.String,
    "message": pl.String,
}


def whole_return_finding(
    table: str, rule_id: str, severity: str, message: str, value: str | None = None
) -> pl.DataFrame:
    """One finding about a table or the whole return rather than a row."""
    row = {"table": table, "row_number": None, "case_ref": None, "column": None}
    return pl.DataFrame(
        [{**row, "rule_id": rule_id, "severity": severity, "value": value, "message": message}], schema=FINDING_SCHEMA
    )


SUPPORTED = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_between",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_compound_columns_to_be_unique",
}
# A table with more findings than this is not a return with mistakes but something else (a flood of
# blank or junk rows): listing them all would take gigabytes. The return is rejected (FIL-001) and the
# first rows of each rule are listed, enough to show what is wrong.
MAX_FINDINGS = 1_000_000
DATE_FORMAT = "%Y-%m-%d"  # the specification's, for every date column
LISTED_WHEN_FLOODED = 1_000


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict
    meta: dict

    @property
    def rule_id(self) -> str:
        return self.meta["rule_id"]

    def columns(self) -> list[str]:
        k = self.kwargs
        cols = [k[c] for c in ("column", "column_A", "column_B") if c in k] + list(k.get("column_list", []))
        return [c.removesuffix("__date") for c in cols]


@lru_cache(maxsize=1)
def suites() -> dict[str, dict]:
    """The suites as data: ``{table: suite dict}`` read from ``expectations/<table>.json``."""
    out = {}
    for table in DATE_COLUMNS:
        text = resources.files("expectations").joinpath(f"{table}.json").read_text(encoding="utf-8")
        out[table] = json.loads(text)
    return out


def expectations(table: str) -> list[Expectation]:
    return [Expectation(e["type"], e["kwargs"], e["meta"]) for e in suites()[table]["expectations"]]


def parameters(params: Params) -> dict:
    return {
        "provider_codes": [params.provider_code],
        "quarter_first_day": params.quarter_first_day,
        "quarter_last_day": params.quarter_last_day,
    }


def _resolve(value, values: dict):
    if isinstance(value, dict) and "$PARAMETER" in value:
        return values[value["$PARAMETER"]]
    return value


def compile_expectation(exp: Expectation, values: dict, dated: tuple[str, ...] = ()) -> pl.Expr:
    """The rows ``exp`` finds unexpected, as GX's pandas engine decides them.

    ``dated``: columns whose ``<column>__date`` helper (the column read as %Y-%m-%d, as ``_evaluation_plan``
    makes it) is in the frame; a %Y-%m-%d format check reads it instead of parsing the column again.
    """
    k = {key: _resolve(v, values) for key, v in exp.kwargs.items()}
    t = exp.type
    if t == "expect_column_values_to_not_be_null":
        return pl.col(k["column"]).is_null()
    col = pl.col(k["column"]) if "column" in k else None
    present = col.is_not_null() if col is not None else None
    if t == "expect_column_values_to_be_in_set":
        return present & ~col.is_in(pl.Series(list(k["value_set"]), dtype=pl.String).implode()).fill_null(False)
    if t == "expect_column_values_to_match_regex":
        return present & ~col.str.contains(k["regex"]).fill_null(False)
    if t == "expect_column_values_to_be_unique":
        return present & col.is_duplicated()
    if t == "expect_column_values_to_match_strftime_format":
        if k["strftime_format"] == DATE_FORMAT and k["column"] in dated:
            return present & pl.col(f"{k['column']}__date").is_null()  # the date parsed once, for every rule
        return present & col.str.to_date(k["strftime_format"], strict=False).is_null()
    if t == "expect_column_values_to_be_between":
        out = pl.lit(False)
        if k.get("min_value") is not None:
            out = out | (col < pl.lit(k["min_value"])).fill_null(False)
        if k.get("max_value") is not None:
            out = out | (col > pl.lit(k["max_value"])).fill_null(False)
        return present & out
    if t == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = pl.col(k["column_A"]), pl.col(k["column_B"])
        both = a.is_not_null() & b.is_not_null()
        ok = (a >= b) if k.get("or_equal") else (a > b)
        return both & ~ok.fill_null(True)
    if t == "expect_compound_columns_to_be_unique":
        cols = k["column_list"]
        some = pl.any_horizontal([pl.col(c).is_not_null() for c in cols])
        return some & (pl.len().over(cols) > 1)
    raise ValueError(f"expectation type {t} is not supported by the Polars engine")


def _message(template: str, column: str) -> pl.Expr:
    """A message per failing row from a template with {row}, {value}, {case_ref} and {column}, or any other
    column of the evaluated frame by name, with what to say when it is blank after a bar
    ({case__termination_date__date|not ended}): the values a clerk needs to find and fix the record."""
    parts = re.split(r"\{([a-z_]+(?:\|[^}]*)?)\}", template)
    known = {
        "row": pl.col(ROW).cast(pl.String),
        "value": shown_value(column),
        "case_ref": pl.col("case_ref"),
        "column": pl.lit(column),
    }
    fmt, args = "", []
    for i, part in enumerate(parts):
        if i % 2:
            name, _, blank = part.partition("|")
            fmt += "{}"
            args.append(
                known[name].fill_null(blank)
                if name in known
                else pl.col(name).cast(pl.String).fill_null(blank or "blank")
            )
        else:
            fmt += part.replace("{", "(").replace("}", ")")
    return pl.format(fmt, *args) if args else pl.lit(fmt)


def case_dates(cases: pl.DataFrame, unique: bool = True) -> pl.DataFrame:
    """Each case reference once, with its start and termination dates (for contacts and breaches).

    ``cases`` is the table as read, or its evaluation frame (whose date helpers are then used as they are);
    ``unique=False`` when no reference is known to be repeated (nothing to drop)."""

    def date(column: str) -> pl.Expr:
        helper = f"{column}__date"
        return pl.col(helper) if helper in cases.columns else pl.col(column).str.to_date(DATE_FORMAT, strict=False)

    known = cases.lazy().filter(pl.col("case_ref").is_not_null())
    if unique:
        known = known.unique(subset="case_ref", keep="first", maintain_order=False)
    return known.select(
        "case_ref",
        pl.lit(True).alias("case__known"),
        date("start_date").alias("case__start_date__date"),
        date("termination_date").alias("case__termination_date__date"),
    ).collect()


def evaluation_frame(
    table: str, frame: pl.DataFrame, tables: dict[str, pl.DataFrame], shared: dict | None = None
) -> pl.DataFrame:
    """The table with ``<date column>__date`` helpers, and the case's own dates for contacts and breaches.

    ``shared`` carries work done once per return (the cases' dates) between tables.
    """
    return _evaluation_plan(table, frame, tables, shared).collect()


def _evaluation_plan(
    table: str, frame: pl.DataFrame, tables: dict[str, pl.DataFrame], shared: dict | None = None
) -> pl.LazyFrame:
    out = frame.lazy().with_columns(
        pl.col(c).str.to_date(DATE_FORMAT, strict=False).alias(f"{c}__date") for c in DATE_COLUMNS[table]
    )
    if table in ("contacts", "breaches") and "cases" in tables:
        shared = {} if shared is None else shared
        if "case_dates" not in shared:
            shared["case_dates"] = case_dates(tables["cases"])
        dates = shared["case_dates"].lazy()
        if ROW not in frame.columns:
            return out.join(dates, on="case_ref", how="left")
        # Only the reference is joined, and the case's columns put back in the table's row order beside its own
        # columns: a join of the whole table would copy every column of it (a quarter of a GB for 2M contacts).
        looked_up = frame.lazy().select(ROW, "case_ref").join(dates, on="case_ref", how="left").sort(ROW)
        out = pl.concat([out, looked_up.drop(ROW, "case_ref")], how="horizontal")
    return out


_UNIQUENESS = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")


def _distinct(frame: pl.DataFrame, exps: list[Expectation]) -> dict[int, bool]:
    """For each uniqueness expectation (by ``id``): True when no two of its keys (rows with a value in one of its
    columns) can be alike. Each key's 64-bit hash, sorted, has no two neighbours equal: equal keys have equal
    hashes, so no key is repeated, and the rule can find nothing. Hashing and sorting numbers is many times
    cheaper than searching the text for repeats; equal hashes (a repeat, or two keys that happen to share a
    hash) leave the rule to search as it always has."""
    if not exps or frame.height == 0:
        return {}
    tests = []
    for i, exp in enumerate(exps):
        columns = list(exp.kwargs.get("column_list") or [exp.kwargs["column"]])
        key = pl.col(columns[0]).hash()
        for seed, column in enumerate(columns[1:], start=1):  # equal keys, equal hashes: each column its own seed
            key = key ^ pl.col(column).hash(seed=seed)
        hashes = key.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in columns])).sort()
        tests.append((hashes == hashes.shift(1)).any().alias(f"__d{i}"))
    repeated = frame.select(tests).row(0)
    return {id(exp): not maybe for exp, maybe in zip(exps, repeated)}


@dataclass
class TableResult:
    findings: pl.DataFrame
    gx_results: list[dict]
    flooded: int = 0  # how many findings there were when over MAX_FINDINGS (only some are listed)
    rejected_rows: int | None = None  # rows with an error, counted from the rules when not all are listed


def run_table(
    table: str,
    frame: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    params: Params,
    missing: set[str] = frozenset(),
    shared: dict | None = None,
) -> TableResult:
    """Every expectation of the table's suite and every catalogue rule, over the whole table at once."""
    values = parameters(params)
    evaluated = _evaluation_plan(table, frame, tables, shared)
    suite = [exp for exp in expectations(table) if not missing & set(exp.columns())]
    distinct = _distinct(frame, [exp for exp in suite if exp.type in _UNIQUENESS])
    checks: list[tuple[str, str, str, str, pl.Expr, Expectation | None]] = []
    for exp in suite:
        checks.append(
            (
                exp.rule_id,
                exp.meta["severity"],
                exp.meta.get("column") or exp.columns()[0],
                exp.meta["message"],
                # no two keys alike: no row can be a repeat, and the costly search for repeats is not made
                pl.lit(False) if distinct.get(id(exp)) else compile_expectation(exp, values, DATE_COLUMNS[table]),
                exp,
            )
        )
    for rule in RECORD_RULES:
        if rule.table == table and not missing & set(rule.columns):
            checks.append(
                (rule.rule_id, rule.severity, rule.column, rule.message, rule.unexpected(params, tables), None)
            )

    # One pass: every rule's mask as a column of the table, computed together with the date helpers.
    flagged = evaluated.with_columns(expr.alias(f"__x{i}") for i, (*_, expr, _) in enumerate(checks)).collect()
    if table == "cases" and shared is not None and "case_dates" not in shared:
        # the dates just parsed, for contacts and breaches; each reference once already when none is repeated
        once = any(distinct.get(id(exp)) and exp.columns() == ["case_ref"] for exp in suite)
        shared["case_dates"] = case_dates(flagged, unique=not once)
    counts = flagged.select(pl.col(f"__x{i}").sum() for i in range(len(checks))).row(0) if checks else ()
    flooded = sum(counts) if sum(counts) > MAX_FINDINGS else 0
    errors = [f"__x{i}" for i, check in enumerate(checks) if check[1] in ("E", "F")]
    rejected = (flagged.select(pl.any_horizontal(errors).sum()).item() if errors else 0) if flooded else None
    hit = [f"__x{i}" for i, n in enumerate(counts) if n]
    # The rows any rule found, once; each rule's findings come from those rows only (a clean return: none).
    failing_rows = flagged.filter(pl.any_horizontal(hit)) if hit else flagged.clear()
    parts = []
    for i, (rule_id, severity, column, message, _, _) in enumerate(checks):
        if not counts[i]:
            continue
        # Eager per rule, over the failing rows only: one lazy concat of many branches over the same
        # frame hit a Polars 2.1 panic.
        failing = failing_rows.filter(pl.col(f"__x{i}"))
        parts.append(
            (failing.head(LISTED_WHEN_FLOODED) if flooded else failing)
            .select(
                pl.lit(table).alias("table"),
                pl.col(ROW).alias("row_number"),
                pl.col("case_ref"),
                pl.lit(column).alias("column"),
                pl.lit(rule_id).alias("rule_id"),
                pl.lit(severity).alias("severity"),
                shown_value(column).alias("value"),
                _message(message, column).alias("message"),
            )
            .cast(FINDING_SCHEMA)
        )
    findings = pl.concat(parts) if parts else pl.DataFrame(schema=FINDING_SCHEMA)
    # A rule with several expectations (blank, then malformed) reports a row once.
    findings = findings.unique(subset=["row_number", "rule_id", "column"], keep="first", maintain_order=True)

    gx = []
    for (_, _, column, _, _, exp), unexpected in zip(checks, counts):
        if exp is None:
            continue
        gx.append(_gx_result(exp, int(unexpected), flagged, column))
    return TableResult(findings.sort("row_number", "rule_id", maintain_order=True), gx, flooded, rejected)


def _gx_result(exp: Expectation, unexpected: int, frame: pl.DataFrame, column: str) -> dict:
    n = frame.height
    missing = frame[exp.kwargs["column"]].null_count() if "column" in exp.kwargs else 0
    return {
        "success": unexpected == 0,
        "expectation_config": {"type": exp.type, "kwargs": exp.kwargs, "meta": exp.meta},
        "result": {
            "element_count": n,
            "missing_count": missing,
            "missing_percent": 100.0 * missing / n if n else None,
            "unexpected_count": unexpected,
            "unexpected_percent": 100.0 * unexpected / (n - missing) if n - missing else None,
            "unexpected_percent_total": 100.0 * unexpected / n if n else None,
        },
        "exception_info": {"raised_exception": False, "exception_message": None, "exception_traceback": None},
        "meta": {},
    }
