"""The quarterly ministry return: workbook, CSV twin, manifest, numbered builds, safety, LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from orchestration.runner.quarter import run_quarter
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.ingest import sha256_file
from probation_returns.measures.decisions import decide
from probation_returns.reference import providers
from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import Credit, Measure, ReturnBuild, ReturnBuildSubmission
from reports.ministry.build import build_return, verify
from reports.ministry.layout import FORMATS, NUMERIC_KINDS, TABLES, tables_for
from tests.support.returns import pipeline_env

Q = Quarter.parse("2017Q3")
SHEETS = [
    "Cover",
    "Contents",
    "Summary",
    "Service levels",
    "Reoffending",
    "Payments",
    "Data quality",
    "Submissions",
    "Credibility and integrity",
    "Credibility",
    "Charts",
    "Notes",
]
CODES = ["C05", "C14", "N02"]
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One quarter through Dagster: three providers (C14 sends a workbook) and a final extract."""
    root = tmp_path_factory.mktemp("ministry")
    with pipeline_env():
        db = f"sqlite:///{root / 'w.db'}"
        upgrade(db)
        made = generate(root / "landing", [Q], CODES, scale=0.05)
        run = run_quarter(
            Q,
            CODES,
            landing=root / "landing",
            archive=root / "archive",
            output=root / "out",
            database_url=db,
            extract=made.extract,
            quarter_subfolders=False,
        )
        assert run.failed == []
        yield root, db


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _table(ws, table) -> tuple[list[str], list[list]]:
    """The sheet's table: the header row is the first row whose first cell is the first column's heading."""
    first, second = (table.columns[i].heading for i in (0, 1))
    header = next(
        r for r in range(1, 30) if _plain(ws.cell(r, 1).value) == first and _plain(ws.cell(r, 2).value) == second
    )
    rows = []
    for r in range(header + 1, ws.max_row + 1):
        values = [ws.cell(r, c) for c in range(1, len(table.columns) + 1)]
        if all(v.value is None for v in values):
            break
        rows.append(values)
    return [_plain(ws.cell(header, c).value) for c in range(1, len(table.columns) + 1)], rows


def _plain(heading):
    """A heading without its note markers: 'Target (%) [note 28]' -> 'Target (%)'."""
    return re.sub(r" ?\[notes? [^\]]*\]", "", heading) if isinstance(heading, str) else heading


def test_the_workbook_follows_the_analysis_function_checklist(built):
    root, _ = built
    wb = load_workbook(root / "out" / "ministry_return_2017Q3.xlsx")
    assert wb.sheetnames == SHEETS
    for table in tables_for(publication=False):  # the internal copy: its own sheet too
        ws = wb[table.sheet]
        assert ws["A1"].value.startswith(table.title) and ws["A1"].font.bold  # the title in A1
        headings, rows = _table(ws, table)
        assert headings == [c.heading for c in table.columns]
        (excel,) = ws.tables.values()  # one real Excel table per sheet, from the header row
        header = int(re.match(r"A(\d+):", excel.ref).group(1))
        assert _plain(ws.cell(header, 1).value) == table.columns[0].heading and excel.name == table.name
        assert ws.freeze_panes == f"A{header + 1}" and not ws.auto_filter.ref
        assert "OFFICIAL-SENSITIVE" in ws.oddHeader.center.text and ws["A2"].value == "OFFICIAL-SENSITIVE"
        assert not ws.merged_cells.ranges
    cover = wb["Cover"]
    facts = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(1, 30)}
    assert facts["Build"] == 1 and facts["Contract parameters"] == "2017-18.1"
    assert "as of 2019-03-31" in facts["Reoffending extract"] and isinstance(facts["Built at (UTC)"], dt.datetime)
    assert not cover.tables  # the Cover says what the release is; the tables are on their own sheets
    contents = [wb["Contents"].cell(r, 1) for r in range(1, 30) if wb["Contents"].cell(r, 1).hyperlink]
    assert [c.value for c in contents] == [s for s in SHEETS if s != "Contents"]
    # full provider names, never cut off by the column width
    names = [c.value for c in wb["Payments"]["B"] if isinstance(c.value, str) and "Rutland" in c.value]
    assert names and wb["Payments"].column_dimensions["B"].width >= max(len(n) for n in names)
    # status is a column of its own, not part of a number's format
    summary = wb["Summary"]
    assert not any(
        '"' in c.number_format
        for row in summary.iter_rows()
        for c in row
        if c.number_format != "General" and not c.number_format.startswith('"£"')
    )
    submissions = wb["Submissions"]
    assert any(isinstance(c.value, dt.datetime) for c in submissions["E"])  # delivered: a real date and time


def test_every_number_is_a_number_with_its_excel_format(built):
    root, _ = built
    wb = load_workbook(root / "out" / "ministry_return_2017Q3.xlsx")
    checked = 0
    for table in tables_for(publication=False):
        _, rows = _table(wb[table.sheet], table)
        for row in rows:
            shown = {column.key: cell.value for column, cell in zip(table.columns, row)}
            for column, cell in zip(table.columns, row):
                if column.kind in NUMERIC_KINDS and cell.value in ("[c]", "[x]", "[z]"):
                    assert cell.alignment.horizontal == "right"  # a marker sits where the number would
                elif column.kind in NUMERIC_KINDS and cell.value is not None:
                    assert isinstance(cell.value, (int, float)), (table.sheet, column.key, cell.value)
                    # the row's own kind where a column holds figures of several (Credibility: counts and shares)
                    kind = column.kind_for(shown)
                    assert cell.number_format.startswith(FORMATS[kind]), (table.sheet, column.key, kind)
                    checked += 1
    assert checked > 500


def test_charts_are_native_excel_charts(built):
    root, _ = built
    with zipfile.ZipFile(root / "out" / "ministry_return_2017Q3.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        bodies = "".join(z.read(n).decode() for n in charts)
        charts_xml = [ElementTree.fromstring(z.read(n)) for n in charts]
        drawing = z.read("xl/drawings/drawing1.xml").decode()
    assert "'Reoffending'!" in bodies and "Charts!" in bodies.replace("'Charts'!", "Charts!")
    assert "<lineChart>" in bodies and bodies.count("<barChart>") == 2  # the target drawn over the bars
    for chart in charts_xml:  # each line chart's series is a dash on each column, not a line joining them
        (line,) = chart.iter(f"{CHART}lineChart")
        series = list(line.iter(f"{CHART}ser"))
        assert len(series) == 1
        assert series[0].find(f"{CHART}spPr/{DRAWING}ln/{DRAWING}noFill") is not None
        assert series[0].find(f"{CHART}marker/{CHART}symbol").get("val") == "dash"
    assert drawing.count('descr="Column chart') == 2  # alternative text on both charts
    assert bodies.count("<c:title>") + bodies.count("<title>") >= 2


def test_the_workbook_the_csvs_and_the_warehouse_agree(built):
    root, db = built
    wb = load_workbook(root / "out" / "ministry_return_2017Q3.xlsx")
    table = next(t for t in TABLES if t.sheet == "Service levels")
    _, rows = _table(wb["Service levels"], table)
    keys = [c.key for c in table.columns]
    sheet = {(r[0].value, r[keys.index("measure")].value): r for r in rows}
    csv_rows = [r for r in _csv(root / "out" / "service_levels.csv") if r["provider_code"] not in ("CRC", "NPS", "ALL")]
    assert len(csv_rows) == 28 * 7 + 3 * 3 and len(sheet) == len(csv_rows) + 3 * 10
    with session_scope(engine_for(db)) as session:
        stored = {
            (m.provider_code, m.measure): m for m in session.scalars(select(Measure).where(Measure.quarter == "2017Q3"))
        }
        credits = {
            (c.provider_code, c.measure): c.amount_gbp
            for c in session.scalars(select(Credit).where(Credit.replaced_at.is_(None)))
        }
    for line in csv_rows:
        key = (line["provider_code"], line["measure"])
        cells = sheet[key]
        value = {k: cells[keys.index(k)].value for k in keys}
        no_return = stored[key].status == "no valid return"
        absent = "[x]" if no_return else "[z]"  # [z]: a CRC-only measure on an NPS division's row
        assert value["numerator"] == (int(line["numerator"]) if line["numerator"] else absent)
        assert line["numerator"] == ("" if no_return or stored[key].numerator is None else str(stored[key].numerator))
        assert value["denominator"] == (int(line["denominator"]) if line["denominator"] else absent)
        if line["performance"]:
            assert Decimal(str(value["performance"])) == Decimal(line["performance"])
        else:  # no figure: the marker says why, and nothing looks like a measured 0%
            assert value["performance"] == line["performance_marker"] in ("[x]", "[z]")
        if line["credit_gbp"]:
            assert Decimal(str(value["credit_gbp"])).quantize(Decimal("0.01")) == Decimal(line["credit_gbp"])
            assert Decimal(line["credit_gbp"]) == credits.get(key, Decimal("0.00"))
    payments = {r["provider_code"]: r for r in _csv(root / "out" / "payments.csv")}
    p_table = next(t for t in TABLES if t.sheet == "Payments")
    _, p_rows = _table(wb["Payments"], p_table)
    p_keys = [c.key for c in p_table.columns]
    for r in p_rows:
        if r[0].value in ("CRC", "NPS", "ALL"):
            continue  # the workbook's total rows (see test_payments_have_total_rows_that_add_up_or_hide)
        line = payments[r[0].value]
        net = r[p_keys.index("net_gbp")].value
        if line["net_gbp"]:
            assert Decimal(str(net)).quantize(Decimal("0.01")) == Decimal(line["net_gbp"])
        else:  # an NPS division: no contract fee, no net payable
            assert net == line["net_gbp_marker"] == "[z]" and providers()[line["provider_code"]].type == "NPS"
        applied, paid = (Decimal(line[c] or 0) for c in ("credits_applied_gbp", "outcome_payments_gbp"))
        if line["net_gbp"]:
            assert Decimal(line["net_gbp"]) == Decimal(line["quarterly_fee_gbp"]) - applied + paid
        lines = [
            Decimal(x["credit_gbp"])
            for x in csv_rows
            if x["provider_code"] == line["provider_code"] and x["credit_gbp"]
        ]
        if line["service_credits_gbp"]:  # the total is the sum of its lines, to the penny, as stored
            assert (
                Decimal(line["service_credits_gbp"])
                == sum(lines)
                == sum(v for (code, _), v in credits.items() if code == line["provider_code"])
            )
        else:
            assert line["service_credits_gbp_marker"] == "[z]" and not lines  # NPS: no credits, not 0.00


def test_the_csv_twin_and_manifest_say_where_every_figure_came_from(built):
    root, _ = built
    out = root / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for name in (
        "service_levels.csv",
        "reoffending.csv",
        "payments.csv",
        "data_quality.csv",
        "submissions.csv",
        "data_dictionary.csv",
        "publication/data_dictionary.csv",
        "ministry_return_2017Q3.xlsx",
        "publication/ministry_return_2017Q3_publication.xlsx",
    ):
        assert name in listed
    assert verify(out) == []
    assert manifest["build_number"] == 1 and manifest["parameter_version"] == "2017-18.1"
    assert manifest["extract_as_of"] == "2019-03-31"
    inputs = manifest["inputs"]["submissions"]
    assert {s["provider_code"] for s in inputs} == set(CODES)
    assert all(
        set(s)
        == {
            "provider_code",
            "submission_id",
            "version",
            "return_identity",
            "files",
            "delivered_at",
            "outcome",
            "counts",
        }
        for s in inputs
    )
    quality = _csv(out / "data_quality.csv")
    assert len(quality) == 28 * 4 and {
        "file",
        "rows",
        "rejected_records",
        "errors",
        "warnings",
        "top_rules",
        "rejected_because",
    } <= set(quality[0])
    assert manifest["inputs_sha256"] != manifest["content_sha256"]


def test_each_file_sent_has_its_own_sha256_as_sha256sum_prints_it_in_submissions_and_the_manifest(built):
    """'File checksum' was a hash over the return's parts: a contract manager could not match it to a file."""
    root, _ = built
    out = root / "out"
    sent = sorted(p for p in (root / "landing").rglob(f"*_{Q}*") if p.is_file())
    assert sent
    printed = {
        p.name: subprocess.run(
            ["sha256sum", p.name], cwd=p.parent, capture_output=True, text=True, check=True
        ).stdout.strip()
        for p in sent
    }
    submissions = (out / "submissions.csv").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text())
    in_manifest = {f["name"]: f["sha256"] for s in manifest["inputs"]["submissions"] for f in s["files"]}
    for name, line in printed.items():
        assert line in submissions, line  # "<hash>  <name>", verbatim
        assert in_manifest[name] == line.split()[0]
    rows = {r["provider_code"]: r for r in _csv(out / "submissions.csv")}
    for code in CODES:
        mine = [printed[name] for name in sorted(printed) if name.startswith(code)]
        assert rows[code]["file_sha256"] == "; ".join(mine)
        assert rows[code]["return_identity"] not in rows[code]["file_sha256"]  # its own name, not a file's
    for name in ("service_levels.csv", "reoffending.csv", "payments.csv", "data_quality.csv", "submissions.csv"):
        header = (out / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("quarter,provider_code"), name
        assert re.fullmatch(r"[a-z0-9_,]+", header), name


def test_the_publication_folder_has_its_own_manifest_of_its_own_files(built):
    root, _ = built
    public, internal = root / "out" / "publication", json.loads((root / "out" / "manifest.json").read_text())
    manifest = json.loads((public / "manifest.json").read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert (
        set(listed)
        == {p.name for p in public.iterdir() if p.is_file()} - {"manifest.json"}
        == {
            "service_levels.csv",
            "reoffending.csv",
            "payments.csv",
            "data_quality.csv",
            "submissions.csv",
            "data_dictionary.csv",
            "ministry_return_2017Q3_publication.xlsx",
        }
    )
    assert all(sha256_file(public / path) == digest for path, digest in listed.items())
    assert set(manifest) == {
        "quarter",
        "build_number",
        "built_at",
        "software_version",
        "parameter_version",
        "rules_version",
        "extract_as_of",
        "files",
    }
    assert [manifest[k] for k in ("build_number", "built_at", "rules_version")] == [
        internal[k] for k in ("build_number", "built_at", "rules_version")
    ]
    # an internal file's checksum would confirm a guess of the hidden cells: none is published (nor the inputs')
    public_bytes = {sha256_file(p) for p in public.iterdir() if p.is_file()}
    private = {f["sha256"] for f in internal["files"] if not f["path"].startswith("publication/")} - public_bytes
    text = "\n".join(
        (public / name).read_text(encoding="utf-8") for name in ("manifest.json", *listed) if not name.endswith(".xlsx")
    )
    cells = [
        str(c.value)
        for ws in load_workbook(public / "ministry_return_2017Q3_publication.xlsx").worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    for digest in private | {internal["inputs_sha256"]}:
        assert digest not in text and not any(digest in c for c in cells)
    assert internal["files"] and any(f["path"] == "publication/manifest.json" for f in internal["files"])


@pytest.mark.parametrize("copy", ["", "publication"])
def test_every_file_the_cover_names_is_in_its_folder(built, copy):
    root, _ = built
    folder = root / "out" / copy
    book = next(folder.glob("ministry_return_*.xlsx"))
    cover = " ".join(str(c.value) for row in load_workbook(book)["Cover"].iter_rows() for c in row if c.value)
    named = set(re.findall(r"[a-z_0-9]+\.(?:json|csv|xlsx)", cover))
    assert {"manifest.json", "data_dictionary.csv"} <= named
    assert all((folder / name).is_file() for name in named), named
    if copy:
        assert "Inputs checksum" not in cover and "each other file of the publication folder" in cover


def test_the_publication_notes_say_what_is_hidden_and_what_never_is(built):
    root, _ = built
    book = load_workbook(root / "out" / "publication" / "ministry_return_2017Q3_publication.xlsx")
    notes = {row[1]: row[2] for row in book["Notes"].iter_rows(values_only=True) if row[0]}
    assert "A hidden count is never 0" in notes["[c]"]
    assert (
        "CAS-017" in notes["Disclosure control"]
        and "taking every hidden count as at least 1" in notes["Disclosure control"]
    )
    assert "warnings are never hidden" not in notes["Disclosure control"]


NUMERIC = {
    "service_levels": ("numerator", "denominator", "performance", "target", "credit_gbp"),
    "reoffending": (
        "cohort_size",
        "reoffenders",
        "reoffences",
        "binary_rate",
        "frequency_rate",
        "mean_p1",
        "adjusted_binary_rate",
        "baseline_binary_rate",
        "baseline_frequency_rate",
        "z",
        "outcome_payment_gbp",
    ),
    "payments": (
        "quarterly_fee_gbp",
        "service_credits_gbp",
        "credits_waived_gbp",
        "credits_reinvested_gbp",
        "credits_applied_gbp",
        "outcome_payments_gbp",
        "net_gbp",
    ),
    "data_quality": ("submission_id", "rows", "rejected_records", "errors", "warnings"),
    "submissions": ("submission_id", "version", "counted_submission_id"),
}


@pytest.mark.parametrize("copy", ["", "publication"])
def test_polars_reads_every_numeric_column_of_the_csv_twin_as_numbers(built, copy):
    import polars as pl

    root, _ = built
    for name, columns in NUMERIC.items():
        frame = pl.read_csv(root / "out" / copy / f"{name}.csv", infer_schema_length=None)
        for column in columns:
            assert frame.schema[column].is_numeric(), (copy, name, column, frame.schema[column])
        markers = [c for c in frame.columns if c.endswith("_marker")]
        values = set().union(*(set(frame[c].drop_nulls().to_list()) for c in markers)) if markers else set()
        assert values <= ({"[c]", "[x]", "[z]"} if copy else {"[x]", "[z]"}), (name, values)
        for c in markers:  # a marker only where its number is empty, and every empty number has one
            number = c.removesuffix("_marker")
            assert frame.filter(pl.col(number).is_null() != pl.col(c).is_not_null()).is_empty(), (name, c)
    z = pl.read_csv(root / "out" / copy / "reoffending.csv", infer_schema_length=None)["z"]
    assert z.dtype.is_float() and (z.drop_nulls() < 0).any()  # a negative number is a number, not text


def test_the_data_dictionary_describes_every_column_of_every_csv(built):
    root, _ = built
    for copy in ("", "publication"):
        folder = root / "out" / copy
        entries = {(r["file"], r["column"]): r for r in _csv(folder / "data_dictionary.csv")}
        for name in NUMERIC:
            header = (folder / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
            listed = [c for (f, c) in entries if f == f"{name}.csv"]
            assert listed == header, name
            assert all(entries[(f"{name}.csv", c)]["meaning"] and entries[(f"{name}.csv", c)]["unit"] for c in header)
    units = {r["column"]: r["unit"] for r in _csv(root / "out" / "data_dictionary.csv")}
    assert units["performance"] == units["target"] == units["binary_rate"] == "proportion from 0 to 1"


def test_no_personal_identifier_in_any_output(built):
    root, _ = built
    cases = (root / "landing" / "C05" / "C05_2017Q3_cases.csv").read_text().splitlines()[1:]
    case_refs = {line.split(",")[0] for line in cases}
    pnc_ids = set(re.findall(r"\d{4}/\d{7}[A-Z]", "\n".join(cases)))
    texts = []
    for path in (root / "out").rglob("*"):
        if "feedback" in path.relative_to(root / "out").parts:
            continue  # the provider's own feedback names its rows by case_ref, as it should
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts.append("".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()))
        elif path.suffix in (".csv", ".json"):
            texts.append(path.read_text(encoding="utf-8"))
    blob = "\n".join(texts)
    assert pnc_ids and not any(p in blob for p in pnc_ids)
    assert not re.search(r"\bcase_ref\b|\bpnc_id\b", blob)
    assert not any(re.search(rf"\b{re.escape(ref)}\b", blob) for ref in list(case_refs)[:200])


def test_text_that_looks_like_a_formula_is_stored_as_text(tmp_path):
    from openpyxl import Workbook

    from reports.ministry.layout import Column, Table
    from reports.ministry.workbook import write_table

    wb = Workbook()
    table = Table("T", "T", "t", "x", (Column("provider_code", "Provider", "code"), Column("top_rules", "Rules")))
    write_table(
        wb.active,
        table,
        [{"provider_code": '=HYPERLINK("http://x")', "top_rules": "@SUM(A1)"}],
        title="t",
        marking="OFFICIAL-SENSITIVE",
        footer="f",
    )
    wb.save(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value[:1] in "=@"]
    assert len(cells) == 2 and all(c.data_type == "s" and c.quotePrefix for c in cells)
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_a_rebuild_from_the_same_inputs_is_byte_identical_and_keeps_its_number(built, tmp_path):
    root, db = built
    engine = engine_for(db)
    first = build_return(engine, Q, tmp_path / "a")
    assert not first.new and first.number == 1  # the Dagster run made build 1 from these inputs
    shutil.rmtree(tmp_path / "a")
    again = build_return(engine, Q, tmp_path / "a")
    assert again.number == 1 and again.files == first.files
    original = {
        p.relative_to(root / "out" / "builds" / "001"): p.read_bytes()
        for p in (root / "out" / "builds" / "001").rglob("*")
        if p.is_file()
    }
    rebuilt = {p.relative_to(again.folder): p.read_bytes() for p in again.folder.rglob("*") if p.is_file()}
    assert rebuilt == original


def test_a_credit_decision_makes_a_new_build_and_the_old_one_is_kept(built, tmp_path):
    root, db = built
    engine = engine_for(db)
    out = tmp_path / "returns"
    before = build_return(engine, Q, out)
    with session_scope(engine) as session:  # C01 sent nothing: its credits are at the cap; waive one
        decide(session, "2017Q3", "C01", "AE", "waived", "data system outage agreed with the ministry", "A Manager")
    after = build_return(engine, Q, out)
    assert after.new and after.number == before.number + 1
    kept = {p.relative_to(before.folder).as_posix(): sha256_file(p) for p in before.folder.rglob("*") if p.is_file()}
    assert kept == before.files  # the earlier build is untouched
    levels = _csv(out / "service_levels.csv")
    ae = next(r for r in levels if r["provider_code"] == "C01" and r["measure"] == "AE")
    assert ae["credit_decision"] == "waived"
    with session_scope(engine) as session:
        builds = session.scalars(
            select(ReturnBuild).where(ReturnBuild.quarter == "2017Q3").order_by(ReturnBuild.build_number)
        ).all()
        assert [b.build_number for b in builds][-2:] == [before.number, after.number]
        members = session.scalars(
            select(ReturnBuildSubmission.submission_id).where(ReturnBuildSubmission.build_id == builds[-1].id)
        ).all()
        assert len(members) == len(after.content.counted_submission_ids) >= 2


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.browser  # LibreOffice
def test_libreoffice_opens_and_converts_both_workbooks(built, tmp_path):
    soffice = _soffice()
    if soffice is None:
        if os.environ.get("RETURNS_REQUIRE_SOFFICE"):
            pytest.fail("RETURNS_REQUIRE_SOFFICE is set but LibreOffice (soffice) is not installed")
        pytest.skip("LibreOffice is not installed (.ci/run installs libreoffice-calc)")
    root, _ = built
    for book in (
        root / "out" / "ministry_return_2017Q3.xlsx",
        root / "out" / "publication" / "ministry_return_2017Q3_publication.xlsx",
    ):
        done = subprocess.run(
            [
                soffice,
                "--headless",
                f"-env:UserInstallation=file://{tmp_path}/lo",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(book),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        pdf = tmp_path / (book.stem + ".pdf")
        assert done.returncode == 0 and pdf.exists(), done.stderr
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


# --- The Analysis Function standard, as a reader of either copy would notice it -------------------------------------

BOOKS = ("ministry_return_2017Q3.xlsx", "publication/ministry_return_2017Q3_publication.xlsx")
SYMBOLS = ("[c]", "[x]", "[z]")
NOTE_REF = re.compile(r"\[notes? ([0-9][0-9 ,to]*)\]")


def _book(built, name):
    root, _ = built
    return load_workbook(root / "out" / name)


def _area(ws):
    """The sheet's one Excel table: (first column, header row, last column, last row)."""
    from openpyxl.utils import range_boundaries

    (excel,) = ws.tables.values()
    return range_boundaries(excel.ref)


def _note_numbers(text: str) -> set[int]:
    """'[note 3]' -> {3}; '[notes 1 to 3, 7]' -> {1, 2, 3, 7}."""
    out = set()
    for ref in NOTE_REF.findall(text or ""):
        for part in ref.split(","):
            first, _, last = part.strip().partition(" to ")
            out.update(range(int(first), int(last or first) + 1))
    return out


@pytest.mark.parametrize("book", BOOKS)
def test_no_cell_inside_any_table_is_blank(built, book):
    from reports.ministry.layout import CONTENTS

    wb = _book(built, book)
    blank = []
    for table in (*TABLES, CONTENTS):  # the declared table is the Excel table, column for column
        ws = wb[table.sheet]
        c1, r1, c2, r2 = _area(ws)
        assert (c1, c2) == (1, len(table.columns)) and r2 > r1, table.sheet
        for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2):
            blank += [f"{ws.title}!{c.coordinate}" for c in row if c.value is None or str(c.value).strip() == ""]
    assert blank == [], f"{len(blank)} blank cells inside tables, e.g. {blank[:10]}"


@pytest.mark.parametrize("book", BOOKS)
def test_a_met_measure_cannot_be_mistaken_for_a_decided_credit(built, book):
    wb = _book(built, book)
    table = next(t for t in TABLES if t.sheet == "Service levels")
    keys = [c.key for c in table.columns]
    _, rows = _table(wb["Service levels"], table)
    seen = set()
    for r in rows:
        status, credit, decision = (r[keys.index(k)].value for k in ("status", "credit_gbp", "credit_decision"))
        code = r[0].value
        seen.add(status)
        if credit == "[z]":  # reported-only measures, NPS divisions and totals carry no credit line
            assert decision == "[z]", (code, status, decision)
        elif status in ("met", "insufficient volume"):  # a credit of 0.00 by the rule: nothing to decide
            assert decision == f"not applicable: {status}" and credit == 0, (code, status, credit, decision)
        else:
            assert status in ("missed", "no valid return") and decision in ("applied", "waived", "reinvested"), (
                code,
                status,
                decision,
            )
        assert decision is not None and (decision == "[z]") == (credit == "[z]"), (code, status, credit, decision)
    assert {"met", "no valid return", "total"} <= seen


@pytest.mark.parametrize("book", BOOKS)
def test_numeric_headings_carry_their_unit_and_sit_right_over_right_aligned_numbers(built, book):
    wb = _book(built, book)
    units = {
        "pct": ("(%)",),
        "rate": ("(%)",),
        "money": ("(£)",),
        "id": ("ID",),
        "count": ("(count)", "(people)", "(number)"),
        "dec2": ("(reoffences per reoffender)", "(standard deviations)"),
        "dec3": ("(reoffences per reoffender)",),
        "dec4": ("(standard deviations)", "(number)"),
    }
    for table in tables_for("publication" in book):
        ws = wb[table.sheet]
        _, header, _, last = _area(ws)
        for i, column in enumerate(table.columns, start=1):
            if column.kind not in NUMERIC_KINDS:
                continue
            heading = ws.cell(header, i)
            text = NOTE_REF.sub("", heading.value).strip()
            assert any(text.endswith(u) for u in units[column.kind]), (table.sheet, heading.value)
            assert heading.alignment.horizontal == "right", (table.sheet, heading.value)
            cells = [ws.cell(r, i) for r in range(header + 1, last + 1)]
            assert all(c.alignment.horizontal == "right" for c in cells), (table.sheet, heading.value)
    # the case the issue names: z and its figures line up on the right
    re_table = next(t for t in TABLES if t.sheet == "Reoffending")
    z = [c.key for c in re_table.columns].index("z") + 1
    _, header, _, _ = _area(wb["Reoffending"])
    assert wb["Reoffending"].cell(header, z).alignment.horizontal == "right"


def _printed_scale(ws) -> float:
    """How much a sheet fitted to one page's width is shrunk (1.0: printed at full size).

    A column w characters wide is about 7w + 5 pixels (Calibri 11), 0.75 pt a pixel; charts count too.
    """
    from openpyxl.utils import get_column_letter

    last = max(ws.max_column, max((ch.anchor._from.col + 1 for ch in ws._charts), default=0))
    widths = [ws.column_dimensions[get_column_letter(i)].width or 8.43 for i in range(1, last + 1)]
    points = sum(w * 7 + 5 for w in widths) * 0.75
    for ch in ws._charts:  # a chart's right edge, in points from the sheet's left edge
        start = sum(w * 7 + 5 for w in widths[: ch.anchor._from.col]) * 0.75
        points = max(points, start + ch.width / 2.54 * 72)
    paper = {int(ws.PAPERSIZE_A4): 297, int(ws.PAPERSIZE_A3): 420}[int(ws.page_setup.paperSize)] / 25.4 * 72
    printable = paper - (ws.page_margins.left + ws.page_margins.right) * 72
    return min(1.0, printable / points)


@pytest.mark.parametrize("book", BOOKS)
def test_every_sheet_prints_landscape_one_page_wide_with_its_headings_on_every_page(built, book):
    wb = _book(built, book)
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(setup.fitToWidth) == 1 and int(setup.fitToHeight) == 0, ws.title  # width only, pages run on
        assert int(setup.paperSize) in (int(ws.PAPERSIZE_A4), int(ws.PAPERSIZE_A3)), ws.title
        assert _printed_scale(ws) >= 0.7, (ws.title, round(_printed_scale(ws), 2))  # 11 pt prints at 7.7 pt or more
        if ws.tables:
            _, header, _, _ = _area(ws)
            repeat = next((t.repeat_header for t in TABLES if t.sheet == ws.title), True)
            # the headings on every printed page (not on the Charts sheet: its short table is above the charts)
            assert ws.print_title_rows == (f"${header}:${header}" if repeat else None), ws.title


@pytest.mark.parametrize("book", BOOKS)
def test_notes_are_numbered_referenced_from_the_tables_and_every_symbol_shown_is_explained(built, book):
    wb = _book(built, book)
    notes = wb["Notes"]
    _, header, _, last = _area(notes)
    assert notes.cell(header, 1).value == "Note number"
    numbers = [notes.cell(r, 1).value for r in range(header + 1, last + 1)]
    assert numbers == [f"note {n}" for n in range(1, len(numbers) + 1)]
    items = {notes.cell(r, 2).value: n for n, r in enumerate(range(header + 1, last + 1), start=1)}
    cover = wb["Cover"]
    referenced = _note_numbers(" ".join(str(cover.cell(r, 1).value or "") for r in range(1, 12)))
    for table in tables_for("publication" in book):
        if table.sheet == "Notes":
            continue
        ws = wb[table.sheet]
        _, header, c2, last = _area(ws)
        above = " ".join(str(ws.cell(r, 1).value or "") for r in range(1, header))
        headings = " ".join(str(ws.cell(header, c).value) for c in range(1, c2 + 1))
        refs = _note_numbers(above + " " + headings)
        assert refs, f"{table.sheet}: no [note N] in its title, lines or headings"
        assert refs <= set(range(1, len(numbers) + 1)), (table.sheet, refs)
        referenced |= refs
        used = {
            c.value
            for row in ws.iter_rows(min_row=header + 1, max_row=last, max_col=c2)
            for c in row
            if c.value in SYMBOLS
        }
        line = next(
            (str(ws.cell(r, 1).value) for r in range(3, header) if str(ws.cell(r, 1).value).startswith("Symbols")), ""
        )
        listed = {s for s in SYMBOLS if s in line}
        assert listed == used, (table.sheet, line, used)  # the symbol line lists what the table shows, no more
        for symbol in listed:
            assert symbol in items and items[symbol] in _note_numbers(line), (table.sheet, symbol, line)
    assert referenced == set(range(1, len(numbers) + 1)), set(range(1, len(numbers) + 1)) - referenced
    publication = "publication" in book
    assert ("[c]" in items) == publication  # only the publication copy hides anything


def test_the_cover_names_a_contact_and_the_release_date(built, monkeypatch):
    from reports.ministry.workbook import DEFAULT_CONTACT, contact

    for book in BOOKS:
        cover = _book(built, book)["Cover"]
        facts = {cover.cell(r, 1).value: cover.cell(r, 2).value for r in range(1, 40)}
        assert facts["Contact"] == DEFAULT_CONTACT
        released, built_at = facts["Release date"].date(), facts["Built at (UTC)"]
        assert released - built_at.date() in (dt.timedelta(0), dt.timedelta(days=1))  # the build's day, UK time
    monkeypatch.setenv("RETURNS_CONTACT", "Contract statistics team, stats@example.org")
    assert contact() == "Contract statistics team, stats@example.org"


def test_every_chart_tells_its_series_apart_without_colour(built):
    root, _ = built
    with zipfile.ZipFile(root / "out" / "ministry_return_2017Q3.xlsx") as z:
        charts = [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/charts/chart")]
    assert len(charts) == 2
    for body in charts:  # one series as columns, the other as a dash marker with no joining line
        assert body.count("<c:ser>") + body.count("<ser>") == 2
        assert "<barChart>" in body and "<lineChart>" in body, body[:300]
        assert re.search(r'<symbol val="dash"\s*/>', body) and "<a:noFill/>" in body


@pytest.mark.parametrize("book", BOOKS)
def test_payments_have_total_rows_that_add_up_or_hide(built, book):
    wb = _book(built, book)
    table = next(t for t in TABLES if t.sheet == "Payments")
    keys = [c.key for c in table.columns]
    _, rows = _table(wb["Payments"], table)
    by_code = {r[0].value: r for r in rows}
    assert [r[0].value for r in rows[-3:]] == ["CRC", "NPS", "ALL"]
    assert [r[1].value for r in rows[-3:]] == ["All CRCs", "All NPS divisions", "England and Wales"]
    for code, members in (("CRC", "C"), ("NPS", "N"), ("ALL", "CN")):
        parts = [r for c, r in by_code.items() if c[0] in members and c[1:].isdigit()]
        for key in keys[2:]:
            values = [p[keys.index(key)].value for p in parts]
            total = by_code[code][keys.index(key)].value
            if "[c]" in values:
                assert total == "[c]", (code, key)  # a total would give a hidden part away
            elif all(v == "[z]" for v in values):
                assert total == "[z]", (code, key)
            else:  # an [x] part (an outcome payment with no result) is money not paid: it adds nothing
                numbers = [Decimal(str(v)) for v in values if isinstance(v, (int, float))]
                assert Decimal(str(total)).quantize(Decimal("0.01")) == sum(numbers).quantize(Decimal("0.01"))


def test_the_managers_provider_page_shows_reoffending_and_payments_as_the_return_does(built):
    """The manager's provider page had service levels only; reoffending and payments were in CSV files alone."""
    from html import unescape

    from portal.app import create_app
    from portal.settings import Settings
    from probation_returns import accounts
    from tests.support.portal_fixtures import PASSWORD, token

    root, db = built
    with session_scope(engine_for(db)) as s:
        accounts.add_user(s, "money@moj.example", "manager", PASSWORD, name="Contract Manager")
    app = create_app(
        Settings(
            database_url=db,
            landing=root / "landing",
            archive=root / "archive",
            output=root / "out",
            dagster_home=root / "dagster",
            secret_key="test-secret-key",
            open_quarter="2017Q3",
            process_uploads=False,
            sign_in_limit="1000 per minute",
        )
    )
    app.config["TESTING"] = True
    client = app.test_client()
    client.post("/sign-in", data={"email": "money@moj.example", "password": PASSWORD, "csrf_token": token(client)})
    payments = {r["provider_code"]: r for r in _csv(root / "out" / "payments.csv")}
    reoffending = {r["provider_code"]: r for r in _csv(root / "out" / "reoffending.csv")}
    page = unescape(client.get("/manage/providers/C05").get_data(as_text=True))
    c05 = payments["C05"]
    for column in ("quarterly_fee_gbp", "service_credits_gbp", "credits_applied_gbp", "net_gbp"):
        assert f"£{Decimal(c05[column]):,.2f}" in page, column
    assert f"{int(reoffending['C05']['cohort_size']):,}" in page
    assert f"{Decimal(reoffending['C05']['binary_rate']) * 100:.2f}%" in page
    nps = unescape(client.get("/manage/providers/N02").get_data(as_text=True))
    assert "NPS divisions have no contract fee, service credits or outcome payments." in nps
