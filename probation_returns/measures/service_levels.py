"""Service levels for one provider and quarter, from its accepted records, in whole-table Polars.

Inputs are the typed accepted tables (dates as dates, Y/N as booleans), as validation produces them
and the warehouse keeps them. A case is measured in the quarter in which its deadline falls.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import polars as pl

from probation_returns.calendar import Quarter, bank_holidays
from probation_returns.parameters import MEASURES, ContractParameters

STATUSES = ("met", "missed", "insufficient volume", "no valid return")


def deadline(column: str, days: int) -> pl.Expr:
    """The ``days``-th England & Wales business day after the date in ``column``."""
    return pl.col(column).dt.add_business_days(days, holidays=list(bank_holidays()), roll="backward")


def business_days_between(earlier: str, later: str) -> pl.Expr:
    """England & Wales business days from the date in ``earlier`` up to (not including) the one in ``later``:
    0 on the same day, 1 for the business day before, as ``deadline`` counts them."""
    return pl.business_day_count(pl.col(earlier), pl.col(later), holidays=list(bank_holidays()))


def _in(q: Quarter, expr: pl.Expr) -> pl.Expr:
    return expr.is_between(q.first_day, q.last_day)


def _count(frame: pl.DataFrame, population: pl.Expr, success: pl.Expr) -> tuple[int, int]:
    row = frame.select(
        population.fill_null(False).sum().alias("d"),
        (population.fill_null(False) & success.fill_null(False)).sum().alias("n"),
    ).row(0)
    return int(row[1]), int(row[0])


COMMUNITY = pl.col("sentence_type").is_in(["CO", "SSO"])
LICENCE = pl.col("sentence_type").is_in(["LIC", "PSS"])


@dataclass(frozen=True)
class DeadlineMeasure:
    """A service level met by an event on or before a deadline of ``days`` business days after ``after``."""

    table: str
    event: str  # the date that must fall on or before the deadline
    after: str  # the date the deadline counts from
    days: int
    eligible: pl.Expr  # who is in the population besides its deadline falling in the quarter


DEADLINE_MEASURES = {
    "SL001R": DeadlineMeasure("cases", "first_appointment_date", "start_date", 5, COMMUNITY),
    "SL002R": DeadlineMeasure("cases", "first_appointment_date", "start_date", 1, LICENCE),
    "SL003": DeadlineMeasure(
        "cases", "sentence_plan_date", "first_appointment_date", 15, pl.col("first_appointment_attended")
    ),
    "SL006R": DeadlineMeasure("cases", "upw_arranged_date", "start_date", 7, pl.col("upw_required")),
    "AE": DeadlineMeasure("breaches", "referral_date", "awareness_date", 8, pl.lit(True)),
}


def deadline_population(q: Quarter, measure: str, table: pl.DataFrame) -> pl.DataFrame:
    """The measure's population (its denominator's rows), with its deadline as ``due``."""
    m = DEADLINE_MEASURES[measure]
    with_due = table.with_columns(deadline(m.after, m.days).alias("due"))
    return with_due.filter((m.eligible & _in(q, pl.col("due"))).fill_null(False))


def counts(
    q: Quarter, cases: pl.DataFrame, contacts: pl.DataFrame, breaches: pl.DataFrame
) -> dict[str, tuple[int, int]]:
    """``{measure: (numerator, denominator)}`` for the seven service levels."""
    out: dict[str, tuple[int, int]] = {}
    tables = {"cases": cases, "breaches": breaches}
    for measure, m in DEADLINE_MEASURES.items():
        population = deadline_population(q, measure, tables[m.table])
        met = population.select((pl.col(m.event) <= pl.col("due")).fill_null(False).sum()).item()
        out[measure] = (int(met), population.height)
    b = breaches
    out["SL016"] = _count(b, _in(q, pl.col("referral_date")), pl.col("pack_complete"))
    out["AK"] = _monthly_contact(q, cases, contacts)
    return {k: out[k] for k in ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")}


def _monthly_contact(q: Quarter, cases: pl.DataFrame, contacts: pl.DataFrame) -> tuple[int, int]:
    """Case-months supervised for the whole month, and those with a qualifying contact."""
    months = pl.DataFrame(
        {"month": list(range(3)), "m_first": [m[0] for m in q.months()], "m_last": [m[1] for m in q.months()]}
    )
    case_months = (
        cases.select("case_ref", "start_date", "termination_date")
        .join(months, how="cross")
        .filter(
            (pl.col("start_date") <= pl.col("m_first"))
            & (pl.col("termination_date").is_null() | (pl.col("termination_date") > pl.col("m_last")))
        )
        .select("case_ref", "month")
    )
    month_of = pl.col("contact_date").dt.month() - (3 * q.number - 2)
    ok = (
        contacts.filter(pl.col("contact_type").is_in(["F2F", "VIDEO"]))
        .with_columns(month_of.alias("month").cast(pl.Int64), deadline("contact_date", 5).alias("d5"))
        .filter(
            (pl.col("outcome") == "ATTENDED")
            | (pl.col("followup_date").is_not_null() & (pl.col("followup_date") <= pl.col("d5")))
        )
        .select("case_ref", "month")
        .unique()
    )
    met = case_months.join(ok, on=["case_ref", "month"], how="semi").height
    return met, case_months.height


def percent_1dp(numerator: int, denominator: int, target: Decimal | None = None) -> Decimal | None:
    """Performance shown to one decimal place, half away from zero (never negative here, so half up); but a
    figure below its ``target`` is rounded down, so a missed measure never shows its target (1,779 of 1,873 is
    94.98%: shown 94.9%, not a 95.0% that reads as met)."""
    if not denominator:
        return None
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    shown = exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if target is not None and exact < target <= shown:
        shown = exact.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return shown


@dataclass(frozen=True)
class ServiceLevel:
    measure: str
    numerator: int | None
    denominator: int | None
    performance: Decimal | None  # exact, percent
    target: Decimal
    status: str

    @property
    def performance_shown(self) -> Decimal | None:
        return (
            percent_1dp(self.numerator, self.denominator, self.target)
            if self.denominator
            else (Decimal("0.0") if self.status == "no valid return" else None)
        )


def service_levels(
    q: Quarter, params: ContractParameters, tables: dict[str, pl.DataFrame] | None
) -> list[ServiceLevel]:
    """Each measure's figures and status; ``tables`` None means the provider has no valid return."""
    out = []
    found = counts(q, tables["cases"], tables["contacts"], tables["breaches"]) if tables is not None else {}
    for measure in MEASURES:
        target = Decimal(str(params.targets[measure]))
        if tables is None:
            out.append(ServiceLevel(measure, None, None, Decimal(0), target, "no valid return"))
            continue
        n, d = found[measure]
        if d < params.minimum_volume:
            out.append(
                ServiceLevel(measure, n, d, Decimal(n) * 100 / Decimal(d) if d else None, target, "insufficient volume")
            )
            continue
        performance = Decimal(n) * 100 / Decimal(d)
        out.append(ServiceLevel(measure, n, d, performance, target, "met" if performance >= target else "missed"))
    return out


def reported_only(
    q: Quarter, tables: dict[str, pl.DataFrame], is_crc: bool
) -> dict[str, tuple[int | None, int | None]]:
    """Successful completion, face-to-face share and high-risk cases not referred (no targets); the last is
    for CRCs only (they refer such cases to the NPS): (None, None), not applicable, for an NPS division."""
    cases, contacts = tables["cases"], tables["contacts"]
    ended = (
        pl.col("sentence_type").is_in(["CO", "SSO"])
        & _in(q, pl.col("termination_date"))
        & ~pl.col("termination_reason").is_in(["TRANSFERRED_NPS", "DIED"])
    )
    completion = _count(cases, ended, pl.col("termination_reason").is_in(["COMPLETED", "EARLY_GOOD_PROGRESS"]))
    f2f = (int((contacts["contact_type"] == "F2F").sum()), contacts.height)
    high_risk = pl.col("rosh_level").is_in(["H", "VH"])
    not_referred = _count(cases, high_risk, pl.col("escalation_referral_date").is_null()) if is_crc else (None, None)
    return {"successful_completion": completion, "face_to_face_share": f2f, "high_risk_not_referred": not_referred}
