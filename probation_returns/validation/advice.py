"""What to do about each rule, in the provider's words."""

from __future__ import annotations

from expectations.catalogue import CASE_LIST_RULES, HISTORY_RULES, RETURN_RULES
from probation_returns.spec import TABLES
from probation_returns.validation.cascade import CASCADE

# What to do, for rules that span several columns (the suites' actions are per column).
RULE_ACTIONS = {
    CASCADE: "Fix the case in the cases table; its contacts and breaches will then be accepted.",
    "CAS-006": "Write dates as YYYY-MM-DD (e.g. 2017-07-31) or as real date cells in a workbook; check the day exists.",
    "CAS-012": "Use only the listed codes: sex M, F or U; the listed offence groups and termination reasons; "
    "Y or N for flags.",
    "CAS-015": "Events of a case cannot come before supervision started; correct the date or the start date.",
    "CAS-016": "Only report what had happened by the end of the quarter; leave later dates for the next return.",
    "CAS-004": "Every case must carry your own provider code. This rule is fatal: one case under another "
    "provider's code means the file may hold another provider's data, so the whole return is rejected.",
    "CON-002": "Give each appointment's date as YYYY-MM-DD, within the quarter.",
    "CON-004": "A follow-up cannot come before its appointment; correct the follow-up date or the contact date.",
    "CON-003": "Use the listed codes: contact_type F2F, VIDEO or PHONE; "
    "outcome ATTENDED, FAILED_TO_ATTEND or ACCEPTABLE_ABSENCE.",
    "BRE-003": "Give the awareness date (required) and referral date (if referred) as YYYY-MM-DD.",
}


def rule_actions() -> dict[str, str]:
    """What to do about each rule, by id: the suites' advice per column, overridden where a rule spans columns."""
    from expectations.catalogue import RECORD_RULES
    from probation_returns.validation.engine import expectations

    out = {t.rule_id: t.action for t in RECORD_RULES}
    out.update({t.rule_id: t.action for t in RETURN_RULES})
    out.update({t.rule_id: t.action for t in CASE_LIST_RULES})
    out.update({t.rule_id: t.action for t in HISTORY_RULES})
    for table in TABLES:
        for e in expectations(table):
            out.setdefault(e.rule_id, e.meta.get("action", ""))
    out.update(RULE_ACTIONS)
    out.update(
        {
            "FIL-001": "Send the return as a readable .xlsx workbook or UTF-8, comma-separated CSV files.",
            "FIL-002": "Send all three tables: cases, contacts and breaches.",
            "FIL-003": "Add the missing column; header names must match the specification.",
            "FIL-004": "Name the files <provider>_<quarter>.xlsx or <provider>_<quarter>_<table>.csv.",
            "FIL-005": "Remove columns the specification does not define (they are ignored).",
            "FIL-006": "List every case supervised in the quarter.",
            "FIL-007": "Keep only the return's files in the folder: "
            "<provider>_<quarter>.xlsx, or the three table CSVs.",
            "FIL-008": "Remove control characters (often pasted from another system) from the cells named.",
        }
    )
    return out
