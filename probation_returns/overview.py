"""What the portal's pages show, as plain queries: a provider's quarters and versions, a quarter across
all 28 providers, a provider's service levels over time, and a quarter's builds and their sign-off."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.calendar import Quarter, business_days_from
from probation_returns.measures.quarter import accepted_submission, delivered, submission_deadline
from probation_returns.parameters import FIRST_QUARTER, for_quarter
from probation_returns.reference import providers
from probation_returns.standing import position
from probation_returns.warehouse.models import (
    BuildRequest,
    Credit,
    CreditDecision,
    Measure,
    ReturnBuild,
    ReturnBuildDecision,
    SignOff,
    Submission,
    Upload,
)


def in_contract(quarter: Quarter) -> bool:
    """Whether the contracts ran in the quarter (2015Q1 to the last quarter with contract terms, 2021Q1)."""
    from probation_returns.parameters import last_quarter

    return FIRST_QUARTER.ordinal <= quarter.ordinal <= last_quarter().ordinal


def open_quarter(today: dt.date | None = None, setting: str | None = None) -> Quarter:
    """The quarter whose return is being collected: the setting, else the quarter before today's; never after
    the contracts' last quarter."""
    from probation_returns.parameters import last_quarter

    quarter = Quarter.parse(setting) if setting else Quarter.containing(today or clock.today()) - 1
    return min(quarter, last_quarter(), key=lambda q: q.ordinal)


@dataclass(frozen=True)
class Deadline:
    quarter: str
    last_day: dt.date
    business_days_left: int  # counting today when it is a working day
    today: dt.date

    @property
    def passed(self) -> bool:
        return self.today > self.last_day

    @property
    def words(self) -> str:
        day = f"{self.last_day:%A} {self.last_day.day} {self.last_day:%B %Y}"
        if self.passed:
            return f"The deadline was the end of {day}. A return sent now is recorded but does not count."
        left = self.business_days_left
        return f"Send it by the end of {day}: {left} working day{'s' if left != 1 else ''} left."


def deadline(quarter: Quarter, today: dt.date | None = None) -> Deadline:
    end = submission_deadline(quarter, for_quarter(quarter))
    last_day = (end - dt.timedelta(days=1)).date()
    today = today or clock.today()
    return Deadline(str(quarter), last_day, business_days_from(today, last_day), today)


@dataclass(frozen=True)
class QuarterStatus:
    quarter: str
    status: str
    latest: Submission | None
    counted_version: int | None
    upload: Upload | None  # the latest portal upload, when it is still at work or failed


def status(session: Session, provider: str, quarter: str) -> QuarterStatus:
    latest = session.scalar(
        select(Submission)
        .where(Submission.provider_code == provider, Submission.quarter == quarter)
        .order_by(Submission.version.desc())
        .limit(1)
    )
    upload = session.scalar(
        select(Upload)
        .where(Upload.provider_code == provider, Upload.quarter == quarter)
        .order_by(Upload.id.desc())
        .limit(1)
    )
    counted = accepted_submission(session, provider, quarter)
    if upload is not None and upload.status in ("received", "validating"):
        word = "Validating" if upload.status == "validating" else "Received"
    elif (
        upload is not None
        and upload.status == "failed"
        and (latest is None or upload.uploaded_at > _utc(latest.received_at))
    ):
        word = "Processing failed"
    elif latest is None:
        word = "Not sent"
    else:
        word = latest.outcome or "Received"
    shown_upload = upload if upload is not None and upload.status != "done" else None
    return QuarterStatus(quarter, word, latest, counted.version if counted else None, shown_upload)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def provider_quarters(session: Session, provider: str, open_q: Quarter, back: int = 7) -> list[QuarterStatus]:
    """The open quarter and earlier ones the provider has sent returns for (at least ``back`` of them)."""
    sent = {
        q for (q,) in session.execute(select(Submission.quarter).where(Submission.provider_code == provider).distinct())
    }
    shown = {str(open_q - i) for i in range(back + 1)} | {q for q in sent if Quarter.parse(q) <= open_q}
    return [status(session, provider, q) for q in sorted(shown, key=lambda q: Quarter.parse(q).ordinal, reverse=True)]


def why_counted(session: Session, submission: Submission) -> tuple[bool, str]:
    """Whether the version counts for its quarter, and why, by the rule the feedback states (the last good return:
    ``probation_returns.standing``)."""
    counted, why, _ = position(session, submission)
    return counted == submission.version, why


def versions(session: Session, provider: str, quarter: str | None = None) -> list[dict]:
    """Every version the provider sent, newest first: received, delivered, outcome, and whether it counts."""
    query = select(Submission).where(Submission.provider_code == provider)
    if quarter:
        query = query.where(Submission.quarter == quarter)
    rows = list(session.scalars(query.order_by(Submission.received_at.desc(), Submission.id.desc())))
    counted = {}
    for q in {s.quarter for s in rows}:
        c = accepted_submission(session, provider, q)
        counted[q] = c.id if c else None
    return [
        {"submission": s, "counts": counted.get(s.quarter) == s.id, "why": why_counted(session, s)[1]} for s in rows
    ]


def unfinished_uploads(session: Session, provider: str) -> list[Upload]:
    """The provider's uploads that did not become a version: failed, or still waiting or being checked."""
    return list(
        session.scalars(
            select(Upload).where(Upload.provider_code == provider, Upload.status != "done").order_by(Upload.id.desc())
        )
    )


def quarter_overview(session: Session, quarter: str) -> list[dict]:
    """All 28 providers for the quarter: status, counted version, service levels and credits."""
    measures: dict[str, list[Measure]] = {}
    for m in session.scalars(select(Measure).where(Measure.quarter == quarter).order_by(Measure.measure)):
        measures.setdefault(m.provider_code, []).append(m)
    credit_totals = dict(
        session.execute(
            select(Credit.provider_code, func.sum(Credit.amount_gbp))
            .where(Credit.quarter == quarter, Credit.replaced_at.is_(None))
            .group_by(Credit.provider_code)
        ).all()
    )
    q = Quarter.parse(quarter)
    end = submission_deadline(q, for_quarter(q))
    out = []
    for code, info in providers().items():
        st = status(session, code, quarter)
        levels = measures.get(code, [])
        counted = accepted_submission(session, code, quarter)
        latest = st.latest
        out.append(
            {
                "code": code,
                "name": info.name,
                "status": st,
                "measures": levels,
                "counted": counted,  # the version that counts: its status and delivery, not the latest's
                "counted_delivered": delivered(counted) if counted else None,
                "latest": latest if latest is not None and (counted is None or latest.id != counted.id) else None,
                "latest_late": latest is not None and delivered(latest) >= end,
                "latest_delivered": delivered(latest) if latest is not None else None,
                "missed": sum(1 for m in levels if m.status == "missed"),
                "met": sum(1 for m in levels if m.status == "met"),
                "credits": credit_totals.get(code),
            }
        )
    return out


def quarter_totals(rows: list[dict]) -> dict:
    """The quarter's totals over the providers' rows of ``quarter_overview``."""
    credits = [r["credits"] for r in rows if r["credits"] is not None]
    return {
        "providers": len(rows),
        "counted": sum(1 for r in rows if r["counted"] is not None),
        "sent": sum(1 for r in rows if r["status"].latest is not None),
        "late": sum(1 for r in rows if r["latest_late"]),
        "met": sum(r["met"] for r in rows),
        "missed": sum(r["missed"] for r in rows),
        "credits": sum(credits) if credits else None,
    }


def service_level_history(session: Session, provider: str) -> dict[str, list[Measure]]:
    """Each service level's figures over the quarters, oldest first (the measures of the counted returns)."""
    series: dict[str, list[Measure]] = {}
    for m in session.scalars(select(Measure).where(Measure.provider_code == provider)):
        series.setdefault(m.measure, []).append(m)
    for rows in series.values():
        rows.sort(key=lambda m: Quarter.parse(m.quarter).ordinal)
    return dict(sorted(series.items()))


def builds(session: Session, quarter: str) -> list[dict]:
    """The quarter's builds, newest first, each with its sign-off (if any); the signed-off one is for the ministry."""
    rows = list(
        session.scalars(
            select(ReturnBuild).where(ReturnBuild.quarter == quarter).order_by(ReturnBuild.build_number.desc())
        )
    )
    signed = {s.build_id: s for s in session.scalars(select(SignOff).where(SignOff.build_id.in_([b.id for b in rows])))}
    latest_signed = next((b.id for b in rows if b.id in signed), None)
    return [
        {"build": b, "sign_off": signed.get(b.id), "latest": i == 0, "for_ministry": b.id == latest_signed}
        for i, b in enumerate(rows)
    ]


@dataclass(frozen=True)
class Decided:
    provider: str
    measure: str
    decision: str
    reason: str
    decided_by: str
    decided_at: dt.datetime


def _current_decisions(session: Session, quarter: str):
    """The latest decision on each current credit of the quarter: what a build made now would carry."""
    latest = (
        select(func.max(CreditDecision.id).label("id"))
        .join(Credit, Credit.id == CreditDecision.credit_id)
        .where(Credit.quarter == quarter, Credit.replaced_at.is_(None))
        .group_by(CreditDecision.credit_id)
    )
    return (
        select(CreditDecision, Credit)
        .join(Credit, Credit.id == CreditDecision.credit_id)
        .where(CreditDecision.id.in_(latest))
        .order_by(Credit.provider_code, Credit.measure)
    )


def _decided(decision: CreditDecision, credit: Credit) -> Decided:
    return Decided(
        credit.provider_code,
        credit.measure,
        decision.decision,
        decision.reason,
        decision.decided_by,
        _utc(decision.decided_at),
    )


def decisions_since(session: Session, build: ReturnBuild) -> list[Decided]:
    """Decisions the build's figures do not carry: made since it was built. Any at all: it is out of date."""
    included = select(ReturnBuildDecision.decision_id).where(ReturnBuildDecision.build_id == build.id)
    rows = session.execute(_current_decisions(session, build.quarter).where(CreditDecision.id.not_in(included)))
    return [_decided(d, c) for d, c in rows]


def decisions_included(session: Session, build: ReturnBuild) -> list[Decided]:
    """The decisions the build's figures carry (the latest on each credit when it was built)."""
    rows = session.execute(
        select(CreditDecision, Credit)
        .join(Credit, Credit.id == CreditDecision.credit_id)
        .join(ReturnBuildDecision, ReturnBuildDecision.decision_id == CreditDecision.id)
        .where(ReturnBuildDecision.build_id == build.id)
        .order_by(Credit.provider_code, Credit.measure)
    )
    return [_decided(d, c) for d, c in rows]


def out_of_date_reason(since: list[Decided]) -> str | None:
    """Why a build cannot be signed off, in words, or None when it carries every decision."""
    if not since:
        return None
    listed = "; ".join(
        f"{d.provider} {d.measure} {d.decision} on {d.decided_at:%d %B %Y at %H:%M} UTC by {d.decided_by}"
        for d in since
    )
    many = len(since) > 1
    return (
        f"This build was made before {'these decisions' if many else 'this decision'} on credits: {listed}. "
        f"Its figures and payments do not include {'them' if many else 'it'}. Rebuild the quarter, then sign "
        "off the new build."
    )


def rebuild_in_progress(session: Session, quarter: str) -> BuildRequest | None:
    return session.scalar(
        select(BuildRequest)
        .where(BuildRequest.quarter == quarter, BuildRequest.status.in_(("received", "building")))
        .order_by(BuildRequest.id.desc())
        .limit(1)
    )


BUILD_FILES = (  # what a build holds that a contract manager may download
    "workbook",
    "service_levels.csv",
    "reoffending.csv",
    "payments.csv",
    "data_quality.csv",
    "integrity.csv",
    "credibility.csv",
    "submissions.csv",
    "data_dictionary.csv",
    "manifest.json",
)


def build_file(build: ReturnBuild, name: str, publication: bool = False, folder: Path | None = None) -> Path | None:
    """A file of a build, by its listed name only (never a path from a request); None if it is not there.

    ``folder``: the build's folder as an absolute path, when its recorded ``output_path`` is relative."""
    folder = Path(folder or build.output_path)
    if publication:
        folder = folder / "publication"
    if name == "workbook":
        found = sorted(folder.glob("ministry_return_*.xlsx"))
        return found[0] if found else None
    if name not in BUILD_FILES:
        return None
    path = folder / name
    return path if path.is_file() else None


def money_history(session: Session, code: str) -> list[dict]:
    """The provider's money and proven reoffending by quarter, newest first, as the ministry return works them out:
    fee, service credits by decision, the outcome payment of a final result, the net payable, and the cohort's
    reoffending (an NPS division has no fee, credits or payments: None)."""
    from decimal import Decimal

    from probation_returns.measures.decisions import current_credits
    from probation_returns.warehouse.models import Credit, ReoffendingResult

    is_crc = providers()[code].is_crc
    cohorts = {
        r.quarter: r for r in session.scalars(select(ReoffendingResult).where(ReoffendingResult.provider_code == code))
    }
    quarters = set(cohorts) | set(session.scalars(select(Credit.quarter).where(Credit.provider_code == code)))
    rows = []
    for q in sorted(quarters, key=Quarter.parse, reverse=True):
        r = cohorts.get(q)
        row = {
            "quarter": q,
            "cohort_size": r.cohort_size if r else None,
            "reoffenders": r.reoffenders if r else None,
            "binary_rate": r.binary_rate if r else None,
            "result": ("final" if r.final else "interim") if r else None,
            "significance": r.significance if r else None,
        }
        if is_crc:
            by = {"applied": Decimal("0.00"), "waived": Decimal("0.00"), "reinvested": Decimal("0.00")}
            for credit in current_credits(session, q, code):
                by[credit.decision] += credit.amount_gbp
            fee = for_quarter(q).providers[code].quarterly_fee_gbp
            paid = (r.binary_payment_gbp + r.frequency_payment_gbp) if r is not None and r.final else None
            row |= {
                "fee": fee,
                "credits": sum(by.values(), Decimal("0.00")),
                **by,
                "outcome_payment": paid,
                "net": fee - by["applied"] + (paid or Decimal("0.00")),
            }
        rows.append(row)
    return rows


def version_changes(engine, provider: str, quarter: str, before: int, after: int):
    """What changed from one version of the provider's return for the quarter to another (``versions.diff``);
    None unless both are its versions."""
    from probation_returns.versions.diff import compare

    return compare(engine, provider, quarter, before, after)


def previous_version(session: Session, provider: str, quarter: str, version: int) -> int | None:
    from probation_returns.versions.diff import previous_version as previous

    return previous(session, provider, quarter, version)


def quarter_versions(session: Session, provider: str, quarter: str) -> list[int]:
    return list(
        session.scalars(
            select(Submission.version)
            .where(Submission.provider_code == provider, Submission.quarter == quarter)
            .order_by(Submission.version)
        )
    )


def counted_changes(session: Session, provider: str, quarter: str | None = None) -> list[dict]:
    """Each quarter (newest first) in which a resubmission changed the counted version: the version that counted
    before and the one that counts now."""
    from probation_returns.versions.diff import counted_pair

    query = select(Submission.quarter).where(Submission.provider_code == provider).distinct()
    if quarter:
        query = query.where(Submission.quarter == quarter)
    out = []
    for q in sorted(session.scalars(query), key=lambda q: Quarter.parse(q).ordinal, reverse=True):
        pair = counted_pair(session, provider, q)
        if pair:
            out.append({"quarter": q, "before": pair[0], "after": pair[1]})
    return out
