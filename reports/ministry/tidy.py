"""The return's tables as both copies publish them: total rows, NPS money, the Summary, and markers.

A number is always a number: a cell with no figure is empty, and the reason is in the column's
``<column>_marker`` beside it, using the Government Analysis Function's symbols:
``[c]`` confidential (publication copy only), ``[x]`` not available (no valid return, or a table
whose file could not be read), ``[z]`` not applicable. The internal and publication copies have the same rows
and columns; they differ only in the cells the publication hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from probation_returns.measures.service_levels import percent_1dp
from probation_returns.reference import providers

CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE = "[c]", "[x]", "[z]"
TOTALS = {"CRC": "All CRCs", "NPS": "All NPS divisions", "ALL": "England and Wales"}
SUMMARY_MEASURES = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")
NPS_MONEY = (
    "quarterly_fee_gbp",
    "service_credits_gbp",
    "credits_waived_gbp",
    "credits_reinvested_gbp",
    "credits_applied_gbp",
    "outcome_payments_gbp",
    "net_gbp",
)

# the columns that can be empty for a reason, per table (each gets a ``<column>_marker`` column)
MARKED = {
    "service_levels": ("numerator", "denominator", "performance", "target", "credit_gbp"),
    "reoffending": (
        "cohort_size",
        "reoffenders",
        "reoffences",
        "binary_rate",
        "frequency_rate",
        "mean_p1",
        "adjusted_binary_rate",
        "baseline_binary_rate",
        "baseline_frequency_rate",
        "z",
        "outcome_payment_gbp",
    ),
    "payments": (
        "quarterly_fee_gbp",
        "service_credits_gbp",
        "credits_waived_gbp",
        "credits_reinvested_gbp",
        "credits_applied_gbp",
        "outcome_payments_gbp",
        "net_gbp",
    ),
    "data_quality": ("rows", "rejected_records", "errors", "warnings"),
    "summary": (
        "cases",
        *(f"{m}_performance" for m in SUMMARY_MEASURES),
        "service_credits_gbp",
        "outcome_payments_gbp",
        "net_adjustment_gbp",
    ),
}


def marker(column: str) -> str:
    return f"{column}_marker"


def _not_available(name: str) -> pl.Expr:
    """Rows whose empty cells mean 'no figure because there was no valid return' (or no result yet)."""
    if name == "service_levels":
        return pl.col("status") == "no valid return"
    if name == "reoffending":
        return pl.col("result").is_in(["no valid return", "no result yet"])
    if name == "payments":  # a CRC's outcome payment with no result to pay on
        return pl.col("provider_code").replace_strict(_TYPES, default=None) == "CRC"
    if name == "data_quality":  # no return, not validated, the file not sent or not read, records not checked
        return pl.col("table") != "whole return"  # a return as a whole has no rows of its own: not applicable
    if name == "summary":
        return pl.col("outcome") == "no valid return"
    return pl.lit(False)


def with_markers(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Each marked column followed by its marker column: ``[x]`` or ``[z]`` where the cell is empty."""
    absent = _not_available(name)
    exprs, order = [], []
    for column in frame.columns:
        if column.endswith("_marker"):
            continue
        order.append(column)
        if column in MARKED.get(name, ()):
            missing = pl.lit(False) if column in _AVAILABLE_WITHOUT_RETURN.get(name, ()) else absent
            if column in _CRC_ONLY.get(name, ()):  # never available for an NPS division: not applicable
                missing = missing & (pl.col("provider_code").replace_strict(_TYPES, default=None) != "NPS")
            exprs.append(
                pl.when(pl.col(column).is_not_null())
                .then(pl.lit(None, pl.String))
                .when(missing)
                .then(pl.lit(NOT_AVAILABLE))
                .otherwise(pl.lit(NOT_APPLICABLE))
                .alias(marker(column))
            )
            order.append(marker(column))
    return frame.with_columns(exprs).select(order)


_TYPES = {code: p.type for code, p in providers().items()}
_CRC_ONLY = {"reoffending": ("outcome_payment_gbp",), "payments": NPS_MONEY}

# columns that are not applicable rather than missing on a row without a valid return
_AVAILABLE_WITHOUT_RETURN = {
    "service_levels": ("target", "credit_gbp"),
    "summary": ("service_credits_gbp", "outcome_payments_gbp", "net_adjustment_gbp"),
}


def provider_type(code: str) -> str | None:
    p = providers().get(code)
    return p.type if p else None


def with_totals(frame: pl.DataFrame, by: Sequence[str], counts: Sequence[str]) -> pl.DataFrame:
    """Add total rows (provider_code CRC, NPS, ALL) per ``by`` group, summing ``counts``; other columns null.

    Totals follow their group's providers, in a fixed order (CRC, NPS, ALL), so a rebuild writes the same bytes.
    """
    kinds = {c: p.type for c, p in providers().items()}
    typed = frame.with_columns(pl.col("provider_code").replace_strict(kinds, default=None).alias("_type"))
    sums = [pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in counts]  # none: none
    parts = [
        typed.group_by([*by, "_type"]).agg(sums).rename({"_type": "provider_code"}),
        typed.group_by(list(by)).agg(sums).with_columns(pl.lit("ALL").alias("provider_code")),
    ]
    totals = pl.concat([p.select([*by, "provider_code", *counts]) for p in parts], how="vertical_relaxed")
    first_seen = frame.select(by).unique(maintain_order=True).with_row_index("_group")
    totals = (
        totals.join(first_seen, on=list(by), how="left")
        .sort("_group", pl.col("provider_code").replace_strict({k: i for i, k in enumerate(TOTALS)}))
        .drop("_group")
    )
    return pl.concat([frame, totals], how="diagonal_relaxed").select(frame.columns)


def is_total(frame: pl.DataFrame) -> list[bool]:
    return frame["provider_code"].is_in(list(TOTALS)).to_list()


def _ratio(numerator, denominator, places: str) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def service_levels(frame: pl.DataFrame) -> pl.DataFrame:
    """Provider rows, then per measure the CRC, NPS and England and Wales totals (pooled counts).

    A total's performance is its own numerator over its own denominator (providers without a valid
    return have no counts, so they are left out); its target is the measure's (the same for all).
    """
    table = with_totals(frame, ["quarter", "measure"], ["numerator", "denominator"])
    totals = is_total(table)
    targets = dict(frame.select("measure", "target").unique("measure", keep="first").iter_rows())
    target = [targets.get(m) if t else v for t, m, v in zip(totals, table["measure"], table["target"])]
    performance = [
        (percent_1dp(n, d, None if g is None else g * 100) / 100 if d else None) if t else p
        for t, n, d, p, g in zip(totals, table["numerator"], table["denominator"], table["performance"], target)
    ]
    status = [("total" if t else s) for t, s in zip(totals, table["status"])]
    parameter = frame["parameter_version"][0] if frame.height else None
    return table.with_columns(
        pl.Series("performance", performance, dtype=pl.Decimal(5, 3)),
        pl.Series("target", target, dtype=pl.Decimal(5, 3)),
        pl.Series("status", status, dtype=pl.String),
        pl.col("parameter_version").fill_null(pl.lit(parameter, pl.String)),
    )


def reoffending(frame: pl.DataFrame) -> pl.DataFrame:
    """Provider cohorts, then the CRC, NPS and England and Wales totals with pooled rates (half up).

    Adjusted rates, z and payments have no pooled meaning and are left empty on total rows; NPS divisions
    have no outcome payments (empty, not 0.00, as in the payments table).
    """
    counts = ["cohort_size", "reoffenders", "reoffences"]
    table = with_totals(frame, ["quarter"], counts)
    totals = is_total(table)
    size, people, offences = (
        table["cohort_size"].to_list(),
        table["reoffenders"].to_list(),
        table["reoffences"].to_list(),
    )
    binary = [
        _ratio(people[i], size[i], "0.0001") if t else v for i, (t, v) in enumerate(zip(totals, table["binary_rate"]))
    ]
    frequency = [
        _ratio(offences[i], people[i], "0.001") if t else v
        for i, (t, v) in enumerate(zip(totals, table["frequency_rate"]))
    ]
    first = frame.row(0, named=True) if frame.height else {}
    nps = [provider_type(c) == "NPS" for c in table["provider_code"]]
    paid = [None if n else v for n, v in zip(nps, table["outcome_payment_gbp"])]  # NPS: never paid, not 0.00
    return table.with_columns(
        pl.Series("outcome_payment_gbp", paid, dtype=table.schema["outcome_payment_gbp"]),
        pl.Series("binary_rate", binary, dtype=pl.Decimal(6, 4)),
        pl.Series("frequency_rate", frequency, dtype=pl.Decimal(7, 3)),
        pl.col("cohort_quarter").fill_null(pl.col("quarter")),
        pl.col("extract_as_of").fill_null(pl.lit(first.get("extract_as_of"), pl.Date)),
        pl.col("parameter_version").fill_null(pl.lit(first.get("parameter_version"), pl.String)),
    )


def payments(frame: pl.DataFrame) -> pl.DataFrame:
    """NPS divisions have no contract fee, service credits or outcome payments: not applicable, not 0.00."""
    nps = (
        pl.col("provider_code").replace_strict({c: provider_type(c) for c in frame["provider_code"]}, default=None)
        == "NPS"
    )
    return frame.with_columns(pl.when(nps).then(None).otherwise(pl.col(c)).alias(c) for c in NPS_MONEY)


def summary(levels: pl.DataFrame, pay: pl.DataFrame, submissions: pl.DataFrame, quality: pl.DataFrame) -> pl.DataFrame:
    """One row per provider: its return, cases, each service level and the money (from the other tables)."""
    cases = {
        code: rows - (rejected or 0)
        for code, rows, rejected in quality.filter(pl.col("table") == "cases")
        .select("provider_code", "rows", "rejected_records")
        .iter_rows()
        if rows is not None
    }
    level = {(r["provider_code"], r["measure"]): r for r in levels.iter_rows(named=True)}
    money = {r["provider_code"]: r for r in pay.iter_rows(named=True)}
    rows = []
    for sub in submissions.iter_rows(named=True):
        code = sub["provider_code"]
        counted = sub["counted_submission_id"] is not None
        row = {
            "quarter": sub["quarter"],
            "provider_code": code,
            "type": provider_type(code),
            "outcome": sub["outcome"] if counted else "no valid return",
            "cases": cases.get(code) if counted else None,
        }
        for m in SUMMARY_MEASURES:
            found = level.get((code, m), {})
            row[f"{m}_performance"], row[f"{m}_status"] = found.get("performance"), found.get("status")
        p = money[code]
        row["service_credits_gbp"], row["outcome_payments_gbp"] = p["service_credits_gbp"], p["outcome_payments_gbp"]
        applied, paid = p["credits_applied_gbp"], p["outcome_payments_gbp"]
        row["net_adjustment_gbp"] = None if applied is None else (paid or 0) - applied  # no result: nothing paid
        rows.append(row)
    schema = {
        "quarter": pl.String,
        "provider_code": pl.String,
        "type": pl.String,
        "outcome": pl.String,
        "cases": pl.Int64,
    }
    for m in SUMMARY_MEASURES:
        schema |= {f"{m}_performance": pl.Decimal(5, 3), f"{m}_status": pl.String}
    schema |= {c: pl.Decimal(14, 2) for c in ("service_credits_gbp", "outcome_payments_gbp", "net_adjustment_gbp")}
    return pl.DataFrame(rows, schema=schema, orient="row")


def return_tables(
    service: pl.DataFrame, cohorts: pl.DataFrame, pay: pl.DataFrame, quality: pl.DataFrame, submissions: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """The internal copy's tables (unmarked: ``mark`` adds the marker columns)."""
    levels, money = service_levels(service), payments(pay)
    return {
        "service_levels": levels,
        "reoffending": reoffending(cohorts),
        "payments": money,
        "data_quality": quality,
        "submissions": submissions,
        "summary": summary(levels, money, submissions, quality),
    }


def provider_names() -> dict[str, str]:
    """Provider codes to names, and the total rows' codes (CRC, NPS, ALL) to theirs."""
    return {code: p.name for code, p in providers().items()} | TOTALS


def with_names(frame: pl.DataFrame) -> pl.DataFrame:
    """``provider_name`` after ``provider_code``."""
    if "provider_code" not in frame.columns or "provider_name" in frame.columns:
        return frame
    at = frame.columns.index("provider_code") + 1
    named = frame.with_columns(
        pl.col("provider_code").replace_strict(provider_names(), default=None).alias("provider_name")
    )
    return named.select([*frame.columns[:at], "provider_name", *frame.columns[at:]])


COUNTED = {"service_levels": ("measure", "denominator"), "reoffending": ("quarter", "cohort_size")}


def with_coverage(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A total row's name says how many providers its figures cover: "All CRCs (18 of 21 with figures)"."""
    if name not in COUNTED or "provider_name" not in frame.columns:
        return frame
    group, count = COUNTED[name]
    kinds = {c: p.type for c, p in providers().items()}
    rows = frame.select(group, "provider_code", count).to_dicts()
    names = []
    for row, label in zip(rows, frame["provider_name"]):
        code = row["provider_code"]
        if code not in TOTALS:
            names.append(label)
            continue
        members = [
            r
            for r in rows
            if r[group] == row[group]
            and r["provider_code"] in kinds
            and (code == "ALL" or kinds[r["provider_code"]] == code)
        ]
        covered = sum(r[count] is not None for r in members)
        names.append(f"{label} ({covered} of {len(members)} with figures)")
    return frame.with_columns(pl.Series("provider_name", names, dtype=pl.String))


def mark(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Names and marker columns: the tables as both copies publish them."""
    return {name: with_markers(name, with_coverage(name, with_names(frame))) for name, frame in tables.items()}
