"""The outcome of a validated return (rejected, or accepted with what), and why, in the provider's words."""

from __future__ import annotations

import polars as pl

from probation_returns.spec import RULES_BY_ID

MAX_REASONS = 10


def why_rejected(fatal_rules: list[str], tables: dict[str, dict], tolerance: float) -> str:
    """Why a rejected return was rejected, in rule terms and without counts: each fatal rule (fatal at any
    count), or each table over the rejection threshold."""
    parts = [
        f"{rule}: {RULES_BY_ID[rule].summary if rule in RULES_BY_ID else 'fatal'} (fatal at any count)"
        for rule in sorted(set(fatal_rules))
    ]
    if not parts:
        parts = [
            f"{name}: more than {share(tolerance)} of its records were rejected"
            for name, t in tables.items()
            if t.get("rows") and counted(t) / t["rows"] > tolerance
        ]
    return "; ".join(parts) or "FIL-001: the files could not be read (fatal at any count)"


def decide(
    findings: pl.DataFrame, tables: dict[str, dict[str, int]], tolerance: float, unusable: bool
) -> tuple[str, list[str]]:
    fatal = (
        findings.filter(pl.col("severity") == "F")
        .select("rule_id", "message")
        .unique(maintain_order=True)
        .sort("rule_id", maintain_order=True)
    )
    if unusable or fatal.height:
        # every fatal problem in the finding's own words, which say what to do ("Name it C03_2017Q2.xlsx ...")
        reasons = [f"{rule}: {message}" for rule, message in fatal.head(MAX_REASONS).iter_rows()]
        if fatal.height > MAX_REASONS:
            reasons.append(f"and {fatal.height - MAX_REASONS} more fatal problems: see findings.csv")
        fatal_ids = sorted(set(fatal["rule_id"]))
        why = (
            f"The return cannot be used: {', '.join(fatal_ids)} {'is' if len(fatal_ids) == 1 else 'are'} fatal "
            "(one finding is enough to reject the whole return). "
            if fatal_ids
            else "The return cannot be used. "
        )
        return "Rejected", [why + (reasons[0] if reasons else "FIL-001: the files could not be read."), *reasons[1:]]
    over = [
        f"{name}: {counted(t):,} of {t['rows']:,} records rejected "
        f"({share(counted(t), t['rows'], tolerance)}), above "
        f"the {share(tolerance)} allowed{_besides(t)}."
        for name, t in tables.items()
        if t["rows"] and counted(t) / t["rows"] > tolerance
    ]
    if over:
        return "Rejected", over
    if (findings["severity"] == "E").any():
        rejected = sum(t["rejected"] for t in tables.values())
        tolerated = sum(t.get("tolerated") or 0 for t in tables.values())
        return "Accepted with record rejections", [
            f"{rejected:,} records were rejected; no table is over the {share(tolerance)} of its rows allowed"
            + (
                f" ({tolerated:,} of them are within a tolerance granted for the quarter and do not count toward it)."
                if tolerated
                else "."
            )
        ]
    if (findings["severity"] == "W").any():
        return "Accepted with warnings", ["No record was rejected; some records have warnings."]
    return "Accepted", []


def counted(table: dict) -> int:
    """The table's rejected records that count toward rejecting the return: those within a tolerance do not."""
    return (table.get("rejected") or 0) - (table.get("tolerated") or 0)


def _besides(table: dict) -> str:
    tolerated = table.get("tolerated") or 0
    return f" (besides {tolerated:,} within a tolerance granted for the quarter)" if tolerated else ""


def share(part: float, whole: float = 1, limit: float | None = None) -> str:
    """A share as a percentage with the decimals it needs: 0.01 -> '1%', 4 of 383 -> '1.04%'; never shown equal
    to a limit it is above (101 of 10,000 -> '1.01%'; 10,001 of 1,000,000 -> '1.0001%')."""
    for places in (2, 4, 6):
        text = f"{100 * part / whole:.{places}f}".rstrip("0").rstrip(".") + "%"
        if limit is None or text != share(limit):
            return text
    return text
