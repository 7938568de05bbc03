"""A contract manager's request, from the portal, to rebuild a quarter's return (after a decision on a credit).

The request is a row the portal's build worker (``python -m orchestration.runner.portal_build REQUEST_ID``) takes,
runs through the same ``quarter_build`` job as the command line and the schedule, and finishes with the
build it ended with. Like an upload, a request whose worker is gone can be taken again: the build is safe
to repeat (the quarter's build lock, and an unchanged build is kept rather than made again).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.uploads import worker_alive
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import BuildRequest, ReturnBuild


def request(session: Session, quarter: str, by: str) -> BuildRequest:
    """A new request, or the one already waiting or building for the quarter (one at a time is enough)."""
    hold(session, "build_request", quarter)  # two managers pressing at once make one request
    waiting = session.scalar(
        select(BuildRequest)
        .where(BuildRequest.quarter == quarter, BuildRequest.status.in_(("received", "building")))
        .order_by(BuildRequest.id.desc())
        .limit(1)
    )
    if waiting is not None:
        return waiting
    row = BuildRequest(quarter=quarter, requested_by=by, status="received")
    session.add(row)
    session.flush()
    return row


def claim(session: Session, request_id: int, worker: str) -> BuildRequest | None:
    """Take the request to build it, unless it is finished or another live worker has it."""
    row = session.get(BuildRequest, request_id, with_for_update=True)
    if row is None or row.status in ("done", "failed"):
        return None
    if row.status == "building" and row.worker != worker and worker_alive(row.worker):
        return None
    row.status, row.worker, row.error = "building", worker, None
    session.flush()
    return row


def finish(session: Session, request_id: int, run_id: str | None, error: str | None) -> BuildRequest:
    """Record how the build ended and the quarter's latest build (a new one, or the same one kept)."""
    row = session.get(BuildRequest, request_id)
    row.run_id, row.finished_at = run_id, clock.now()
    latest = session.scalar(
        select(ReturnBuild).where(ReturnBuild.quarter == row.quarter).order_by(ReturnBuild.build_number.desc()).limit(1)
    )
    if error is None and latest is not None:
        row.status, row.build_id = "done", latest.id
    else:
        row.status, row.error = "failed", error or "the build did not finish"
    return row


def stalled(row: BuildRequest) -> bool:
    return row.status in ("received", "building") and not worker_alive(row.worker)
