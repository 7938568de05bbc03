"""The ministry workbook's tables, declared once: which column, its heading, its kind, its width.

A column's kind decides its Excel number format; values are stored as numbers (proportions as
fractions formatted as percentages), dates as dates, text as text. A number with no figure shows its
marker (``[c]``, ``[x]``, ``[z]``) from the table's ``<column>_marker``; any other empty cell shows the
word or marker its column declares (``empty``), so no cell inside a table is blank. A numeric column's
heading ends with its unit. Headings refer to the numbered notes (the Notes sheet) by their item
(``notes``); the writer turns them into ``[note N]``. The workbook writer is generic; changing a table
means changing this file only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from probation_returns.credibility.figures import MIX, VANISHED
from reports.ministry.tidy import SUMMARY_MEASURES

FORMATS = {
    "text": "General",
    "code": "General",
    "count": "#,##0",
    "pct": "0.0%",  # a proportion 0-1 shown to 0.1 percentage point (service levels)
    "rate": "0.00%",  # a proportion 0-1 shown to 0.01 percentage point (reoffending rates, mean p1)
    "change": "+0.0%;-0.0%;0.0%",  # a relative change (0.25 = up by a quarter), signed
    "points": '+0.0%" points";-0.0%" points";0.0%" points"',  # a change of a proportion, in percentage points
    "count_change": "+#,##0;-#,##0;0",  # a change of a count, signed
    "points_size": '0.0%" points"',  # a size of change in percentage points (a threshold), unsigned
    "money": '"£"#,##0.00;[Red]-"£"#,##0.00',
    "dec2": "0.00",
    "dec3": "0.000",
    "dec4": "0.0000",
    "id": "0",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
}
NUMERIC_KINDS = {
    "count",
    "pct",
    "rate",
    "change",
    "points",
    "count_change",
    "points_size",
    "money",
    "dec2",
    "dec3",
    "dec4",
    "id",
}


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"
    width: float = 12
    wrap: bool = False  # long text wraps within the column's width
    shade_key: str = ""  # a status column whose 'missed' or 'no valid return' shades this cell
    notes: tuple[str, ...] = ()  # the Notes items the heading refers to, shown as [note N]
    words: Callable[[dict], str | None] | None = None  # what the cell says instead of its value (None: the value)
    empty: Callable[[dict], str] | None = None  # what an empty (text) cell says: never a blank inside a table
    # a numeric column whose rows hold figures of different kinds (a count on one row, a share on the next):
    # each row's kind, which decides its cell's number format (``kind`` is the column's default)
    kind_of: Callable[[dict], str] | None = None

    def kind_for(self, row: dict) -> str:
        return self.kind_of(row) if self.kind_of is not None else self.kind


STATUS_FILL = {"missed": "FCE4D6", "no valid return": "FCE4D6", "insufficient volume": "EDEDED"}


@dataclass(frozen=True)
class Table:
    sheet: str
    name: str  # the Excel table's name
    title: str
    frame: str  # which frame of the return's content (or a derived one) fills it
    columns: tuple[Column, ...]
    about: tuple[str, ...] = ()  # lines between the title and the table (then its symbols line, if it shows any)
    totals: bool = False  # add the CRC, NPS and England and Wales total rows (the Payments sheet)
    repeat_header: bool = True  # print the header row atop every page (not where the table is above charts)


PROVIDER = (Column("provider_code", "Provider code", "code", 10), Column("provider_name", "Provider name", "text", 56))
# on the widest sheets the name wraps onto a second line rather than widen the page
PROVIDER_WRAPPED = (PROVIDER[0], Column("provider_name", "Provider name", "text", 30, wrap=True))
MEASURE_NAMES = {
    "SL001R": "Initial contact, community sentences",
    "SL002R": "Initial contact, licence",
    "SL003": "Initial sentence plan",
    "SL006R": "Unpaid work arranged",
    "SL016": "Breach pack quality",
    "AE": "Breach referral timeliness",
    "AK": "Monthly contact",
    "successful_completion": "Successful completion (reported only)",
    "face_to_face_share": "Face-to-face share (reported only)",
    "high_risk_not_referred": "High risk not referred (reported only)",
}
# the words a symbols line uses; the line lists only the symbols its table shows (see workbook.symbols_line)
SYMBOL_WORDS = {"[c]": "confidential", "[x]": "not available (no valid return, or not read)", "[z]": "not applicable"}
MEASURES = tuple(MEASURE_NAMES)
STATUSES = (
    "Status: met",
    "Status: missed",
    "Status: insufficient volume",
    "Status: no valid return",
    "Status: reported",
    "Status: not applicable",
    "Status: total",
)


def _credit_words(row: dict) -> str | None:
    """A met (or low-volume) measure's credit is 0.00 by the rule: there is nothing to decide, so say so."""
    if row.get("credit_decision") is None:
        return "[z]"  # no credit line: NPS divisions, reported-only measures, total rows
    if row.get("status") in ("met", "insufficient volume"):
        return f"not applicable: {row['status']}"
    return None  # applied, waived or reinvested, as decided


def _not_applicable(_row: dict) -> str:
    return "[z]"


def _no_submission(_row: dict) -> str:
    return "[x]"  # the provider sent nothing: not available


SUMMARY = Table(
    "Summary",
    "Summary",
    "Each provider at a glance",
    "summary",
    PROVIDER_WRAPPED
    + (
        Column("type", "Type", "code", 6),
        Column("outcome", "Return", "text", 16, wrap=True),
        Column("cases", "Cases (count)", "count", 9),
        *(
            c
            for m in SUMMARY_MEASURES
            for c in (
                Column(f"{m}_performance", f"{m} (%)", "pct", 10, shade_key=f"{m}_status", notes=(m,)),
                Column(f"{m}_status", f"{m} status", "text", 11, wrap=True, notes=STATUSES),
            )
        ),
        Column("service_credits_gbp", "Service credits (£)", "money", 14, notes=("Service credit",)),
        Column("outcome_payments_gbp", "Outcome payment (£)", "money", 14, notes=("Outcome payment",)),
        Column("net_adjustment_gbp", "Net adjustment (£)", "money", 14),
    ),
    about=(
        "One row per provider: the return that counts, each service level's performance (%) and status, and the money.",
        "Net adjustment = outcome payment minus applied service credits (waived and reinvested credits are not "
        "deducted).",
    ),
)

SERVICE_LEVELS = Table(
    "Service levels",
    "ServiceLevels",
    "Service levels by provider and measure",
    "service_levels",
    PROVIDER
    + (
        Column("measure", "Measure code", "code", 22, notes=MEASURES),
        Column("measure_name", "Measure", "text", 36),
        Column("numerator", "Numerator (count)", "count", 11),
        Column("denominator", "Denominator (count)", "count", 12, notes=("Minimum volume",)),
        Column("performance", "Performance (%)", "pct", 12, shade_key="status", notes=("Percentages",)),
        Column("target", "Target (%)", "pct", 9, notes=("Targets",)),
        Column("status", "Status", "text", 18, notes=STATUSES),
        Column("credit_gbp", "Service credit (£)", "money", 16, notes=("Service credit", "Money")),
        Column(
            "credit_decision", "Credit decision", "text", 20, wrap=True, notes=("Credit decision",), words=_credit_words
        ),
    ),
    about=(
        "One row per provider and measure, then the totals of all CRCs, all NPS divisions and England and Wales "
        "(their performance is their own numerator over their own denominator).",
        'Credit decision: applied, waived or reinvested for a credit line; "not applicable" where the measure '
        "was met or had too few cases (its credit is 0.00 by the rule, so there is nothing to decide).",
    ),
)

REOFFENDING = Table(
    "Reoffending",
    "Reoffending",
    "Proven reoffending by provider and cohort quarter",
    "reoffending",
    PROVIDER
    + (
        Column("cohort_quarter", "Cohort", "code", 8),
        Column("cohort_size", "Cohort size (people)", "count", 11),
        Column("reoffenders", "Reoffenders (people)", "count", 12),
        Column("reoffences", "Reoffences (count)", "count", 11),
        Column("binary_rate", "Binary rate (%)", "rate", 10, notes=("Binary rate",)),
        Column("frequency_rate", "Frequency (reoffences per reoffender)", "dec3", 13, notes=("Frequency",)),
        Column("mean_p1", "Mean p1 (%)", "rate", 10, notes=("Mean p1",)),
        Column("adjusted_binary_rate", "Adjusted binary rate (%)", "rate", 11, notes=("Adjusted binary rate",)),
        Column("baseline_binary_rate", "Baseline binary rate (%)", "rate", 11),
        Column("baseline_frequency_rate", "Baseline frequency (reoffences per reoffender)", "dec2", 13),
        Column("z", "z (standard deviations)", "dec4", 11, notes=("z",)),
        Column("significance", "Significance", "text", 22, empty=_not_applicable),
        Column("result", "Result", "text", 8, empty=_not_applicable),
        Column("outcome_payment_gbp", "Outcome payment (£)", "money", 14, notes=("Outcome payment",)),
    ),
    about=(
        "Interim results (follow-up not yet complete) are published with that label and never paid. Total rows "
        "pool their providers' cohorts; adjusted rates, z, significance, result and payments have no pooled "
        "meaning ([z]).",
    ),
)

PAYMENTS = Table(
    "Payments",
    "Payments",
    "Fees, service credits and outcome payments",
    "payments",
    PROVIDER
    + (
        Column("quarterly_fee_gbp", "Quarterly fee (£)", "money", 16, notes=("Contract parameters",)),
        Column("service_credits_gbp", "Service credits (£)", "money", 16, notes=("Service credit",)),
        Column("credits_waived_gbp", "Waived (£)", "money", 14),
        Column("credits_reinvested_gbp", "Reinvested (£)", "money", 14),
        Column("credits_applied_gbp", "Applied (£)", "money", 15),
        Column("outcome_payments_gbp", "Outcome payments (£)", "money", 16, notes=("Outcome payment",)),
        Column("net_gbp", "Net payable (£)", "money", 16, notes=("Money",)),
    ),
    about=(
        "Net payable = quarterly fee - applied service credits + outcome payments (final results only).",
        "Service credits = waived + reinvested + applied = the sum of the provider's credit lines on the Service "
        "levels sheet. NPS divisions have no service credits or outcome payments.",
        "The last three rows are the totals of all CRCs, all NPS divisions and England and Wales (workbook only: "
        "the CSV file has the providers' rows).",
    ),
    totals=True,
)

DATA_QUALITY = Table(
    "Data quality",
    "DataQuality",
    "Validation of the return that counts, by table",
    "data_quality",
    PROVIDER
    + (
        Column("submission_id", "Submission ID", "id", 11, empty=_no_submission),
        Column("table", "Table", "code", 12),
        Column("file", "File", "text", 40, wrap=True),
        Column("rows", "Rows (count)", "count", 10),
        Column("rejected_records", "Rejected records (count)", "count", 12, notes=("Rejection tolerance",)),
        Column("errors", "Errors (count)", "count", 9),
        Column("warnings", "Warnings (count)", "count", 10),
        Column(
            "top_rules",
            "Most frequent rules (findings)",
            "text",
            36,
            wrap=True,
            notes=("Most frequent rules",),
            empty=lambda row: "none" if row.get("errors") is not None else "[x]",
        ),
        Column(
            "rejected_because",
            "Rejected because",
            "text",
            40,
            wrap=True,
            notes=("Rejection tolerance",),
            empty=lambda row: "not rejected" if row.get("errors") is not None else "[x]",
        ),
    ),
    about=(
        "The validation of each provider's return that counts (else its latest), per table, and for the return as "
        "a whole (its files' names, files sent beside it). Rule definitions are in the provider return "
        "specification.",
    ),
)

SUBMISSIONS = Table(
    "Submissions",
    "Submissions",
    "Submissions that make this return",
    "submissions",
    PROVIDER_WRAPPED
    + (
        Column("submission_id", "Submission ID", "id", 11, empty=_no_submission),
        Column("version", "Version (number)", "count", 9, empty=_no_submission),
        Column("delivered_at", "Delivered (UTC)", "datetime", 17, notes=("Submission deadline",), empty=_no_submission),
        Column("received_at", "Received (UTC)", "datetime", 17, empty=_no_submission),
        Column(
            "outcome",
            "Validation outcome",
            "text",
            22,
            notes=("Rejection tolerance",),
            empty=lambda row: "[x]" if row.get("submission_id") is None else "not yet validated",
        ),
        Column("counted", "Counts for the quarter", "text", 34),
        Column("provider_signed_off", "Signed off by the provider's accountable officer", "text", 14),
        Column(
            "provider_signed_off_on",
            "Date signed off (UTC)",
            "text",
            12,
            empty=lambda row: "not signed off",
        ),
        Column("open_queries", "Open queries (number)", "count", 9),
        Column("file_sha256", "Each file's checksum (SHA-256) and name", "text", 80, wrap=True, empty=_no_submission),
    ),
    about=(
        "The latest submission of each provider. Delivered: when it arrived (this decides lateness against the "
        "deadline). Received: when this service took it in, which is later for a backlog, a rerun or synthetic "
        "test data. Each file's checksum is what sha256sum prints for the file the provider holds. Signed off: "
        "whether the provider's accountable officer declared the version that counts an accurate account of the "
        "provider's work, as the build found it; open queries: the provider's answers to findings the contract "
        "manager had not yet decided.",
    ),
)


def _integrity_empty(row: dict) -> str:
    return "[x]" if row.get("count") is None else "[z]"  # no accepted return; or too few to test, or not a test


# measures of the Integrity sheet whose statistic, expected and threshold are not proportions (shown as percentages)
INTEGRITY_KINDS = {"ogrs3_mean": "dec2", "rosh_mix": "dec4", "frequency": "dec2", "missed_to_met": "count"}


def _integrity_kind(row: dict) -> str:
    """A proportion as a percentage; a mean OGRS3 score or reoffences per reoffender to 2 places; a population
    stability index to 4; the number of service levels flipped as a whole number."""
    return INTEGRITY_KINDS.get(row.get("measure"), "pct")


INTEGRITY = Table(
    "Credibility and integrity",
    "Integrity",
    "Integrity signals by provider, to judge whether the data is believable",
    "integrity",
    PROVIDER_WRAPPED
    + (
        Column("signal", "Signal", "code", 18, notes=("Integrity signals",)),
        Column("measure", "Measure", "code", 22),
        Column("count", "Counted (count)", "count", 10, empty=_integrity_empty),
        Column("statistic", "Statistic (number)", "dec4", 11, empty=_integrity_empty, kind_of=_integrity_kind),
        Column("expected", "Expected (number)", "dec4", 11, empty=_integrity_empty, kind_of=_integrity_kind),
        Column("threshold", "Threshold (number)", "dec4", 11, empty=_integrity_empty, kind_of=_integrity_kind),
        Column("z", "z (standard deviations)", "dec2", 13, empty=_integrity_empty),
        Column("compared_with", "Compared with", "text", 18, wrap=True),
        Column("flagged", "Flagged", "text", 8),
        Column("explanation", "Explanation", "text", 90, wrap=True),
    ),
    about=(
        "Internal only, never published. One row per provider, signal and measure, flagged or not. A flag is "
        "information for a contract manager to look into, never a rejection and never a change to the money.",
        "Proportions are shown as percentages (integrity.csv holds them from 0 to 1); ogrs3_mean is a mean OGRS3 "
        "score; frequency is reoffences per reoffender; rosh_mix is a population stability index; missed_to_met counts "
        "service levels. Each signal's method, threshold and weaknesses: docs/integrity.md.",
    ),
)


def _credibility_empty(row: dict) -> str:
    return "[z]"  # not compared (no return that quarter, too few to judge) or not a figure of this kind


def _credibility_kind(role: str) -> Callable[[dict], str]:
    """A Credibility column's number format on a row, by the row's figure: counts (totals, vanished cases) as
    whole numbers, with a total's change relative (+25.0%) and vanished cases' in cases (+3); shares and service
    levels as percentages, their changes and thresholds in percentage points; a mix's population stability
    index and test statistics as plain numbers (a z to 2 places)."""

    def kind(row: dict) -> str:
        family, psi = row.get("family"), row.get("figure") == MIX
        if role == "statistic":
            return "dec4" if psi else "dec2"
        if psi:
            return "dec4"
        counted = family in ("totals", VANISHED)
        if role == "figure":
            return "count" if counted else "pct"
        if role == "change":
            return "change" if family == "totals" else "count_change" if family == VANISHED else "points"
        return "pct" if family == "totals" else "count" if family == VANISHED else "points_size"  # threshold

    return kind


CREDIBILITY = Table(
    "Credibility",
    "Credibility",
    "Credibility report: each provider's main figures beside its previous four quarters and the national figure",
    "credibility",
    PROVIDER_WRAPPED
    + (
        Column("family", "Family", "code", 14, notes=("Credibility report",)),
        Column("figure", "Figure", "code", 16),
        Column("count", "Count (count)", "count", 9, empty=_credibility_empty),
        Column("base", "Of (count)", "count", 9, empty=_credibility_empty),
        Column(
            "value", "This quarter (number)", "dec4", 11, empty=_credibility_empty, kind_of=_credibility_kind("figure")
        ),
        Column(
            "q_minus_1",
            "Last quarter (number)",
            "dec4",
            11,
            empty=_credibility_empty,
            kind_of=_credibility_kind("figure"),
        ),
        Column(
            "q_minus_2",
            "2 quarters before (number)",
            "dec4",
            11,
            empty=_credibility_empty,
            kind_of=_credibility_kind("figure"),
        ),
        Column(
            "q_minus_3",
            "3 quarters before (number)",
            "dec4",
            11,
            empty=_credibility_empty,
            kind_of=_credibility_kind("figure"),
        ),
        Column(
            "q_minus_4",
            "4 quarters before (number)",
            "dec4",
            11,
            empty=_credibility_empty,
            kind_of=_credibility_kind("figure"),
        ),
        Column(
            "national", "National (number)", "dec4", 11, empty=_credibility_empty, kind_of=_credibility_kind("figure")
        ),
        Column(
            "change",
            "Change on last quarter (number)",
            "dec4",
            14,
            empty=_credibility_empty,
            kind_of=_credibility_kind("change"),
        ),
        Column(
            "change_vs_mean",
            "Change on the previous quarters' mean (number)",
            "dec4",
            14,
            empty=_credibility_empty,
            kind_of=_credibility_kind("change"),
        ),
        Column(
            "threshold",
            "Threshold (number)",
            "dec4",
            13,
            empty=_credibility_empty,
            kind_of=_credibility_kind("threshold"),
        ),
        Column("test", "Test", "text", 12, wrap=True),
        Column(
            "statistic",
            "Test statistic (number)",
            "dec4",
            11,
            empty=_credibility_empty,
            kind_of=_credibility_kind("statistic"),
        ),
        Column("flagged", "Flagged", "text", 8),
        Column("explanation", "Explanation", "text", 46, wrap=True),
    ),
    about=(
        "Internal only, never published. One row per provider with an accepted return and figure, flagged or not. "
        "A flag is information for a contract manager to look into, never a rejection and never a change to the "
        "money.",
        "Counts are whole numbers, and a count's change is relative (+25.0%: up by a quarter); shares and service "
        "levels are percentages, and their changes and thresholds are in percentage points; a mix row is a "
        "population stability index against last quarter. credibility.csv holds the same figures, with shares as "
        "proportions from 0 to 1. Each figure's method, threshold and weaknesses: docs/credibility.md.",
    ),
)

CHART_DATA = Table(
    "Charts",
    "ChartData",
    "Service levels of all CRCs together, against target",
    "chart_data",
    (
        Column("measure", "Measure code", "code", 12, notes=SUMMARY_MEASURES),
        Column("measure_name", "Measure", "text", 34),
        Column("performance", "All CRCs' performance (%)", "pct", 14, notes=("Percentages",)),
        Column("target", "Target (%)", "pct", 9, notes=("Targets",)),
    ),
    about=(
        "All CRCs' performance = all CRCs' numerators / all CRCs' denominators (the All CRCs rows of the Service "
        "levels sheet; providers without a valid return have no counts). The second chart reads the Reoffending "
        "sheet.",
    ),
    repeat_header=False,
)

NOTES = Table(
    "Notes",
    "Notes",
    "What the figures mean",
    "notes",
    (
        Column("note", "Note number", "text", 12),
        Column("item", "Item", "text", 26),
        Column("meaning", "Meaning", "text", 100, wrap=True),
    ),
    about=("The tables refer to these notes by number, as [note N] in a column heading.",),
)

CONTENTS = Table(
    "Contents",
    "Contents",
    "Contents",
    "contents",
    (
        Column("sheet", "Worksheet", "text", 18),
        Column("holds", "What it holds", "text", 100, wrap=True),
    ),
)

TABLES = (SUMMARY, SERVICE_LEVELS, REOFFENDING, PAYMENTS, DATA_QUALITY, SUBMISSIONS, CHART_DATA, NOTES)
SHEETS = ("Cover", "Contents", *(t.sheet for t in TABLES))
INTERNAL_TABLES = (INTEGRITY, CREDIBILITY)  # the internal copy's only, placed before the Charts sheet; never published


def tables_for(publication: bool) -> tuple[Table, ...]:
    """The copy's tables in sheet order: the internal copy adds its own before Charts."""
    if publication:
        return TABLES
    at = TABLES.index(CHART_DATA)
    return TABLES[:at] + INTERNAL_TABLES + TABLES[at:]
