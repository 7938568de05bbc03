"""The conversation about a return before it is final: a provider's queries on the warnings and errors of a
version (or on an integrity signal), the contract manager's decision on each, tolerances, and the sign-off by
the provider's accountable officer. Every step is in the audit log; what a person wrote is kept in the
thread (``query_messages``), never copied into the audit log.

What a tolerance changes (docs/portal.md, "Queries, tolerances and sign-off"): at once, whether the rule's
findings are unresolved in every version of the quarter; at the next validation of the provider's quarter,
whether its records count toward rejecting the return. A version already validated keeps its outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from probation_returns import audit, clock
from probation_returns.measures.quarter import accepted_submission
from probation_returns.reference import providers
from probation_returns.spec import RULES_BY_ID
from probation_returns.validation.tolerance import Allowance, granted, records_of
from probation_returns.warehouse.models import (
    Finding,
    ProviderSignOff,
    Query,
    QueryMessage,
    Submission,
    Tolerance,
    ValidationRun,
)

STATES = {"open": "Open", "accepted": "Accepted", "rejected": "Rejected"}
MAX_WORDS = 2000  # characters of an explanation or a reason
MAX_ROWS = 200  # rows a query may name
DECLARATION = "an accurate account of the provider's work"


class ConversationError(ValueError):
    """What was asked cannot be done, in words for the person who asked."""


@dataclass(frozen=True)
class RuleState:
    """A warning or error rule found in a version, and where its conversation stands."""

    rule_id: str
    severity: str
    summary: str
    records: int
    tolerance: str | None  # "up to 3 records", when one was granted
    within_tolerance: bool
    queries: list[tuple[int, str]] = field(default_factory=list)  # (query id, state)

    @property
    def state(self) -> str:
        """resolved (within a tolerance, or a query on it accepted), answered (a query open), or unresolved."""
        if self.within_tolerance or any(s == "accepted" for _, s in self.queries):
            return "resolved"
        if any(s == "open" for _, s in self.queries):
            return "answered"
        return "unresolved"


@dataclass(frozen=True)
class Thread:
    query: Query
    messages: list[QueryMessage]
    summary: str


def _findings(session: Session, submission_id: int) -> pl.DataFrame:
    rows = session.execute(
        select(Finding.table_name, Finding.row_number, Finding.rule_id, Finding.severity)
        .join(ValidationRun, ValidationRun.id == Finding.validation_run_id)
        .where(ValidationRun.submission_id == submission_id)
    ).all()
    return pl.DataFrame(
        rows,
        schema={"table": pl.String, "row_number": pl.Int64, "rule_id": pl.String, "severity": pl.String},
        orient="row",
    )


def rule_states(session: Session, submission: Submission) -> list[RuleState]:
    """Each warning and error rule found in the version (fatal ones cannot be queried: the return cannot be
    used), with its records, its tolerance and the queries on it."""
    found = _findings(session, submission.id).filter(pl.col("severity").is_in(["W", "E"]))
    allowances = granted(session, submission.provider_code, submission.quarter)
    run = session.scalar(select(ValidationRun).where(ValidationRun.submission_id == submission.id))
    tables = (run.table_counts if run else None) or {}
    asked: dict[str, list[tuple[int, str]]] = {}
    for q in session.scalars(select(Query).where(Query.submission_id == submission.id).order_by(Query.id)):
        asked.setdefault(q.subject, []).append((q.id, q.state))
    out = []
    for (rule_id, severity), _ in found.group_by(["rule_id", "severity"], maintain_order=True):
        if rule_id not in RULES_BY_ID:
            continue  # the cascade: answered through the case's own rule
        records = records_of(found, rule_id)
        allowance = allowances.get(rule_id)
        rows = (tables.get(RULES_BY_ID[rule_id].table) or {}).get("rows")
        out.append(
            RuleState(
                rule_id,
                severity,
                RULES_BY_ID[rule_id].summary,
                records,
                allowance.words() if allowance else None,
                bool(allowance and allowance.covers(records, rows)),
                asked.get(rule_id, []),
            )
        )
    return sorted(out, key=lambda r: r.rule_id)


def unresolved(session: Session, submission: Submission) -> int:
    """The warning and error rules of the version that are neither within a tolerance nor answered and accepted."""
    return sum(1 for r in rule_states(session, submission) if r.state != "resolved")


def raise_query(
    session: Session, submission: Submission, rule_id: str, words: str, by: str, rows: list[int] | None = None
) -> Query:
    """A provider's answer to a rule found in the version: its explanation, optionally naming some of its rows."""
    words = (words or "").strip()
    if not words:
        raise ConversationError("Enter your explanation")
    if len(words) > MAX_WORDS:
        raise ConversationError(f"Your explanation must be {MAX_WORDS:,} characters or fewer")
    found = _findings(session, submission.id).filter(
        (pl.col("rule_id") == rule_id) & pl.col("severity").is_in(["W", "E"])
    )
    if rule_id not in RULES_BY_ID or found.height == 0:
        raise ConversationError("Choose a warning or an error found in this version")
    if rows:
        rows = sorted(set(rows))
        if len(rows) > MAX_ROWS:
            raise ConversationError(f"Name {MAX_ROWS} rows or fewer, or none for the rule as a whole")
        known = set(found["row_number"].drop_nulls().to_list())
        if not set(rows) <= known:
            raise ConversationError(f"Name only rows that {rule_id} found (for example {min(known, default=1)})")
    query = Query(
        provider_code=submission.provider_code,
        quarter=submission.quarter,
        submission_id=submission.id,
        subject=rule_id,
        rows=rows or None,
        state="open",
        raised_by=by,
    )
    session.add(query)
    session.flush()
    session.add(QueryMessage(query_id=query.id, written_by=by, step="raised", words=words))
    audit.record(
        session,
        by,
        "query_raised",
        provider=submission.provider_code,
        quarter=submission.quarter,
        target=f"query {query.id}",
        rule=rule_id,
        version=submission.version,
        rows=len(rows or []),
    )
    return query


def decide_query(session: Session, query_id: int, accept: bool, reason: str, by: str) -> None:
    """The contract manager's decision on an open query, with the reason. Once: a decided query stays decided."""
    reason = (reason or "").strip()
    if not reason:
        raise ConversationError("Enter the reason for your decision")
    if len(reason) > MAX_WORDS:
        raise ConversationError(f"The reason must be {MAX_WORDS:,} characters or fewer")
    state = "accepted" if accept else "rejected"
    changed = session.execute(  # the state changes only from open, so two managers cannot both decide it
        update(Query)
        .where(Query.id == query_id, Query.state == "open")
        .values(state=state, decided_by=by, decided_at=clock.now())
    ).rowcount
    if not changed:
        raise ConversationError("This query has already been decided")
    query = session.get(Query, query_id)
    session.add(QueryMessage(query_id=query_id, written_by=by, step=state, words=reason))
    audit.record(
        session,
        by,
        f"query_{state}",
        provider=query.provider_code,
        quarter=query.quarter,
        target=f"query {query_id}",
        rule=query.subject,
    )


def thread(session: Session, query_id: int) -> Thread | None:
    query = session.get(Query, query_id)
    if query is None:
        return None
    messages = list(
        session.scalars(select(QueryMessage).where(QueryMessage.query_id == query_id).order_by(QueryMessage.id))
    )
    rule = RULES_BY_ID.get(query.subject)
    return Thread(query, messages, rule.summary if rule else query.subject)


def queries(session: Session, provider: str | None, quarter: str) -> list[Query]:
    """The quarter's queries (one provider's, or every provider's), the open ones first."""
    q = select(Query).where(Query.quarter == quarter)
    if provider:
        q = q.where(Query.provider_code == provider)
    return sorted(session.scalars(q), key=lambda r: (r.state != "open", r.provider_code, r.id))


def open_queries(session: Session, quarter: str) -> dict[str, int]:
    """Open queries by provider for the quarter (every version's)."""
    return dict(
        session.execute(
            select(Query.provider_code, func.count())
            .where(Query.quarter == quarter, Query.state == "open")
            .group_by(Query.provider_code)
        ).all()
    )


def parse_limit(records: str | None, percent: str | None) -> tuple[int | None, Decimal | None]:
    """A tolerance's limit as typed: a whole number of records, or a percentage of the table's records."""
    records, percent = (records or "").strip(), (percent or "").strip().rstrip("%").strip()
    if bool(records) == bool(percent):
        raise ConversationError("Enter either a number of records or a percentage of records, not both")
    if records:
        if not records.isdigit() or int(records) < 1:
            raise ConversationError("The number of records must be a whole number, 1 or more")
        return int(records), None
    try:
        share = Decimal(percent) / 100
    except InvalidOperation:
        raise ConversationError("The percentage must be a number, like 2.5") from None
    if not Decimal(0) < share <= 1 or share != share.quantize(Decimal("0.000001")):
        raise ConversationError("The percentage must be more than 0 and at most 100, with up to 4 decimal places")
    return None, share


def grant_tolerance(
    session: Session,
    provider: str,
    quarter: str,
    rule_id: str,
    reason: str,
    by: str,
    *,
    max_records: int | None = None,
    max_share: Decimal | None = None,
    query_id: int | None = None,
) -> Tolerance:
    """Rule X accepted for provider P in quarter Q up to N records (or a share). One per rule: the database
    refuses a second."""
    rule = RULES_BY_ID.get(rule_id)
    if rule is None or rule.severity not in ("W", "E"):
        raise ConversationError("A tolerance is for a warning or an error rule (a fatal rule has none)")
    if provider not in providers():
        raise ConversationError("No such provider")
    reason = (reason or "").strip()
    if not reason:
        raise ConversationError("Enter the reason for the tolerance")
    if len(reason) > MAX_WORDS:
        raise ConversationError(f"The reason must be {MAX_WORDS:,} characters or fewer")
    tolerance = Tolerance(
        provider_code=provider,
        quarter=quarter,
        rule_id=rule_id,
        max_records=max_records,
        max_share=max_share,
        reason=reason,
        query_id=query_id,
        granted_by=by,
    )
    session.add(tolerance)
    try:
        session.flush()
    except IntegrityError:  # the transaction is rolled back by the caller's scope
        raise ConversationError(f"{provider} already has a tolerance for {rule_id} in {quarter}") from None
    audit.record(
        session,
        by,
        "tolerance_granted",
        provider=provider,
        quarter=quarter,
        target=f"tolerance {tolerance.id}",
        rule=rule_id,
        limit=Allowance(rule_id, max_records, max_share).words(),
        **({"query": query_id} if query_id else {}),
    )
    return tolerance


def tolerances(session: Session, quarter: str, provider: str | None = None) -> list[Tolerance]:
    q = select(Tolerance).where(Tolerance.quarter == quarter)
    if provider:
        q = q.where(Tolerance.provider_code == provider)
    return list(session.scalars(q.order_by(Tolerance.provider_code, Tolerance.rule_id)))


@dataclass(frozen=True)
class Declaration:
    """Where a provider's quarter stands for its accountable officer's sign-off."""

    provider: str
    quarter: str
    counted: Submission | None  # the version that counts
    open_queries: int
    signed: ProviderSignOff | None  # the sign-off of the version that counts

    @property
    def may_sign(self) -> bool:
        return self.counted is not None and self.signed is None and self.open_queries == 0

    @property
    def refusal(self) -> str | None:
        """Why it cannot be signed off now, in words for the officer; None when it can."""
        if self.counted is None:
            return "There is no accepted return for this quarter to sign off yet."
        if self.signed is not None:
            return f"Version {self.counted.version} was signed off already."
        if self.open_queries:
            n = self.open_queries
            return (
                f"You cannot sign off while {n} {'query is' if n == 1 else 'queries are'} open: the contract "
                "manager must accept or reject every query on the quarter's return first."
            )
        return None


def declaration(session: Session, provider: str, quarter: str) -> Declaration:
    counted = accepted_submission(session, provider, quarter)
    signed = (
        session.scalar(
            select(ProviderSignOff).where(
                ProviderSignOff.provider_code == provider,
                ProviderSignOff.quarter == quarter,
                ProviderSignOff.version == counted.version,
            )
        )
        if counted
        else None
    )
    return Declaration(provider, quarter, counted, open_queries(session, quarter).get(provider, 0), signed)


def declarations(session: Session, quarter: str) -> dict[str, Declaration]:
    """Every provider's declaration for the quarter (for the contract manager's build page and the ministry
    return's Submissions sheet)."""
    return {code: declaration(session, code, quarter) for code in providers()}


def sign_off_return(session: Session, provider: str, quarter: str, by: str) -> ProviderSignOff:
    """The accountable officer declares the version that counts an accurate account of the provider's work:
    refused while any query on the quarter is open. The database keeps one per provider, quarter and version."""
    state = declaration(session, provider, quarter)
    if state.refusal:
        raise ConversationError(state.refusal)
    signed = ProviderSignOff(
        provider_code=provider,
        quarter=quarter,
        version=state.counted.version,
        submission_id=state.counted.id,
        signed_by=by,
    )
    session.add(signed)
    try:
        session.flush()
    except IntegrityError:  # someone signed it a moment ago
        raise ConversationError(f"Version {state.counted.version} was signed off already.") from None
    audit.record(
        session,
        by,
        "return_signed_off",
        provider=provider,
        quarter=quarter,
        target=f"{provider} {quarter} version {state.counted.version}",
        declaration=DECLARATION,
    )
    return signed


def signed_on(signed: ProviderSignOff | None) -> str:
    """The sign-off's date, as the Submissions sheet writes it (UK time is not needed: a date in UTC)."""
    if signed is None:
        return ""
    moment = signed.signed_at if signed.signed_at.tzinfo else signed.signed_at.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).date().isoformat()


DEMO_BY = "contract.manager@demo.invalid"


def demo_conversation(session: Session, quarter: str, prefer: str = "C14") -> list[str]:
    """For the demo: one open query and one tolerance, on the preferred provider's version that counts when it has
    a warning or an error (else the first provider's that has), so a newcomer sees both. Safe to repeat: nothing
    is added when the quarter has a query or a tolerance already. Says what is in place."""
    if session.scalar(select(Query.id).where(Query.quarter == quarter)) is None and not tolerances(session, quarter):
        for code in sorted(providers(), key=lambda c: c != prefer):
            counted = accepted_submission(session, code, quarter)
            found = rule_states(session, counted) if counted else []
            if found:
                first, last = found[0], found[-1]
                raise_query(
                    session,
                    counted,
                    first.rule_id,
                    "These records are right as they are: our case system records this differently (the demo's "
                    "example of an answer to a finding).",
                    f"{code.lower()}.clerk@demo.invalid",
                )
                grant_tolerance(
                    session,
                    code,
                    quarter,
                    last.rule_id,
                    "The demo's example: a known gap in the provider's case system, agreed for this quarter.",
                    DEMO_BY,
                    max_records=last.records,
                )
                break
    said = [
        f"open query {q.id}: {q.provider_code} on {q.subject}"
        for q in queries(session, None, quarter)
        if q.state == "open"
    ]
    said += [
        f"tolerance: {t.provider_code} {t.rule_id} {Allowance(t.rule_id, t.max_records, t.max_share).words()}"
        for t in tolerances(session, quarter)
    ]
    return said
