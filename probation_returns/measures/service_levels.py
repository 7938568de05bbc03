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


def _in(q: Quarter, expr: pl.Expr) -> pl.Expr:
    return expr.is_between(q.first_day, q.last_day)


def _count(frame: pl.DataFrame, population: pl.Expr, success: pl.Expr) -> tuple[int, int]:
    row = frame.select(
        population.fill_null(False).sum().alias("d"),
        (population.fill_null(False) & success.fill_null(False)).sum().alias("n"),
    ).row(0)
    return int(row[1]), int(row[0])


def counts(
    q: Quarter, cases: pl.DataFrame, contacts: pl.DataFrame, breaches: pl.DataFrame
) -> dict[str, tuple[int, int]]:
    """``{measure: (numerator, denominator)}`` for the seven service levels."""
    out: dict[str, tuple[int, int]] = {}
    community = pl.col("sentence_type").is_in(["CO", "SSO"])
    licence = pl.col("sentence_type").is_in(["LIC", "PSS"])
    c = cases.with_columns(
        deadline("start_date", 5).alias("d5"),
        deadline("start_date", 1).alias("d1"),
        deadline("first_appointment_date", 15).alias("d15"),
        deadline("start_date", 7).alias("d7"),
    )
    out["SL001R"] = _count(c, community & _in(q, pl.col("d5")), pl.col("first_appointment_date") <= pl.col("d5"))
    out["SL002R"] = _count(c, licence & _in(q, pl.col("d1")), pl.col("first_appointment_date") <= pl.col("d1"))
    out["SL003"] = _count(
        c, pl.col("first_appointment_attended") & _in(q, pl.col("d15")), pl.col("sentence_plan_date") <= pl.col("d15")
    )
    out["SL006R"] = _count(
        c, pl.col("upw_required") & _in(q, pl.col("d7")), pl.col("upw_arranged_date") <= pl.col("d7")
    )
    b = breaches.with_columns(deadline("awareness_date", 8).alias("d8"))
    out["SL016"] = _count(b, _in(q, pl.col("referral_date")), pl.col("pack_complete"))
    out["AE"] = _count(b, _in(q, pl.col("d8")), pl.col("referral_date") <= pl.col("d8"))
    out["AK"] = _monthly_contact(q, cases, contacts)
    return out


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
