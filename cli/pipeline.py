"""``returns demo``, ``run`` and ``backfill``: the pipeline through Dagster, quarter by quarter."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from cli.app import DEFAULT_WORKERS, _dagster_home, _fail, _progress, _safe_url, app, console

DEMO_GAMING = {"C05": "due_day_appointments"}  # the demo's gaming provider: the integrity signals flag it


@app.command()
def demo(
    quarter: Annotated[str, typer.Option(help="The quarter to generate and process.")] = "2017Q3",
    scale: Annotated[float, typer.Option(help="Volume relative to the real caseloads.")] = 1.0,
    faults: Annotated[
        float, typer.Option(help="Share of rows to break, so the feedback has something to say.")
    ] = 0.002,
) -> None:
    """Generate a quarter for all 28 providers and run the whole pipeline on it through Dagster.

    One provider games its measures (C05 records first appointments on the due day), so the contract
    manager's integrity signals have something to show; the output says so.

    Uses the service's own folders (var/landing, var/archive, var/output) and warehouse, so the
    Dagster UI (make ui) shows the same data afterwards. Running it again is safe: the same files
    are recognised as already received.
    """
    from assets.lib.resources import Folders
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate as run_generator
    from probation_returns.generator.gaming import PROFILES, Gaming
    from probation_returns.reference import provider_codes
    from probation_returns.warehouse.db import database_url, upgrade

    try:
        q = Quarter.parse(quarter)
    except ValueError as exc:
        _fail(str(exc))
    from probation_returns.pseudonym import DEMO_KEY

    os.environ.setdefault("RETURNS_PSEUDONYM_KEY", DEMO_KEY)  # synthetic data: the published demo key will do
    _dagster_home()
    folders = Folders()
    landing, archive, output = (p.resolve() for p in (folders.landing_path, folders.archive_path, folders.output_path))
    db_url = database_url()
    codes = provider_codes("all")
    started = time.perf_counter()
    upgrade(db_url)
    with _progress() as bar:
        task = bar.add_task("generating", total=len(codes) + 1)
        generated = run_generator(
            landing,
            [q],
            codes,
            scale=scale,
            seed=7,
            faults=faults,
            gaming={code: Gaming(profile) for code, profile in DEMO_GAMING.items()},
            progress=lambda label: bar.update(task, advance=1, description=f"generating {label}"),
        )
    for code, profile in DEMO_GAMING.items():
        console.print(f"Gaming switched on for {code}: {profile} ({PROFILES[profile]}).", soft_wrap=True)
    generated_in = time.perf_counter() - started

    from orchestration.runner.quarter import run_quarter

    with _progress() as bar:
        task = bar.add_task("pipeline", total=len(codes))
        run = run_quarter(
            q,
            codes,
            landing=landing,
            archive=archive,
            output=output,
            database_url=db_url,
            workers=DEFAULT_WORKERS,
            progress=lambda code: bar.update(task, advance=1, description=f"pipeline {code}"),
        )
    total = time.perf_counter() - started
    _outcomes(run.submissions_csv, output / "feedback")
    _integrity_flags(run.submissions_csv.parent / "integrity.csv")
    console.print(f"\n[bold]Demo for {q}[/bold]: generated in {generated_in:.1f} s, whole run {total:.1f} s")
    rows = [
        ("Provider returns (landing)", landing),
        ("What was broken on purpose", generated.manifest_path),
        ("Reoffending extract", generated.extract),
        ("Archived submissions", archive),
        ("Warehouse", _safe_url(db_url)),
        (
            f"Ministry return ({_build_of(run.submissions_csv.parent)})",
            run.submissions_csv.parent / f"ministry_return_{q}.xlsx",
        ),
        ("CSV twin and manifest", run.submissions_csv.parent),
        ("Publication copy", run.submissions_csv.parent / "publication"),
        ("Feedback for providers", output / "feedback"),
        ("Dagster run history", os.environ["DAGSTER_HOME"]),
    ]
    for label, where in rows:
        console.print(f"  {label:<28} {where}")
    console.print("  Open the Dagster UI with:    make ui   (then http://127.0.0.1:3000)")
    from probation_returns.accounts import demo_accounts
    from probation_returns.conversation import demo_conversation
    from probation_returns.warehouse.db import engine_for, session_scope

    with session_scope(engine_for(db_url)) as session:
        made = demo_accounts(session)
    with session_scope(engine_for(db_url)) as session:
        talk = demo_conversation(session, str(q))
    console.print("  Open the portal with:        make portal   (then http://127.0.0.1:8000)", soft_wrap=True)
    console.print(f"  Portal accounts for {q} (passwords made now, shown once):", soft_wrap=True)
    for account, password in made:
        who = {"provider": f"{account.provider_code} submitter", "officer": f"{account.provider_code} officer"}.get(
            account.role, "contract manager"
        )
        console.print(f"    {who:<17} {account.email:<30} {password}", soft_wrap=True)
    console.print(
        f"  In the portal's queries for {q} (after this build, so not in its Submissions sheet):", soft_wrap=True
    )
    for line in talk or ["none: no version that counts has a warning or an error"]:
        console.print(f"    {line}", soft_wrap=True)
    if run.failed:
        _fail(f"pipeline steps failed for: {', '.join(run.failed)}; see the Dagster UI for why", 1)


@app.command()
def run(
    landing: Annotated[
        Path, typer.Option(help="Folder of returns: files directly in it or in `<PROVIDER>/` sub-folders.")
    ],
    quarter: Annotated[str, typer.Option(help="The quarter to process, e.g. 2017Q3.")],
    out: Annotated[Path, typer.Option(help="Where the quarter's outputs are written.")],
    archive: Annotated[Path | None, typer.Option(help="Archive of received bytes; default var/archive.")] = None,
    extract: Annotated[
        Path | None,
        typer.Option(
            help="Reoffending extract reoffending_YYYY-MM-DD.csv; default: the latest one in the landing folder."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Provider runs side by side (worker processes).")] = DEFAULT_WORKERS,
) -> None:
    """Receive, validate and measure the returns in LANDING for the quarter, through Dagster.

    Writes the ministry return into OUT: ministry_return_YYYYQn.xlsx, service_levels.csv,
    reoffending.csv, payments.csv, data_quality.csv, submissions.csv, manifest.json and the
    publication copy (publication/); each numbered build is kept under OUT/builds/. Exits 0 when the
    run itself succeeded (a rejected return is a normal outcome).
    """
    from assets.lib.resources import Folders
    from probation_returns.calendar import Quarter
    from probation_returns.reference import provider_codes

    try:
        q = Quarter.parse(quarter)
    except ValueError as exc:
        _fail(str(exc))
    db_url, pool = _ready_to_run(landing, extract, workers)
    from orchestration.runner.quarter import run_quarter

    codes = provider_codes("all")
    with _progress() as bar, _closing(pool):
        task = bar.add_task("pipeline", total=len(codes))
        result = run_quarter(
            q,
            codes,
            landing=landing.resolve(),
            archive=(archive or Folders().archive_path).resolve(),
            output=out.resolve(),
            database_url=db_url,
            quarter_subfolders=False,
            extract=extract.resolve() if extract else None,
            workers=max(1, workers),
            pool=pool,
            progress=lambda code: bar.update(task, advance=1, description=f"pipeline {code}"),
        )
    _outcomes(result.submissions_csv, out.resolve() / "feedback")
    console.print(
        f"{q}: ministry_return_{q}.xlsx ({_build_of(out)}), service_levels.csv, reoffending.csv, payments.csv, "
        f"data_quality.csv, submissions.csv and manifest.json in {out}; publication copy in "
        f"{out / 'publication'}; every build kept in {out / 'builds'}"
    )
    if result.failed:
        for what in result.failed:
            console.print(f"[red]failed:[/red] {what}: {result.reasons.get(what, 'see the Dagster UI')}")
        _fail(f"pipeline steps failed for: {', '.join(result.failed)}; see the Dagster UI for more", 1)


@app.command()
def backfill(
    quarters: Annotated[
        str, typer.Option(help="Quarters to rebuild, e.g. 2016Q1..2017Q3 (or a comma-separated list).")
    ],
    landing: Annotated[Path | None, typer.Option(help="Folder of returns; default var/landing.")] = None,
    out: Annotated[Path | None, typer.Option(help="Outputs, one folder per quarter; default var/output.")] = None,
    archive: Annotated[Path | None, typer.Option(help="Archive of received bytes; default var/archive.")] = None,
    extract: Annotated[
        Path | None, typer.Option(help="Reoffending extract; default: the latest in the landing folder.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Provider runs side by side (worker processes).")] = DEFAULT_WORKERS,
) -> None:
    """Rebuild history quarter by quarter through Dagster: receive and validate what is in the landing
    folder, measure, and build each quarter's ministry return (`OUT/<quarter>/`). Safe to repeat: the
    same files are recognised, and an unchanged quarter keeps its build number."""
    from assets.lib.resources import Folders
    from probation_returns.calendar import quarter_range
    from probation_returns.reference import provider_codes

    try:
        qs = quarter_range(quarters)
    except ValueError as exc:
        _fail(str(exc))
    folders = Folders()
    landing = (landing or folders.landing_path).resolve()
    db_url, pool = _ready_to_run(landing, extract, workers)
    from orchestration.runner.quarter import run_quarter

    out = (out or folders.output_path).resolve()
    codes = provider_codes("all")
    failed, started = [], time.perf_counter()
    with _progress() as bar, _closing(pool):  # the same workers for every quarter
        task = bar.add_task("backfill", total=len(qs))
        for i, q in enumerate(qs):
            bar.update(task, description=f"backfill {q}")
            run = run_quarter(
                q,
                codes,
                landing=landing,
                archive=(archive or folders.archive_path).resolve(),
                output=out,
                database_url=db_url,
                extract=extract.resolve() if extract else None,
                register_extract=i == 0,
                workers=max(1, workers),
                pool=pool,
            )
            failed += [f"{q} {step}" for step in run.failed]
            _outcomes(run.submissions_csv, out / "feedback", table=False)
            console.print(
                f"{q}: {_build_of(out / str(q))}" + (f", failed: {', '.join(run.failed)}" if run.failed else "")
            )
            bar.update(task, advance=1)
    console.print(f"{len(qs)} quarter(s) in {time.perf_counter() - started:.1f} s; returns under {out}")
    if failed:
        _fail(f"pipeline steps failed for: {', '.join(failed)}; see the Dagster UI for why", 1)


def _outcomes(submissions_csv: Path, feedback_root: Path, table: bool = True) -> None:
    """Each provider's return as the run left it, rejected ones first: outcome, findings, where the feedback is."""
    import csv as _csv
    import json as _json

    from rich.table import Table

    if not submissions_csv.is_file():
        return
    with submissions_csv.open(newline="", encoding="utf-8") as f:
        rows = list(_csv.DictReader(f))
    rank = {"Rejected": 0, "Accepted with record rejections": 1, "Accepted with warnings": 2, "Accepted": 3}
    rows.sort(key=lambda r: (rank.get(r["outcome"], 4 if r["submission_id"] else 5), r["provider_code"]))
    shown = Table(title="Returns", title_justify="left", show_edge=False)
    for heading in ("Provider", "Return", "Findings", "Counts for the quarter", "Feedback"):
        shown.add_column(heading, justify="right" if heading == "Findings" else "left")
    for r in rows:
        folder = feedback_root / r["provider_code"] / r["quarter"] / f"submission-{r['submission_id']}"
        summary = folder / "summary.json"
        findings = (
            sum(rule["count"] for rule in _json.loads(summary.read_text(encoding="utf-8"))["rules"])
            if summary.is_file()
            else None
        )
        style = "red" if r["outcome"] == "Rejected" else ""
        shown.add_row(
            r["provider_code"],
            r["outcome"] or "no return",
            "" if findings is None else f"{findings:,}",
            r["counted"],
            str(folder) if summary.is_file() else "",
            style=style,
        )
    if table:
        console.print(shown)
    sent = [r for r in rows if r["submission_id"]]
    rejected = [r["provider_code"] for r in sent if r["outcome"] == "Rejected"]
    console.print(
        f"{len(rejected)} of {len(sent)} returns rejected"
        + (f": {', '.join(rejected)}" if rejected else "")
        + f"; {len(rows) - len(sent)} providers sent nothing."
    )


def _integrity_flags(integrity_csv: Path) -> None:
    """Which providers the integrity signals flagged, from the build's integrity.csv (what the build stored)."""
    import csv as _csv

    if not integrity_csv.is_file():
        return
    with integrity_csv.open(newline="", encoding="utf-8") as f:
        flagged = [r for r in _csv.DictReader(f) if r["flagged"] == "yes"]
    by_provider: dict[str, list[str]] = {}
    for r in flagged:
        by_provider.setdefault(r["provider_code"], []).append(f"{r['signal']} {r['measure']}")
    if not by_provider:
        console.print("Integrity signals: no provider flagged.")
        return
    said = "; ".join(f"{code} ({', '.join(what)})" for code, what in by_provider.items())
    console.print(
        f"Integrity signals: {len(flagged)} flagged, for {said}: see the contract manager's integrity page in the "
        "portal, and integrity.csv.",
        soft_wrap=True,
    )


def _ready_to_run(landing: Path, extract: Path | None, workers: int = 1):
    """Check what a pipeline command was given, before anything runs; the warehouse URL, migrated, and the
    worker processes (None: runs stay in this process), started before the migration so they import meanwhile."""
    from probation_returns.pseudonym import MissingKey, key
    from probation_returns.warehouse.db import database_url, upgrade

    if not landing.is_dir():
        _fail(f"{landing} is not a folder; point --landing at the folder the returns are in")
    if extract is not None:
        from probation_returns.measures.reoffending_extract import ExtractError, as_of_date

        if not extract.is_file():
            _fail(f"no such extract: {extract}")
        try:
            as_of_date(extract)
        except ExtractError as exc:
            _fail(str(exc))
    try:
        key()
    except MissingKey as exc:
        _fail(str(exc))
    _dagster_home()
    from orchestration.runner import workers as worker_processes

    pool = worker_processes.start(workers)
    db_url = database_url()
    try:
        upgrade(db_url)
    except BaseException:
        with _closing(pool):
            raise
    return db_url, pool


@contextmanager
def _closing(pool):
    """Shut the worker processes down when the command is done (or interrupted: waiting runs are dropped)."""
    try:
        yield pool
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _build_of(folder: Path) -> str:
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return "not built"
    import json

    return f"build {json.loads(manifest.read_text(encoding='utf-8'))['build_number']}"
