"""What the feedback on a return says: one content model that every feedback file and the portal's page render.

The header block, the outcome and what it means, why, the counts per table, the rules in the order to fix them
with what to do, and the findings in that order: worked out once from a ``ValidationResult`` here, so the HTML
page, the workbook, the CSV, summary.json and the portal cannot disagree. The writers (``reports/feedback.py``)
only lay it out; the words are the domain's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from probation_returns import __version__
from probation_returns.validation.advice import rule_actions
from probation_returns.validation.cascade import CASCADE
from probation_returns.validation.result import (
    RULES_VERSION,
    ValidationResult,
    part_words,
    table_state,
    whole_return_counts,
)

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
PART_HEADINGS = ["Table", "File", "Rows", "Rejected records", "Errors", "Warnings"]
PART_COUNTS = ("rows", "rejected", "errors", "warnings")
RULE_HEADINGS = ["Rule", "Severity", "Findings", "What it checks", "What to do"]
WHOLE_RETURN = "whole return"
NOT_SENT = "checked before sending"  # the submission of a return checked with `returns validate`


def header_lines(about: dict | None) -> list[tuple[str, str]]:
    """The header block (``probation_returns.validation.header.about()``) as labelled lines, in order."""
    a = about or {}
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


def severity_word(severity: str) -> str:
    return SEVERITY_WORDS.get(severity, severity)


def ordered(findings: pl.DataFrame, rules: list[dict]) -> pl.DataFrame:
    """The findings in the order to fix them: fatal first, then each rule's root-cause findings by row (rules in
    the order given: errors before warnings, the most frequent first), then the records rejected only because
    their case was (the cascade), grouped under that case."""
    order = {r["rule_id"]: i for i, r in enumerate(rules)}
    cascade = pl.col("rule_id") == CASCADE
    return (
        findings.select(FINDING_COLUMNS)
        .with_columns(
            cascade.alias("_cascade"),
            pl.col("rule_id").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_rule"),
            pl.when(cascade).then(pl.col("case_ref")).alias("_case"),
        )
        .sort("_cascade", "_rule", "_case", "table", "row_number", nulls_last=False, maintain_order=True)
        .drop("_cascade", "_rule", "_case")
    )


@dataclass
class FeedbackContent:
    """Everything a feedback file says about one validated return, in the words the provider reads."""

    provider: str
    quarter: str
    outcome: str
    reasons: list[str]
    submission_id: int | None
    about: dict | None  # the header block as given (summary.json keeps it as it is)
    tables: dict[str, dict]  # per table, as the validation counted it
    parts: list[dict]  # per table and the whole return: what happened to its file, and its counts
    rules: list[dict]  # each rule that fired, in the order to fix them: id, severity, count, message, action
    findings: pl.DataFrame  # every finding, in the order to fix them
    validation_result: dict  # Great Expectations' result document
    parameter_version: str | None
    rules_version: str = RULES_VERSION
    software_version: str = __version__
    header: list[tuple[str, str]] = field(default_factory=list)
    # what the version gives before the quarter's ministry return (probation_returns.provisional; None: checked
    # before sending, so nothing in the warehouse to work it out from)
    provisional: dict | None = None

    @property
    def title(self) -> str:
        return f"Validation of {self.provider}'s return for {self.quarter}"

    @property
    def outcome_words(self) -> str:
        return OUTCOME_WORDS[self.outcome]

    @property
    def submission(self) -> str:
        """The submission's number, or that the return was checked before it was sent."""
        return str(self.submission_id) if self.submission_id is not None else NOT_SENT

    @property
    def causes(self) -> pl.DataFrame:
        """The findings to fix, without the records rejected only because their case was."""
        return self.findings.filter(pl.col("rule_id") != CASCADE)

    @property
    def cascade(self) -> pl.DataFrame:
        """The records rejected only because their case was: fixed by fixing the case."""
        return self.findings.filter(pl.col("rule_id") == CASCADE)


def feedback_content(
    result: ValidationResult,
    submission_id: int | None = None,
    about: dict | None = None,
    provisional: dict | None = None,
) -> FeedbackContent:
    """The feedback on ``result`` (``about``: the header block from ``validation.header.about()``;
    ``provisional``: ``probation_returns.provisional.Provisional.as_dict()``)."""
    rules = result.rules()
    return FeedbackContent(
        provider=result.provider,
        quarter=result.quarter,
        outcome=result.outcome,
        reasons=list(result.reasons),
        submission_id=submission_id,
        about=about,
        tables=result.tables,
        parts=parts(result),
        rules=rules,
        findings=ordered(result.findings, rules),
        validation_result=result.gx_document(),
        parameter_version=result.parameter_version,
        header=header_lines(about),
        provisional=provisional,
    )


@dataclass(frozen=True)
class StoredFeedback:
    """A submission's feedback as written: where its files are, and what its summary says."""

    folder: Path
    summary: dict

    @property
    def rules(self) -> list[dict]:
        """The summary's rules, each with what to do (the words of the rule's advice today)."""
        actions = rule_actions()
        return [{**r, "action": actions.get(r["rule_id"], "")} for r in self.summary.get("rules", [])]


def feedback_folder(root: Path, provider: str, quarter: str, submission_id: int) -> Path:
    """One folder per provider (only it is given access), then quarter and submission."""
    return root / provider / quarter / f"submission-{submission_id}"


def stored_feedback(root: Path, provider: str, quarter: str, submission_id: int) -> StoredFeedback | None:
    """The submission's feedback under ``root``, or None while it is not (yet) all written: summary.json is
    moved into place last, so its presence means the set is complete."""
    import json

    folder = feedback_folder(root, provider, quarter, submission_id)
    summary = folder / "summary.json"
    if not summary.is_file():
        return None
    return StoredFeedback(folder, json.loads(summary.read_text(encoding="utf-8")))
