"""Hostile files are normal input: each ends in a clear finding with a rule id, never a traceback."""

from __future__ import annotations

import io
import re
import zipfile

import polars as pl
import pytest
from openpyxl import Workbook

from probation_returns.spec import TABLES
from probation_returns.validation import reader
from probation_returns.validation.checking import validate_files
from tests.support.returns import clean_tables, set_value, write_csvs


def _rules(result) -> list[str]:
    return result.findings["rule_id"].to_list()


def _workbook(path, tables, *, date_cells=True, extra_sheet=False):
    import datetime as dt

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(TABLES[name]))
        for row in rows:
            values = []
            for col, v in zip(TABLES[name], row):
                if date_cells and col.endswith("_date") and isinstance(v, str) and len(v) == 10 and v[4] == "-":
                    try:
                        v = dt.date.fromisoformat(v)
                    except ValueError:
                        pass
                values.append(v if v != "" else None)
            ws.append(values)
    if extra_sheet:
        wb.create_sheet("Notes").append(["anything"])
    wb.save(path)
    return path


def test_a_workbook_with_date_cells_is_read_like_the_csvs(tmp_path):
    path = _workbook(tmp_path / "C05_2017Q3.xlsx", clean_tables(), extra_sheet=True)
    result = validate_files([path], "C05", "2017Q3")
    assert result.outcome == "Accepted", result.findings.to_dicts()
    assert result.accepted["cases"]["start_date"][0].isoformat() == "2017-07-03"


def test_numbers_as_numbers_and_dates_as_iso_text_in_a_workbook(tmp_path):
    tables = clean_tables()
    for row in tables["cases"]:
        row[7], row[8] = int(row[7]), float(row[8])  # ogrs as a number, age as 30.0
    path = _workbook(tmp_path / "C05_2017Q3.xlsx", tables, date_cells=False)
    assert validate_files([path], "C05", "2017Q3").outcome == "Accepted"


def test_an_excel_date_serial_is_not_a_date(tmp_path):
    tables = clean_tables()
    tables["cases"][0][4] = 42914  # 2017-06-28 as a bare serial number
    path = _workbook(tmp_path / "C05_2017Q3.xlsx", tables)
    result = validate_files([path], "C05", "2017Q3")
    hit = result.findings.filter(pl.col("rule_id") == "CAS-006").row(0, named=True)
    assert (hit["row_number"], hit["column"], hit["value"]) == (2, "sentence_date", "42914")


@pytest.mark.parametrize(
    "content, words",
    [
        (b"this is not a zip at all", "not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "password-protected"),
    ],
)
def test_unreadable_workbooks_are_fil_001(tmp_path, content, words):
    path = tmp_path / "C05_2017Q3.xlsx"
    path.write_bytes(content)
    result = validate_files([path], "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and words in result.findings["message"][0]
    assert result.outcome == "Rejected"


def test_a_truncated_workbook_is_fil_001(tmp_path):
    good = _workbook(tmp_path / "good.xlsx", clean_tables())
    path = tmp_path / "C05_2017Q3.xlsx"
    path.write_bytes(good.read_bytes()[:1500])
    assert _rules(validate_files([path], "C05", "2017Q3")) == ["FIL-001"]


def test_a_decompression_bomb_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_SHEET_XML_BYTES", 20 * 1024 * 1024)
    good = _workbook(tmp_path / "good.xlsx", clean_tables())
    path = tmp_path / "C05_2017Q3.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * (40 * 1024 * 1024) + b"</worksheet>")
            dst.writestr(item, data)
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1024 * 1024  # small on disk
    result = validate_files([path], "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and "expands to" in result.findings["message"][0]


def test_too_many_cells_is_fil_001(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_CELLS", 50)
    path = _workbook(tmp_path / "C05_2017Q3.xlsx", clean_tables())
    result = validate_files([path], "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and "cells" in result.findings["message"][0]


def test_a_csv_over_the_size_limit_is_fil_001_without_being_read(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 100)
    result = validate_files(write_csvs(tmp_path, clean_tables()), "C05", "2017Q3")
    assert set(_rules(result)) == {"FIL-001"} and "200 MB" in result.findings["message"][0]


def test_non_utf8_csv_is_fil_001_naming_the_file_and_the_fix(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    cases = paths[0]
    cases.write_bytes(cases.read_text().replace("THEFT", "THÉFT").encode("latin-1"))
    result = validate_files(paths, "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"]
    assert "C05_2017Q3_cases.csv" in result.findings["message"][0] and "UTF-8" in result.findings["message"][0]


def test_semicolon_separated_csv_is_fil_001(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    paths[1].write_text(paths[1].read_text().replace(",", ";"))
    result = validate_files(paths, "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and "semicolons" in result.findings["message"][0]


def test_odd_headers_a_bom_and_blank_rows_at_the_end_are_fine(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    text = paths[0].read_text()
    header, rest = text.split("\n", 1)
    header = ",".join(f"  {h.upper()} " if i % 2 else h.title() for i, h in enumerate(header.split(",")))
    paths[0].write_bytes(b"\xef\xbb\xbf" + (header + "\n" + rest + ",,,,,,,,,,,,,,,,,,,\n" * 3).encode())
    result = validate_files(paths, "C05", "2017Q3")
    assert result.outcome == "Accepted", result.findings.to_dicts()
    assert result.tables["cases"]["rows"] == 3


def test_a_long_cell_is_a_finding_with_a_short_value(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "sentence_type", "X" * 500_000)
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    hit = result.findings.filter(pl.col("rule_id") == "CAS-005").row(0, named=True)
    assert len(hit["value"]) <= 81 and len(hit["message"]) < 300


def test_a_line_over_1_mb_is_fil_001_naming_the_line_before_parsing(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 1, "sentence_type", "X" * 2_000_000)
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"]
    assert "C05_2017Q3_cases.csv line 3 is 2.0 MB long, over the 1 MB" in result.findings["message"][0]


def test_a_header_of_ten_thousand_columns_is_fil_001(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    header, rest = paths[0].read_text().split("\n", 1)
    paths[0].write_text(header + "," * 10_000 + "\n" + rest)
    result = validate_files(paths, "C05", "2017Q3")
    assert (
        _rules(result) == ["FIL-001"] and "10,020 columns in its header, over the 200" in result.findings["message"][0]
    )


def test_nul_bytes_make_a_csv_unreadable_with_the_line_named(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    lines = paths[1].read_bytes().split(b"\n")
    lines[2] = lines[2][:3] + b"\0" + lines[2][3:]
    paths[1].write_bytes(b"\n".join(lines))
    result = validate_files(paths, "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and result.outcome == "Rejected"
    assert "NUL bytes (first on line 3)" in result.findings["message"][0]


def test_control_characters_are_reported_per_cell_and_replaced(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 0, "index_offence_group", "THE\x1bFT")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    hit = result.findings.filter(pl.col("rule_id") == "FIL-008").row(0, named=True)
    assert (hit["row_number"], hit["column"], hit["severity"], hit["value"]) == (
        2,
        "index_offence_group",
        "W",
        "THE\ufffdFT",
    )
    assert "CAS-012" in _rules(result)  # and the replaced value is not a listed code
    assert not result.findings.select(
        pl.concat_str(pl.all().cast(pl.String), ignore_nulls=True).str.contains("\x1b").any()
    ).item()


def test_ragged_csv_is_fil_001(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    paths[2].write_text(paths[2].read_text() + 'BR9,"A100001\n')
    assert "FIL-001" in _rules(validate_files(paths, "C05", "2017Q3"))


def test_missing_table_missing_column_and_extra_column(tmp_path):
    paths = write_csvs(tmp_path, clean_tables())
    breaches = paths.pop()
    result = validate_files(paths, "C05", "2017Q3")
    assert _rules(result) == ["FIL-002"] and "breaches" in result.findings["message"][0]

    paths.append(breaches)
    frame = pl.read_csv(paths[0], infer_schema=False).drop("rosh_level").with_columns(notes=pl.lit("=1+1"))
    frame.write_csv(paths[0])
    result = validate_files(paths, "C05", "2017Q3")
    assert sorted(_rules(result)) == ["FIL-003", "FIL-005"]
    assert result.outcome == "Rejected"


def test_empty_cases_is_fil_006(tmp_path):
    tables = clean_tables()
    tables["cases"], tables["contacts"], tables["breaches"] = [], [], []
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert _rules(result) == ["FIL-006"] and result.outcome == "Rejected"


def test_a_file_named_for_another_provider_or_quarter_is_fil_004(tmp_path):
    paths = write_csvs(tmp_path, clean_tables(), provider="C06")
    result = validate_files(paths, "C05", "2017Q3")
    assert "FIL-004" in _rules(result) and result.outcome == "Rejected"
    paths = write_csvs(tmp_path / "q", clean_tables(), quarter="2017Q2")
    assert "FIL-004" in _rules(validate_files(paths, "C05", "2017Q3"))


def test_another_providers_case_rejects_the_return(tmp_path):
    tables = clean_tables()
    set_value(tables, "cases", 2, "provider_code", "C14")
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert result.findings.filter(pl.col("rule_id") == "CAS-004")["row_number"].to_list() == [4]
    assert result.outcome == "Rejected"


def test_a_file_of_another_type_is_fil_001(tmp_path):
    path = tmp_path / "C05_2017Q3.pdf"
    path.write_bytes(b"%PDF-1.4")
    assert "FIL-001" in _rules(validate_files([path], "C05", "2017Q3"))


def test_a_cell_far_from_the_data_is_refused_before_the_sheet_is_read(tmp_path):
    """calamine reads a sheet as the rectangle from A1 to its last cell: XFD1048576 would be 17 billion cells."""
    path = _cases_sheet_edited(
        tmp_path,
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
        ),
    )
    result = validate_files([path], "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"]
    assert "has a cell at row 1,048,576, column 16,384" in result.findings["message"][0]


def test_a_table_over_20_million_cells_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_CSV_CELLS", 100)
    tables = clean_tables()
    tables["cases"] = tables["cases"] * 2  # 6 rows x 20 columns
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert _rules(result) == ["FIL-001"] and "6 rows of 20 columns, over the 100 cells" in result.findings["message"][0]


def test_blank_rows_at_the_end_do_not_count_towards_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_CSV_CELLS", 100)
    paths = write_csvs(tmp_path, clean_tables())
    paths[0].write_bytes(paths[0].read_bytes() + b",,,,,,,,,,,,,,,,,,,\n" * 50)
    result = validate_files(paths, "C05", "2017Q3")
    assert result.outcome == "Accepted" and result.tables["cases"]["rows"] == 3


def test_a_flood_of_junk_rows_is_rejected_with_a_sample_of_each_rule(tmp_path, monkeypatch):
    from probation_returns.validation import engine

    monkeypatch.setattr(engine, "MAX_FINDINGS", 30)
    monkeypatch.setattr(engine, "LISTED_WHEN_FLOODED", 2)
    tables = clean_tables()
    tables["cases"] += [["x"] + [""] * 19 for _ in range(20)]
    result = validate_files(write_csvs(tmp_path, tables), "C05", "2017Q3")
    assert result.outcome == "Rejected" and result.tables["cases"]["rejected"] == 20
    flood = result.findings.filter(pl.col("rule_id") == "FIL-001")["message"][0]
    assert "findings, more than the 30 a return can have listed" in flood
    assert result.findings.filter(pl.col("rule_id") == "CAS-001").height == 2


def test_a_date_cell_holding_zero_or_less_is_named_as_such_not_shown_as_1899(tmp_path):
    # F2 is the first case's start_date, a date cell
    path = _cases_sheet_edited(tmp_path, lambda xml: re.sub(rb'(<c r="F2"[^>]*>)<v>[^<]*</v>', rb"\1<v>-1</v>", xml))
    result = validate_files([path], "C05", "2017Q3")
    hit = result.findings.filter((pl.col("row_number") == 2) & (pl.col("column") == "start_date")).row(0, named=True)
    assert hit["rule_id"] == "CAS-006" and hit["value"] == "a number that is not a date (0 or less)"


def _cases_sheet_edited(tmp_path, edit):
    """A clean workbook whose cases sheet's XML went through ``edit``."""
    good = _workbook(tmp_path / "good.xlsx", clean_tables())
    path = tmp_path / "C05_2017Q3.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return path
