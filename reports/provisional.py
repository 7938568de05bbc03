"""A version's provisional performance in words: the rows and the one-line summary the portal's pages and the
feedback page kept as a file (feedback.html) both show, from summary.json's ``provisional_performance``."""

from __future__ import annotations

from decimal import Decimal

from reports.ministry.layout import MEASURE_NAMES

PROVISIONAL_STATUS = {  # a provisional service level's status -> (what the provider reads, GOV.UK tag colour)
    "met": ("Met", "green"),
    "missed": ("Missed", "red"),
    "insufficient volume": ("Too few to measure", "grey"),
    "no valid return": ("No valid return: counted as 0%", "red"),
}


def provisional_rows(provisional: dict) -> list[dict]:
    """The provisional service levels as the page shows them: the measure's name, counts with thousands
    separators, percentages to one place and credits in pounds (the figures as summary.json holds them)."""
    rows = []
    for level in provisional.get("service_levels", []):
        words, colour = PROVISIONAL_STATUS.get(level["status"], (level["status"], "grey"))
        rows.append(
            {
                "measure": f"{MEASURE_NAMES.get(level['measure'], level['measure'])} ({level['measure']})",
                "numerator": "" if level["numerator"] is None else f"{level['numerator']:,}",
                "denominator": "" if level["denominator"] is None else f"{level['denominator']:,}",
                "performance": "" if level["performance_pct"] is None else f"{level['performance_pct']}%",
                "target": f"{level['target_pct']}%",
                "status": words,
                "colour": colour,
                "credit": "" if level["credit_gbp"] is None else f"£{Decimal(level['credit_gbp']):,.2f}",
            }
        )
    return rows


def provisional_line(provisional: dict) -> str:
    """One sentence for the feedback page: what the provisional performance says, in brief."""
    statuses = [level["status"] for level in provisional.get("service_levels", [])]
    money = provisional.get("credits_gbp")
    credits = f"; service credits £{Decimal(money):,.2f}" if money is not None else ""
    if provisional.get("basis") != "accepted":
        return (
            f"With no valid return, every service level counts as 0%{credits}. Worked out on "
            f"{provisional['worked_out_on']}."
        )
    return (
        f"From this version: {statuses.count('met')} of {len(statuses)} service levels met, "
        f"{statuses.count('missed')} missed{credits}. Worked out on {provisional['worked_out_on']}."
    )
