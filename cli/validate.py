"""``returns validate``: a provider checks its return before sending it."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Annotated

import typer

from cli.app import _fail, _folder_for_output, _sha256, app, console


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="The return: one .xlsx workbook or the three .csv files.")],
    provider: Annotated[str, typer.Option(help="Your provider code, e.g. C14.")],
    quarter: Annotated[str, typer.Option(help="The quarter the return is for, e.g. 2017Q3.")],
    out: Annotated[Path, typer.Option(help="Folder for findings.csv, summary.json, feedback.xlsx, feedback.html.")],
) -> None:
    """Check a return before sending it: the same rules and findings as the service.

    Exit code 0 when the return would be accepted (with or without warnings or record rejections),
    1 when it would be rejected, 2 for a usage error.
    """
    _import_meanwhile("openpyxl", "jinja2")  # the feedback's writers, imported while the return is read
    from probation_returns.calendar import Quarter
    from probation_returns.reference import provider_codes
    from probation_returns.validation.checking import validate_files
    from reports.feedback import write_feedback

    try:
        q = str(Quarter.parse(quarter))
        code = provider_codes(provider)
    except ValueError as exc:
        _fail(str(exc))
    if len(code) != 1:
        _fail("give exactly one provider code with --provider")
    folders = [str(f) for f in files if f.is_dir()]
    if folders:
        _fail(f"{', '.join(folders)} is a folder; give the return's files (e.g. {folders[0]}/*.csv or the .xlsx)")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        _fail(f"no such file: {', '.join(missing)}")
    _folder_for_output(out, "the feedback files")
    result = validate_files(files, code[0], q)
    from probation_returns.validation.feedback import feedback_content
    from probation_returns.validation.header import about

    content = feedback_content(result, about=about(code[0], str(q), [(f.name, _sha256(f)) for f in files]))
    write_feedback(content, out)
    console.print(f"{code[0]} {q}: [bold]{result.outcome}[/bold]; {result.findings.height:,} findings written to {out}")
    for reason in result.reasons:
        console.print(f"  {reason}")
    rules = content.rules  # what to fix first: fatal, errors (the cascade last), warnings; the most frequent first
    for r in rules[:15]:
        console.print(f"  {r['rule_id']:<8} {r['severity']} {r['count']:>8,}  {r['message']}")
    if len(rules) > 15:
        console.print(f"  and {len(rules) - 15} more rules: see {out / 'findings.csv'}")
    raise typer.Exit(1 if result.outcome == "Rejected" else 0)


def _import_meanwhile(*modules: str) -> None:
    """Import ``modules`` in a background thread. Polars reads and checks the return outside Python's global
    lock, so the imports the feedback's writers need (a third of a second: openpyxl, with numpy, and jinja2)
    take place meanwhile instead of after. They are packages the validation itself never imports; an import
    that fails here is left for the writer's own import to report."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S110 - the import where the module is used says what is wrong
                pass

    threading.Thread(target=load, name="import-meanwhile", daemon=True).start()
