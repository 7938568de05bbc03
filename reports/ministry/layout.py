"""The ministry workbook's tables, declared once: which column, its heading, its kind, its width.

A column's kind decides its Excel number format; values are stored as numbers (proportions as
fractions formatted as percentages), dates as dates, text as text. A number with no figure shows its
marker (``[c]``, ``[x]``, ``[z]``) from the table's ``<column>_marker``. The workbook writer is
generic; changing a table means changing this file only.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.ministry.tidy import SUMMARY_MEASURES

FORMATS = {
    "text": "General",
    "code": "General",
    "count": "#,##0",
    "pct": "0.0%",  # a proportion 0-1 shown to 0.1 percentage point (service levels)
    "rate": "0.00%",  # a proportion 0-1 shown to 0.01 percentage point (reoffending rates, mean p1)
    "money": '"£"#,##0.00;[Red]-"£"#,##0.00',
    "dec2": "0.00",
    "dec3": "0.000",
    "dec4": "0.0000",
    "id": "0",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
}
NUMERIC_KINDS = {"count", "pct", "rate", "money", "dec2", "dec3", "dec4", "id"}


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"
    width: float = 12
    wrap: bool = False  # long text wraps within the column's width
    shade_key: str = ""  # a status column whose 'missed' or 'no valid return' shades this cell


STATUS_FILL = {"missed": "FCE4D6", "no valid return": "FCE4D6", "insufficient volume": "EDEDED"}


@dataclass(frozen=True)
class Table:
    sheet: str
    name: str  # the Excel table's name
    title: str
    frame: str  # which frame of the return's content (or a derived one) fills it
    columns: tuple[Column, ...]
    about: tuple[str, ...] = ()  # lines between the title and the table


PROVIDER = (Column("provider_code", "Provider code", "code", 10),
            Column("provider_name", "Provider name", "text", 56))
MEASURE_NAMES = {
    "SL001R": "Initial contact, community sentences", "SL002R": "Initial contact, licence",
    "SL003": "Initial sentence plan", "SL006R": "Unpaid work arranged", "SL016": "Breach pack quality",
    "AE": "Breach referral timeliness", "AK": "Monthly contact",
    "successful_completion": "Successful completion (reported only)",
    "face_to_face_share": "Face-to-face share (reported only)",
    "high_risk_not_referred": "High risk not referred (reported only)",
}
MARKERS_LINE = "Symbols: [c] confidential, [x] not available (no valid return, or not read), [z] not applicable (see Notes)."

SUMMARY = Table("Summary", "Summary", "Each provider at a glance", "summary", PROVIDER + (
    Column("type", "Type", "code", 7), Column("outcome", "Return", "text", 24), Column("cases", "Cases", "count", 9),
    *(c for m in SUMMARY_MEASURES for c in (Column(f"{m}_performance", f"{m} performance", "pct", 13,
                                                   shade_key=f"{m}_status"),
                                            Column(f"{m}_status", f"{m} status", "text", 13))),
    Column("service_credits_gbp", "Service credits (£)", "money", 15),
    Column("outcome_payments_gbp", "Outcome payment (£)", "money", 15),
    Column("net_adjustment_gbp", "Net adjustment (£)", "money", 15),
), about=("One row per provider: the return that counts, each service level's performance and status, and the money.",
          "Net adjustment = outcome payment minus applied service credits (waived and reinvested credits are not "
          "deducted).", MARKERS_LINE))

SERVICE_LEVELS = Table("Service levels", "ServiceLevels", "Service levels by provider and measure", "service_levels",
                       PROVIDER + (
    Column("measure", "Measure code", "code", 22), Column("measure_name", "Measure", "text", 36),
    Column("numerator", "Numerator", "count", 11), Column("denominator", "Denominator", "count", 12),
    Column("performance", "Performance", "pct", 12, shade_key="status"), Column("target", "Target", "pct", 9),
    Column("status", "Status", "text", 18), Column("credit_gbp", "Service credit (£)", "money", 16),
    Column("credit_decision", "Credit decision", "text", 15),
), about=("One row per provider and measure, then the totals of all CRCs, all NPS divisions and England and Wales "
          "(their performance is their own numerator over their own denominator).", MARKERS_LINE))

REOFFENDING = Table("Reoffending", "Reoffending", "Proven reoffending by provider and cohort quarter", "reoffending",
                    PROVIDER + (
    Column("cohort_quarter", "Cohort", "code", 9), Column("cohort_size", "Cohort size", "count", 11),
    Column("reoffenders", "Reoffenders", "count", 11), Column("reoffences", "Reoffences", "count", 11),
    Column("binary_rate", "Binary rate", "rate", 11), Column("frequency_rate", "Frequency", "dec3", 10),
    Column("mean_p1", "Mean p1", "rate", 10), Column("adjusted_binary_rate", "Adjusted binary rate", "rate", 14),
    Column("baseline_binary_rate", "Baseline binary rate", "rate", 14),
    Column("baseline_frequency_rate", "Baseline frequency", "dec2", 16),
    Column("z", "z", "dec4", 9), Column("significance", "Significance", "text", 22),
    Column("result", "Result", "text", 9), Column("outcome_payment_gbp", "Outcome payment (£)", "money", 16),
), about=("Interim results (follow-up not yet complete) are published with that label and never paid. Total rows "
          "pool their providers' cohorts; adjusted rates, z and payments have no pooled meaning.", MARKERS_LINE))

PAYMENTS = Table("Payments", "Payments", "Fees, service credits and outcome payments", "payments", PROVIDER + (
    Column("quarterly_fee_gbp", "Quarterly fee (£)", "money", 16),
    Column("service_credits_gbp", "Service credits (£)", "money", 16),
    Column("credits_waived_gbp", "Waived (£)", "money", 14), Column("credits_reinvested_gbp", "Reinvested (£)", "money", 14),
    Column("credits_applied_gbp", "Applied (£)", "money", 15),
    Column("outcome_payments_gbp", "Outcome payments (£)", "money", 16), Column("net_gbp", "Net payable (£)", "money", 16),
), about=("Net payable = quarterly fee - applied service credits + outcome payments (final results only).",
          "Service credits = waived + reinvested + applied = the sum of the provider's credit lines on the Service "
          "levels sheet. NPS divisions have no service credits or outcome payments.", MARKERS_LINE))

DATA_QUALITY = Table("Data quality", "DataQuality", "Validation of the return that counts, by table", "data_quality",
                     PROVIDER + (
    Column("submission_id", "Submission", "id", 11), Column("table", "Table", "code", 12),
    Column("file", "File", "text", 44, wrap=True),
    Column("rows", "Rows", "count", 10), Column("rejected_records", "Rejected records", "count", 15),
    Column("errors", "Errors", "count", 9), Column("warnings", "Warnings", "count", 10),
    Column("top_rules", "Most frequent rules (count)", "text", 36, wrap=True),
    Column("rejected_because", "Rejected because", "text", 44, wrap=True),
), about=("The validation of each provider's return that counts (else its latest), per table, and for the return as "
          "a whole (its files' names, files sent beside it). Rule definitions are in the provider return "
          "specification.", MARKERS_LINE))

SUBMISSIONS = Table("Submissions", "Submissions", "Submissions that make this return", "submissions", PROVIDER + (
    Column("submission_id", "Submission", "id", 11), Column("version", "Version", "count", 8),
    Column("delivered_at", "Delivered (UTC)", "datetime", 17), Column("received_at", "Received (UTC)", "datetime", 17),
    Column("outcome", "Validation outcome", "text", 22), Column("counted", "Counts for the quarter", "text", 34),
    Column("file_sha256", "Each file's checksum (SHA-256) and name", "text", 80, wrap=True),
), about=("The latest submission of each provider. Delivered: when it arrived (this decides lateness against the "
          "deadline). Received: when this service took it in, which is later for a backlog, a rerun or synthetic "
          "test data. Each file's checksum is what sha256sum prints for the file the provider holds.",))

CHART_DATA = Table("Charts", "ChartData", "Service levels of all CRCs together, against target", "chart_data", (
    Column("measure", "Measure code", "code", 12), Column("measure_name", "Measure", "text", 34),
    Column("performance", "All CRCs' performance", "pct", 14), Column("target", "Target", "pct", 9),
), about=("All CRCs' performance = all CRCs' numerators / all CRCs' denominators (the All CRCs rows of the Service "
          "levels sheet; providers without a valid return have no counts). The second chart reads the Reoffending "
          "sheet.",))

NOTES = Table("Notes", "Notes", "What the figures mean", "notes", (
    Column("item", "Item", "text", 30), Column("meaning", "Meaning", "text", 110, wrap=True),
))

CONTENTS = Table("Contents", "Contents", "Contents", "contents", (
    Column("sheet", "Worksheet", "text", 18), Column("holds", "What it holds", "text", 100, wrap=True),
))

TABLES = (SUMMARY, SERVICE_LEVELS, REOFFENDING, PAYMENTS, DATA_QUALITY, SUBMISSIONS, CHART_DATA, NOTES)
SHEETS = ("Cover", "Contents", *(t.sheet for t in TABLES))
