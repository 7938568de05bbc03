"""``returns rules``: the rule catalogue, as the portal's /rules pages show it."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from cli.app import _fail, app


class Format(StrEnum):
    text = "text"
    csv = "csv"
    json = "json"


@app.command()
def rules(
    format: Annotated[Format, typer.Option("--format", help="text (a table), csv or json.")] = Format.text,
    rule: Annotated[str | None, typer.Argument(help="One rule's id, e.g. CAS-005, for all it says.")] = None,
) -> None:
    """Every validation rule: its id, severity and what it checks (the same catalogue as the portal's /rules).

    With a rule id, all the catalogue says of that rule: the checks that run, why it matters, what to do, its
    examples and its history. --format csv or json writes the whole catalogue for providers' own systems.
    """
    from probation_returns.validation import rule_catalogue

    if format is Format.csv:
        sys.stdout.write(rule_catalogue.as_csv())
        return
    if format is Format.json:
        sys.stdout.write(rule_catalogue.as_json())
        return
    from rich.console import Console
    from rich.table import Table

    out = Console()
    if rule is not None:
        entry = rule_catalogue.by_id().get(rule.upper())
        if entry is None:
            _fail(f"{rule} is not a rule id; `returns rules` lists them")
        out.print(f"[bold]{entry.rule_id}[/bold] ({entry.severity_words}): {entry.checks}", markup=True)
        sections = [
            ("Severity", [entry.severity_meaning]),
            ("The checks that run", entry.checks_that_run),
            ("Why it matters", [entry.why]),
            ("What to do", [entry.action]),
            ("Breaks the rule", entry.failing.words),
            ("Passes", entry.passing.words),
            ("History", [entry.entered_words] + [f"{c['on']}: {c['what']}" for c in entry.changes]),
        ]
        for title, lines in sections:
            out.print(f"\n{title}:", highlight=False)
            for line in lines:
                out.print(f"  - {line}", markup=False, highlight=False)
        return
    table = Table("rule", "severity", "what it checks", title=None)
    for entry in rule_catalogue.catalogue():
        table.add_row(entry.rule_id, entry.severity_words, entry.checks)
    out.print(table)
