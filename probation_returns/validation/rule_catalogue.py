"""The public rule catalogue: every rule that runs, what it checks, how severe it is, why it matters, what to do,
an example that breaks it and one that passes it, the version it entered and how it changed.

Made from what runs, so it cannot drift: the ids and severities from the suites (``expectations/*.json``),
``expectations/catalogue.py``, the file rules and the cascade; the checks from the suites' expectations and the
catalogue's messages; what to do from ``advice.rule_actions``. Only the words no rule holds (why it matters, the
examples, the history) come from ``expectations/rule_notes.toml``, one entry per rule, and a test holds that file
to the rules that run. The portal's /rules pages, its CSV and JSON downloads and ``returns rules`` all show this.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import polars as pl

from expectations.catalogue import CASE_LIST_RULES, HISTORY_RULES, RECORD_RULES, RETURN_RULES
from probation_returns.files.csv import neutralise
from probation_returns.spec import RULES, RULES_BY_ID, SPEC_VERSION, TABLES
from probation_returns.validation import reader
from probation_returns.validation.advice import rule_actions
from probation_returns.validation.cascade import CASCADE
from probation_returns.validation.engine import expectations
from probation_returns.validation.feedback import SEVERITY_WORDS
from probation_returns.validation.result import RULES_REVISIONS, RULES_VERSION

SEVERITY_MEANING = {
    "F": "Fatal: one finding rejects the whole return.",
    "E": "Error: the record is rejected; if more than the tolerance (1% of a table's rows) are rejected, "
    "the whole return is rejected.",
    "W": "Warning: the record is accepted, and the finding is shown to the provider and the contract manager.",
}
# The groups of the list, in its order: where each rule looks.
GROUPS = {
    "file": "The files",
    "cases": "The cases table",
    "contacts": "The contacts table",
    "breaches": "The breaches table",
    "return": "The return as a whole",
    "cascade": "Records of a rejected case",
}
CSV_COLUMNS = [
    "rule_id",
    "group",
    "severity",
    "severity_words",
    "checks",
    "checks_that_run",
    "why_it_matters",
    "what_to_do",
    "failing_example",
    "passing_example",
    "entered",
    "changes",
]


@dataclass(frozen=True)
class Example:
    """A change to the example return (one case, one contact, one breach), as the notes give it, and in words."""

    table: str | None
    row: dict[str, str]  # the example row's values that the example changes (or gives), by column
    words: list[str]  # everything the example is, in words (the row's changes, other rows, the files)
    spec: dict = field(repr=False)  # the notes' entry as it is, for the tests that run it

    def to_json(self) -> dict:
        return {"table": self.table, "row": self.row, "described": self.words}


@dataclass(frozen=True)
class RuleEntry:
    rule_id: str
    group: str  # a key of GROUPS
    severity: str  # F, E or W
    checks: str  # what it checks, in the specification's words (as the feedback says it)
    checks_that_run: list[str]  # each check of the rule as it runs, in words
    action: str  # what to do
    why: str
    failing: Example
    passing: Example
    entered: str  # "spec-1" or "service"
    entered_words: str
    changes: list[dict]  # {"on": date, "what": words}

    @property
    def severity_words(self) -> str:
        return SEVERITY_WORDS[self.severity]

    @property
    def severity_meaning(self) -> str:
        return SEVERITY_MEANING[self.severity]

    @property
    def group_words(self) -> str:
        return GROUPS[self.group]

    def to_json(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "group": self.group,
            "severity": self.severity,
            "severity_words": self.severity_words,
            "checks": self.checks,
            "checks_that_run": self.checks_that_run,
            "why_it_matters": self.why,
            "what_to_do": self.action,
            "failing_example": self.failing.to_json(),
            "passing_example": self.passing.to_json(),
            "entered": {"version": self.entered, "words": self.entered_words},
            "changes": self.changes,
        }


@lru_cache(maxsize=1)
def notes() -> dict:
    """``expectations/rule_notes.toml`` as data."""
    text = resources.files("expectations").joinpath("rule_notes.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def running_rule_ids() -> set[str]:
    """The id of every rule that runs: the suites', the catalogue's, the file rules and the cascade."""
    ids = {e.rule_id for table in TABLES for e in expectations(table)}
    ids |= {r.rule_id for r in (*RECORD_RULES, *RETURN_RULES, *CASE_LIST_RULES, *HISTORY_RULES)}
    ids |= {r.rule_id for r in RULES if r.table == "file"}
    return ids | {CASCADE}


def _severities() -> dict[str, set[str]]:
    """Each rule's severity as the code that runs gives it (a rule with two would be a fault)."""
    out: dict[str, set[str]] = {}
    for table in TABLES:
        for e in expectations(table):
            out.setdefault(e.rule_id, set()).add(e.meta["severity"])
    for r in (*RECORD_RULES, *RETURN_RULES, *CASE_LIST_RULES, *HISTORY_RULES):
        out.setdefault(r.rule_id, set()).add(r.severity)
    for r in RULES:
        if r.table == "file":
            out.setdefault(r.rule_id, set()).add(r.severity)
    out.setdefault(CASCADE, set()).add("E")  # cascade.py's findings are errors
    return out


_PARAMETERS = {
    "quarter_first_day": "the first day of the quarter",
    "quarter_last_day": "the last day of the quarter",
    "provider_codes": "the code of the provider that sent the return",
}


def _value(v) -> str:
    if isinstance(v, dict) and "$PARAMETER" in v:
        return _PARAMETERS[v["$PARAMETER"]]
    return str(v)


def _expectation_words(e) -> str:
    """An expectation as the rows it finds, in words (a type this does not know is a fault: the page would lie)."""
    k = e.kwargs
    col = str(k.get("column", "")).removesuffix("__date")
    t = e.type
    if t == "expect_column_values_to_not_be_null":
        return f"{col} is blank"
    if t == "expect_column_values_to_match_regex":
        return f"{col} does not match the pattern {k['regex']}"
    if t == "expect_column_values_to_be_unique":
        return f"{col} appears more than once in the table"
    if t == "expect_column_values_to_be_in_set":
        values = k["value_set"]
        listed = _value(values) if isinstance(values, dict) else ", ".join(values)
        return f"{col} is not one of: {listed}"
    if t == "expect_column_values_to_match_strftime_format":
        written = k["strftime_format"].replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        return f"{col} is not a real date written {written}"
    if t == "expect_column_values_to_be_between":
        parts = []
        if k.get("min_value") is not None:
            parts.append(f"before {_value(k['min_value'])}")
        if k.get("max_value") is not None:
            parts.append(f"after {_value(k['max_value'])}")
        return f"{col} is " + " or ".join(parts)
    if t == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = (k[c].removesuffix("__date") for c in ("column_A", "column_B"))
        return f"{a} is before {b} (when both are given)"
    if t == "expect_compound_columns_to_be_unique":
        cols = k["column_list"]
        return f"the same {', '.join(cols[:-1])} and {cols[-1]} appear more than once"
    raise ValueError(f"the rule catalogue cannot describe expectation type {t} ({e.rule_id})")


def _message_words(template: str) -> str:
    """A catalogue rule's message template as the rows it finds: no row number, no value, names in words."""
    text = re.sub(r"^Row \{row\}(?: \(case \{case_ref\}\))?: ", "", template)
    text = text.replace(" '{value}'", "").replace("{value}", "…")
    text = re.sub(r"\{case__([a-z_]+?)(?:__date)?(?:\|[^}]*)?\}", r"the case's \1", text)
    return text.rstrip(".")


def _fil_001_limits() -> list[str]:
    r = reader
    return [
        "the file is neither CSV nor XLSX, is corrupt or password-protected, or is not UTF-8",
        f"a file is over {r.MAX_FILE_BYTES // (1024 * 1024)} MB",
        f"a CSV line is over {r.MAX_LINE_BYTES // (1024 * 1024)} MB",
        f"a CSV header has more than {r.MAX_COLUMNS} columns",
        "a CSV holds NUL bytes",
        f"a CSV table has more than {r.MAX_CSV_CELLS:,} cells",
        f"a workbook has more than {r.MAX_CELLS:,} cells",
        f"a workbook's parts together inflate past {r.MAX_SHEET_XML_BYTES // (1024 * 1024)} MB, or one inflates "
        f"over {r.MAX_MEMBER_RATIO} times its compressed size",
        f"over {r.MAX_TEXT_RUN_BYTES // (1024 * 1024)} MB of text or space between two tags of a workbook",
    ]


def _checks_that_run(rule_id: str) -> list[str]:
    out: list[str] = []
    for table in TABLES:
        for e in expectations(table):
            if e.rule_id == rule_id:
                words = _expectation_words(e)
                if words not in out:
                    out.append(words)
    for r in RECORD_RULES:
        if r.rule_id == rule_id:
            out.append(_message_words(r.message))
    if rule_id == "FIL-001":
        out.extend(_fil_001_limits())
    return out or [RULES_BY_ID[rule_id].summary if rule_id in RULES_BY_ID else _CASCADE_CHECKS]


_CASCADE_CHECKS = "a contact or breach whose case's row in the cases table was rejected"


def _group(rule_id: str) -> str:
    if rule_id == CASCADE:
        return "cascade"
    return RULES_BY_ID[rule_id].table


def _words_of_row(table: str, values: dict[str, str]) -> str:
    shown = ", ".join(f"{c} {_cell(v)}" for c, v in values.items())
    return f"the {table} row with {shown}" if values else f"the example {table} row, unchanged"


def _cell(value: str) -> str:
    if value == "":
        return "blank"
    if re.search(reader.CONTROL, value):
        shown = "".join(f"<U+{ord(c):04X}>" if re.match(reader.CONTROL, c) else c for c in value)
        return f"{shown} (<U+{ord(re.search(reader.CONTROL, value)[0]):04X}> is a control character)"
    return value


def example(rule_id: str, spec: dict) -> Example:
    """A failing or passing example of the notes, with its words."""
    own = RULES_BY_ID[rule_id].table if rule_id in RULES_BY_ID else "contacts"
    table = spec.get("table", own if own in TABLES else None)
    row = dict(spec.get("row", {}))
    words: list[str] = []
    if table:
        words.append(_words_of_row(table, row))
    for extra in spec.get("also", []):
        words.append("and another " + _words_of_row(table, extra).removeprefix("the "))
    for other, values in spec.get("context", {}).items():
        words.append(f"its case: the {other} row with " + ", ".join(f"{c} {_cell(v)}" for c, v in values.items()))
    for t, enc in spec.get("encoding", {}).items():
        words.append(f"the {t} file saved as {enc.upper()}, not UTF-8")
    for t in spec.get("omit", []):
        words.append(f"no {t} file sent")
    for t, cols in spec.get("drop_columns", {}).items():
        words.append(f"the {t} file without its {', '.join(cols)} column")
    for t, cols in spec.get("add_columns", {}).items():
        words.append(f"the {t} file with a column the specification does not define: {', '.join(cols)}")
    for t in spec.get("empty", []):
        words.append(f"the {t} file with its header row and no other rows")
    for t, name in spec.get("names", {}).items():
        words.append(f"the {t} file named {name}")
    for name in spec.get("extra_files", []):
        words.append(f"a file {name} sent with the return")
    if "previous_cases" in spec:
        n = spec["previous_cases"]
        now = 0 if "cases" in spec.get("empty", []) else 1 + (len(spec.get("also", [])) if table == "cases" else 0)
        words.append(
            f"the provider's previous accepted return listed {n} case{'' if n == 1 else 's'}; this one lists {now}"
        )
    if "previous_active" in spec:
        refs = spec["previous_active"]
        words.append("cases active at the end of the previous accepted return: " + ", ".join(refs))
    for k, n in enumerate(spec.get("previous_quarters", []), start=1):
        when = "the quarter before" if k == 1 else f"{k} quarters before"
        words.append(
            f"the provider's accepted return for {when} held {n} case{'' if n == 1 else 's'} like the example's, "
            "each with its contact and breach"
        )
    if not words:
        words.append("the example return, unchanged")
    return Example(table, row, words, spec)


def revision_adding(rule_id: str) -> dict:
    """The revision of the rules that added a rule (the first, the specification's own, for its rules)."""
    return next((r for r in RULES_REVISIONS if rule_id in r["added"]), RULES_REVISIONS[0])


def _entered_words(rule_id: str, note: dict) -> str:
    version = revision_adding(rule_id)["version"]
    if note["entered"] == "spec-1":
        base = f"Specification version {SPEC_VERSION} (rules version {version})."
        return base + (f" {note['entered_why']}" if note.get("entered_why") else "")
    added = (
        f"Added by this service on {note['entered_on']} (rules version {version}), "
        f"after specification version {SPEC_VERSION}."
    )
    return f"{added} {note['entered_why']}"


def fingerprint() -> str:
    """A digest of the rules that run: each rule's id, severity and the checks that run, in words made from the
    suites and the catalogue. It changes when a rule is added or removed or what it checks changes, and not when
    only the words around a rule (why, examples, advice) do; the last revision of the rules must record it."""
    rules = [[r.rule_id, r.severity, r.checks_that_run] for r in catalogue()]
    return hashlib.sha256(json.dumps(rules, ensure_ascii=False).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def catalogue() -> tuple[RuleEntry, ...]:
    """Every rule that runs, in the list's order (by group, then id); a rule without notes is a fault here."""
    rule_notes = notes()["rules"]
    severities = _severities()
    actions = rule_actions()
    order = list(GROUPS)
    out = []
    for rule_id in sorted(running_rule_ids(), key=lambda r: (order.index(_group(r)), r)):
        note = rule_notes[rule_id]
        (severity,) = severities[rule_id]
        out.append(
            RuleEntry(
                rule_id=rule_id,
                group=_group(rule_id),
                severity=severity,
                checks=RULES_BY_ID[rule_id].summary if rule_id in RULES_BY_ID else _CASCADE_CHECKS,
                checks_that_run=_checks_that_run(rule_id),
                action=actions[rule_id],
                why=note["why"],
                failing=example(rule_id, note["fail"]),
                passing=example(rule_id, note["pass"]),
                entered=note["entered"],
                entered_words=_entered_words(rule_id, note),
                changes=[dict(c) for c in note.get("changes", [])],
            )
        )
    return tuple(out)


def by_id() -> dict[str, RuleEntry]:
    return {r.rule_id: r for r in catalogue()}


def example_return() -> dict:
    """The example return the examples change: provider, quarter and one row per table."""
    return notes()["example"]


def as_json() -> str:
    document = {
        "rules_version": RULES_VERSION,
        "revisions": [
            {"version": r["version"], "on": r.get("on"), "what": r["what"], "added": list(r["added"])}
            for r in RULES_REVISIONS
        ],
        "example_return": example_return(),
        "rules": [r.to_json() for r in catalogue()],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def rows() -> list[dict[str, str]]:
    """One flat row per rule, for CSV (lists joined by " | ")."""
    out = []
    for r in catalogue():
        out.append(
            {
                "rule_id": r.rule_id,
                "group": r.group,
                "severity": r.severity,
                "severity_words": r.severity_words,
                "checks": r.checks,
                "checks_that_run": " | ".join(r.checks_that_run),
                "why_it_matters": r.why,
                "what_to_do": r.action,
                "failing_example": "; ".join(r.failing.words),
                "passing_example": "; ".join(r.passing.words),
                "entered": r.entered,
                "changes": " | ".join(f"{c['on']}: {c['what']}" for c in r.changes),
            }
        )
    return out


def as_csv() -> str:
    """The catalogue as CSV: formula-safe as every CSV the service writes (a cell starting = + - @ gets a ')."""
    frame = neutralise(pl.DataFrame(rows(), schema={c: pl.String for c in CSV_COLUMNS}))
    return frame.write_csv(line_terminator="\r\n", quote_style="necessary")
