"""The provider's feedback on a return: findings.csv, summary.json, feedback.xlsx and feedback.html.

Written to a folder that only the provider sees. Values a provider typed are never run as formulas:
CSV cells get a leading apostrophe, workbook cells are stored as plain strings, HTML is escaped.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from probation_returns import __version__, clock
from probation_returns.files.csv import write_csv
from probation_returns.files.xlsx import reproducible
from probation_returns.staging import remove_abandoned, staging_folder
from probation_returns.validation import (
    CASCADE,
    RULES_VERSION,
    ValidationResult,
    part_words,
    table_state,
    whole_return_counts,
)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_WORKBOOK_FINDINGS = 100_000
MAX_HTML_FINDINGS = 2_000
FINDING_COLUMNS = ["table", "row_number", "case_ref", "column", "rule_id", "severity", "value", "message"]
HEADINGS = {
    "table": "Table",
    "row_number": "Row",
    "case_ref": "Case reference",
    "column": "Column",
    "rule_id": "Rule",
    "severity": "Severity",
    "value": "Value found",
    "message": "What is wrong and how to fix it",
}
SEVERITY_WORDS = {"F": "fatal", "E": "error", "W": "warning"}
OUTCOME_WORDS = {
    "Accepted": "Your return was accepted. Nothing needs fixing.",
    "Accepted with warnings": "Your return was accepted. Some records look unusual: please check the warnings "
    "below and correct them in your next return if they are mistakes.",
    "Accepted with record rejections": "Your return was accepted, but some records were rejected and will not count "
    "towards your performance. Correct them in any version you send again.",
    "Rejected": "Your return was rejected and cannot be used. Fix the problems below in any version you send again.",
}


def _about_lines(info: dict) -> list[tuple[str, str]]:
    a = info.get("about") or {}
    if not a:
        return []
    left = a["business_days_left"]
    sent = a.get("delivered_at") or a.get("received_at")  # feedback written before 'delivered_at' was its name
    standing = a.get("standing") or {}
    if sent:
        timing = (
            f"{left} business day{'s' if left != 1 else ''} when this version was delivered"
            if left
            else "none: this version was delivered after the deadline, so it is late"
        )
    else:
        timing = (
            f"{left} business day{'s' if left != 1 else ''} from today"
            if left
            else "none: the deadline has passed, so a return sent now is late"
        )
    lines = [
        ("Provider", a["provider"]),
        ("Quarter", a["quarter"]),
        *((f"File {i}", f"{f['name']} (SHA-256 {f['sha256']})") for i, f in enumerate(a["files"], start=1)),
        ("Delivered", sent.replace("T", " ").replace("Z", " UTC") if sent else "not sent: checked before sending"),
        ("Version", str(a["version"]) if a["version"] else "not sent"),
        ("Deadline", a["deadline"]),
        ("Time left to send it", timing),
    ]
    if standing:
        lines += [
            ("Which version counts", standing["why"]),
            ("If you send it again", standing["send_again"]),
            ("Service credits at stake", standing["credits"]),
        ]
    return lines


WHOLE_RETURN = "whole return"


def parts(result: ValidationResult) -> list[dict]:
    """One line per table, then one for the return as a whole (file names, files sent beside it), so that
    the errors and warnings here add up to the rules' counts. ``file`` says what happened to the table's
    file in words; a count that is not known (a file not read, records not checked) is None."""
    out = [
        {
            "table": table,
            "file": part_words(table, c),
            "rows": c.get("rows") if c.get("read", True) else None,
            "rejected": c.get("rejected") if table_state(c) == "read" else None,
            "errors": c.get("errors"),
            "warnings": c.get("warnings"),
        }
        for table, c in result.tables.items()
    ]
    whole = whole_return_counts(result.findings)
    return out + [
        {
            "table": WHOLE_RETURN,
            "file": "the files' names, and files sent beside the return",
            "rows": None,
            "rejected": None,
            **whole,
        }
    ]


def shown(value) -> object:
    """A count as shown in a table: the number, or a word where there is none."""
    return "not known" if value is None else value


def summary(result: ValidationResult, submission_id: int | None, about: dict | None = None) -> dict:
    return {
        "about": about,
        "provider": result.provider,
        "quarter": result.quarter,
        "submission_id": submission_id,
        "outcome": result.outcome,
        "reasons": result.reasons,
        "tables": result.tables,
        "parts": parts(result),
        "rules": [{k: r[k] for k in ("rule_id", "severity", "count", "message")} for r in result.rules()],
        "rules_version": RULES_VERSION,
        "parameter_version": result.parameter_version,
        "software_version": __version__,
    }


FILES = ("findings.csv", "feedback.xlsx", "feedback.html", "validation_result.json", "summary.json")


def complete(folder: Path) -> bool:
    """Whether every feedback file is there (they are moved into place together, summary.json last)."""
    return all((folder / name).is_file() for name in FILES)


class FeedbackFiles:
    """The five feedback files, as the writer ``validate_submission`` is given (the domain imports no writer)."""

    def write(self, result: ValidationResult, folder: Path, submission_id: int | None, about: dict | None) -> None:
        write_feedback(result, folder, submission_id, about)

    def complete(self, folder: Path) -> bool:
        return complete(folder)


FEEDBACK_FILES = FeedbackFiles()


def write_feedback(
    result: ValidationResult, folder: Path, submission_id: int | None = None, about: dict | None = None
) -> dict[str, Path]:
    """Write the five files into a staging folder, then move them into ``folder``: never half a set.

    ``about`` (from ``probation_returns.validation.header.about()``) is the header block: provider, quarter, files
    and checksums, received time, version, deadline and business days left."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned(folder.parent, f".{folder.name}.incoming-*")  # a killed writer's
    with staging_folder(folder.parent, f".{folder.name}.incoming-") as staging:
        _write_all(result, staging, submission_id, about)
        for name in FILES:  # summary.json last: its presence means the set is complete
            os.replace(staging / name, folder / name)
    return {name: folder / name for name in FILES}


def ordered(result: ValidationResult) -> pl.DataFrame:
    """The findings in the order to fix them: fatal first, then each rule's root-cause findings by row (rules in
    the order of ``result.rules()``: errors before warnings, the most frequent first), then the records rejected
    only because their case was (the cascade), grouped under that case."""
    order = {r["rule_id"]: i for i, r in enumerate(result.rules())}
    cascade = pl.col("rule_id") == CASCADE
    return (
        result.findings.select(FINDING_COLUMNS)
        .with_columns(
            cascade.alias("_cascade"),
            pl.col("rule_id").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_rule"),
            pl.when(cascade).then(pl.col("case_ref")).alias("_case"),
        )
        .sort("_cascade", "_rule", "_case", "table", "row_number", nulls_last=False, maintain_order=True)
        .drop("_cascade", "_rule", "_case")
    )


def _write_all(result: ValidationResult, folder: Path, submission_id: int | None, about: dict | None) -> None:
    paths = {name: folder / name for name in FILES}
    findings = ordered(result)
    write_csv(findings, paths["findings.csv"], quote_text=True)
    info = summary(result, submission_id, about)
    paths["summary.json"].write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    _workbook(result, info, findings, paths["feedback.xlsx"])
    paths["validation_result.json"].write_text(
        json.dumps(result.gx_document(), indent=1, default=str) + "\n", encoding="utf-8"
    )
    _html(result, info, findings, paths["feedback.html"])


def _text_cell(ws, value):
    """A cell whose text is shown as typed: strings are never read as formulas."""
    cell = WriteOnlyCell(ws, value=None)
    if isinstance(value, str):
        cell.value = _ILLEGAL.sub("\ufffd", value)  # a workbook cannot hold control characters
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _workbook(result: ValidationResult, info: dict, findings: pl.DataFrame, path: Path) -> None:
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
    title = WriteOnlyCell(ws, value=f"Validation of {result.provider}'s return for {result.quarter}")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    for label, value in _about_lines(info):
        ws.append([label, _text_cell(ws, value)])
    ws.append(["Outcome", result.outcome])
    ws.append(["What this means", OUTCOME_WORDS[result.outcome]])
    for reason in result.reasons:
        ws.append(["Why", _text_cell(ws, reason)])
    ws.append(
        ["Submission", str(info["submission_id"]) if info["submission_id"] is not None else "checked before sending"]
    )
    ws.append(
        ["Rules version", f"{RULES_VERSION}; contract parameters {result.parameter_version}; software {__version__}"]
    )
    ws.append([])
    header(ws, PART_HEADINGS)
    for p in info["parts"]:
        ws.append([p["table"], _text_cell(ws, p["file"]), *(shown(p[k]) for k in PART_COUNTS)])

    ws = wb.create_sheet("Rules")
    _fit_to_page_width(ws)
    headings = ["Rule", "Severity", "Findings", "What it checks", "What to do"]
    rules = [
        [r["rule_id"], SEVERITY_WORDS.get(r["severity"], r["severity"]), r["count"], r["message"], r["action"]]
        for r in result.rules()
    ]
    _fit_columns(ws, headings, rules)
    ws.freeze_panes = "A2"
    header(ws, headings)
    for values in rules:
        ws.append([_text_cell(ws, v) if isinstance(v, str) else v for v in values])

    cascade = findings.filter(pl.col("rule_id") == CASCADE)
    _findings_sheet(wb, "Findings", findings.filter(pl.col("rule_id") != CASCADE), header)
    if cascade.height:  # records rejected only because their case was: fixed by fixing the case
        _findings_sheet(wb, "Cascade", cascade, header)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(reproducible(buffer.getvalue(), clock.now()))  # stamped by the service's clock, not openpyxl's


def _findings_sheet(wb, name: str, findings: pl.DataFrame, header) -> None:
    ws = wb.create_sheet(name)
    _fit_to_page_width(ws)
    ws.freeze_panes = "A2"
    shown = findings.head(MAX_WORKBOOK_FINDINGS)
    ws.auto_filter.ref = f"A1:H{shown.height + 1}"
    headings = [HEADINGS[c] for c in FINDING_COLUMNS]
    severity = FINDING_COLUMNS.index("severity")
    rows = [[SEVERITY_WORDS.get(v, v) if i == severity else v for i, v in enumerate(row)] for row in shown.iter_rows()]
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


PART_HEADINGS = ["Table", "File", "Rows", "Rejected records", "Errors", "Warnings"]
PART_COUNTS = ("rows", "rejected", "errors", "warnings")


def _html(result: ValidationResult, info: dict, findings: pl.DataFrame, path: Path) -> None:
    e = html.escape

    def count(value) -> str:
        return e(f"{value:,}" if isinstance(value, int) else str(shown(value)))

    rows_tables = "".join(
        f"<tr><td>{e(p['table'])}</td><td>{e(p['file'])}</td>"
        + "".join(f"<td>{count(p[k])}</td>" for k in PART_COUNTS)
        + "</tr>"
        for p in info["parts"]
    )
    rows_rules = "".join(
        f"<tr class='{e(r['severity'])}'><td>{e(r['rule_id'])}</td>"
        f"<td>{e(SEVERITY_WORDS.get(r['severity'], r['severity']))}</td>"
        f"<td>{r['count']:,}</td><td>{e(r['message'])}</td><td>{e(r['action'])}</td></tr>"
        for r in result.rules()
    )
    causes, cascade = findings.filter(pl.col("rule_id") != CASCADE), findings.filter(pl.col("rule_id") == CASCADE)
    severity = FINDING_COLUMNS.index("severity")

    def rows(frame: pl.DataFrame) -> str:
        return "".join(
            "<tr>"
            + "".join(
                f"<td>{e('' if v is None else str(SEVERITY_WORDS.get(v, v) if i == severity else v))}</td>"
                for i, v in enumerate(row)
            )
            + "</tr>"
            for row in frame.head(MAX_HTML_FINDINGS).iter_rows()
        )

    def more(frame: pl.DataFrame) -> str:
        return (
            (
                f"<p>Showing the first {MAX_HTML_FINDINGS:,} of {frame.height:,}; findings.csv and feedback.xlsx "
                "hold the rest.</p>"
            )
            if frame.height > MAX_HTML_FINDINGS
            else ""
        )

    head = "<tr>" + "".join(f"<th>{e(HEADINGS[c])}</th>" for c in FINDING_COLUMNS) + "</tr>"
    cascade_section = (
        (
            f"<h2>Records rejected because their case was rejected ({cascade.height:,})</h2>"
            "<p>Fix the case (above) and these contacts and breaches will be accepted with it.</p>"
            f"{more(cascade)}<table>{head}{rows(cascade)}</table>"
        )
        if cascade.height
        else ""
    )
    style = (
        "body{font-family:system-ui,Arial,sans-serif;margin:2em;color:#1b1b1b;max-width:1200px}\n"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}\n"
        "th{background:#ddebf7}.outcome{font-size:1.4em;padding:.5em;border-radius:4px}\n"
        ".good{background:#e2f0d9}.warn{background:#fff2cc}.bad{background:#f8cbad}tr.F,tr.E{background:#fbe5d6}"
    )
    outcome_class = "bad" if result.outcome == "Rejected" else ("warn" if result.outcome != "Accepted" else "good")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(result.provider)} {e(result.quarter)}: {e(result.outcome)}</title>
<style>
{style}
</style></head><body>
<h1>Validation of {e(result.provider)}'s return for {e(result.quarter)}</h1>
{
        "<table class='about'>"
        + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _about_lines(info))
        + "</table>"
        if _about_lines(info)
        else ""
    }
<p class="outcome {outcome_class}"><strong>{e(result.outcome)}</strong>: {e(OUTCOME_WORDS[result.outcome])}</p>
{"".join(f"<p>{e(r)}</p>" for r in result.reasons)}
<p>Submission: {e(str(info["submission_id"] if info["submission_id"] is not None else "checked before sending"))}.
Rules version {e(RULES_VERSION)}, contract parameters {e(str(result.parameter_version))}, software {e(__version__)}.</p>
<h2>Tables</h2><table><tr>{"".join(f"<th>{e(h)}</th>" for h in PART_HEADINGS)}</tr>{rows_tables}</table>
<h2>Rules that found problems</h2>
<table><tr><th>Rule</th><th>Severity</th><th>Findings</th><th>What it checks</th><th>What to do</th></tr>{
        rows_rules
    }</table>
<h2>Findings, in the order to fix them ({causes.height:,})</h2>{more(causes)}
<table>{head}{rows(causes)}</table>
{cascade_section}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
