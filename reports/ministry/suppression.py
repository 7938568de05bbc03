"""The publication variant: small counts hidden so that no one can be identified, totals kept honest.

Following the Government Analysis Function's symbols: ``[c]`` confidential, ``[z]`` not applicable.
- Primary suppression: a count from 1 to 4 (zero is published; it identifies no one).
- Derived figures: a rate, percentage or amount of money computed from a hidden count is hidden.
- Secondary suppression: in every group of cells published with its total, a lone hidden cell could
  be worked out as total minus the rest; so while a group has exactly one hidden member, the
  smallest non-zero visible part is hidden too. Groups here are the providers of a type (CRC, NPS)
  with their subtotal, and the two subtotals with the national total.
The internal return is never suppressed; this module only makes the publication copy.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from probation_returns.measures.service_levels import percent_1dp
from probation_returns.reference import providers

HIDDEN = "[c]"
NOT_APPLICABLE = "[z]"
TOTALS = {"CRC": "All CRCs", "NPS": "All NPS divisions", "ALL": "England and Wales"}


def small(value) -> bool:
    return value is not None and not isinstance(value, str) and 1 <= value <= 4


def protect(values: dict[Hashable, int | None], groups: Sequence[tuple[Hashable, Sequence[Hashable]]],
            primary: set | None = None) -> set:
    """The cells to hide: primary (1 to 4, or as given), then secondary until no group has exactly one
    hidden member.

    ``groups``: (total cell, its parts). The cell chosen to hide with a lone one is the smallest
    non-zero visible part of the group (ties by key), which loses the least information.
    """
    hidden = set(primary) if primary is not None else {k for k, v in values.items() if small(v)}
    changed = True
    while changed:
        changed = False
        for total, parts in groups:
            members = [total, *parts]
            if sum(k in hidden for k in members) != 1:
                continue
            candidates = [k for k in parts if k not in hidden and values.get(k)]
            if not candidates and total not in hidden and values.get(total):
                candidates = [total]
            if candidates:
                hidden.add(min(candidates, key=lambda k: (values[k], str(k))))
                changed = True
    return hidden


def _groups(codes: Sequence[str]) -> list[tuple[str, list[str]]]:
    kinds = {c: providers()[c].type for c in codes if c in providers()}
    crc = [c for c in codes if kinds.get(c) == "CRC"]
    nps = [c for c in codes if kinds.get(c) == "NPS"]
    return [("CRC", crc), ("NPS", nps), ("ALL", ["CRC", "NPS"])]


def with_totals(frame: pl.DataFrame, by: Sequence[str], counts: Sequence[str]) -> pl.DataFrame:
    """Add total rows (provider_code CRC, NPS, ALL) per ``by`` group, summing ``counts``; other columns null."""
    kinds = {c: p.type for c, p in providers().items()}
    typed = frame.with_columns(pl.col("provider_code").replace_strict(kinds, default=None).alias("_type"))
    sums = [pl.col(c).sum() for c in counts]
    parts = [typed.group_by([*by, "_type"]).agg(sums).rename({"_type": "provider_code"}),
             typed.group_by(list(by)).agg(sums).with_columns(pl.lit("ALL").alias("provider_code"))]
    totals = pl.concat([p.select([*by, "provider_code", *counts]) for p in parts], how="vertical_relaxed")
    # in a fixed order (groups as they first appear, then CRC, NPS, ALL), so a rebuild writes the same bytes
    first_seen = frame.select(by).unique(maintain_order=True).with_row_index("_group")
    totals = (totals.join(first_seen, on=list(by), how="left")
              .sort("_group", pl.col("provider_code").replace_strict({k: i for i, k in enumerate(TOTALS)}))
              .drop("_group"))
    return pl.concat([frame, totals], how="diagonal_relaxed")


def suppress_rows(frame: pl.DataFrame, by: Sequence[str], counts: Sequence[str]) -> set[int]:
    """Row indexes whose counts are all hidden: a row with any count from 1 to 4, then secondary rows.

    A row is hidden whole (a numerator with its denominator, a cohort with its reoffenders), so each
    count column has the same hidden rows and the same protection against its totals; complements
    are chosen by the first count column.
    """
    keyed = frame.with_row_index("_i")
    flagged = keyed.with_columns(pl.any_horizontal([pl.col(c).is_between(1, 4) for c in counts]).fill_null(False)
                                 .alias("_small"))
    hide: set[int] = set()
    for _, group in flagged.group_by(list(by), maintain_order=True):
        index = dict(zip(group["provider_code"], group["_i"]))
        values = dict(zip(group["provider_code"], group[counts[0]]))
        primary = {k for k, flag in zip(group["provider_code"], group["_small"]) if flag}
        groups = [(t, [p for p in parts if p in index]) for t, parts in _groups([c for c in index if c not in TOTALS])
                  if t in index]
        hide |= {index[k] for k in protect(values, groups, primary)}
    return hide


def apply(frame: pl.DataFrame, hidden: dict[str, set[int]], derived: dict[str, Sequence[str]],
          numeric: Sequence[str]) -> pl.DataFrame:
    """Numbers as text; hidden cells and figures derived from them ``[c]``, empty numeric cells ``[z]``.

    ``derived``: column -> the count columns it is computed from.
    """
    rows = frame.with_row_index("_i")
    exprs = []
    for column in numeric:
        if column not in frame.columns:
            continue
        sources = [column] if column in hidden else list(derived.get(column, ()))
        hit = set().union(*(hidden.get(s, set()) for s in sources)) if sources else set()
        exprs.append(
            pl.when(pl.col("_i").is_in(sorted(hit))).then(pl.lit(HIDDEN))
            .when(pl.col(column).is_null()).then(pl.lit(NOT_APPLICABLE))
            .otherwise(pl.col(column).cast(pl.String)).alias(column))
    return rows.with_columns(exprs).drop("_i")


def service_levels(frame: pl.DataFrame) -> pl.DataFrame:
    table = with_totals(frame, ["quarter", "measure"], ["numerator", "denominator"])
    # a total's performance from its own counts (a few dozen rows); a provider's stays as computed
    is_total = table["provider_code"].is_in(list(TOTALS)).to_list()
    shown = [percent_1dp(n, d) if total and d else p for total, n, d, p in
             zip(is_total, table["numerator"], table["denominator"], table["performance_pct"])]
    table = table.with_columns(pl.Series("performance_pct", shown, dtype=pl.Decimal(5, 1)))
    rows = suppress_rows(table, ["quarter", "measure"], ["numerator", "denominator"])
    hidden = {"numerator": rows, "denominator": rows}
    return apply(table, hidden, {"performance_pct": ["numerator"], "credit_gbp": ["numerator"]},
                 ["numerator", "denominator", "performance_pct", "target_pct", "credit_gbp"])


def reoffending(frame: pl.DataFrame) -> pl.DataFrame:
    counts = ["cohort_size", "reoffenders", "reoffences"]
    table = with_totals(frame, ["quarter"], counts)
    # pooled rates for the totals, half up like every shown figure (a few rows; a provider's rates are as
    # computed, and adjusted rates have no pooled meaning)
    total = table["provider_code"].is_in(list(TOTALS)).to_list()
    size, people, offences = table["cohort_size"].to_list(), table["reoffenders"].to_list(), table["reoffences"].to_list()
    binary = [_ratio(people[i], size[i], "0.0001") if t else v for i, (t, v) in enumerate(zip(total, table["binary_rate"]))]
    frequency = [_ratio(offences[i], people[i], "0.001") if t else v
                 for i, (t, v) in enumerate(zip(total, table["frequency_rate"]))]
    table = table.with_columns(pl.Series("binary_rate", binary, dtype=pl.Decimal(6, 4)),
                               pl.Series("frequency_rate", frequency, dtype=pl.Decimal(7, 3)),
                               pl.when(pl.Series(total, dtype=pl.Boolean)).then(pl.col("quarter"))
                               .otherwise(pl.col("cohort_quarter"))
                               .alias("cohort_quarter"))
    rows = suppress_rows(table, ["quarter"], counts)
    derived = {"binary_rate": ["cohort_size", "reoffenders"], "frequency_rate": ["reoffenders", "reoffences"],
               "mean_p1": ["cohort_size"], "adjusted_binary_rate": ["cohort_size", "reoffenders"],
               "z": ["cohort_size", "reoffenders"], "outcome_payment_gbp": ["cohort_size", "reoffenders", "reoffences"]}
    hidden = {c: rows for c in counts}
    numeric = [*counts, *derived, "baseline_binary_rate", "baseline_frequency_rate"]
    return apply(table, hidden, derived, numeric)


def _ratio(numerator, denominator, places: str) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def payments(frame: pl.DataFrame, levels: pl.DataFrame) -> pl.DataFrame:
    """A provider whose any credit is hidden has every credit total (and the net) hidden."""
    hidden_credit = set(levels.filter(pl.col("credit_gbp") == HIDDEN)["provider_code"])
    rows = set(frame.with_row_index("_i").filter(pl.col("provider_code").is_in(hidden_credit))["_i"])
    money = ["service_credits_gbp", "credits_waived_gbp", "credits_reinvested_gbp", "credits_applied_gbp", "net_gbp"]
    return apply(frame, {c: rows for c in money}, {}, ["quarterly_fee_gbp", *money, "outcome_payments_gbp"])


def data_quality(frame: pl.DataFrame) -> pl.DataFrame:
    counts = ["rows", "rejected_records", "errors", "warnings"]
    hidden = {c: set(frame.with_row_index("_i").filter(pl.col(c).is_between(1, 4))["_i"]) for c in counts}
    return apply(frame, hidden, {}, ["submission_id", *counts])


def summary(rows: list[dict], public: dict[str, pl.DataFrame]) -> list[dict]:
    """The Summary sheet hiding what the publication tables hide (and small case counts)."""
    levels = public["service_levels"]
    hidden_pct = set(levels.filter(pl.col("performance_pct") == HIDDEN).select("provider_code", "measure").iter_rows())
    pay = {r["provider_code"]: r for r in public["payments"].iter_rows(named=True)}
    out = []
    for row in rows:
        row = dict(row)
        code = row["provider_code"]
        if small(row.get("cases")):
            row["cases"] = HIDDEN
        for key in list(row):
            if key.endswith("_pct") and (code, key[:-4]) in hidden_pct:
                row[key] = HIDDEN
        for key in ("service_credits_gbp", "outcome_payments_gbp"):
            if pay.get(code, {}).get(key) == HIDDEN:
                row[key] = HIDDEN
        if HIDDEN in (pay.get(code, {}).get("credits_applied_gbp"), row["outcome_payments_gbp"]):
            row["net_adjustment_gbp"] = HIDDEN
        out.append(row)
    return out


def publication(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    levels = service_levels(frames["service_levels"])
    return {"service_levels": levels, "reoffending": reoffending(frames["reoffending"]),
            "payments": payments(frames["payments"], levels), "data_quality": data_quality(frames["data_quality"]),
            "submissions": frames["submissions"].select("quarter", "provider_code", "outcome", "counted")}
