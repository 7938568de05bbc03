"""The submission deadline: only a return delivered by the end of the 20th business day after
quarter end counts; later versions are kept but do not change the quarter's figures."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import delivery_time, generate
from probation_returns.ingest import discover, receive
from probation_returns.measures.quarter import accepted_submission, submission_deadline
from probation_returns.parameters import for_quarter
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Submission

UTC = dt.UTC
Q = Quarter.parse("2017Q3")


def test_the_deadline_is_the_end_of_the_20th_business_day_in_london():
    # 30 Sep 2017 is a Saturday, so counting starts from Friday 29 Sep; October 2017 has no bank
    # holiday: the 20th business day is Friday 27 Oct. London is on BST until 29 Oct, so the day
    # ends at 23:00 UTC.
    deadline = submission_deadline(Q, for_quarter(Q))
    assert deadline.astimezone(UTC) == dt.datetime(2017, 10, 27, 23, 0, tzinfo=UTC)
    # 2017Q4 ends on Sunday 31 Dec; 1 Jan 2018 is a bank holiday; the 20th business day is Mon 29 Jan (GMT).
    q4 = Quarter.parse("2017Q4")
    assert submission_deadline(q4, for_quarter(q4)).astimezone(UTC) == dt.datetime(2018, 1, 30, 0, 0, tzinfo=UTC)


def _submit(session, version: int, delivered: dt.datetime, outcome: str | None) -> Submission:
    s = Submission(
        provider_code="C05",
        quarter=str(Q),
        version=version,
        sha256=f"{version:064d}",
        file_names=["C05_2017Q3.xlsx"],
        status="validated",
        outcome=outcome,
        delivered_at=delivered,
    )
    session.add(s)
    session.flush()
    return s


@pytest.mark.parametrize(
    "versions, counts",
    [
        # (delivered, outcome) per version -> which version counts (None: no valid return)
        ([(dt.datetime(2017, 10, 27, 22, 59, tzinfo=UTC), "Accepted")], 1),
        ([(dt.datetime(2017, 10, 27, 23, 0, tzinfo=UTC), "Accepted")], None),  # 00:00 BST on the 28th: late
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Accepted"),
                (dt.datetime(2017, 10, 30, 9, 0, tzinfo=UTC), "Accepted"),
            ],
            1,
        ),  # the late resubmission is ignored
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Accepted"),
                (dt.datetime(2017, 10, 12, 9, 0, tzinfo=UTC), "Rejected"),
            ],
            1,
        ),  # the last good return keeps counting
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Accepted"),
                (dt.datetime(2017, 10, 11, 9, 0, tzinfo=UTC), "Accepted with record rejections"),
                (dt.datetime(2017, 10, 12, 9, 0, tzinfo=UTC), "Rejected"),
            ],
            2,
        ),
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Rejected"),
                (dt.datetime(2017, 10, 12, 9, 0, tzinfo=UTC), "Accepted with warnings"),
            ],
            2,
        ),
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Rejected"),
                (dt.datetime(2017, 10, 12, 9, 0, tzinfo=UTC), "Rejected"),
            ],
            None,
        ),
        (
            [
                (dt.datetime(2017, 10, 10, 9, 0, tzinfo=UTC), "Accepted"),
                (dt.datetime(2017, 10, 12, 9, 0, tzinfo=UTC), None),
            ],
            1,
        ),  # still being checked: the good one counts
    ],
)
def test_the_return_that_counts_is_the_last_good_one_delivered_by_the_deadline(engine, versions, counts):
    with session_scope(engine) as session:
        for i, (delivered, outcome) in enumerate(versions, start=1):
            _submit(session, i, delivered, outcome)
    with session_scope(engine) as session:
        found = accepted_submission(session, "C05", str(Q))
        assert (found.version if found else None) == counts


def test_delivery_time_is_the_files_time_stamp_and_never_in_the_future(tmp_path, engine):
    generate(tmp_path / "landing", [Q], ["C01"], scale=0.02)
    landed = discover(tmp_path / "landing")[0]
    assert landed.delivered_at.timestamp() == delivery_time(7, "C01", Q)
    assert landed.delivered_at < submission_deadline(Q, for_quarter(Q))
    future = dt.datetime.now(UTC) + dt.timedelta(days=30)
    os.utime(landed.files[0].path, (future.timestamp(), future.timestamp()))
    landed = discover(tmp_path / "landing")[0]
    with session_scope(engine) as session:
        receipt = receive(session, landed, tmp_path / "archive")
        stored = session.get(Submission, receipt.submission_id)
        when = stored.delivered_at if stored.delivered_at.tzinfo else stored.delivered_at.replace(tzinfo=UTC)
        assert when <= dt.datetime.now(UTC)


def test_generated_returns_arrive_before_the_deadline():
    for q in (Quarter.parse("2015Q1"), Q, Quarter.parse("2020Q4")):
        deadline = submission_deadline(q, for_quarter(q)).timestamp()
        assert all(delivery_time(7, code, q) < deadline for code in ("C01", "C14", "N07"))


@pytest.mark.slow
def test_a_new_extract_rebuilds_the_cohorts_results_from_interim_to_final(tmp_path):
    import polars as pl

    from orchestration.runner.quarter import run_quarter
    from probation_returns.warehouse.db import engine_for, upgrade

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    generate(tmp_path / "early", [Q], ["C05"], scale=0.05, extract_date=dt.date(2018, 12, 31))
    generate(tmp_path / "late", [Q], ["C05"], scale=0.05, extract_date=dt.date(2019, 3, 31))
    common = dict(
        landing=tmp_path / "early",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        quarter_subfolders=False,
    )
    run_quarter(Q, ["C05"], extract=tmp_path / "early" / "reoffending_2018-12-31.csv", **common)
    early = (
        pl.read_csv(tmp_path / "out" / "reoffending.csv", infer_schema=False)
        .filter(pl.col("provider_code") == "C05")
        .row(0, named=True)
    )  # every provider has a row; C05 alone sent a return
    # 2017Q3 ends 30 Sep 2017: final from 31 Mar 2019 (18 months on), interim before.
    assert (early["result"], early["extract_as_of"], early["outcome_payment_gbp"]) == ("interim", "2018-12-31", "0.00")
    run_quarter(Q, ["C05"], extract=tmp_path / "late" / "reoffending_2019-03-31.csv", **common)
    late = (
        pl.read_csv(tmp_path / "out" / "reoffending.csv", infer_schema=False)
        .filter(pl.col("provider_code") == "C05")
        .row(0, named=True)
    )
    assert (late["result"], late["extract_as_of"]) == ("final", "2019-03-31")
    assert int(late["reoffences"]) >= int(early["reoffences"])  # a longer follow-up finds no fewer
    with session_scope(engine_for(db)) as session:
        from sqlalchemy import func, select

        from probation_returns.warehouse.models import ReoffendingExtract, ReoffendingResult

        assert session.scalar(select(func.count()).select_from(ReoffendingExtract)) == 2  # both kept
        assert session.scalar(select(func.count()).select_from(ReoffendingResult)) == 1  # results replaced
