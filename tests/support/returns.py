"""A tiny hand-made return (provider C05, a CRC, quarter 2017Q3) that breaks no rule."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from probation_returns.spec import TABLES

CASES = [
    # case_ref, pnc_id, provider, type, sentence, start, rosh, ogrs, age, sex, offence, em,
    # first appt, attended, plan, upw, upw date, escalation, termination, reason
    [
        "A100001",
        "2001/0012345H",
        "C05",
        "CO",
        "2017-06-28",
        "2017-07-03",
        "M",
        "45",
        "30",
        "M",
        "THEFT",
        "N",
        "2017-07-05",
        "Y",
        "2017-07-20",
        "Y",
        "2017-07-06",
        "",
        "",
        "",
    ],
    [
        "A100002",
        "1999/7654321V",
        "C05",
        "LIC",
        "2016-01-10",
        "2017-05-15",
        "H",
        "60",
        "41",
        "F",
        "VIOLENCE",
        "N",
        "2017-05-16",
        "Y",
        "2017-05-30",
        "N",
        "",
        "2017-05-15",
        "2017-08-31",
        "COMPLETED",
    ],
    [
        "A100003",
        "2001/0012346J",
        "C05",
        "SSO",
        "2017-08-01",
        "2017-08-02",
        "L",
        "20",
        "25",
        "U",
        "DRUG",
        "N",
        "2017-08-04",
        "N",
        "",
        "N",
        "",
        "",
        "",
        "",
    ],
]
CONTACTS = [
    ["A100001", "2017-07-05", "F2F", "ATTENDED", ""],
    ["A100001", "2017-08-10", "PHONE", "ATTENDED", ""],
    ["A100002", "2017-07-12", "F2F", "FAILED_TO_ATTEND", "2017-07-13"],
    ["A100002", "2017-08-01", "VIDEO", "ATTENDED", ""],
    ["A100003", "2017-08-04", "F2F", "FAILED_TO_ATTEND", "2017-08-07"],
]
BREACHES = [
    ["BR1", "A100002", "2017-07-12", "2017-07-20", "Y"],
    ["BR2", "A100003", "2017-08-20", "", ""],
]


def clean_tables() -> dict[str, list[list[str]]]:
    return {
        "cases": [list(r) for r in CASES],
        "contacts": [list(r) for r in CONTACTS],
        "breaches": [list(r) for r in BREACHES],
    }


def write_csvs(
    folder: Path, tables: dict[str, list[list[str]]], provider: str = "C05", quarter: str = "2017Q3"
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in tables.items():
        frame = pl.DataFrame(rows, schema=list(TABLES[name]), orient="row")
        path = folder / f"{provider}_{quarter}_{name}.csv"
        frame.write_csv(path)
        paths.append(path)
    return paths


def set_value(tables, table: str, row: int, column: str, value: str) -> None:
    tables[table][row][TABLES[table].index(column)] = value


@contextmanager
def pipeline_env():
    """The test pseudonym key set and no DAGSTER_HOME (runs in a throwaway instance), as they were afterwards."""
    saved = {k: os.environ.get(k) for k in ("RETURNS_PSEUDONYM_KEY", "DAGSTER_HOME")}
    os.environ["RETURNS_PSEUDONYM_KEY"] = "test-key-for-synthetic-data-only"
    os.environ.pop("DAGSTER_HOME", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
