"""Contract managers' decisions on service credits: waive, reinvest, or apply. An audit trail, never edits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import Credit, CreditDecision

DECISIONS = ("applied", "waived", "reinvested")
DECISIONS_LOCK = "credit_decisions"  # held by a decision and by a sign-off, per quarter
VERBS = {"applied": "apply", "waived": "waive", "reinvested": "reinvest"}


class DecisionError(ValueError):
    pass


@dataclass(frozen=True)
class CreditView:
    credit_id: int
    measure: str
    amount_gbp: Decimal
    decision: str  # the latest decision, or "applied" when none was made
    reason: str | None
    decided_by: str | None
    decided_at: str | None


def current_credits(session: Session, quarter: str, provider: str) -> list[CreditView]:
    out = []
    credits = session.scalars(
        select(Credit)
        .where(Credit.quarter == quarter, Credit.provider_code == provider, Credit.replaced_at.is_(None))
        .order_by(Credit.id)
    )
    for credit in credits:
        last = session.scalar(
            select(CreditDecision).where(CreditDecision.credit_id == credit.id).order_by(CreditDecision.id.desc())
        )
        out.append(
            CreditView(
                credit.id,
                credit.measure,
                credit.amount_gbp,
                last.decision if last else "applied",
                last.reason if last else None,
                last.decided_by if last else None,
                last.decided_at.isoformat(timespec="seconds") if last else None,
            )
        )
    return out


def decide(
    session: Session, quarter: str, provider: str, measure: str, decision: str, reason: str, by: str
) -> CreditDecision:
    if decision not in DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}")
    if not reason.strip() or not by.strip():
        raise DecisionError("a decision needs a reason and the name of who made it")
    hold(session, DECISIONS_LOCK, quarter)  # a sign-off checking the build carries every decision waits for this
    credit = session.scalar(
        select(Credit).where(
            Credit.quarter == quarter,
            Credit.provider_code == provider,
            Credit.measure == measure,
            Credit.replaced_at.is_(None),
        )
    )
    if credit is None:
        raise DecisionError(
            f"no service credit for {provider} {measure} in {quarter}; build the quarter first "
            "(returns run) and check the measure code"
        )
    if credit.amount_gbp == 0 and decision != "applied":
        raise DecisionError(
            f"the {provider} {measure} credit in {quarter} is 0.00: there is nothing to {VERBS[decision]}"
        )
    row = CreditDecision(credit_id=credit.id, decision=decision, reason=reason.strip(), decided_by=by.strip())
    session.add(row)
    session.flush()
    return row


def trail(session: Session, quarter: str, provider: str) -> list[tuple[CreditDecision, str]]:
    """Every decision on the provider's credits for the quarter, newest first, with the measure it was about."""
    from sqlalchemy import select

    from probation_returns.warehouse.models import Credit

    return [
        (d, m)
        for d, m in session.execute(
            select(CreditDecision, Credit.measure)
            .join(Credit, Credit.id == CreditDecision.credit_id)
            .where(Credit.quarter == quarter, Credit.provider_code == provider)
            .order_by(CreditDecision.id.desc())
        )
    ]
