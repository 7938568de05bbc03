"""The ministry workbook ``ministry_return_YYYYQn.xlsx``, laid out from ``layout.TABLES``.

Every sheet: a short title block (title, marking, what the table holds), then one table with a
frozen, filtered header row. Numbers are stored as numbers with Excel formats; text is stored as
text, never as a formula. Printed or converted to PDF, each sheet is one page wide, landscape, with
the marking in the page header. The bytes depend only on the content and the build time.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.ministry.layout import FORMATS, NUMERIC_KINDS, REOFFENDING, STATUS_FILL, STATUS_SHOWN, TABLES, Table
from reports.xlsx import reproducible

MARKING = "OFFICIAL-SENSITIVE"
PUBLICATION_MARKING = "OFFICIAL: publication version (small counts suppressed)"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
MARK = Font(bold=True, color="C00000")
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")
TEXT = Alignment(horizontal="left", vertical="top", indent=1)  # clear of the number to its left
FIRST = Alignment(horizontal="left", vertical="top")
WRAPPED = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)


def _value(value, kind: str):
    """A cell value for the column kind: percentages 0-100 become fractions; text stays text."""
    if value is None:
        return None
    if kind in NUMERIC_KINDS and isinstance(value, str):
        if value.startswith("["):  # [c] or [z]: a symbol, not a number
            return value
        value = Decimal(value)
    if kind == "pct":
        return Decimal(value) / 100
    if kind == "datetime" and isinstance(value, str):  # 2017-10-09T16:00:00Z -> 2017-10-09 16:00:00 (UTC in the heading)
        return value.replace("T", " ").removesuffix("Z")
    if kind == "count":
        return int(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _put(ws, row: int, col: int, value, kind: str = "text", status: str | None = None, align: Alignment | None = None):
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever it starts with
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            cell.quotePrefix = True  # and stays text if someone edits the cell
        if kind in NUMERIC_KINDS or align is not None:
            cell.alignment = RIGHT if kind in NUMERIC_KINDS else align
    elif value is not None and kind in FORMATS:
        cell.number_format = FORMATS[kind]
        if status in STATUS_SHOWN:
            cell.number_format = f'{FORMATS[kind]}" {STATUS_SHOWN[status]}"'
    if status in STATUS_FILL:
        cell.fill = PatternFill("solid", fgColor=STATUS_FILL[status])
    return cell


def _page(ws, marking: str, footer: str, header_row: int) -> None:
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
    ws.print_title_rows = f"{header_row}:{header_row}"


def write_table(ws, table: Table, rows: list[dict], *, title: str, marking: str, lines: list[tuple[str, object]],
                footer: str) -> tuple[int, int]:
    """Title block, then the table; returns (header row, last row)."""
    ws.cell(row=1, column=1, value=title).font = TITLE
    ws.cell(row=2, column=1, value=marking).font = MARK
    r = 3
    for label, value in lines:  # one cell each, running on across the (empty) cells to its right
        _put(ws, r, 1, f"{label}: {value}")
        r += 1
    if table.note:
        ws.cell(row=r, column=1, value=table.note)
        r += 1
    header = r + 1
    for i, column in enumerate(table.columns, start=1):
        cell = ws.cell(row=header, column=i, value=column.heading)
        cell.font, cell.fill, cell.alignment = BOLD, HEAD_FILL, WRAP_TOP
        ws.column_dimensions[get_column_letter(i)].width = column.width
    ws.row_dimensions[header].height = 30  # room for a heading wrapped on two lines
    for offset, row in enumerate(rows, start=1):
        wrapped = [len(str(row.get(c.key) or "")) / (c.width * 1.15) for c in table.columns if c.wrap]
        if wrapped and max(wrapped) > 1:  # neither openpyxl nor LibreOffice sizes wrapped rows on their own
            ws.row_dimensions[header + offset].height = 15 * math.ceil(max(wrapped))
        for i, column in enumerate(table.columns, start=1):
            status = row.get(column.status_key) if column.status_key else None
            value = row.get(column.key)
            value = dict(column.labels).get(value, value) if column.labels else value
            align = WRAPPED if column.wrap else (TEXT if i > 1 else FIRST)
            _put(ws, header + offset, i, _value(value, column.kind), column.kind, status, align)
    last = header + max(len(rows), 1)
    ws.freeze_panes = ws.cell(row=header + 1, column=1)
    ws.auto_filter.ref = f"A{header}:{get_column_letter(len(table.columns))}{last}"
    _page(ws, marking, footer, header)
    return header, last


def _charts(ws, header: int, last: int, reoffending_ws, reoffending_rows: list[dict], reoffending_header: int,
            crc_codes: set[str]) -> None:
    """Service levels of all CRCs against target; each CRC's adjusted binary rate against its baseline."""
    bars = BarChart()
    bars.type = "col"
    bars.title = "Service levels, all CRCs, against target"
    bars.y_axis.title = "Performance"
    bars.y_axis.number_format = "0%"
    bars.y_axis.scaling.min = 0
    bars.y_axis.scaling.max = 1
    bars.add_data(Reference(ws, min_col=2, min_row=header, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    target = LineChart()
    target.add_data(Reference(ws, min_col=3, min_row=header, max_row=last), titles_from_data=True)
    target.series[0].graphicalProperties.line.solidFill = "C00000"
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    bars += target
    bars.height, bars.width = 8, 18
    ws.add_chart(bars, "E4")

    crc_rows = [i for i, r in enumerate(reoffending_rows, start=reoffending_header + 1) if r["provider_code"] in crc_codes]
    if not crc_rows:
        return
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
    ws.add_chart(rates, "E21")


def write_workbook(path: Path, tables: dict[str, list[dict]], *, quarter: str, build: int, built_at: dt.datetime,
                   provenance: list[tuple[str, object]], publication: bool, crc_codes: set[str]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "probation-returns"
    wb.properties.title = f"Ministry return {quarter}"
    marking = PUBLICATION_MARKING if publication else MARKING
    footer = f"Ministry return {quarter}, build {build}" + (" (publication)" if publication else "")
    placed = {}
    for table in TABLES:
        ws = wb.create_sheet(table.sheet)
        lines = provenance if table.sheet == "Cover" else []
        title = (f"Ministry return {quarter}: probation contract performance" if table.sheet == "Cover"
                 else f"{table.title}, {quarter}")
        placed[table.sheet] = (ws, *write_table(ws, table, tables[table.frame], title=title, marking=marking,
                                                lines=lines, footer=footer))
    chart_ws, chart_header, chart_last = placed["Charts"]
    re_ws, re_header, _ = placed["Reoffending"]
    _charts(chart_ws, chart_header, chart_last, re_ws, tables["reoffending"], re_header, crc_codes)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = built_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    path.write_bytes(reproducible(buffer.getvalue(), stamp))
