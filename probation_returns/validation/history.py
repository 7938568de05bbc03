"""RET-004: the figures of a return that moved implausibly against the provider's own previous quarters.

The credibility report's flag (docs/credibility.md), its "history" half only, at validation time: the same figures,
thresholds and tests (``credibility.report.compute``), on the records this return would have accepted, against the
provider's own accepted returns for its previous four quarters. Nothing of any other provider is read, and the
report's national figure (which does not exist before the deadline) is never used: the report is computed over this
provider alone. Two of the report's flags are other rules' already: the number of cases is RET-001's, and vanished
cases are RET-003's (one warning per case), so neither is repeated here.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import COLUMNS, MIX, VANISHED, Tally, tallies
from probation_returns.credibility.limits import limits
from probation_returns.credibility.report import BASES, LABELS, Figure, assemble
from probation_returns.integrity.model import HISTORY_QUARTERS
from probation_returns.spec import TABLES
from probation_returns.validation.engine import FINDING_SCHEMA

RULE_ID = "RET-004"
NEEDED = {t: [c for c in COLUMNS if c in TABLES[t]] for t in ("cases", "contacts", "breaches")}
NOT_REPEATED = {("totals", "cases"), (VANISHED, VANISHED)}  # RET-001's and RET-003's

# family -> (the table the figure counts, the column to check, what to check in words)
FAMILY_CHECKS = {
    "sentence_type": ("cases", "sentence_type", "the sentence_type of the cases"),
    "rosh_level": ("cases", "rosh_level", "the rosh_level of the cases (their latest risk of serious harm level)"),
    "ogrs3_band": ("cases", "ogrs3_2yr", "the ogrs3_2yr score of the cases"),
    "age_band": ("cases", "age_at_start", "the age_at_start of the cases"),
    "offence_group": ("cases", "index_offence_group", "the index_offence_group of the cases"),
    "contact_type": ("contacts", "contact_type", "the contact_type of this quarter's contacts"),
    "contact_outcome": ("contacts", "outcome", "the outcome of this quarter's contacts"),
    "termination_reason": ("cases", "termination_reason", "the termination_reason of the cases ended this quarter"),
}
TOTAL_CHECKS = {
    "contacts": ("contacts", None, "that every contact of the quarter is in the return, once"),
    "breaches": ("breaches", None, "that every breach of the quarter is in the return, once"),
    "terminations": (
        "cases",
        "termination_date",
        "the termination_date of the cases, and that every case ended this quarter is in the return",
    ),
}
SERVICE_LEVEL_CHECKS = {
    "SL001R": ("cases", "first_appointment_date", "the start_date and first_appointment_date of CO and SSO cases"),
    "SL002R": ("cases", "first_appointment_date", "the start_date and first_appointment_date of LIC and PSS cases"),
    "SL003": ("cases", "sentence_plan_date", "the first_appointment_date and sentence_plan_date of the cases"),
    "SL006R": ("cases", "upw_arranged_date", "the upw_required and upw_arranged_date of the cases"),
    "SL016": ("breaches", "pack_complete", "the pack_complete of the breaches referred this quarter"),
    "AE": ("breaches", "referral_date", "the awareness_date and referral_date of the breaches"),
    "AK": ("contacts", "contact_type", "the contact_type, outcome and followup_date of this quarter's contacts"),
}
SERVICE_LEVEL_WORDS = {
    "SL001R": "first appointments of community and suspended sentence orders within 5 business days",
    "SL002R": "first appointments of licences and post-sentence supervision within 1 business day",
    "SL003": "sentence plans within 15 business days of an attended first appointment",
    "SL006R": "unpaid work arranged within 7 business days",
    "SL016": "referred breaches with a complete breach pack",
    "AE": "breaches referred within 8 business days of awareness",
    "AK": "months of supervision with a qualifying contact",
}


def _pct(v: Decimal | None) -> str:
    return "none (no accepted return)" if v is None else f"{float(v):.1%}"


def _count(v: Decimal | None) -> str:
    return "none (no accepted return)" if v is None else f"{int(v):,}"


def _psi(v: Decimal | None) -> str:
    return "none" if v is None else f"{float(v):.4f}"


def _before(quarter: Quarter, previous: tuple[Decimal | None, ...], shown) -> str:
    return "; ".join(f"{quarter - k}: {shown(v)}" for k, v in enumerate(previous, start=1))


def _share_rule(own: dict[str, float]) -> str:
    return (
        f"a move of {own['change'] * 100:g} points or more either way with |z| at least {own['z']:g}, and at least "
        f"{int(own['minimum'])} in the base in both quarters"
    )


def _finding(table: str, column: str | None, value: str, message: str) -> dict:
    return {
        "table": table,
        "row_number": None,  # a figure of the whole return: no one row is wrong
        "case_ref": None,
        "column": column,
        "rule_id": RULE_ID,
        "severity": "W",
        "value": value,
        "message": message,
    }


def _words(quarter: Quarter, f: Figure, lim: dict[str, dict[str, float]]) -> dict:
    own = lim[f.family]
    ending = " If this is right, no action is needed; if not, check {}."
    if f.family == "totals":
        table, column, check = TOTAL_CHECKS[f.figure]
        what = f"The number of {f.figure} in the return is {f.count:,}"
        before = _before(quarter, f.previous, _count)
        moved = f"{float(f.change):+.1%} on last quarter (z {float(f.statistic):.2f})"
        rule = (
            f"a change of {own['change']:.0%} or more either way with |z| at least {own['z']:g}, and at least "
            f"{int(own['minimum'])} in either quarter"
        )
        value = f"{f.figure}: {f.count:,}"
        row = f"This is a count of the {table} table as a whole: no single row is wrong."
    elif f.family == "service_level":
        table, column, check = SERVICE_LEVEL_CHECKS[f.figure]
        what = f"{f.figure} ({SERVICE_LEVEL_WORDS[f.figure]}) is met for {f.count:,} of {f.base:,} ({_pct(f.value)})"
        before = _before(quarter, f.previous, _pct)
        moved = f"{float(f.change) * 100:+.1f} points on last quarter (z {float(f.statistic):.2f})"
        rule = _share_rule(own)
        value = f"{f.figure}: {_pct(f.value)}"
        row = "This is a rate over the whole return: no single row is wrong."
    elif f.figure == MIX:
        table, column, check = FAMILY_CHECKS[f.family]
        base = BASES[f.family]
        what = (
            f"The mix of {base} by {f.family.replace('_', ' ')} moved: a population stability index of "
            f"{_psi(f.value)} against last quarter ({f.count:,} {base} now)"
        )
        before = _before(quarter, f.previous, _psi) + " (each against the quarter before it)"
        moved = f"flagged from {_psi(f.threshold)}"
        rule = f"an index of {own['psi']:.2f} or more, and more than chance alone gives at these numbers"
        value = f"{f.family} mix: {_psi(f.value)}"
        row = f"This is the mix of the {table} table as a whole: no single row is wrong."
    else:
        table, column, check = FAMILY_CHECKS[f.family]
        what = f"{LABELS[f.family].format(f.figure)}: {f.count:,} of {f.base:,} {BASES[f.family]} ({_pct(f.value)})"
        before = _before(quarter, f.previous, _pct)
        moved = f"{float(f.change) * 100:+.1f} points on last quarter (z {float(f.statistic):.2f})"
        rule = _share_rule(own)
        value = f"{f.family} {f.figure}: {_pct(f.value)}"
        row = f"This is a share of the {table} table as a whole: no single row is wrong."
    message = (
        f"{what}; in your previous accepted returns: {before}. That is {moved}, more than chance and ordinary drift "
        f"would move it ({rule}). {row}" + ending.format(check)
    )
    return _finding(table, column, value, message)


def moved_figures(
    quarter: Quarter | str,
    provider: str,
    tables: dict[str, pl.DataFrame],
    previous: dict[Quarter, dict[tuple[str, str], Tally]],
    lim: dict[str, dict[str, float]] | None = None,
) -> pl.DataFrame:
    """RET-004's findings: one per figure of ``tables`` (the accepted records of the provider's return for
    ``quarter``, typed) that the credibility report would flag against ``previous`` (the figures of the provider's
    own accepted returns for its previous quarters, by quarter, as ``credibility.figures.tallies`` counts them and
    ``credibility.store`` keeps them; up to four are read)."""
    q = Quarter.parse(str(quarter))
    if any(c not in tables.get(t, pl.DataFrame()).columns for t, cols in NEEDED.items() for c in cols):
        return pl.DataFrame([], schema=FINDING_SCHEMA)  # a table or column missing: its own rules say so
    history = {q - k: previous[q - k] for k in range(1, HISTORY_QUARTERS + 1) if q - k in previous}
    if q - 1 not in history:  # every figure is compared with last quarter: nothing to compare
        return pl.DataFrame([], schema=FINDING_SCHEMA)
    lim = lim or limits()
    figures = {(provider, 0): tallies(q, tables)} | {(provider, q.ordinal - p.ordinal): t for p, t in history.items()}
    rows = assemble(q, [provider], figures, {}, lim)  # vanished cases are RET-003's: none counted here
    found = [_words(q, f, lim) for f in rows if f.flagged and (f.family, f.figure) not in NOT_REPEATED]
    return pl.DataFrame(found, schema=FINDING_SCHEMA)
