"""The ministry workbook ``ministry_return_YYYYQn.xlsx``, laid out from ``layout.TABLES``.

Following the Government Analysis Function's "Releasing statistics in spreadsheets": a Cover (what
the release is and where it came from, no table), a Contents sheet, then one table per sheet, each
with its title in A1, a few lines about it, and the table as a real Excel table (a named
ListObject with a header row and filters) whose header row is frozen. Numbers are numbers with
Excel formats, dates are dates, text is text and never a formula; a number with no figure shows its
marker. Charts have titles and alternative text. Printed or converted to PDF, each sheet is one page
wide, landscape, with the marking in the page header. The bytes depend only on the content and the
build time.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import quoteattr

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table as ExcelTable
from openpyxl.worksheet.table import TableStyleInfo

from reports.ministry.layout import (
    CHART_DATA,
    CONTENTS,
    FORMATS,
    NUMERIC_KINDS,
    REOFFENDING,
    STATUS_FILL,
    TABLES,
    Table,
)
from reports.ministry.tidy import marker
from reports.xlsx import reproducible

MARKING = "OFFICIAL-SENSITIVE"
PUBLICATION_MARKING = "OFFICIAL: publication version (small counts suppressed)"
TITLE = Font(bold=True, size=14)
MARK = Font(bold=True, color="C00000")
BOLD = Font(bold=True)
LINK = Font(color="0563C1", underline="single")
RIGHT = Alignment(horizontal="right", vertical="top")
TEXT = Alignment(horizontal="left", vertical="top", indent=1)  # clear of the number to its left
FIRST = Alignment(horizontal="left", vertical="top")
WRAPPED = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)
HEADING = Alignment(horizontal="left", vertical="top", wrap_text=True)
STYLE = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)


def _value(value, kind: str):
    """A cell value for the column kind: dates as dates, decimals as numbers, text as text."""
    if value is None:
        return None
    if kind in ("datetime", "date") and isinstance(value, str):  # ISO 8601 in UTC
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
        return moment.date() if kind == "date" else moment
    if kind in NUMERIC_KINDS and isinstance(value, str):
        value = Decimal(value)
    if kind in ("count", "id"):
        return int(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _put(ws, row: int, col: int, value, kind: str = "text", align: Alignment | None = None, fill: str | None = None):
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever it starts with
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            cell.quotePrefix = True  # and stays text if someone edits the cell
        cell.alignment = RIGHT if kind in NUMERIC_KINDS else (align or FIRST)
    elif value is not None and kind in FORMATS:
        cell.number_format = FORMATS[kind]
        cell.alignment = RIGHT if kind in NUMERIC_KINDS else (align or FIRST)
    elif align is not None:
        cell.alignment = align
    if fill:
        cell.fill = PatternFill("solid", fgColor=fill)
    return cell


def _page(ws, marking: str, footer: str, header_row: int | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = marking
    ws.oddHeader.center.font = "Arial,Bold"
    ws.oddHeader.center.color = "C00000"
    ws.oddFooter.left.text = footer
    ws.oddFooter.right.text = "Page &P of &N"
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"


def _title(ws, title: str, marking: str, about: tuple[str, ...]) -> int:
    """Title in A1, the marking in A2, then the lines about the sheet; returns the next free row."""
    ws.cell(row=1, column=1, value=title).font = TITLE
    ws.cell(row=2, column=1, value=marking).font = MARK
    r = 3
    for line in about:  # one cell each, running on across the (empty) cells to its right
        _put(ws, r, 1, line)
        r += 1
    return r


def _width(table: Table, rows: list[dict]) -> dict[str, float]:
    """Each column as wide as its declared width, or its longest text (names are never cut off)."""
    widths = {}
    for column in table.columns:
        longest = max((len(str(r.get(column.key) or "")) for r in rows), default=0)
        widths[column.key] = column.width if column.wrap or column.kind in NUMERIC_KINDS else max(
            column.width, min(longest + 2, 80))
    return widths


def write_table(ws, table: Table, rows: list[dict], *, title: str, marking: str, footer: str,
                about: tuple[str, ...] | None = None) -> tuple[int, int]:
    """Title block, then the table as a named Excel table; returns (header row, last row)."""
    header = _title(ws, title, marking, table.about if about is None else about) + 1
    widths = _width(table, rows)
    for i, column in enumerate(table.columns, start=1):
        cell = ws.cell(row=header, column=i, value=column.heading)
        cell.font, cell.alignment = BOLD, HEADING
        ws.column_dimensions[get_column_letter(i)].width = widths[column.key]
    ws.row_dimensions[header].height = 30  # room for a heading wrapped on two lines
    for offset, row in enumerate(rows, start=1):
        wrapped = [len(str(row.get(c.key) or "")) / (widths[c.key] * 1.1) for c in table.columns if c.wrap]
        if wrapped and max(wrapped) > 1:  # neither openpyxl nor LibreOffice sizes wrapped rows on their own
            ws.row_dimensions[header + offset].height = 15 * math.ceil(max(wrapped))
        for i, column in enumerate(table.columns, start=1):
            value = row.get(column.key)
            if value is None and column.kind in NUMERIC_KINDS:
                value = row.get(marker(column.key))  # [c], [x] or [z]: the reason there is no figure
            else:
                value = _value(value, column.kind)
            fill = STATUS_FILL.get(row.get(column.shade_key)) if column.shade_key else None
            align = WRAPPED if column.wrap else (TEXT if i > 1 else FIRST)
            _put(ws, header + offset, i, value, column.kind, align, fill)
    last = header + max(len(rows), 1)
    ref = f"A{header}:{get_column_letter(len(table.columns))}{last}"
    excel = ExcelTable(displayName=table.name, ref=ref, tableStyleInfo=STYLE)
    ws.add_table(excel)
    ws.freeze_panes = ws.cell(row=header + 1, column=1)
    _page(ws, marking, footer, header)
    return header, last


def write_cover(ws, *, quarter: str, publication: bool, marking: str, footer: str,
                provenance: list[tuple[str, object]]) -> None:
    """What the release is and where it came from: labels in column A, values in B (dates as dates)."""
    copy = ("Publication copy: counts of people from 1 to 4, and figures that would reveal them, are shown as [c]."
            if publication else "Internal copy for contract managers: not for publication (the publication copy "
            "hides small counts).")
    about = (f"Contract performance of the 21 Community Rehabilitation Companies (CRCs) and 7 National Probation "
             f"Service (NPS) divisions for {quarter}: service levels, proven reoffending, service credits and "
             "outcome payments, and the quality of the data each provider returned.", copy,
             "The same tables are published as CSV files with a data dictionary (data_dictionary.csv) and a "
             + ("manifest (manifest.json) in the same folder: the build, the software, parameter and rules versions "
                "and the SHA-256 checksum of each other file of the publication folder." if publication else
                "manifest of every file's checksum (manifest.json)."), "Contents: see the Contents sheet.")
    r = _title(ws, f"Ministry return {quarter}: probation contract performance", marking, about) + 1
    ws.cell(row=r, column=1, value="Where it came from").font = BOLD
    for label, value in provenance:
        r += 1
        _put(ws, r, 1, label)
        kind = "datetime" if isinstance(value, dt.datetime) else "date" if isinstance(value, dt.date) else (
            "id" if isinstance(value, int) else "text")
        _put(ws, r, 2, value, kind).alignment = FIRST  # a value beside its label, not a column of numbers
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 90
    _page(ws, marking, footer, None)


def _link_contents(ws, header: int, last: int) -> None:
    for r in range(header + 1, last + 1):
        cell = ws.cell(row=r, column=1)
        cell.hyperlink = f"#'{cell.value}'!A1"
        cell.font = LINK


def _charts(ws, header: int, last: int, reoffending_ws, reoffending_rows: list[dict], reoffending_header: int,
            crc_codes: set[str]) -> list[str]:
    """Service levels of all CRCs against target; each CRC's adjusted binary rate against its baseline.

    Returns the charts' alternative texts, in the order they were added.
    """
    keys = [c.key for c in CHART_DATA.columns]
    bars = BarChart()
    bars.type = "col"
    bars.title = "Service levels of all CRCs against target"
    bars.y_axis.title = "Performance"
    bars.y_axis.number_format = "0%"
    bars.y_axis.scaling.min = 0
    bars.y_axis.scaling.max = 1
    performance, target = keys.index("performance") + 1, keys.index("target") + 1
    bars.add_data(Reference(ws, min_col=performance, min_row=header, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    marks = LineChart()  # the target as a marker on each bar, not a line joining different measures
    marks.add_data(Reference(ws, min_col=target, min_row=header, max_row=last), titles_from_data=True)
    series = marks.series[0]
    series.graphicalProperties.line.noFill = True
    series.marker.symbol = "dash"
    series.marker.size = 20
    series.marker.graphicalProperties.solidFill = "C00000"
    series.marker.graphicalProperties.line.solidFill = "C00000"
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    bars += marks
    bars.height, bars.width = 8, 18
    ws.add_chart(bars, "F4")
    alt = ["Column chart: each service level's performance for all CRCs together, with its target marked as a "
           "red dash. The figures are in the table on this sheet."]

    crc_rows = [i for i, r in enumerate(reoffending_rows, start=reoffending_header + 1) if r["provider_code"] in crc_codes]
    if not crc_rows:
        return alt
    first, end = min(crc_rows), max(crc_rows)
    rates = BarChart()
    rates.type = "col"
    rates.title = "Adjusted binary reoffending rate against baseline, by CRC"
    rates.y_axis.title = "Rate"
    rates.y_axis.number_format = "0%"
    rates.y_axis.delete = False
    rates.x_axis.delete = False
    keys = [c.key for c in REOFFENDING.columns]
    for col in (keys.index("adjusted_binary_rate") + 1, keys.index("baseline_binary_rate") + 1):
        series = Reference(reoffending_ws, min_col=col, min_row=reoffending_header, max_row=end)
        rates.add_data(series, titles_from_data=True)
    rates.set_categories(Reference(reoffending_ws, min_col=1, min_row=first, max_row=end))
    rates.height, rates.width = 9, 26
    ws.add_chart(rates, "F21")
    alt.append("Column chart: for each CRC with a reoffending cohort, its case-mix adjusted binary reoffending rate "
               "beside its contractual baseline rate. The figures are on the Reoffending sheet.")
    return alt


def _with_alt_text(data: bytes, texts: list[str]) -> bytes:
    """Give the charts their alternative text (openpyxl writes none): the drawing's n-th chart gets texts[n-1]."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.startswith("xl/drawings/drawing") and info.filename.endswith(".xml"):
                text = body.decode("utf-8")
                for n, alt in enumerate(texts, start=1):
                    text = re.sub(rf'(<(?:\w+:)?cNvPr id="{n}" name="Chart {n}")', rf"\1 descr={quoteattr(alt)}",
                                  text, count=1)
                body = text.encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def write_workbook(path: Path, tables: dict[str, list[dict]], *, quarter: str, build: int, built_at: dt.datetime,
                   provenance: list[tuple[str, object]], publication: bool, crc_codes: set[str]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "probation-returns"
    wb.properties.title = f"Ministry return {quarter}" + (" (publication)" if publication else "")
    wb.properties.language = "en-GB"
    marking = PUBLICATION_MARKING if publication else MARKING
    footer = f"Ministry return {quarter}, build {build}" + (" (publication)" if publication else "")
    write_cover(wb.create_sheet("Cover"), quarter=quarter, publication=publication, marking=marking, footer=footer,
                provenance=provenance)
    contents = wb.create_sheet("Contents")
    placed = {}
    for table in TABLES:
        ws = wb.create_sheet(table.sheet)
        placed[table.sheet] = (ws, *write_table(ws, table, tables[table.frame], title=f"{table.title}, {quarter}",
                                                marking=marking, footer=footer))
    header, last = write_table(contents, CONTENTS, tables["contents"], title=f"Contents: ministry return {quarter}",
                               marking=marking, footer=footer,
                               about=("This workbook has one table per worksheet. Select a worksheet's name to go to it.",))
    _link_contents(contents, header, last)
    chart_ws, chart_header, chart_last = placed["Charts"]
    re_ws, re_header, _ = placed["Reoffending"]
    alt = _charts(chart_ws, chart_header, chart_last, re_ws, tables["reoffending"], re_header, crc_codes)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = built_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    path.write_bytes(reproducible(_with_alt_text(buffer.getvalue(), alt), stamp))
