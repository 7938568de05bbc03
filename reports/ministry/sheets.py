"""Frames that exist only for people reading the workbook: Summary, chart data and Notes.

They are made from the same tidy frames as the CSVs, so they cannot disagree with them.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from probation_returns.measures.service_levels import percent_1dp
from probation_returns.parameters import ContractParameters
from probation_returns.reference import providers
from reports.ministry.layout import SUMMARY_MEASURES

DEFINITIONS = {
    "SL001R": "Initial contact, community sentences: of community and suspended sentence orders whose deadline "
              "(5 business days after the start) falls in the quarter, the share first seen by the deadline.",
    "SL002R": "Initial contact, licence: of licence and post-sentence supervision cases whose deadline (1 business "
              "day after the start) falls in the quarter, the share first seen by the deadline.",
    "SL003": "Initial sentence plan: of cases whose first appointment was attended and whose plan deadline "
             "(15 business days after it) falls in the quarter, the share with a plan by the deadline.",
    "SL006R": "Unpaid work arranged: of cases with unpaid work whose deadline (7 business days after the start) "
              "falls in the quarter, the share with work arranged by the deadline.",
    "SL016": "Breach pack quality: of breaches referred in the quarter, the share with a complete pack.",
    "AE": "Breach referral timeliness: of breaches whose deadline (8 business days after the provider became aware) "
          "falls in the quarter, the share referred by the deadline.",
    "AK": "Monthly contact: of case-months supervised for the whole month, the share with a face-to-face or video "
          "contact that was attended, or missed and followed up within 5 business days.",
    "successful_completion": "Reported only: community orders ending in the quarter that completed (or ended early "
                             "for good progress), out of those ending other than by transfer or death.",
    "face_to_face_share": "Reported only: face-to-face contacts out of all contacts in the return.",
    "high_risk_not_referred": "Reported only (CRCs): high and very high risk of serious harm cases without an "
                              "escalation referral, out of all such cases.",
    "Binary rate": "People in the cohort with at least one proven reoffence within 12 months of their index date "
                   "(convicted or cautioned within 18 months), out of the cohort.",
    "Frequency": "Proven reoffences per reoffender.",
    "Mean p1": "The cohort's average expected one-year reoffending probability, from each person's OGRS3 score.",
    "Adjusted binary": "Binary rate minus (cohort mean p1 - baseline mean p1): the rate the baseline cohort's "
                       "case mix would have shown.",
    "z": "(adjusted binary - baseline binary) / sqrt(baseline x (1 - baseline) / cohort size).",
}
STATUS_WORDS = {
    "met": "performance at or above target",
    "missed": "performance below target: a service credit applies to CRCs",
    "insufficient volume": "fewer cases than the minimum volume: reported, no credit",
    "no valid return": "no accepted return by the deadline: every measure counts as 0%",
    "reported": "a measure reported without a target",
}


def provider_names() -> dict[str, str]:
    """Provider codes to names, and the publication's total rows (CRC, NPS, ALL) to theirs."""
    from reports.ministry.suppression import TOTALS

    return {code: p.name for code, p in providers().items()} | TOTALS


def with_names(frame: pl.DataFrame) -> pl.DataFrame:
    if "provider_code" not in frame.columns:
        return frame
    return frame.with_columns(pl.col("provider_code").replace_strict(provider_names(), default=None)
                              .alias("provider_name"))


def summary(frames: dict[str, pl.DataFrame]) -> list[dict]:
    levels, payments = frames["service_levels"], frames["payments"]
    submissions, quality = frames["submissions"], frames["data_quality"]
    cases = (quality.filter(pl.col("table") == "cases")
             .select("provider_code", (pl.col("rows") - pl.col("rejected_records")).alias("cases")))
    wide = (levels.filter(pl.col("measure").is_in(SUMMARY_MEASURES))
            .select("provider_code", "measure", "performance_pct", "status"))
    rows = []
    for code, p in providers().items():
        mine = {r["measure"]: r for r in wide.filter(pl.col("provider_code") == code).iter_rows(named=True)}
        sub = submissions.filter(pl.col("provider_code") == code).row(0, named=True)
        pay = payments.filter(pl.col("provider_code") == code).row(0, named=True)
        counted = sub["counted_submission_id"] is not None
        row = {"provider_code": code, "type": p.type,
               "outcome": sub["outcome"] if counted else "no valid return",
               "cases": (cases.filter(pl.col("provider_code") == code)["cases"].item() if counted else None)}
        for m in SUMMARY_MEASURES:
            level = mine.get(m, {})
            row[f"{m}_pct"], row[f"{m}_status"] = level.get("performance_pct"), level.get("status")
        row["service_credits_gbp"] = pay["service_credits_gbp"]
        row["outcome_payments_gbp"] = pay["outcome_payments_gbp"]
        applied, paid = pay["credits_applied_gbp"], pay["outcome_payments_gbp"]
        suppressed = isinstance(applied, str) or isinstance(paid, str)  # publication: "[c]"
        row["net_adjustment_gbp"] = "[c]" if suppressed else paid - applied
        rows.append(row)
    return rows


def chart_data(levels: pl.DataFrame, params: ContractParameters) -> pl.DataFrame:
    """All CRCs' service levels pooled (numerators and denominators summed), against target."""
    crc = [c for c, p in providers().items() if p.is_crc]
    pooled = (levels.filter(pl.col("provider_code").is_in(crc) & pl.col("measure").is_in(SUMMARY_MEASURES)
                            & (pl.col("status") != "no valid return"))
              .group_by("measure").agg(pl.col("numerator").sum(), pl.col("denominator").sum()))
    rows = []
    for m in SUMMARY_MEASURES:
        found = pooled.filter(pl.col("measure") == m)
        n, d = (found.row(0)[1:] if found.height else (0, 0))
        rows.append({"measure": m, "performance_pct": percent_1dp(n, d) if d else None,
                     "target_pct": Decimal(str(params.targets[m])).quantize(Decimal("0.1"))})
    return pl.DataFrame(rows, schema={"measure": pl.String, "performance_pct": pl.Decimal(5, 1),
                                      "target_pct": pl.Decimal(5, 1)})


def _pct(rate) -> str:
    """A rate as a percentage in plain words: 0.0025 -> '0.25%'."""
    return f"{format((Decimal(str(rate)) * 100).normalize(), 'f')}%"


def notes(params: ContractParameters, publication: bool) -> pl.DataFrame:
    rows = [(k, v) for k, v in DEFINITIONS.items()]
    rows += [(f"Status: {k}", v) for k, v in STATUS_WORDS.items()]
    rows += [
        ("Blank cell", "No figure: nothing to measure (for example no cases in the population)."),
        ("Service credit", f"For a CRC's missed measure: {_pct(params.credit_rate_per_point)} of the quarterly fee per "
                           f"percentage point below target, at most {_pct(params.credit_cap_per_measure)} of the fee "
                           f"per measure and {_pct(params.credit_cap_per_quarter)} per quarter (scaled down in "
                           "proportion when the quarterly cap applies)."),
        ("Outcome payment", f"Final results only, CRCs only: £{params.price_binary_gbp:,.2f} per reoffender avoided on a "
                            f"significant reduction (|z| >= {params.significance_z}); a deduction of the same form on "
                            f"a significant increase, capped at {_pct(params.deduction_cap)} of the fee; plus £"
                            f"{params.price_frequency_gbp:,.2f} per reoffence avoided when frequency is below baseline."),
        ("Targets", "; ".join(f"{m} {t}%" for m, t in params.targets.items())),
        ("Minimum volume", f"{params.minimum_volume} cases in a measure's population"),
        ("Submission deadline", f"{params.deadline_business_days} business days (England and Wales) after quarter end"),
        ("Rejection tolerance", f"a return is rejected when more than {_pct(params.rejection_tolerance)} of a table's "
                                "records break an error rule"),
        ("Contract parameters", f"version {params.version} (contract year {params.contract_year})"),
        ("Percentages", "Performance is shown to one decimal place (half away from zero) and compared with the "
                        "target unrounded."),
    ]
    if publication:
        rows += [("[c]", "Confidential: a count from 1 to 4, a figure computed from one, or a cell suppressed so "
                         "that such a count cannot be worked out from totals."),
                 ("[z]", "Not applicable.")]
    return pl.DataFrame(rows, schema={"item": pl.String, "meaning": pl.String}, orient="row")
