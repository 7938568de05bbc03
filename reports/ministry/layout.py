"""The ministry workbook's tables, declared once: which column, its heading, its kind, its width.

A column's kind decides its Excel number format (and how its value is stored: a percentage held as
95.8 in the CSV is the fraction 0.958 in the workbook, formatted ``0.0%``). The workbook writer
is generic; changing a table means changing this file only.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = {
    "text": "General",
    "code": "General",
    "count": "#,##0",
    "pct": "0.0%",  # a percentage held as 0-100, shown with one decimal place
    "rate": "0.00%",  # a fraction 0-1 (reoffending rates, mean p1)
    "money": '"£"#,##0.00;[Red]-"£"#,##0.00',
    "dec2": "0.00",
    "dec3": "0.000",
    "dec4": "0.0000",
    "datetime": "General",  # ISO 8601 text in UTC, as in the CSVs
}
NUMERIC_KINDS = {"count", "pct", "rate", "money", "dec2", "dec3", "dec4"}


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"
    width: float = 12
    status_key: str = ""  # a pct column whose row status is shown after the number ("95.8% met"), still a number
    wrap: bool = False  # long text wraps within the column's width
    labels: tuple[tuple[str, str], ...] = ()  # values shown in words (the CSV keeps the code)


STATUS_SHOWN = {"met": "met", "missed": "missed", "insufficient volume": "low vol.",
                "no valid return": "no return"}
STATUS_FILL = {"missed": "FCE4D6", "no valid return": "FCE4D6", "insufficient volume": "EDEDED"}


@dataclass(frozen=True)
class Table:
    sheet: str
    title: str
    frame: str  # which frame of the return's content (or a derived one) fills it
    columns: tuple[Column, ...]
    note: str = ""


PROVIDER = (Column("provider_code", "Provider", "code", 9), Column("provider_name", "Provider name", "text", 44))

COVER = Table("Cover", "Submissions that make this return", "submissions", PROVIDER + (
    Column("submission_id", "Submission", "count", 11), Column("version", "Version", "count", 8),
    Column("delivered_at", "Delivered (UTC)", "datetime", 21), Column("received_at", "Received (UTC)", "datetime", 21),
    Column("outcome", "Validation outcome", "text", 22), Column("counted", "Counts for the quarter", "text", 30),
    Column("sha256", "File checksum (SHA-256)", "text", 66),
))

SUMMARY_MEASURES = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")
MEASURE_LABELS = (("successful_completion", "Successful completion"), ("face_to_face_share", "Face-to-face share"),
                  ("high_risk_not_referred", "High risk not referred"))
SUMMARY = Table("Summary", "Each provider at a glance", "summary", PROVIDER + (
    Column("type", "Type", "code", 6), Column("outcome", "Return", "text", 30), Column("cases", "Cases", "count", 9),
    *(Column(f"{m}_pct", m, "pct", 17, status_key=f"{m}_status") for m in SUMMARY_MEASURES),
    Column("service_credits_gbp", "Service credits", "money", 15),
    Column("outcome_payments_gbp", "Outcome payment", "money", 15),
    Column("net_adjustment_gbp", "Net adjustment", "money", 15),
), note="Each service level: performance and whether it met its target (shaded when missed or no valid return). "
        "Net adjustment = outcome payment minus applied service credits (waived and reinvested are not deducted).")

SERVICE_LEVELS = Table("Service levels", "Service levels by provider and measure", "service_levels", PROVIDER + (
    Column("measure", "Measure", "code", 22, labels=MEASURE_LABELS), Column("numerator", "Numerator", "count", 11),
    Column("denominator", "Denominator", "count", 12), Column("performance_pct", "Performance", "pct", 12),
    Column("target_pct", "Target", "pct", 9), Column("status", "Status", "text", 18),
    Column("credit_gbp", "Service credit", "money", 15), Column("credit_decision", "Credit decision", "text", 15),
))

REOFFENDING = Table("Reoffending", "Proven reoffending by provider and cohort quarter", "reoffending", PROVIDER + (
    Column("cohort_quarter", "Cohort", "code", 9), Column("cohort_size", "Cohort size", "count", 11),
    Column("reoffenders", "Reoffenders", "count", 11), Column("reoffences", "Reoffences", "count", 11),
    Column("binary_rate", "Binary rate", "rate", 11), Column("frequency_rate", "Frequency", "dec3", 10),
    Column("mean_p1", "Mean p1", "rate", 10), Column("adjusted_binary_rate", "Adjusted binary", "rate", 14),
    Column("baseline_binary_rate", "Baseline binary", "rate", 14),
    Column("baseline_frequency_rate", "Baseline frequency", "dec2", 16),
    Column("z", "z", "dec4", 9), Column("significance", "Significance", "text", 21),
    Column("result", "Result", "text", 9), Column("outcome_payment_gbp", "Outcome payment", "money", 15),
), note="Interim results (follow-up not yet complete) are published with that label and never paid.")

PAYMENTS = Table("Payments", "Fees, service credits and outcome payments", "payments", PROVIDER + (
    Column("quarterly_fee_gbp", "Quarterly fee", "money", 16), Column("service_credits_gbp", "Service credits", "money", 15),
    Column("credits_waived_gbp", "Waived", "money", 13), Column("credits_reinvested_gbp", "Reinvested", "money", 13),
    Column("credits_applied_gbp", "Applied", "money", 15), Column("outcome_payments_gbp", "Outcome payments", "money", 16),
    Column("net_gbp", "Net payable", "money", 16),
), note="Net payable = quarterly fee - applied service credits + outcome payments (final results only).")

DATA_QUALITY = Table("Data quality", "Validation of the return that counts, by table", "data_quality", PROVIDER + (
    Column("submission_id", "Submission", "count", 11), Column("table", "Table", "code", 10),
    Column("rows", "Rows", "count", 10), Column("rejected_records", "Rejected records", "count", 15),
    Column("errors", "Errors", "count", 9), Column("warnings", "Warnings", "count", 10),
    Column("top_rules", "Most frequent rules (count)", "text", 44),
))

CHART_DATA = Table("Charts", "Service levels of all CRCs together, against target", "chart_data", (
    Column("measure", "Measure", "code", 10), Column("performance_pct", "CRC performance", "pct", 16),
    Column("target_pct", "Target", "pct", 9),
), note="CRC performance = all CRCs' numerators / all CRCs' denominators (providers without a valid return "
        "excluded). The reoffending chart reads the Reoffending sheet.")

NOTES = Table("Notes", "What the figures mean", "notes", (
    Column("item", "Item", "text", 26), Column("meaning", "Meaning", "text", 110, wrap=True),
))

TABLES = (COVER, SUMMARY, SERVICE_LEVELS, REOFFENDING, PAYMENTS, DATA_QUALITY, CHART_DATA, NOTES)
SHEETS = tuple(t.sheet for t in TABLES)
