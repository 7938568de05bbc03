"""A quarter's integrity inputs from the warehouse: each provider's accepted records for the quarter and its
previous four quarters, from the return that counts for each (``measures.quarter.accepted_submission``), read
as the measures read them; the accepted version before the counted one, where there is one (``late_flip``);
and the stored proven reoffending results of the quarter's and the previous four quarters' cohorts
(``binary_vs_frequency``)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter
from probation_returns.integrity.model import HISTORY_QUARTERS, QuarterData, Reoffending, Versions
from probation_returns.measures.quarter import accepted_submission, accepted_tables
from probation_returns.warehouse.db import read_scope
from probation_returns.warehouse.models import ReoffendingResult, Submission

COLUMNS = (
    "case_ref",
    "pnc_hash",  # the reoffending cohort counts people once (binary_vs_frequency's case list); never shown
    "em_only",
    "sentence_type",
    "start_date",
    "rosh_level",
    "ogrs3_2yr",
    "first_appointment_date",
    "first_appointment_attended",
    "sentence_plan_date",
    "upw_required",
    "upw_arranged_date",
    "termination_date",
    "termination_reason",
    "contact_date",
    "contact_type",
    "awareness_date",
    "referral_date",
)


def quarter_data(
    engine: Engine, quarter: Quarter, codes: list[str], history_for: list[str] | None = None
) -> QuarterData:
    """Every provider's quarter (its peers' yardstick), and the history of ``history_for`` (default: all)."""
    wanted = [quarter - k for k in range(HISTORY_QUARTERS, -1, -1)]
    historied = set(codes if history_for is None else history_for)
    with read_scope(engine) as session:
        counted = {
            (code, q): s.id
            for code in codes
            for q in (wanted if code in historied else [quarter])
            if (s := accepted_submission(session, code, str(q))) is not None
        }
        pairs = {
            code: pair
            for code in codes
            if (code, quarter) in counted and (pair := earlier_version(session, counted[(code, quarter)])) is not None
        }
        # every provider's cohort this quarter (the yardstick when history is short), and the historied ones' past
        results = reoffending_results(session, [str(quarter)], codes)
        results += reoffending_results(session, [str(q) for q in wanted[:-1]], sorted(historied))
    tables = {key: accepted_tables(engine, sid, columns=COLUMNS) for key, sid in counted.items()}
    current = {code: tables[(code, quarter)] for code in codes if (code, quarter) in tables}
    history = {code: {q: tables[(code, q)] for q in wanted[:-1] if (code, q) in tables} for code in codes}
    versions = {
        code: Versions(earlier, later, accepted_tables(engine, earlier_id), accepted_tables(engine, later_id))
        for code, (earlier_id, earlier, later_id, later) in pairs.items()
    }
    reoffending: dict[str, dict[Quarter, Reoffending]] = {}
    for code, q, result in results:
        reoffending.setdefault(code, {})[Quarter.parse(q)] = result
    return QuarterData(quarter, current, history, versions, reoffending)


def earlier_version(session: Session, counted_id: int) -> tuple[int, int, int, int] | None:
    """The accepted version received before the counted one (the latest such): its id and number, and the
    counted one's; None when the counted return is the provider's first accepted version of the quarter."""
    counted = session.get(Submission, counted_id)
    earlier = session.scalar(
        select(Submission)
        .where(
            Submission.provider_code == counted.provider_code,
            Submission.quarter == counted.quarter,
            Submission.version < counted.version,
            Submission.outcome.is_not(None),
            Submission.outcome != "Rejected",
        )
        .order_by(Submission.version.desc())
        .limit(1)
    )
    return (earlier.id, earlier.version, counted.id, counted.version) if earlier is not None else None


def reoffending_results(session: Session, quarters: list[str], codes: list[str]) -> list[tuple[str, str, Reoffending]]:
    """The stored proven reoffending results (provider, cohort quarter, counts) of ``codes`` for ``quarters``."""
    rows = session.execute(
        select(
            ReoffendingResult.provider_code,
            ReoffendingResult.quarter,
            ReoffendingResult.cohort_size,
            ReoffendingResult.reoffenders,
            ReoffendingResult.reoffences,
            ReoffendingResult.final,
        ).where(ReoffendingResult.quarter.in_(quarters), ReoffendingResult.provider_code.in_(codes))
    )
    return [(code, q, Reoffending(int(n), int(r), int(o), bool(final))) for code, q, n, r, o, final in rows]
