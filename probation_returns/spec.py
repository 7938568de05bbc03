"""The provider return as the ministry's specification (version 1) defines it: tables, columns, codes, rules.

One place for these facts; the generator, the readers and the validation suites all use it.
"""

from __future__ import annotations

from dataclasses import dataclass

SPEC_VERSION = "1"

SENTENCE_TYPES = ("CO", "SSO", "LIC", "PSS")
ROSH_LEVELS = ("L", "M", "H", "VH")
SEXES = ("M", "F", "U")
OFFENCE_GROUPS = (
    "VIOLENCE",
    "SEXUAL",
    "ROBBERY",
    "THEFT",
    "CRIMINAL_DAMAGE_ARSON",
    "DRUG",
    "WEAPONS",
    "PUBLIC_ORDER",
    "MISC_AGAINST_SOCIETY",
    "FRAUD",
    "SUMMARY_NON_MOTORING",
    "SUMMARY_MOTORING",
)
TERMINATION_REASONS = (
    "COMPLETED",
    "EARLY_GOOD_PROGRESS",
    "FAILURE_TO_COMPLY",
    "FURTHER_OFFENCE",
    "TRANSFERRED_NPS",
    "DIED",
    "OTHER",
)
CONTACT_TYPES = ("F2F", "VIDEO", "PHONE")
CONTACT_OUTCOMES = ("ATTENDED", "FAILED_TO_ATTEND", "ACCEPTABLE_ABSENCE")
YES_NO = ("Y", "N")
DISPOSAL_TYPES = ("CONVICTION", "CAUTION")
REOFFENDING_OFFENCE_GROUPS = OFFENCE_GROUPS + ("BREACH",)

TABLES: dict[str, tuple[str, ...]] = {
    "cases": (
        "case_ref",
        "pnc_id",
        "provider_code",
        "sentence_type",
        "sentence_date",
        "start_date",
        "rosh_level",
        "ogrs3_2yr",
        "age_at_start",
        "sex",
        "index_offence_group",
        "em_only",
        "first_appointment_date",
        "first_appointment_attended",
        "sentence_plan_date",
        "upw_required",
        "upw_arranged_date",
        "escalation_referral_date",
        "termination_date",
        "termination_reason",
    ),
    "contacts": ("case_ref", "contact_date", "contact_type", "outcome", "followup_date"),
    "breaches": ("breach_ref", "case_ref", "awareness_date", "referral_date", "pack_complete"),
}

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
        "sentence_date",
        "start_date",
        "first_appointment_date",
        "sentence_plan_date",
        "upw_arranged_date",
        "escalation_referral_date",
        "termination_date",
    ),
    "contacts": ("contact_date", "followup_date"),
    "breaches": ("awareness_date", "referral_date"),
}

REOFFENDING_COLUMNS = ("pnc_id", "offence_date", "disposal_date", "disposal_type", "offence_group")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str  # F fatal, E error (record rejected), W warning
    table: str  # file, cases, contacts, breaches, return
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("FIL-001", "F", "file", "the file cannot be opened or read as CSV/XLSX"),
    Rule("FIL-002", "F", "file", "a required table is missing"),
    Rule("FIL-003", "F", "file", "a required column is missing from a table"),
    Rule("FIL-004", "F", "file", "the file name does not match the provider and quarter"),
    Rule("FIL-005", "W", "file", "a table has columns that the specification does not define"),
    Rule("FIL-006", "F", "file", "the cases table has no rows"),
    Rule("FIL-007", "W", "file", "a file named like the return is not one of its tables and was ignored"),
    Rule("FIL-008", "W", "file", "a cell holds a control character (replaced by U+FFFD)"),
    Rule("CAS-001", "E", "cases", "case_ref blank or not one capital letter and six digits"),
    Rule("CAS-002", "E", "cases", "case_ref appears more than once"),
    Rule("CAS-003", "E", "cases", "pnc_id blank, not canonical, or wrong check letter"),
    Rule("CAS-004", "F", "cases", "provider_code is not the submitting provider"),
    Rule("CAS-005", "E", "cases", "sentence_type not a listed code"),
    Rule("CAS-006", "E", "cases", "a date column holds something that is not a valid date"),
    Rule("CAS-007", "E", "cases", "case not active in the quarter"),
    Rule("CAS-008", "E", "cases", "start_date before sentence_date"),
    Rule("CAS-009", "E", "cases", "rosh_level not a listed code"),
    Rule("CAS-010", "E", "cases", "ogrs3_2yr blank or not a whole number from 1 to 99"),
    Rule("CAS-011", "E", "cases", "age_at_start not a whole number from 18 to 110"),
    Rule("CAS-012", "E", "cases", "sex, index_offence_group, termination_reason or a Y/N flag unlisted"),
    Rule("CAS-013", "E", "cases", "termination_date before start_date"),
    Rule("CAS-014", "E", "cases", "exactly one of termination_date and termination_reason is blank"),
    Rule("CAS-015", "E", "cases", "an appointment, plan, unpaid work or referral date before start_date"),
    Rule("CAS-016", "E", "cases", "a date after the last day of the quarter"),
    Rule("CAS-017", "W", "cases", "CRC high-risk case not referred to the NPS"),
    Rule("CAS-018", "W", "cases", "upw_arranged_date given while upw_required is N"),
    Rule("CAS-019", "W", "cases", "first_appointment_attended blank while first_appointment_date given"),
    Rule("CAS-020", "W", "cases", "sentence_date more than 5 years before start_date for CO/SSO"),
    Rule("CON-001", "E", "contacts", "case_ref not found in cases"),
    Rule("CON-002", "E", "contacts", "contact_date blank, invalid or outside the quarter"),
    Rule("CON-003", "E", "contacts", "contact_type or outcome not a listed code"),
    Rule("CON-004", "E", "contacts", "followup_date before contact_date"),
    Rule("CON-005", "W", "contacts", "contact_date outside the case's supervision"),
    Rule("CON-006", "W", "contacts", "the same case_ref, contact_date and contact_type more than once"),
    Rule("BRE-001", "E", "breaches", "breach_ref blank or appears more than once"),
    Rule("BRE-002", "E", "breaches", "case_ref not found in cases"),
    Rule("BRE-003", "E", "breaches", "awareness_date blank or invalid; referral_date invalid"),
    Rule("BRE-004", "E", "breaches", "referral_date before awareness_date"),
    Rule("BRE-005", "E", "breaches", "pack_complete blank while referral_date given, or not Y/N"),
    Rule("RET-001", "W", "return", "cases row count differs from the previous accepted return by over 25%"),
    Rule("RET-002", "W", "return", "more than 20% of contacts are PHONE"),
    Rule("RET-003", "W", "return", "a case active at the end of the previous accepted return is missing from this one"),
    Rule("RET-004", "W", "return", "a figure of the return moved implausibly against the provider's previous quarters"),
)
RULES_BY_ID = {r.rule_id: r for r in RULES}


# A return's file name without its extension: provider, quarter and (for CSVs) the table.
RETURN_STEM = r"(?P<provider>[A-Za-z]\d{2})[_\- ](?P<quarter>\d{4}\s*[Qq][1-4])(?:[_\- ](?P<table>[A-Za-z]+))?"


def return_file_names(provider: str, quarter: str) -> dict[str, str]:
    """The CSV file names of a return, by table, and the workbook's under ``workbook``."""
    names = {t: f"{provider}_{quarter}_{t}.csv" for t in TABLES}
    names["workbook"] = f"{provider}_{quarter}.xlsx"
    return names
