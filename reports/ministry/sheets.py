"""Frames that exist only for people reading the workbook: chart data, Contents and Notes.

They are made from the same tidy frames as the CSVs, so they cannot disagree with them.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from probation_returns.parameters import ContractParameters
from reports.ministry.layout import MEASURE_NAMES, tables_for
from reports.ministry.tidy import SUMMARY_MEASURES

DEFINITIONS = {  # measure code -> how it is measured (its name is layout.MEASURE_NAMES)
    "SL001R": "Of community and suspended sentence orders whose deadline (5 business days after the start) falls in "
    "the quarter, the share first seen by the deadline.",
    "SL002R": "Of licence and post-sentence supervision cases whose deadline (1 business day after the start) falls "
    "in the quarter, the share first seen by the deadline.",
    "SL003": "Of cases whose first appointment was attended and whose plan deadline (15 business days after it) falls "
    "in the quarter, the share with a plan by the deadline.",
    "SL006R": "Of cases with unpaid work whose deadline (7 business days after the start) falls in the quarter, the "
    "share with work arranged by the deadline.",
    "SL016": "Of breaches referred in the quarter, the share with a complete pack.",
    "AE": "Of breaches whose deadline (8 business days after the provider became aware) falls in the quarter, the "
    "share referred by the deadline.",
    "AK": "Of case-months supervised for the whole month, the share with a face-to-face or video contact that was "
    "attended, or missed and followed up within 5 business days.",
    "successful_completion": "Community orders ending in the quarter that completed (or ended early for good "
    "progress), out of those ending other than by transfer or death. No target.",
    "face_to_face_share": "Face-to-face contacts out of all contacts in the return. No target.",
    "high_risk_not_referred": "CRCs only: high and very high risk of serious harm cases without an escalation "
    "referral, out of all such cases. No target.",
}
REOFFENDING_TERMS = {
    "Binary rate": "People in the cohort with at least one proven reoffence within 12 months of their index date "
    "(convicted or cautioned within 18 months), out of the cohort.",
    "Frequency": "Proven reoffences per reoffender.",
    "Mean p1": "The cohort's average expected one-year reoffending probability, from each person's OGRS3 score.",
    "Adjusted binary rate": "Binary rate minus (cohort mean p1 - baseline mean p1): the rate the baseline cohort's "
    "case mix would have shown.",
    "z": "(adjusted binary rate - baseline binary rate) / sqrt(baseline x (1 - baseline) / cohort size).",
}
STATUS_WORDS = {
    "met": "performance at or above target",
    "missed": "performance below target: a service credit applies to CRCs",
    "insufficient volume": "fewer cases than the minimum volume: reported, no credit",
    "no valid return": "no accepted return by the deadline: nothing is measured ([x]); for CRCs each service "
    "level's credit is charged as if performance were 0%",
    "reported": "a measure reported without a target",
    "not applicable": "a measure that does not apply to this provider (high risk not referred: CRCs only, as "
    "they refer such cases to the NPS) ([z])",
    "total": "a total row: all CRCs, all NPS divisions, or England and Wales",
}


def chart_data(levels: pl.DataFrame) -> pl.DataFrame:
    """The All CRCs rows of the service levels (as published, so hidden there is hidden here)."""
    return levels.filter((pl.col("provider_code") == "CRC") & pl.col("measure").is_in(SUMMARY_MEASURES)).select(
        "measure", "performance", "performance_marker", "target", "target_marker"
    )


def contents(publication: bool) -> pl.DataFrame:
    rows = [(t.sheet, t.title + ".") for t in tables_for(publication)]
    rows[-1] = (
        "Notes",
        "What every measure, status and symbol means, and the contract parameters used"
        + (", and the disclosure control applied to this copy." if publication else "."),
    )
    return pl.DataFrame(
        [("Cover", "What this release is and where it came from."), *rows],
        schema={"sheet": pl.String, "holds": pl.String},
        orient="row",
    )


def _pct(rate) -> str:
    """A rate as a percentage in plain words: 0.0025 -> '0.25%'."""
    return f"{format((Decimal(str(rate)) * 100).normalize(), 'f')}%"


def notes(params: ContractParameters, publication: bool) -> pl.DataFrame:
    """The numbered notes ("note 1", ...) the tables refer to as [note N]; the publication's own come last."""
    rows = [(code, f"{MEASURE_NAMES[code]}. {text}") for code, text in DEFINITIONS.items()]
    rows += list(REOFFENDING_TERMS.items())
    rows += [(f"Status: {k}", v) for k, v in STATUS_WORDS.items()]
    if not publication:
        rows.append(
            (
                "Integrity signals",
                "Internal only. deadline_heaping: events piled on a service level's due day against other "
                "providers; exclusion_drift: more community orders ending as transfers or deaths (out of successful "
                "completion) than in the provider's previous quarters; contact_intensity: a risk band's contacts "
                "in person far less than at other providers; case_mix_drift: new cases' OGRS3 scores or risk levels "
                "moved from the provider's previous quarters; late_flip: a resubmission whose changes are "
                "concentrated in deadline dates, and the service levels it flipped from missed to met; "
                "binary_vs_frequency: the binary reoffending rate falling while reoffences per reoffender rise. "
                "A flag is for a contract manager to look into: never a "
                "rejection, never a change to the money. Thresholds: parameters/integrity.toml; method and "
                "weaknesses: docs/integrity.md.",
            )
        )
        rows.append(
            (
                "Credibility report",
                "Internal only. Each provider's main figures (cases by sentence type, risk level, OGRS3 band, age "
                "band and offence group; contacts by type and outcome; breaches; terminations by reason; each service "
                "level; cases that vanished since last quarter) beside its previous four quarters and the national "
                "figure, with the change. Flagged where the change on last quarter passes both the family's "
                "threshold and a statistical test: information for a contract manager, never a rejection, never a "
                "change to the money. Thresholds: parameters/credibility.toml; method and weaknesses: "
                "docs/credibility.md.",
            )
        )
    rows += [
        (
            "Credit decision",
            "How a CRC's credit line is treated: applied (deducted from the fee; a line is applied until "
            'a contract manager decides otherwise), waived or reinvested (not deducted). "not '
            'applicable: met" (or "insufficient volume"): the measure\'s credit is 0.00 by the '
            "rule, so there is nothing to decide. [z]: no credit line (NPS divisions, reported-only "
            "measures, total rows).",
        ),
        (
            "Most frequent rules",
            "Up to three validation rules with the most findings in the table, each with its "
            'number of findings; "none": the table was validated and no rule fired; [x]: the '
            "provider sent no return. Rule definitions are in the provider return specification.",
        ),
        (
            "[x]",
            "Not available: the provider had no valid return, so nothing was measured (or, in Data quality, "
            "the table's file could not be read, so its rows are unknown).",
        ),
        (
            "[z]",
            "Not applicable: for example a measure with no cases in its population, a target or credit for a "
            "reported-only measure, credits or outcome payments for NPS divisions, or a figure with no pooled "
            "meaning on a total row.",
        ),
        (
            "Service credit",
            f"For a CRC's missed measure: {_pct(params.credit_rate_per_point)} of the quarterly fee per "
            f"percentage point below target, at most {_pct(params.credit_cap_per_measure)} of the fee "
            f"per measure and {_pct(params.credit_cap_per_quarter)} per quarter (scaled down in "
            "proportion when the quarterly cap applies).",
        ),
        (
            "Outcome payment",
            f"Final results only, CRCs only: £{params.price_binary_gbp:,.2f} per reoffender avoided on a "
            f"significant reduction (|z| >= {params.significance_z}); a deduction of the same form on "
            f"a significant increase, capped at {_pct(params.deduction_cap)} of the fee; plus £"
            f"{params.price_frequency_gbp:,.2f} per reoffence avoided when frequency is below baseline.",
        ),
        ("Targets", "; ".join(f"{m} {t}%" for m, t in params.targets.items())),
        ("Minimum volume", f"{params.minimum_volume} cases in a measure's population"),
        ("Submission deadline", f"{params.deadline_business_days} business days (England and Wales) after quarter end"),
        (
            "Rejection tolerance",
            f"a return is rejected when more than {_pct(params.rejection_tolerance)} of a table's "
            "records break an error rule",
        ),
        ("Contract parameters", f"version {params.version} (contract year {params.contract_year})"),
        (
            "Percentages",
            "Performance is shown to 0.1 percentage point (half away from zero) and compared with "
            "the target unrounded.",
        ),
        (
            "Money",
            "Each credit line is its exact amount rounded half up to the penny; a provider's service credits "
            "are the sum of its lines. Only when the quarterly cap applies is the capped total (rounded half up) "
            "shared out over the lines in whole pennies, by largest remainder.",
        ),
    ]
    if publication:
        rows += [
            (
                "[c]",
                "Confidential: a count of people (or of their events) from 1 to 4, a figure computed from "
                "one, a data-quality figure that counts the same records, or a cell hidden so that such a "
                "count cannot be worked out from the rest of this release. A hidden count is never 0: a 0 "
                "is always shown.",
            ),
            (
                "Disclosure control",
                "Counts from 1 to 4 of people or their events are hidden with the rates, z, "
                "credits and payments computed from them. Rule CAS-017 finds the same "
                "cases as a CRC's high risk cases not referred, so when that count is "
                "hidden, the CRC's cases warnings and most frequent rules in Data quality "
                "are hidden too. Further cells are hidden until no hidden cell can be "
                "worked out, or narrowed to one value, from anything else in this release "
                "(sheets and CSV files), taking every hidden count as at least 1. Contract "
                "terms, figures a published rule decides (the credit of a met measure, the "
                "payment of an interim or non-significant result, a rate of 0 over a "
                "hidden count) and data-quality counts of rejected records and errors are "
                "never hidden.",
            ),
        ]
    numbered = [(f"note {n}", item, meaning) for n, (item, meaning) in enumerate(rows, start=1)]
    return pl.DataFrame(numbered, schema={"note": pl.String, "item": pl.String, "meaning": pl.String}, orient="row")
