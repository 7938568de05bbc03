"""Where a version of a return stands: whether it counts and why, what sending again would do, and what
the quarter's service credits are as the returns stand.

The rule (docs/provider-return.md, "Which version counts"): the version that counts is the latest one
delivered by the deadline that was accepted, the last good return. A later on-time version replaces it
only if that version is accepted too; a rejected one never takes away an accepted return. Versions
delivered after the deadline change nothing. Every sentence here is in terms of the deadline, not of
the moment it is read, so a feedback file stays true for good.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from probation_returns.calendar import Quarter, business_days_from, submission_deadline
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers

if TYPE_CHECKING:  # the warehouse is imported where it is read: a feedback's header needs no SQLAlchemy
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from probation_returns.warehouse.models import Submission


def deadline_words(quarter: Quarter) -> str:
    deadline = submission_deadline(quarter, for_quarter(quarter))
    return f"end of {(deadline - dt.timedelta(days=1)).date():%A %d %B %Y} (UK time)"


def last_day(quarter: Quarter) -> dt.date:
    """The last day on which a return counts."""
    return (submission_deadline(quarter, for_quarter(quarter)) - dt.timedelta(days=1)).date()


def business_days_left(quarter: Quarter, on: dt.date) -> int:
    """Business days from ``on`` to the deadline, both counted (0 once it has passed)."""
    return business_days_from(on, last_day(quarter))


@dataclass(frozen=True)
class Standing:
    version: int
    counts: bool
    counted_version: int | None
    why: str  # whether this version counts, and why
    send_again: str  # what a new version would do
    credits_gbp: str | None  # the quarter's service credits as the returns stand (None: an NPS division)
    credits: str  # the same, in words

    def as_dict(self) -> dict:
        return asdict(self)


def _delivered(submission: Submission) -> dt.datetime:
    moment = submission.delivered_at or submission.received_at
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def position(session: Session, submission: Submission) -> tuple[int | None, str, str]:
    """The version that counts (None: none), whether this one counts and why, and what sending again would do."""
    from sqlalchemy import select

    from probation_returns.measures.quarter import accepted_submission
    from probation_returns.warehouse.models import Submission

    provider, q, version = submission.provider_code, submission.quarter, submission.version
    quarter = Quarter.parse(q)
    deadline = submission_deadline(quarter, for_quarter(quarter))
    counted = accepted_submission(session, provider, q)
    late = _delivered(submission) >= deadline
    counted_version = counted.version if counted else None
    later_accepted = counted_version is not None and counted_version > version
    others = (
        session.scalars(
            select(Submission.id).where(
                Submission.provider_code == provider, Submission.quarter == q, Submission.id != submission.id
            )
        ).first()
        is not None
    )
    when = deadline_words(quarter)
    holds = (
        f"version {counted_version} keeps counting" if counted_version else "the quarter keeps having no valid return"
    )
    if counted_version == version:
        why = f"Version {version} counts: it was delivered by the deadline and accepted" + (
            ", and no later version delivered by the deadline was accepted." if others else "."
        )
    elif late:
        why = (
            f"Version {version} does not count: it was delivered after the deadline ({when}), and a version "
            "delivered late changes nothing. "
            + (
                f"Version {counted_version} counts."
                if counted_version
                else "No version counts: the quarter has no valid return."
            )
        )
    elif submission.outcome == "Rejected":
        why = f"Version {version} does not count: it was rejected. " + (
            f"Version {counted_version}, delivered by the deadline and accepted, still counts: a rejected version "
            "never replaces an accepted one."
            if counted_version and not later_accepted
            else f"Version {counted_version} counts."
            if counted_version
            else "No version delivered by the deadline was accepted, so the quarter has no valid return."
        )
    elif later_accepted:
        why = (
            f"Version {version} no longer counts: version {counted_version}, delivered later and by the "
            "deadline, was accepted and replaced it."
        )
    else:
        why = f"Version {version} does not count yet: it has not been checked."
    if late:
        send_again = (
            f"The deadline, the {when}, passed before this version was delivered: a version sent now is late "
            f"and changes nothing; {holds}."
        )
    else:
        replaced = f"version {counted_version}" if counted_version else "no version"
        send_again = (
            f"Until the deadline, the {when}, a corrected version replaces {replaced} if it is accepted; "
            f"if it is rejected, {holds}. After the deadline, a new version is late and changes nothing."
        )
    return counted_version, why, send_again


def standing(engine: Engine, submission_id: int) -> Standing:
    """Where the submission stands now, among its quarter's versions, and the quarter's credits as they stand."""
    from probation_returns.warehouse.db import read_scope
    from probation_returns.warehouse.models import Submission

    with read_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        provider, quarter, version = submission.provider_code, Quarter.parse(submission.quarter), submission.version
        counted_version, why, send_again = position(session, submission)
    amount, words = _credits(engine, provider, quarter, counted_version)
    return Standing(version, counted_version == version, counted_version, why, send_again, amount, words)


def _credits(engine: Engine, provider: str, quarter: Quarter, counted_version: int | None) -> tuple[str | None, str]:
    """The quarter's service credits from the same code as the ministry return, before any decision."""
    from probation_returns.measures.quarter import provider_levels

    if not providers()[provider].is_crc:
        return None, "NPS divisions have no service credits."
    result = provider_levels(engine, provider, quarter, keep_recent=True)  # the run's measures use them next
    total = sum((c.amount_gbp for c in result.credits), Decimal("0.00"))
    missed = sum(1 for level in result.levels if level.status in ("missed", "no valid return"))
    basis = (
        f"from version {counted_version}'s service levels ({missed} below target)"
        if counted_version
        else "with every service level counted as 0%, because no valid return counts"
    )
    return str(total), (
        f"Service credits for {quarter} as the returns stand: £{total:,.2f}, {basis}; the quarter's "
        "cap is applied, and the contract manager decides whether each is applied, waived or "
        "reinvested."
    )
