"""Every rule's "what to do" fits its rule: one phrase per rule, checked against the advice the feedback gives.

CON-004 (a follow-up before its appointment) once told the clerk to "write dates as YYYY-MM-DD", the advice
of a date-format rule; a phrase here that the advice lacks, or a rule with no phrase, fails.
"""

from __future__ import annotations

import pytest

from probation_returns.spec import RULES_BY_ID
from probation_returns.validation.advice import rule_actions
from probation_returns.validation.cascade import CASCADE

EXPECTED = {
    "BRE-001": "unique reference",
    "BRE-002": "belong to a case listed in the cases table",
    "BRE-003": "awareness date",
    "BRE-004": "cannot be referred before you knew of it",
    "BRE-005": "breach pack was complete",
    "CAS-001": "one capital letter and six digits",
    "CAS-002": "List each case once",
    "CAS-003": "PNC id",
    "CAS-004": "your own provider code",
    "CAS-005": "CO, SSO, LIC, PSS",
    "CAS-006": "YYYY-MM-DD",
    "CAS-007": "active at some time in the quarter",
    "CAS-008": "cannot start before sentence",
    "CAS-009": "L, M, H, VH",
    "CAS-010": "OGRS3 two-year score",
    "CAS-011": "age in whole years",
    "CAS-012": "listed codes",
    "CAS-013": "termination or start date",
    "CAS-014": "both the termination date and the reason",
    "CAS-015": "cannot come before supervision started",
    "CAS-016": "by the end of the quarter",
    "CAS-017": "Refer high and very high risk cases to the NPS",
    "CAS-018": "unpaid work",
    "CAS-019": "first appointment was attended",
    "CAS-020": "sentence date",
    "CON-001": "belong to a case listed in the cases table",
    "CON-002": "appointment's date",
    "CON-003": "F2F, VIDEO or PHONE",
    "CON-004": "follow-up cannot come before its appointment",
    "CON-005": "contact date and the case's start and termination dates",
    "CON-006": "duplicates",
    "FIL-001": "UTF-8",
    "FIL-002": "all three tables",
    "FIL-003": "missing column",
    "FIL-004": "Name the files",
    "FIL-005": "columns the specification does not define",
    "FIL-006": "every case supervised in the quarter",
    "FIL-007": "only the return's files",
    "FIL-008": "control characters",
    "RET-001": "every active case is in the return",
    "RET-002": "face to face",
    "RET-003": "if the case ended, report it with its termination date and reason",
    "RET-004": "If the figure is right, no action is needed",
    CASCADE: "Fix the case in the cases table",
}
DATE_FORMAT_ADVICE = "YYYY-MM-DD"
DATE_FORMAT_RULES = {"CAS-006", "CON-002", "BRE-003"}  # the rules about how a date is written


def test_every_rule_has_an_expected_phrase():
    assert set(EXPECTED) == set(RULES_BY_ID) | {CASCADE}


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_the_advice_fits_the_rule(rule_id):
    advice = rule_actions().get(rule_id, "")
    assert EXPECTED[rule_id] in advice, f"{rule_id}: {advice!r}"
    if rule_id not in DATE_FORMAT_RULES:
        assert DATE_FORMAT_ADVICE not in advice, f"{rule_id} gives date-format advice: {advice!r}"


def test_a_fatal_rules_advice_or_reason_says_one_finding_rejects_the_return():
    """C01 had 1 error in 7,854 cases and was rejected, with nothing saying why one was enough."""
    fatal = sorted(r for r, rule in RULES_BY_ID.items() if rule.severity == "F" and r.startswith("CAS"))
    assert fatal == ["CAS-004"]
    assert "whole return is rejected" in rule_actions()["CAS-004"]
