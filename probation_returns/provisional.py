"""Provisional performance: what a version of a provider's return gives before the quarter's ministry return.

From an accepted version: the service levels its accepted records give, the service credits they would cost
(the quarter's caps applied) and the size of the quarter's reoffending cohort in its cases. From a rejected
one: what the quarter costs if no version is accepted by the deadline (no valid return: every service level
at 0%). Worked out by the same functions as the ministry return (``measures.quarter.submission_levels``, the
one ``provider_levels`` calls, and ``measures.quarter.submission_cohort_size``), on this one version's
accepted records, and dated by the service's clock. A content model: the feedback files and the portal lay
it out (``reports/feedback.py``, ``portal/provider.py``); the words are here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, select

from probation_returns import clock
from probation_returns.calendar import LONDON, Quarter
from probation_returns.measures.credits import PENNY
from probation_returns.measures.quarter import submission_cohort_size, submission_levels
from probation_returns.measures.service_levels import percent_1dp
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.standing import deadline_words, position
from probation_returns.warehouse.db import read_scope
from probation_returns.warehouse.models import Submission, ValidationRun

LABEL = "provisional"
ZERO = Decimal("0.00")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(PENNY, rounding=ROUND_HALF_UP))


def pounds(text: str) -> str:
    """'1234.5' as '£1,234.50'."""
    return f"£{Decimal(text):,.2f}"


@dataclass(frozen=True)
class Provisional:
    provider: str
    quarter: str
    submission_id: int
    version: int
    basis: str  # "accepted": this version's service levels; "no valid return": what the quarter costs without one
    counted_version: int | None  # the version that counts as the returns stand when worked out
    worked_out_at: dt.datetime
    parameter_version: str
    levels: list[dict]
    credits_gbp: str | None  # None: an NPS division, which has no service credits
    credits_before_cap_gbp: str | None
    cap_gbp: str | None
    cohort_size: int | None  # None: no accepted records
    headline: str
    credits_words: str
    cohort_words: str
    what_can_change: list[str]
    rules_version: str

    def as_dict(self) -> dict:
        """As summary.json keeps it: money and percentages as exact decimal text."""
        return {
            "label": LABEL,
            "provider": self.provider,
            "quarter": self.quarter,
            "submission_id": self.submission_id,
            "version": self.version,
            "basis": self.basis,
            "counted_version": self.counted_version,
            "worked_out_on": self.worked_out_at.astimezone(LONDON).date().isoformat(),
            "worked_out_at": self.worked_out_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "parameter_version": self.parameter_version,
            "rules_version": self.rules_version,
            "headline": self.headline,
            "service_levels": self.levels,
            "credits_gbp": self.credits_gbp,
            "credits_before_cap_gbp": self.credits_before_cap_gbp,
            "quarterly_cap_gbp": self.cap_gbp,
            "credits_words": self.credits_words,
            "reoffending_cohort_size": self.cohort_size,
            "cohort_words": self.cohort_words,
            "what_can_change": self.what_can_change,
        }


def _level(level, credit) -> dict:
    measured = level.denominator and level.status != "no valid return"
    shown = percent_1dp(level.numerator, level.denominator, level.target) if measured else None
    return {
        "measure": level.measure,
        "numerator": level.numerator,
        "denominator": level.denominator,
        "performance_pct": None if shown is None else str(shown),
        "target_pct": str(level.target.quantize(Decimal("0.1"))),
        "status": level.status,
        "credit_gbp": None if credit is None else str(credit.amount_gbp),
        "credit_before_cap_gbp": None if credit is None else str(credit.unscaled_gbp),
    }


def provisional_performance(engine: Engine, submission_id: int, rules_version: str) -> Provisional | None:
    """The provisional performance of a validated version (None while it is not validated); ``rules_version``:
    the validation rules that judged it."""
    with read_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        if submission is None or submission.outcome is None:
            return None
        provider, q, version, outcome = (
            submission.provider_code,
            submission.quarter,
            submission.version,
            submission.outcome,
        )
        counted_version, why, _ = position(session, submission)
        # dated by the validation it is worked out from, so feedback written again after a kill or a lost file
        # says the same (the figures are the same: the same records, parameters and rules)
        validated = session.scalar(
            select(ValidationRun.finished_at).where(ValidationRun.submission_id == submission_id)
        )
    quarter = Quarter.parse(q)
    params = for_quarter(quarter)
    accepted = outcome != "Rejected"
    # keep_recent: the run's measures read the same records next (standing's credits came first)
    result = submission_levels(engine, provider, quarter, submission_id if accepted else None, keep_recent=True)
    is_crc = providers()[provider].is_crc
    by_measure = {c.measure: c for c in result.credits}
    levels = [_level(level, by_measure.get(level.measure)) for level in result.levels]
    fee = params.providers[provider].quarterly_fee_gbp
    cap = (params.credit_cap_per_quarter * fee).quantize(PENNY, rounding=ROUND_HALF_UP) if is_crc else None
    total = sum((c.amount_gbp for c in result.credits), ZERO) if is_crc else None
    before = sum((c.unscaled_gbp for c in result.credits), ZERO) if is_crc else None
    cohort_size = submission_cohort_size(engine, quarter, submission_id) if accepted else None
    when = deadline_words(quarter)
    now = clock.now() if validated is None else validated
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)  # SQLite gives the stored UTC time back naive
    on = f"{now.astimezone(LONDON).date():%d %B %Y}".lstrip("0")
    if accepted:
        headline = (
            f"Provisional, worked out on {on} from version {version}'s accepted records by the same rules as "
            f"the quarter's ministry return (contract parameters {params.version}). {why}"
        )
    else:
        headline = f"Provisional, worked out on {on}. Version {version} was rejected, so it gives no service levels. "
        headline += (
            f"Version {counted_version} was accepted and still counts, so its feedback shows the quarter's "
            "provisional performance; below is what the quarter would cost with no valid return at all."
            if counted_version
            else f"If no version is accepted by the deadline, the {when}, the quarter has no valid return: every "
            "service level counts as 0%, and this is what it would cost."
        )
    return Provisional(
        provider=provider,
        quarter=q,
        submission_id=submission_id,
        version=version,
        basis="accepted" if accepted else "no valid return",
        counted_version=counted_version,
        worked_out_at=now,
        parameter_version=params.version,
        levels=levels,
        credits_gbp=_money(total),
        credits_before_cap_gbp=_money(before),
        cap_gbp=_money(cap),
        cohort_size=cohort_size,
        headline=headline,
        credits_words=_credits_words(is_crc, total, before, cap, fee, params),
        cohort_words=_cohort_words(q, cohort_size),
        what_can_change=_what_can_change(accepted, version, when, params.version, is_crc, rules_version),
        rules_version=rules_version,
    )


def _credits_words(is_crc, total, before, cap, fee, params) -> str:
    if not is_crc:
        return "NPS divisions have no service credits."
    share = f"{(params.credit_cap_per_quarter * 100).normalize():f}%"
    words = f"Service credits: £{total:,.2f}"
    if total < before:
        return (
            f"{words}. Before the quarter's cap they came to £{before:,.2f}; the cap, {share} of the quarterly fee "
            f"of £{fee:,.2f}, is £{cap:,.2f}, so each credit is scaled down to share it."
        )
    return f"{words}, within the quarter's cap of £{cap:,.2f} ({share} of the quarterly fee of £{fee:,.2f})."


def _cohort_words(quarter: str, size: int | None) -> str:
    if size is None:
        return "Reoffending cohort: none, as there are no accepted records."
    return (
        f"Reoffending cohort for {quarter}: {size:,} {'person' if size == 1 else 'people'} (everyone with a community "
        "order, suspended sentence order or licence starting in the quarter, not on electronic monitoring only, "
        "counted once). Whether they reoffend is measured later from the ministry's reoffending data."
    )


def _what_can_change(
    accepted: bool, version: int, when: str, parameters: str, is_crc: bool, rules_version: str
) -> list[str]:
    if accepted:
        lines = [
            f"A version of this return delivered by the deadline, the {when}, and accepted replaces version {version}, "
            "and its figures replace these.",
            "A version that is rejected, or delivered after the deadline, changes nothing. Other providers' returns "
            "never change your service levels or credits.",
            f"If the validation rules change (these are version {rules_version}) and your return is checked again "
            "under them before the quarter's return is built, records rejected then would change these figures.",
        ]
    else:
        lines = [
            f"A version delivered by the deadline, the {when}, and accepted gives the quarter its service levels in "
            "place of these.",
        ]
    lines.append(
        f"A correction to the contract parameters (these are version {parameters}) would change them; the "
        "ministry return says which version it used."
    )
    if is_crc:
        lines.append(
            "The contract manager decides whether each credit is applied, waived or reinvested; only applied "
            "credits are deducted from the fee."
        )
    return lines
