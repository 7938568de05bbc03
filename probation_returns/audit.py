"""The audit log: who did what and when, kept in the warehouse; never an offender's data.

Targets are things the service itself names (a submission number, a build, a file the service wrote,
a credit's provider and measure); what a provider typed is never copied in.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns.warehouse.models import AuditEvent

ACTIONS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "sign_in_locked": "Sign-in refused: account locked",
    "sign_in_throttled": "Sign-in refused: too many attempts",
    "sign_out": "Signed out",
    "upload": "Sent a return",
    "download": "Downloaded a file",
    "view_changes": "Looked at what changed between versions",
    "credit_decision": "Decided on a credit",
    "sign_off": "Signed off a build",
    "rebuild_requested": "Asked for a rebuild",
    "account_added": "Added an account",
    "account_disabled": "Disabled an account",
    "account_enabled": "Enabled an account",
    "password_reset": "Reset a password",
    "account_unlocked": "Unlocked an account",
    "query_raised": "Answered a finding (a query)",
    "query_accepted": "Accepted a query",
    "query_rejected": "Rejected a query",
    "tolerance_granted": "Granted a tolerance",
    "return_signed_off": "Signed off a return as accurate (accountable officer)",
}


def record(
    session: Session,
    actor: str | None,
    action: str,
    *,
    provider: str | None = None,
    quarter: str | None = None,
    target: str | None = None,
    **detail,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEvent(
            actor=actor, action=action, provider_code=provider, quarter=quarter, target=target, detail=detail or None
        )
    )


def recent(session: Session, limit: int = 200, offset: int = 0, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
