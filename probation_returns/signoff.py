"""Signing off a quarter's build for the ministry: the latest build, not signed yet, with no decision after it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from probation_returns import audit, overview
from probation_returns.measures.decisions import DECISIONS_LOCK
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import ReturnBuild, SignOff


class OutOfDate(Exception):
    """The build predates a credit decision: rebuild before signing off."""


class AlreadySigned(Exception):
    """Someone signed this build off a moment ago."""


def sign_off(session: Session, build: ReturnBuild, by: str) -> None:
    """Record the sign-off, refused with the reason when a decision came after the build (checked under the
    quarter's decisions lock, so none slips in between). The database allows one sign-off per build."""
    hold(session, DECISIONS_LOCK, build.quarter)
    reason = overview.out_of_date_reason(overview.decisions_since(session, build))
    if reason is not None:
        raise OutOfDate(reason)
    session.add(SignOff(build_id=build.id, signed_by=by))
    try:
        session.flush()
    except IntegrityError:
        raise AlreadySigned() from None
    audit.record(
        session,
        by,
        "sign_off",
        quarter=build.quarter,
        target=f"{build.quarter} build {build.build_number}",
        manifest_sha256=build.manifest_sha256,
    )
