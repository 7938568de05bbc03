"""The ministry workbook ``ministry_return_YYYYQn.xlsx``, laid out from ``layout.TABLES``.

Following the Government Analysis Function's "Releasing statistics in spreadsheets": a Cover (what
the release is, where it came from, its release date and a contact; no table), a Contents sheet,
then one table per sheet, each with its title in A1, a few lines about it (and a line explaining
the symbols the table shows, only those), and the table as a real Excel table (a named ListObject
with a header row and filters) whose header row is frozen. Numbers are numbers with Excel formats,
dates are dates, text is text and never a formula; no cell inside a table is blank (a number with
no figure shows its marker, other empty cells a word or marker). Numeric headings carry their unit
and sit right-aligned over their numbers; headings refer to the numbered notes as [note N]. Charts
have titles and alternative text and tell their series apart by shape, not only colour. Printed or
converted to PDF, each sheet is landscape, one page wide (pages run on down, the table's headings
repeated on each), on A4, or A3 for a sheet too wide to print legibly on A4, with the marking in the
page header. The bytes depend only on the content, the build time and the contact.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import textwrap
import zipfile
from copy import copy
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table as ExcelTable
from openpyxl.worksheet.table import TableStyleInfo

from probation_returns.files.xlsx import reproducible
from reports.ministry.layout import (
    CHART_DATA,
    CONTENTS,
    FORMATS,
    NUMERIC_KINDS,
    REOFFENDING,
    STATUS_FILL,
    SYMBOL_WORDS,
    Column,
    Table,
    tables_for,
)
from reports.ministry.tidy import TOTALS, marker, provider_type

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
HEADING_RIGHT = Alignment(horizontal="right", vertical="top", wrap_text=True)  # over a column of numbers
SYMBOLS = tuple(SYMBOL_WORDS)
DEFAULT_CONTACT = "Probation contract management team, Ministry of Justice (set RETURNS_CONTACT to name a contact)"
# printable width (points) of landscape paper less the 0.4 inch margins, and the least scale that prints legibly
PAPER_WIDTH = {"A4": 297 / 25.4 * 72 - 0.8 * 72, "A3": 420 / 25.4 * 72 - 0.8 * 72}
LEGIBLE = 0.8  # 11 pt printed at 8.8 pt or more
FILTER_BUTTON = 3  # characters of a heading cell taken by its filter button (LibreOffice draws it in the cell)


def contact() -> str:
    """Who to ask about the release: ``RETURNS_CONTACT`` (a team and an address), else a default."""
    return os.environ.get("RETURNS_CONTACT", "").strip() or DEFAULT_CONTACT


def note_ref(numbers: list[int]) -> str:
    """[3] -> '[note 3]'; [1, 2, 3, 7] -> '[notes 1 to 3, 7]' (the Analysis Function's note markers)."""
    numbers = sorted(set(numbers))
    if not numbers:
        return ""
    runs, start = [], numbers[0]
    for a, b in zip(numbers, numbers[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}, {a}" if a == start + 1 else f"{start} to {a}")
            start = b
    return f"[{'note' if len(numbers) == 1 else 'notes'} {', '.join(runs)}]"


STYLE = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)


def _value(value, kind: str):
    """A cell value for the column kind: dates as dates, decimals as numbers, text as text."""
    if value is None:
        return None
    if kind in ("datetime", "date") and isinstance(value, str):  # ISO 8601 in UTC
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
        return moment.date() if kind == "date" else moment
    if kind in NUMERIC_KINDS and isinstance(value, str):
        value = Decimal(value)
    if kind in ("count", "id"):
        return int(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


_SHARED_ALIGNMENTS = {id(a) for a in (RIGHT, TEXT, FIRST, WRAPPED, HEADING, HEADING_RIGHT)}


def _put(ws, row: int, col: int, value, kind: str = "text", align: Alignment | None = None, fill: str | None = None):
    cell = ws.cell(row=row, column=col)
    cell.value = value
    text = isinstance(value, str)
    quoted = text and value[:1] in ("=", "+", "-", "@", "\t", "\r")
    if text:
        cell.data_type = "s"  # never a formula, whatever it starts with
    # Setting a style looks it up in the workbook's lists by its hash (most of the time of writing a table): a
    # fresh cell styled like one before takes that cell's style indexes, so the file is the same byte for byte.
    shape = "text" if text else ("format" if value is not None and kind in FORMATS else "plain")
    key = (shape, quoted, kind, fill, id(align)) if align is None or id(align) in _SHARED_ALIGNMENTS else None
    styles = ws.parent.__dict__.setdefault("_returns_put_styles", {})  # indexes belong to their workbook
    fresh = cell._style is None or not any(cell._style)
    if key is not None and fresh and key in styles:
        cell._style = copy(styles[key])
        return cell
    if text:
        if quoted:
            cell.quotePrefix = True  # and stays text if someone edits the cell
        cell.alignment = RIGHT if kind in NUMERIC_KINDS else (align or FIRST)
    elif shape == "format":
        cell.number_format = FORMATS[kind]
        cell.alignment = RIGHT if kind in NUMERIC_KINDS else (align or FIRST)
    elif align is not None:
        cell.alignment = align
    if fill:
        cell.fill = PatternFill("solid", fgColor=fill)
    if key is not None and fresh and cell._style is not None:
        styles[key] = copy(cell._style)
    return cell


def _page(ws, marking: str, footer: str, header_row: int | None, points: float = 0) -> None:
    """Landscape, fitted to one page's width only (long tables run on to more pages), A4 or A3 by width."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4 if paper(points) == "A4" else ws.PAPERSIZE_A3
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.center.text = marking
    ws.oddHeader.center.font = "Arial,Bold"
    ws.oddHeader.center.color = "C00000"
    ws.oddFooter.left.text = footer
    ws.oddFooter.right.text = "Page &P of &N"
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"


def _fitted(line: str, limit: int) -> list[str]:
    """A line as sentences grouped into lines of at most ``limit`` characters (a long sentence wrapped at words)."""
    if len(line) <= limit:
        return [line]
    out: list[str] = []
    for sentence in re.split(r"(?<=[.:;]) (?=[A-Z\[])", line):
        for piece in textwrap.wrap(sentence, limit, break_long_words=False, break_on_hyphens=False):
            if out and len(out[-1]) + 1 + len(piece) <= limit and out[-1].endswith("."):
                out[-1] += " " + piece
            else:
                out.append(piece)
    return out


def _title(ws, title: str, marking: str, about: tuple[str, ...], limit: int = 130) -> int:
    """Title in A1, the marking in A2, then the lines about the sheet; returns the next free row.

    Each line runs on across the (empty) cells to its right, so a line wider than the printed page would
    widen the page (LibreOffice prints the overflow) and shrink the table: longer lines go on more rows.
    """
    ws.cell(row=1, column=1, value=title).font = TITLE
    ws.cell(row=2, column=1, value=marking).font = MARK
    r = 3
    for line in about:
        for part in _fitted(line, limit):
            _put(ws, r, 1, part)
            r += 1
    return r


def _width(table: Table, cells: list[list], headings: list[str]) -> dict[str, float]:
    """Each column as wide as its declared width, or its longest text (names are never cut off), and wide
    enough for its heading's longest word beside the filter button (a heading wraps between words only)."""
    widths = {}
    for i, column in enumerate(table.columns):
        longest = max((len(str(r[i] or "")) for r in cells), default=0)
        width = column.width if column.wrap or column.kind in NUMERIC_KINDS else max(column.width, min(longest + 2, 80))
        widths[column.key] = max(width, max(len(w) for w in headings[i].split()) + FILTER_BUTTON)
    return widths


def _shown(column: Column, row: dict):
    """What the cell shows: its value, or its marker, or its column's word for it; never nothing."""
    if column.words is not None and (said := column.words(row)) is not None:
        return said
    value = row.get(column.key)
    if value is None and column.kind in NUMERIC_KINDS:
        value = row.get(marker(column.key))  # [c], [x] or [z]: the reason there is no figure
    else:
        value = _value(value, column.kind_for(row))
    if value is None and column.empty is not None:
        value = column.empty(row)
    return value


def _lines(text: str, width: float, heading: bool = False) -> int:
    """How many lines text wraps to, between words, in a column ``width`` characters wide (a heading is bold
    and shares its cell with the filter button)."""
    room = width - FILTER_BUTTON if heading else width - 1  # a little short rather than text over the next row
    lines, used = 1, 0
    for word in str(text).split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, 0
        used = used + 1 + len(word) if used else len(word)
        while used > room:  # a word longer than the column breaks within it
            lines, used = lines + 1, used - room
    return lines


def symbols_line(shown: set, notes: dict[str, int]) -> str | None:
    """The symbols the table shows, and only those, with the notes that explain them."""
    used = [s for s in SYMBOLS if s in shown]
    if not used:
        return None
    refs = [notes[s] for s in used if s in notes] + (
        [notes["Disclosure control"]] if "[c]" in used and "Disclosure control" in notes else []
    )
    words = ", ".join(f"{s} {SYMBOL_WORDS[s]}" for s in used)
    return f"Symbols in this table: {words} {note_ref(refs)}".rstrip() + "."


def paper(points: float) -> str:
    """A4, unless the sheet would print smaller than legible on it (then A3)."""
    return "A4" if PAPER_WIDTH["A4"] / points >= LEGIBLE else "A3"


def _chars(points: float) -> int:
    """Characters of 11 pt text (about 6 pt each, generously) that fit across the printed page."""
    return int(max(points, PAPER_WIDTH[paper(points)]) / 6)


def _points(widths: list[float]) -> float:
    """A sheet's printed width: a column w characters wide is about 7w + 5 pixels (Calibri 11), 0.75 pt each."""
    return sum(w * 7 + 5 for w in widths) * 0.75


def with_totals(table: Table, rows: list[dict]) -> list[dict]:
    """The providers' rows, then All CRCs, All NPS divisions and England and Wales.

    A total is the sum of its providers' figures; where any of them is hidden ([c]) the total is hidden
    too (it would give the hidden part away), and where none has a figure it is [z] (not applicable). A
    part that is not available ([x]: an outcome payment with no result) is money not paid: it adds nothing.
    """
    groups = {"CRC": ("CRC",), "NPS": ("NPS",), "ALL": ("CRC", "NPS")}
    out = list(rows)
    for code, kinds in groups.items():
        parts = [r for r in rows if provider_type(r["provider_code"]) in kinds]
        total = {
            "quarter": parts[0].get("quarter") if parts else None,
            "provider_code": code,
            "provider_name": TOTALS[code],
        }
        for column in table.columns:
            if column.kind not in NUMERIC_KINDS:
                continue
            markers = {r.get(marker(column.key)) for r in parts if r.get(column.key) is None}
            figures = [Decimal(str(r[column.key])) for r in parts if r.get(column.key) is not None]
            hidden = "[c]" if "[c]" in markers else None
            total[column.key] = None if hidden or not figures else sum(figures, Decimal(0))
            total[marker(column.key)] = hidden or (None if figures else "[z]")
        out.append(total)
    return out


def write_table(
    ws,
    table: Table,
    rows: list[dict],
    *,
    title: str,
    marking: str,
    footer: str,
    about: tuple[str, ...] | None = None,
    notes: dict[str, int] | None = None,
) -> tuple[int, int]:
    """Title block, then the table as a named Excel table; returns (header row, last row).

    ``notes`` numbers the Notes items (item -> N): headings refer to them as [note N].
    """
    notes = notes or {}
    if table.totals:
        rows = with_totals(table, rows)
    cells = [[_shown(column, row) for column in table.columns] for row in rows]
    line = symbols_line({v for values in cells for v in values if isinstance(v, str)}, notes)
    headings = [f"{c.heading} {note_ref([notes[k] for k in c.notes if k in notes])}".strip() for c in table.columns]
    widths = _width(table, cells, headings)
    points = _points(list(widths.values()))
    header = (
        _title(
            ws, title, marking, (*(table.about if about is None else about), *([line] if line else [])), _chars(points)
        )
        + 1
    )
    for i, (column, heading) in enumerate(zip(table.columns, headings), start=1):
        cell = ws.cell(row=header, column=i, value=heading)
        cell.font, cell.alignment = BOLD, HEADING_RIGHT if column.kind in NUMERIC_KINDS else HEADING
        ws.column_dimensions[get_column_letter(i)].width = widths[column.key]
    # room for the longest heading as wrapped (neither openpyxl nor LibreOffice sizes a set row on its own)
    ws.row_dimensions[header].height = 15 * max(
        2, *(_lines(h, widths[c.key], True) for h, c in zip(headings, table.columns))
    )
    for offset, (row, values) in enumerate(zip(rows, cells), start=1):
        wrapped = [_lines(str(v or ""), widths[c.key]) for c, v in zip(table.columns, values) if c.wrap]
        if wrapped and max(wrapped) > 1:
            ws.row_dimensions[header + offset].height = 15 * max(wrapped)
        for i, (column, value) in enumerate(zip(table.columns, values), start=1):
            fill = STATUS_FILL.get(row.get(column.shade_key)) if column.shade_key else None
            align = WRAPPED if column.wrap else (TEXT if i > 1 else FIRST)
            _put(ws, header + offset, i, value, column.kind_for(row), align, fill)
    last = header + max(len(rows), 1)
    ref = f"A{header}:{get_column_letter(len(table.columns))}{last}"
    excel = ExcelTable(displayName=table.name, ref=ref, tableStyleInfo=STYLE)
    ws.add_table(excel)
    ws.freeze_panes = ws.cell(row=header + 1, column=1)
    _page(ws, marking, footer, header if table.repeat_header else None, points)
    return header, last


def write_cover(
    ws,
    *,
    quarter: str,
    publication: bool,
    marking: str,
    footer: str,
    provenance: list[tuple[str, object]],
    released: dt.date | None = None,
    notes: dict[str, int] | None = None,
) -> None:
    """What the release is, when and who to ask, and where it came from: labels in A, values in B (dates as dates)."""
    notes = notes or {}
    hiding = note_ref([notes[k] for k in ("[c]", "Disclosure control") if k in notes])
    copy = (
        f"Publication copy: counts of people from 1 to 4, and figures that would reveal them, are shown as [c] "
        f"{hiding}".rstrip()
        + "."
        if publication
        else "Internal copy for contract managers: not for publication (the publication copy hides small counts)."
    )
    about = (
        f"Contract performance of the 21 Community Rehabilitation Companies (CRCs) and 7 National Probation "
        f"Service (NPS) divisions for {quarter}: service levels, proven reoffending, service credits and "
        "outcome payments, and the quality of the data each provider returned.",
        copy,
        "The same tables are published as CSV files with a data dictionary (data_dictionary.csv) and a "
        + (
            "manifest (manifest.json) in the same folder: the build, the software, parameter and rules versions "
            "and the SHA-256 checksum of each other file of the publication folder."
            if publication
            else "manifest of every file's checksum (manifest.json)."
        ),
        "Contents: see the Contents sheet.",
    )
    r = (
        _title(
            ws, f"Ministry return {quarter}: probation contract performance", marking, about, _chars(_points([26, 90]))
        )
        + 1
    )
    ws.cell(row=r, column=1, value="Release").font = BOLD
    release = [("Release date", released)] if released else []
    for label, value in (*release, ("Contact", contact())):
        r += 1
        _put(ws, r, 1, label)
        _put(ws, r, 2, value, "date" if isinstance(value, dt.date) else "text").alignment = FIRST
    r += 2
    ws.cell(row=r, column=1, value="Where it came from").font = BOLD
    for label, value in provenance:
        r += 1
        _put(ws, r, 1, label)
        kind = (
            "datetime"
            if isinstance(value, dt.datetime)
            else "date"
            if isinstance(value, dt.date)
            else ("id" if isinstance(value, int) else "text")
        )
        _put(ws, r, 2, value, kind).alignment = FIRST  # a value beside its label, not a column of numbers
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 90
    _page(ws, marking, footer, None, _points([26, 90]))


def _link_contents(ws, header: int, last: int) -> None:
    for r in range(header + 1, last + 1):
        cell = ws.cell(row=r, column=1)
        cell.hyperlink = f"#'{cell.value}'!A1"
        cell.font = LINK


def _as_dashes(chart: LineChart, colour: str) -> LineChart:
    """The chart's one series as a short dash on each category, with no line joining them.

    Beside columns, a dash differs by shape, not only by colour, so the chart reads in black and white.
    """
    series = chart.series[0]
    series.graphicalProperties.line.noFill = True
    series.marker.symbol = "dash"
    series.marker.size = 20
    series.marker.graphicalProperties.solidFill = colour
    series.marker.graphicalProperties.line.solidFill = colour
    return chart


def _charts(
    ws,
    header: int,
    last: int,
    reoffending_ws,
    reoffending_rows: list[dict],
    reoffending_header: int,
    crc_codes: set[str],
) -> list[str]:
    """Service levels of all CRCs against target; each CRC's adjusted binary rate against its baseline.

    Both charts sit below the chart data (so the sheet prints one A4 page wide), each printed on a page of
    its own, and draw the second
    series as dashes over the columns. Returns the charts' alternative texts, in the order they were added.
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
    bars.add_data(Reference(ws, min_col=performance, min_row=header + 1, max_row=last))
    bars.series[0].tx = SeriesLabel(v="All CRCs' performance")  # the legend says what, not the heading's notes
    bars.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    marks = LineChart()  # the target as a marker on each bar, not a line joining different measures
    marks.add_data(Reference(ws, min_col=target, min_row=header + 1, max_row=last))
    marks.series[0].tx = SeriesLabel(v="Target")
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    bars += _as_dashes(marks, "C00000")
    bars.height, bars.width = 7, 18
    ws.row_breaks.append(Break(id=last))  # each chart printed whole, on a page of its own after the table
    ws.add_chart(bars, f"A{last + 2}")
    alt = [
        "Column chart: each service level's performance for all CRCs together as a column, with its target "
        "marked as a red dash. The figures are in the table above the chart."
    ]

    crc_rows = [
        i for i, r in enumerate(reoffending_rows, start=reoffending_header + 1) if r["provider_code"] in crc_codes
    ]
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
    adjusted, baseline = keys.index("adjusted_binary_rate") + 1, keys.index("baseline_binary_rate") + 1
    rates.add_data(Reference(reoffending_ws, min_col=adjusted, min_row=first, max_row=end))
    rates.series[0].tx = SeriesLabel(v="Adjusted binary rate")
    rates.set_categories(Reference(reoffending_ws, min_col=1, min_row=first, max_row=end))
    base = LineChart()  # the baseline as a black dash on each CRC's column: told apart by shape, not colour
    base.add_data(Reference(reoffending_ws, min_col=baseline, min_row=first, max_row=end))
    base.series[0].tx = SeriesLabel(v="Baseline binary rate")
    rates += _as_dashes(base, "000000")
    rates.height, rates.width = 9, 18
    ws.row_breaks.append(Break(id=last + 17))
    ws.add_chart(rates, f"A{last + 19}")
    alt.append(
        "Column chart: for each CRC with a reoffending cohort, its case-mix adjusted binary reoffending rate "
        "as a column, with its contractual baseline rate marked as a black dash. The figures are on the "
        "Reoffending sheet."
    )
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
                    text = re.sub(
                        rf'(<(?:\w+:)?cNvPr id="{n}" name="Chart {n}")', rf"\1 descr={quoteattr(alt)}", text, count=1
                    )
                body = text.encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def write_workbook(
    path: Path,
    tables: dict[str, list[dict]],
    *,
    quarter: str,
    build: int,
    built_at: dt.datetime,
    provenance: list[tuple[str, object]],
    publication: bool,
    crc_codes: set[str],
) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "probation-returns"
    wb.properties.title = f"Ministry return {quarter}" + (" (publication)" if publication else "")
    wb.properties.language = "en-GB"
    marking = PUBLICATION_MARKING if publication else MARKING
    footer = f"Ministry return {quarter}, build {build}" + (" (publication)" if publication else "")
    released = built_at.astimezone(ZoneInfo("Europe/London")).date()  # the release date is the build's (UK) date
    notes = {row["item"]: int(row["note"].removeprefix("note ")) for row in tables["notes"]}
    write_cover(
        wb.create_sheet("Cover"),
        quarter=quarter,
        publication=publication,
        marking=marking,
        footer=footer,
        provenance=provenance,
        released=released,
        notes=notes,
    )
    contents = wb.create_sheet("Contents")
    placed = {}
    for table in tables_for(publication):
        ws = wb.create_sheet(table.sheet)
        placed[table.sheet] = (
            ws,
            *write_table(
                ws,
                table,
                tables[table.frame],
                title=f"{table.title}, {quarter}",
                marking=marking,
                footer=footer,
                notes=notes,
            ),
        )
    header, last = write_table(
        contents,
        CONTENTS,
        tables["contents"],
        title=f"Contents: ministry return {quarter}",
        marking=marking,
        footer=footer,
        about=("This workbook has one table per worksheet. Select a worksheet's name to go to it.",),
    )
    _link_contents(contents, header, last)
    chart_ws, chart_header, chart_last = placed["Charts"]
    re_ws, re_header, _ = placed["Reoffending"]
    alt = _charts(chart_ws, chart_header, chart_last, re_ws, tables["reoffending"], re_header, crc_codes)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = built_at.astimezone(dt.UTC).replace(tzinfo=None)
    path.write_bytes(reproducible(_with_alt_text(buffer.getvalue(), alt), stamp))
