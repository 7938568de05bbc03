"""Great Expectations' own engine is the reference: ours must agree on every expectation.

Hypothesis draws small tables mixing good, bad and blank values; both engines run the same suites
and must give the same success and the same unexpected count for every expectation.
"""

from __future__ import annotations

import datetime as dt
import warnings
from contextlib import contextmanager

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probation_returns.spec import TABLES
from probation_returns.validation.checking import params_for
from probation_returns.validation.engine import compile_expectation, evaluation_frame, expectations, parameters

QUARTER = "2017Q3"
# What Great Expectations itself warns about, heard only inside its calls (_gx); any other warning still shows.
GX_WARNINGS = [
    # GX's file path data connector imports them, when GX is imported
    (DeprecationWarning, "module 'sre_constants' is deprecated"),
    (DeprecationWarning, "module 'sre_parse' is deprecated"),
    # pandas, when GX's regex expectation runs str.contains with the PNC pattern's groups
    (UserWarning, "This pattern is interpreted as a regular expression, and has match groups"),
]
PARAMS = params_for("C05", QUARTER)

VALUES = {
    "case_ref": ["A100001", "A100002", "a100001", "A10000", "", "Z9999999"],
    "pnc_id": ["2001/0012345H", "2001/0012345Z", "01/0012345H", "", "1999/7654321V"],
    "provider_code": ["C05", "C06", ""],
    "sentence_type": ["CO", "SSO", "LIC", "PSS", "XX", ""],
    "rosh_level": ["L", "M", "H", "VH", "X", ""],
    "ogrs3_2yr": ["1", "45", "99", "0", "100", "4.5", "", "abc"],
    "age_at_start": ["18", "110", "17", "111", "30", ""],
    "sex": ["M", "F", "U", "Male", ""],
    "index_offence_group": ["THEFT", "DRUG", "BURGLARY", ""],
    "em_only": ["Y", "N", "y", ""],
    "first_appointment_attended": ["Y", "N", "Yes", ""],
    "upw_required": ["Y", "N", "X", ""],
    "termination_reason": ["COMPLETED", "DIED", "FINISHED", ""],
    "contact_type": ["F2F", "VIDEO", "PHONE", "TEXT", ""],
    "outcome": ["ATTENDED", "FAILED_TO_ATTEND", "ACCEPTABLE_ABSENCE", "DNA", ""],
    "breach_ref": ["BR1", "BR2", "BR3", ""],
    "pack_complete": ["Y", "N", "maybe", ""],
}
DATES = [
    "2017-06-28",
    "2017-07-03",
    "2017-07-01",
    "2017-09-30",
    "2017-10-01",
    "2017-02-30",
    "31/09/2017",
    "2011-01-01",
    "2017-7-5",
    "",
    "2016-12-31",
    "2017-08-15",
]


def _column(name: str):
    pool = DATES if name.endswith("_date") else VALUES.get(name, ["A100001", "A100002", "B1", ""])
    return st.sampled_from(pool)


def _table(name: str):
    row = st.fixed_dictionaries({c: _column(c) for c in TABLES[name]})
    return st.lists(row, min_size=1, max_size=40)


@contextmanager
def _gx():
    """Great Expectations' known warnings silenced for the calls within, and only those."""
    with warnings.catch_warnings():
        for category, message in GX_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


@pytest.fixture(scope="module")
def gx_validate():
    with _gx():
        import great_expectations as gx
        from great_expectations.expectations.registry import get_expectation_impl

        context = gx.get_context(mode="ephemeral")
        batch_definition = (
            context.data_sources.add_pandas("frames")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
        suites = {}
        for table in TABLES:
            suite = gx.ExpectationSuite(name=f"parity_{table}")
            for exp in expectations(table):
                suite.add_expectation(get_expectation_impl(exp.type)(**exp.kwargs, meta=exp.meta))
            suites[table] = context.suites.add(suite)
    values = parameters(PARAMS)
    gx_values = {k: (pd.Timestamp(v) if isinstance(v, dt.date) else v) for k, v in values.items()}

    def run(table: str, frame: pd.DataFrame):
        with _gx():
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(suites[table], expectation_parameters=gx_values, result_format="SUMMARY")

    return run


def _frames(table: str, rows: list[dict]) -> tuple[pl.DataFrame, pd.DataFrame]:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(TABLES[table], pl.String)).with_columns(
        pl.col(c).replace("", None) for c in TABLES[table]
    )
    evaluated = evaluation_frame(table, frame, {table: frame})
    pandas = pd.DataFrame(
        {
            c: pd.to_datetime(pd.Series(evaluated[c].to_list(), dtype="object"))
            if c.endswith("__date")
            else pd.Series(evaluated[c].to_list(), dtype="object")
            for c in evaluated.columns
        }
    )
    return evaluated, pandas


@pytest.mark.parametrize("table", list(TABLES))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_polars_engine_agrees_with_great_expectations(gx_validate, table, data):
    rows = data.draw(_table(table))
    evaluated, pandas = _frames(table, rows)
    reference = gx_validate(table, pandas).results
    values = parameters(PARAMS)
    ours = evaluated.select(compile_expectation(e, values).alias(f"x{i}") for i, e in enumerate(expectations(table)))
    assert len(reference) == len(expectations(table))
    for i, exp in enumerate(expectations(table)):
        match = [
            r for r in reference if r.expectation_config.meta == exp.meta and r.expectation_config.type == exp.type
        ]
        assert match, exp
        gx_result = match[0]
        unexpected = int(ours[f"x{i}"].sum())
        assert not gx_result.exception_info.get("raised_exception"), gx_result.exception_info
        assert gx_result.result.get("unexpected_count", 0) == unexpected, (exp.type, exp.kwargs, rows)
        assert gx_result.success == (unexpected == 0), (exp.type, exp.kwargs)


def test_our_results_render_as_gx_data_docs(gx_validate, tmp_path):
    import json

    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    from probation_returns.validation.checking import validate_files
    from probation_returns.validation.feedback import feedback_content
    from reports.feedback import write_feedback
    from tests.support.returns import clean_tables, set_value, write_csvs

    tables = clean_tables()
    set_value(tables, "cases", 0, "rosh_level", "X")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3", tolerance=0.5)
    paths = write_feedback(feedback_content(result), tmp_path / "out")
    document = json.loads(paths["validation_result.json"].read_text())
    with _gx():
        loaded = ExpectationSuiteValidationResultSchema().load(document)
        page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(loaded))
    assert loaded.statistics["unsuccessful_expectations"] == 1
    assert "expect_column_values_to_be_in_set" in page or "values must belong to this set" in page
