"""The provider's feedback on a return: findings.csv, summary.json, feedback.xlsx and feedback.html.

Formats only: each file lays out the same ``FeedbackContent`` (``probation_returns/validation/feedback.py``), which says
what the feedback says. Written to a folder that only the provider sees. Values a provider typed are never run
as formulas: CSV cells get a leading apostrophe, workbook cells are stored as plain strings, HTML is escaped.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from probation_returns import clock
from probation_returns.files.csv import write_csv
from probation_returns.files.xlsx import reproducible
from probation_returns.staging import remove_abandoned, staging_folder
from probation_returns.validation.feedback import (
    FINDING_COLUMNS,
    HEADINGS,
    PART_COUNTS,
    PART_HEADINGS,
    RULE_HEADINGS,
    FeedbackContent,
    severity_word,
    shown,
)
from reports.ministry.layout import MEASURE_NAMES
from reports.provisional import provisional_line, provisional_rows

if TYPE_CHECKING:  # the warehouse is imported where it is read: writing feedback needs no SQLAlchemy
    from sqlalchemy import Engine

    from probation_returns.validation.service import SubmissionValidation

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_WORKBOOK_FINDINGS = 100_000
MAX_HTML_FINDINGS = 2_000
FILES = ("findings.csv", "feedback.xlsx", "feedback.html", "validation_result.json", "summary.json")
# Where the portal is, for feedback.html's links to each rule's page (/rules/<id>); unset, the ids are plain text.
PORTAL_URL = "RETURNS_PORTAL_URL"
PROVISIONAL_SHEET = "Provisional performance"
PROVISIONAL_HEADINGS = [
    "Measure",
    "Service level",
    "Met in time",
    "Counted",
    "Performance (%)",
    "Target (%)",
    "Status",
    "Service credit (£)",
    "Before the quarter's cap (£)",
]

# feedback.html's table: the portal's columns (the measure's name and id in one), the credit after the cap
PROVISIONAL_PAGE_HEADINGS = [
    "Service level",
    "Met in time",
    "Counted",
    "Performance",
    "Target",
    "Status",
    "Service credit",
]


def summary(content: FeedbackContent) -> dict:
    """summary.json: the outcome and why, the counts per table and rule, and the versions that judged it."""
    return {
        "about": content.about,
        "provider": content.provider,
        "quarter": content.quarter,
        "submission_id": content.submission_id,
        "outcome": content.outcome,
        "reasons": content.reasons,
        "tables": content.tables,
        "parts": content.parts,
        "rules": [{k: r[k] for k in ("rule_id", "severity", "count", "message")} for r in content.rules],
        "rules_version": content.rules_version,
        "parameter_version": content.parameter_version,
        "software_version": content.software_version,
        "provisional_performance": content.provisional,
    }


def complete(folder: Path) -> bool:
    """Whether every feedback file is there (they are moved into place together, summary.json last)."""
    return all((folder / name).is_file() for name in FILES)


def write_feedback(content: FeedbackContent, folder: Path) -> dict[str, Path]:
    """Write the five files into a staging folder, then move them into ``folder``: never half a set."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned(folder.parent, f".{folder.name}.incoming-*")  # a killed writer's
    with staging_folder(folder.parent, f".{folder.name}.incoming-") as staging:
        _write_all(content, staging)
        for name in FILES:  # summary.json last: its presence means the set is complete
            os.replace(staging / name, folder / name)
    return {name: folder / name for name in FILES}


def with_feedback(engine: Engine, validation: SubmissionValidation) -> SubmissionValidation:
    """Write a validated submission's feedback: a fresh validation's content, or, when the files of an earlier one
    were lost after it was stored (a kill, a full disk), its stored content again. Returns the validation."""
    from probation_returns.validation.service import stored_content

    if validation.content is not None:
        write_feedback(validation.content, validation.feedback)
    elif not complete(validation.feedback):
        write_feedback(stored_content(engine, validation.submission_id), validation.feedback)
    return validation


def _write_all(content: FeedbackContent, folder: Path) -> None:
    paths = {name: folder / name for name in FILES}
    write_csv(content.findings, paths["findings.csv"], quote_text=True)
    paths["summary.json"].write_text(json.dumps(summary(content), indent=1) + "\n", encoding="utf-8")
    _workbook(content, paths["feedback.xlsx"])
    paths["validation_result.json"].write_text(
        json.dumps(content.validation_result, indent=1, default=str) + "\n", encoding="utf-8"
    )
    paths["feedback.html"].write_text(_html_page(content), encoding="utf-8")


def _text_cell(ws, value):
    """A cell whose text is shown as typed: strings are never read as formulas."""
    cell = WriteOnlyCell(ws, value=None)
    if isinstance(value, str):
        cell.value = _ILLEGAL.sub("\ufffd", value)  # a workbook cannot hold control characters
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _workbook(content: FeedbackContent, path: Path) -> None:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")

    def header(ws, names):
        row = []
        for n in names:
            c = WriteOnlyCell(ws, value=n)
            c.font, c.fill = bold, head_fill
            row.append(c)
        ws.append(row)

    ws = wb.create_sheet("Summary")
    ws.freeze_panes = "A2"
    # Narrow number columns for the table; the long sentences in column B run on across them.
    ws.column_dimensions["A"].width = 22
    for col in "BCDE":
        ws.column_dimensions[col].width = 16
    _fit_to_page_width(ws)
    title = WriteOnlyCell(ws, value=content.title)
    title.font = Font(bold=True, size=14)
    ws.append([title])
    for label, value in content.header:
        ws.append([label, _text_cell(ws, value)])
    ws.append(["Outcome", content.outcome])
    ws.append(["What this means", content.outcome_words])
    for reason in content.reasons:
        ws.append(["Why", _text_cell(ws, reason)])
    ws.append(["Submission", content.submission])
    ws.append(
        [
            "Rules version",
            f"{content.rules_version}; contract parameters {content.parameter_version}; "
            f"software {content.software_version}",
        ]
    )
    ws.append([])
    header(ws, PART_HEADINGS)
    for p in content.parts:
        ws.append([p["table"], _text_cell(ws, p["file"]), *(shown(p[k]) for k in PART_COUNTS)])

    if content.provisional:
        _provisional_sheet(wb, content.provisional, header)

    ws = wb.create_sheet("Rules")
    _fit_to_page_width(ws)
    headings = RULE_HEADINGS
    rules = [[r["rule_id"], severity_word(r["severity"]), r["count"], r["message"], r["action"]] for r in content.rules]
    _fit_columns(ws, headings, rules)
    ws.freeze_panes = "A2"
    header(ws, headings)
    for values in rules:
        ws.append([_text_cell(ws, v) if isinstance(v, str) else v for v in values])

    cascade = content.cascade
    _findings_sheet(wb, "Findings", content.causes, header)
    if cascade.height:  # records rejected only because their case was: fixed by fixing the case
        _findings_sheet(wb, "Cascade", cascade, header)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(reproducible(buffer.getvalue(), clock.now()))  # stamped by the service's clock, not openpyxl's


def _number(text: str | None, places: str = "0.01"):
    """A decimal from summary.json as a number cell (None stays empty), at its places."""
    return None if text is None else Decimal(text).quantize(Decimal(places))


def _provisional_sheet(wb, p: dict, header) -> None:
    """The provisional performance: the same figures as summary.json's ``provisional_performance``."""
    ws = wb.create_sheet(PROVISIONAL_SHEET)
    _fit_to_page_width(ws)
    widths = [22, 40, 12, 12, 16, 12, 20, 20, 26]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width

    def sentences(label, text):
        """Long words in lines that fit the table's width (a write-only sheet cannot size rows to wrapped text)."""
        for i, line in enumerate(textwrap.wrap(text, 150)):
            ws.append([label if i == 0 else "", _text_cell(ws, line)])

    title = WriteOnlyCell(ws, value=f"Provisional performance: {p['provider']} {p['quarter']} version {p['version']}")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    sentences("Provisional", p["headline"])
    ws.append(["Worked out on", p["worked_out_on"]])
    ws.append(["Worked out at (UTC)", p["worked_out_at"]])
    ws.append(["Contract parameters", p["parameter_version"]])
    ws.append(["Validation rules", p["rules_version"]])
    ws.append([])
    crc = p["credits_gbp"] is not None
    header(ws, PROVISIONAL_HEADINGS if crc else PROVISIONAL_HEADINGS[:7])

    def money(text):
        cell = WriteOnlyCell(ws, value=_number(text))
        cell.number_format = "#,##0.00"
        return cell

    def percent(text):
        cell = WriteOnlyCell(ws, value=_number(text, "0.1"))
        cell.number_format = "0.0"
        return cell

    for level in p["service_levels"]:
        row = [
            level["measure"],
            MEASURE_NAMES.get(level["measure"], level["measure"]),
            level["numerator"],
            level["denominator"],
            percent(level["performance_pct"]),
            percent(level["target_pct"]),
            level["status"],
        ]
        ws.append(row + ([money(level["credit_gbp"]), money(level["credit_before_cap_gbp"])] if crc else []))
    if crc:
        totals = [money(p["credits_gbp"]), money(p["credits_before_cap_gbp"])]
        ws.append(["Total", "", None, None, None, None, "", *totals])
    ws.append([])
    sentences("Service credits", p["credits_words"])
    ws.append(["Reoffending cohort", p["reoffending_cohort_size"]])
    sentences("", p["cohort_words"])
    for i, line in enumerate(p["what_can_change"]):
        sentences("What can change them" if i == 0 else "", line)


def _findings_sheet(wb, name: str, findings: pl.DataFrame, header) -> None:
    ws = wb.create_sheet(name)
    _fit_to_page_width(ws)
    ws.freeze_panes = "A2"
    shown = findings.head(MAX_WORKBOOK_FINDINGS)
    ws.auto_filter.ref = f"A1:H{shown.height + 1}"
    headings = [HEADINGS[c] for c in FINDING_COLUMNS]
    severity = FINDING_COLUMNS.index("severity")
    rows = [[severity_word(v) if i == severity else v for i, v in enumerate(row)] for row in shown.iter_rows()]
    _fit_columns(ws, headings, rows)
    header(ws, headings)
    for row in rows:
        ws.append([_text_cell(ws, v) for v in row])
    if findings.height > MAX_WORKBOOK_FINDINGS:
        ws.append(
            [
                f"Only the first {MAX_WORKBOOK_FINDINGS:,} of {findings.height:,} are shown here; "
                "findings.csv holds all of them."
            ]
        )


def _fit_columns(ws, headings: list[str], rows: list[list], widest: int = 90) -> None:
    """Each column as wide as its heading (plus the filter button) or its longest value, up to ``widest``.

    A write-only sheet takes its widths before its rows, so they are measured from the values to be written.
    """
    from openpyxl.utils import get_column_letter

    for i, heading in enumerate(headings):
        longest = max((len(str(row[i])) for row in rows if row[i] is not None), default=0)
        ws.column_dimensions[get_column_letter(i + 1)].width = min(widest, max(len(heading) + 4, longest + 2))


def _fit_to_page_width(ws) -> None:
    """Printed or converted to PDF, a sheet is one page wide, landscape."""
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _escaped(value) -> Markup:
    """Every value the page shows, escaped as ``html.escape`` does (quotes too); a macro's output is kept."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value)))


_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    finalize=_escaped,
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
_PAGES.filters["severity"] = severity_word
_PAGES.filters["shown_count"] = lambda value: f"{value:,}" if isinstance(value, int) else str(shown(value))


def rule_href(rule_id: str) -> str | None:
    """The rule's page in the portal (``RETURNS_PORTAL_URL`` + /rules/<id>), or None when no http(s) base
    URL is configured: a page kept offline then names the rule without a link that might lead nowhere."""
    base = os.environ.get(PORTAL_URL, "").strip().rstrip("/")
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", base):
        return None
    return f"{base}/rules/{quote(rule_id, safe='')}"


def _rule_cell(rule_id: str) -> Markup | str:
    href = rule_href(rule_id)
    return Markup('<a href="{}">{}</a>').format(href, rule_id) if href else rule_id


def _cells(frame: pl.DataFrame) -> list[list[str]]:
    """The findings as the page's table shows them: the first ``MAX_HTML_FINDINGS``, severity in words, each rule
    id a link to its page when the portal's address is known."""
    severity, rule = FINDING_COLUMNS.index("severity"), FINDING_COLUMNS.index("rule_id")
    return [
        [
            "" if v is None else _rule_cell(v) if i == rule else str(severity_word(v) if i == severity else v)
            for i, v in enumerate(row)
        ]
        for row in frame.head(MAX_HTML_FINDINGS).iter_rows()
    ]


def _html_page(content: FeedbackContent) -> str:
    """feedback.html: the page to keep, laid out by ``templates/feedback.html``."""
    return _PAGES.get_template("feedback.html").render(
        c=content,
        cells=_cells,
        rule_cell=_rule_cell,
        max_findings=MAX_HTML_FINDINGS,
        finding_headings=[HEADINGS[c] for c in FINDING_COLUMNS],
        part_headings=PART_HEADINGS,
        part_counts=PART_COUNTS,
        rule_headings=RULE_HEADINGS,
        provisional_headings=PROVISIONAL_PAGE_HEADINGS,
        provisional_rows=provisional_rows,
        provisional_line=provisional_line,
        pounds=lambda text: f"£{Decimal(text):,.2f}",
    )
