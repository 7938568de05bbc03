"""Proven reoffending: cohorts, the follow-up and waiting period, final versus interim, the extract's rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from probation_returns.calendar import Quarter
from probation_returns.measures.reoffending_extract import ExtractError, as_of_date, load
from probation_returns.reoffending import cohort, proven_reoffences, rates

Q = Quarter.parse("2016Q3")
D = dt.date


def _cases(rows):
    return pl.DataFrame(
        rows,
        schema={
            "case_ref": pl.String,
            "pnc_id": pl.String,
            "sentence_type": pl.String,
            "em_only": pl.String,
            "start_date": pl.Date,
            "ogrs3_2yr": pl.Int64,
        },
        orient="row",
    )


def test_cohort_takes_each_person_once_at_their_earliest_start():
    cases = _cases(
        [
            ("A3", "P1", "CO", "N", D(2016, 8, 1), 40),
            ("A1", "P1", "SSO", "N", D(2016, 7, 15), 40),  # P1's earliest start: the index date
            ("A2", "P2", "LIC", "N", D(2016, 7, 20), 30),
            ("A0", "P2", "CO", "N", D(2016, 7, 20), 30),  # same day: the lower case_ref wins
            ("A4", "P3", "PSS", "N", D(2016, 7, 1), 50),  # PSS is not in cohorts
            ("A5", "P4", "CO", "Y", D(2016, 7, 1), 50),  # EM-only orders are excluded
            ("A6", "P5", "CO", "N", D(2016, 6, 30), 50),  # started the quarter before
        ]
    )
    people = cohort(cases, Q)
    assert people.sort("pnc_id").select("pnc_id", "case_ref", "index_date").rows() == [
        ("P1", "A1", D(2016, 7, 15)),
        ("P2", "A0", D(2016, 7, 20)),
    ]


def test_follow_up_waiting_period_and_breach_offences():
    people = pl.DataFrame({"pnc_id": ["P1"], "index_date": [D(2016, 7, 15)]})
    extract = pl.DataFrame(
        {
            "pnc_id": ["P1"] * 6,
            "offence_date": [
                D(2016, 7, 14),
                D(2016, 7, 15),
                D(2017, 7, 14),
                D(2017, 7, 15),
                D(2017, 1, 1),
                D(2016, 9, 1),
            ],
            "disposal_date": [
                D(2016, 8, 1),
                D(2016, 9, 1),
                D(2018, 1, 14),
                D(2017, 9, 1),
                D(2018, 1, 15),
                D(2016, 10, 1),
            ],
            "offence_group": ["THEFT", "THEFT", "DRUG", "THEFT", "FRAUD", "BREACH"],
        }
    )
    # Counted: on the index date (2nd); the day before index + 12 months, disposed the day before
    # index + 18 months (3rd). Not counted: before the index date (1st); on index + 12 months (4th);
    # disposed on index + 18 months (5th); a breach (6th).
    counted = proven_reoffences(people, extract, D(2019, 1, 1))
    assert counted["reoffences"].to_list() == [2]
    # An interim extract (as of 1 Dec 2017) has not seen the 14 Jan 2018 disposal yet.
    assert proven_reoffences(people, extract, D(2017, 12, 1))["reoffences"].to_list() == [1]


def test_results_are_final_18_months_after_the_quarter():
    people = pl.DataFrame({"pnc_id": ["P1", "P2"], "index_date": [D(2016, 7, 15), D(2016, 8, 1)]})
    extract = pl.DataFrame(
        {
            "pnc_id": ["P1"],
            "offence_date": [D(2016, 9, 1)],
            "disposal_date": [D(2016, 10, 1)],
            "offence_group": ["THEFT"],
        }
    )
    # 2016Q3 ends 30 Sep 2016: final from 30 Mar 2018.
    assert rates(people, extract, D(2018, 3, 30), Q)["final"] is True
    interim = rates(people, extract, D(2018, 3, 29), Q)
    assert interim["final"] is False and interim["binary"] == 0.5 and interim["frequency"] == 1.0


def test_the_extract_is_checked_and_pseudonymised(tmp_path):
    path = tmp_path / "reoffending_2018-06-30.csv"
    path.write_text(
        "pnc_id,offence_date,disposal_date,disposal_type,offence_group\n"
        "2001/0012345H,2017-01-01,2017-02-01,CONVICTION,THEFT\n"
        "2001/0012345Z,2017-01-01,2017-02-01,CONVICTION,THEFT\n"  # REO-001 check letter
        "2001/0012345H,2017-02-30,2017-03-01,CONVICTION,THEFT\n"  # REO-002
        "2001/0012345H,2017-03-01,2017-02-01,CONVICTION,THEFT\n"  # REO-003
        "2001/0012345H,2018-06-01,2018-07-01,CONVICTION,THEFT\n"  # REO-004 after the as-of date
        "2001/0012345H,2017-01-01,2017-02-01,FINE,THEFT\n"
    )  # REO-005
    extract = load(path)
    assert extract.as_of == D(2018, 6, 30) and extract.total_rows == 6 and extract.rows.height == 1
    assert extract.findings.select("row_number", "rule_id").rows() == [
        (3, "REO-001"),
        (4, "REO-002"),
        (5, "REO-003"),
        (6, "REO-004"),
        (7, "REO-005"),
    ]
    assert "pnc_id" not in extract.rows.columns and len(extract.rows["pnc_hash"][0]) == 64
    assert extract.findings.filter(pl.col("rule_id") == "REO-001")["value"][0] == "****345Z"


def test_a_badly_named_extract_is_refused():
    with pytest.raises(ExtractError, match="reoffending_YYYY-MM-DD.csv"):
        as_of_date(Path("pnc_extract.csv"))
    with pytest.raises(ExtractError, match="not a real date"):
        as_of_date(Path("reoffending_2018-02-30.csv"))
