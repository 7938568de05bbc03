"""Rules that no Great Expectations expectation expresses, as Polars functions under their rule id.

Each record rule gives a boolean expression over its table's evaluation frame (``True`` = the row
breaks the rule); the frame carries ``<column>__date`` helpers and, for contacts and breaches, the
case's own dates (``case__start_date__date``, ``case__termination_date__date``). Return rules look
at the whole return and give at most one finding. The metadata has the same shape as a suite's
``meta``: rule id, severity, the column to report, the message and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

# The PNC id's modulus-23 check letters (CAS-003); the domain's probation_returns.pnc uses the same rule.
ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"


@dataclass(frozen=True)
class Params:
    provider_code: str
    provider_is_crc: bool
    quarter: str
    quarter_first_day: object
    quarter_last_day: object
    previous_cases: int | None = None
    # Case references active at the end of the previous quarter in its accepted return (None: no such return).
    previous_active: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RecordRule:
    rule_id: str
    table: str
    severity: str
    column: str
    columns: tuple[str, ...]  # columns it needs; skipped if any is missing from the file
    message: str
    action: str
    unexpected: Callable[[Params, dict[str, pl.DataFrame]], pl.Expr]


@dataclass(frozen=True)
class ReturnRule:
    rule_id: str
    table: str
    severity: str
    action: str
    check: Callable[[Params, dict[str, pl.DataFrame]], tuple[str, str] | None]  # (value, message)


@dataclass(frozen=True)
class CaseListRule:
    """A return rule that names cases, one finding each: cases the return should hold and does not have a row for."""

    rule_id: str
    table: str
    severity: str
    action: str
    check: Callable[[Params, dict[str, pl.DataFrame]], list[tuple[str, str]]]  # (case_ref, message) per case


@dataclass(frozen=True)
class HistoryRule:
    """A return rule that compares the return's figures with the provider's own previous quarters, one finding per
    figure. Its figures, thresholds and tests are the credibility report's (``probation_returns.credibility``, above
    this package), so the domain runs it (``probation_returns.validation.history``) on the records the return would
    have accepted; this is its declaration, for the advice and the rule catalogue."""

    rule_id: str
    table: str
    severity: str
    action: str


RECORD_RULES: list[RecordRule] = []
RETURN_RULES: list[ReturnRule] = []
CASE_LIST_RULES: list[CaseListRule] = []


def record(rule_id, table, severity, column, columns, message, action):
    def register(fn):
        RECORD_RULES.append(RecordRule(rule_id, table, severity, column, tuple(columns), message, action, fn))
        return fn

    return register


def whole_return(rule_id, table, severity, action):
    def register(fn):
        RETURN_RULES.append(ReturnRule(rule_id, table, severity, action, fn))
        return fn

    return register


def case_list(rule_id, table, severity, action):
    def register(fn):
        CASE_LIST_RULES.append(CaseListRule(rule_id, table, severity, action, fn))
        return fn

    return register


def _d(col: str) -> pl.Expr:
    return pl.col(f"{col}__date")


@record(
    "CAS-003",
    "cases",
    "E",
    "pnc_id",
    ["pnc_id"],
    "Row {row} (case {case_ref}): pnc_id '{value}' has the wrong check letter.",
    "Copy the PNC id again from the Police National Computer; the last letter does not match the numbers.",
)
def pnc_check_letter(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    pnc = pl.col("pnc_id")
    shaped = pnc.str.contains(r"^\d{4}/\d{7}[A-Z]$")
    number = (pnc.str.slice(2, 2) + pnc.str.slice(5, 7)).cast(pl.Int64, strict=False)
    expected = pl.lit(ALPHABET).str.slice((number % 23).cast(pl.Int64), 1)
    return shaped.fill_null(False) & (pnc.str.slice(12, 1) != expected).fill_null(False)


@record(
    "CAS-014",
    "cases",
    "E",
    "termination_reason",
    ["termination_date", "termination_reason"],
    "Row {row} (case {case_ref}): only one of termination_date and termination_reason is filled in.",
    "Give both the termination date and the reason when a case has ended, and neither while it is open.",
)
def termination_pair(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return pl.col("termination_date").is_null() != pl.col("termination_reason").is_null()


@record(
    "CAS-017",
    "cases",
    "W",
    "escalation_referral_date",
    ["rosh_level", "escalation_referral_date"],
    "Row {row} (case {case_ref}): a high-risk case (rosh_level {value}) has no escalation_referral_date.",
    "Refer high and very high risk cases to the NPS for risk review, and record the referral date.",
)
def high_risk_not_referred(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    if not p.provider_is_crc:
        return pl.lit(False)
    return pl.col("rosh_level").is_in(["H", "VH"]).fill_null(False) & pl.col("escalation_referral_date").is_null()


@record(
    "CAS-018",
    "cases",
    "W",
    "upw_arranged_date",
    ["upw_required", "upw_arranged_date"],
    "Row {row} (case {case_ref}): upw_arranged_date {value} is given but upw_required is N.",
    "Check whether the sentence includes unpaid work; correct upw_required or remove the date.",
)
def unpaid_work_not_required(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return (pl.col("upw_required") == "N").fill_null(False) & pl.col("upw_arranged_date").is_not_null()


@record(
    "CAS-019",
    "cases",
    "W",
    "first_appointment_attended",
    ["first_appointment_date", "first_appointment_attended"],
    "Row {row} (case {case_ref}): first_appointment_attended is blank although a first appointment date is given.",
    "Record whether the first appointment was attended (Y or N).",
)
def attendance_not_recorded(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return pl.col("first_appointment_date").is_not_null() & pl.col("first_appointment_attended").is_null()


@record(
    "CAS-020",
    "cases",
    "W",
    "sentence_date",
    ["sentence_type", "sentence_date", "start_date"],
    "Row {row} (case {case_ref}): sentence_date {value} is more than 5 years before the start of a community sentence.",
    "Check the sentence date; community and suspended sentences normally start soon after sentence.",
)
def old_community_sentence(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    community = pl.col("sentence_type").is_in(["CO", "SSO"]).fill_null(False)
    return community & (_d("sentence_date") < _d("start_date").dt.offset_by("-5y")).fill_null(False)


def _unknown_case(t: dict[str, pl.DataFrame]) -> pl.Expr:
    # ``case__known`` comes from the join with the cases table in the evaluation frame.
    return pl.col("case_ref").is_null() | pl.col("case__known").is_null()


@record(
    "CON-001",
    "contacts",
    "E",
    "case_ref",
    ["case_ref"],
    "Row {row}: case_ref '{value}' is not in the cases table.",
    "Every contact must belong to a case listed in the cases table; correct the reference or add the case.",
)
def contact_case_unknown(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return _unknown_case(t)


@record(
    "CON-005",
    "contacts",
    "W",
    "contact_date",
    ["case_ref", "contact_date"],
    "Row {row} (case {case_ref}): contact_date {value} is outside the case's supervision, from "
    "{case__start_date__date} to {case__termination_date__date|now (not ended)}.",
    "Check the contact date and the case's start and termination dates.",
)
def contact_outside_supervision(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    before = (_d("contact_date") < pl.col("case__start_date__date")).fill_null(False)
    after = (_d("contact_date") > pl.col("case__termination_date__date")).fill_null(False)
    return before | after


@record(
    "BRE-002",
    "breaches",
    "E",
    "case_ref",
    ["case_ref"],
    "Row {row}: case_ref '{value}' is not in the cases table.",
    "Every breach must belong to a case listed in the cases table; correct the reference or add the case.",
)
def breach_case_unknown(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return _unknown_case(t)


@record(
    "BRE-005",
    "breaches",
    "E",
    "pack_complete",
    ["referral_date", "pack_complete"],
    "Row {row} (case {case_ref}): pack_complete is blank although the breach was referred.",
    "Say whether the breach pack was complete (Y or N) for every referred breach.",
)
def pack_not_recorded(p: Params, t: dict[str, pl.DataFrame]) -> pl.Expr:
    return pl.col("referral_date").is_not_null() & pl.col("pack_complete").is_null()


@whole_return(
    "RET-001",
    "cases",
    "W",
    "Check that every active case is in the return; explain a real change to your contract manager.",
)
def caseload_jump(p: Params, t: dict[str, pl.DataFrame]):
    if p.previous_cases is None or p.previous_cases == 0 or "cases" not in t:
        return None
    now = t["cases"].height
    change = (now - p.previous_cases) / p.previous_cases
    if abs(change) <= 0.25:
        return None
    return (
        str(now),
        f"The return lists {now:,} cases, {change:+.0%} against {p.previous_cases:,} in your "
        "previous accepted return (more than 25%).",
    )


@whole_return(
    "RET-002",
    "contacts",
    "W",
    "Check that contact types are recorded correctly; most appointments should be face to face.",
)
def phone_heavy(p: Params, t: dict[str, pl.DataFrame]):
    contacts = t.get("contacts")
    if contacts is None or contacts.height == 0:
        return None
    share = (contacts["contact_type"] == "PHONE").sum() / contacts.height
    if share <= 0.20:
        return None
    return (f"{share:.1%}", f"{share:.1%} of contacts this quarter were by phone (more than 20%).")


@case_list(
    "RET-003",
    "cases",
    "W",
    "List every case supervised in the quarter; if the case ended, report it with its termination date and reason.",
)
def vanished_cases(p: Params, t: dict[str, pl.DataFrame]) -> list[tuple[str, str]]:
    if p.previous_active is None or "cases" not in t or "case_ref" not in t["cases"].columns:
        return []
    present = set(t["cases"]["case_ref"].drop_nulls().str.strip_chars().to_list())
    return [
        (
            ref,
            f"Case {ref} was active at the end of last quarter in your previous accepted return, and this return "
            "neither lists it nor says it ended. List every case supervised in the quarter; if the case ended, "
            "report it with its termination date and reason.",
        )
        for ref in sorted(set(p.previous_active) - present)
    ]


HISTORY_RULES: list[HistoryRule] = [
    HistoryRule(
        "RET-004",
        "return",
        "W",
        "If the figure is right, no action is needed; if not, check the column the finding names in this quarter's "
        "records, and that every record of the quarter is in the return.",
    )
]
