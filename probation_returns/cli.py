"""The ``returns`` command line."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

class _Guarded(typer.Typer):
    """The command line never shows a traceback: an unexpected failure is one line naming what to do."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the last line of defence; the cause goes to the log line
            text = (str(exc).strip().splitlines() or [""])[0][:300]
            Console(stderr=True).print(f"[red]error:[/red] {type(exc).__name__}: {text}. This is a fault in the "
                                       "service, not in your input: report it with the command you ran.")
            raise SystemExit(3) from None


app = _Guarded(help="Probation Returns: validate providers' quarterly returns and report contract performance.",
               no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
               rich_markup_mode="markdown")
db_app = typer.Typer(help="The warehouse database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
credits_app = typer.Typer(help="Service credits and contract managers' decisions on them.", no_args_is_help=True)
app.add_typer(credits_app, name="credits")
users_app = typer.Typer(help="Accounts that sign in to the portal.", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console(stderr=True)


DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)


def _version(value: bool) -> None:
    if value:
        from probation_returns import __version__
        from probation_returns.spec import SPEC_VERSION

        print(f"returns {__version__} (specification version {SPEC_VERSION})")
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """Probation Returns: validate providers' quarterly returns and report contract performance."""


def _folder_for_output(out: Path, what: str) -> None:
    """``out`` must be a folder (made if missing), not a file."""
    if out.exists() and not out.is_dir():
        _fail(f"{out} is a file; --out needs a folder for {what} (a new or existing folder)")


def _warehouse_ready():
    """The warehouse's engine, or a one-line error when it has no schema yet."""
    from sqlalchemy import inspect

    from probation_returns.warehouse.db import database_url, engine_for

    url = database_url()
    engine = engine_for(url)
    try:
        ready = inspect(engine).has_table("alembic_version")
    except Exception as exc:  # noqa: BLE001 - unreachable server, bad URL: said in one line
        _fail(f"cannot reach the warehouse {_safe_url(url)}: {str(exc).splitlines()[0][:200]}")
    if not ready:
        _fail(f"the warehouse {_safe_url(url)} has no tables yet: run `returns db upgrade` first")
    return engine


def _sha256(path: Path) -> str:
    """The file's sha256 (hashlib here: importing the intake module would bring SQLAlchemy into `validate`)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not console.is_terminal)


def _dagster_home() -> None:
    """Keep Dagster's run history under var/dagster unless DAGSTER_HOME says otherwise."""
    from orchestration.instance import prepare

    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").resolve()
    prepare(home)  # SQLite, or PostgreSQL when RETURNS_DAGSTER_POSTGRES_URL is set
    os.environ["DAGSTER_HOME"] = str(home)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write into: one sub-folder per provider.")],
    quarters: Annotated[str, typer.Option(help="A quarter or range, e.g. 2017Q3 or 2016Q1..2017Q3.")] = "2017Q3",
    providers: Annotated[str, typer.Option(help="all, CRC, NPS or codes such as C14,N03.")] = "all",
    scale: Annotated[float, typer.Option(help="Volume relative to the real caseloads (1.0 = national).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 7,
    faults: Annotated[float, typer.Option(help="Share of rows to break (0 to 0.2), plus one whole-return fault "
                                          "of each kind per quarter; listed in manifest.json.")] = 0.0,
    extract_date: Annotated[str | None, typer.Option(help="As-of date of the reoffending extract (YYYY-MM-DD); "
                                                     "default: when the last quarter's results are final.")] = None,
) -> None:
    """Write realistic synthetic returns and a matching reoffending extract."""
    from probation_returns.calendar import quarter_range
    from probation_returns.generator import generate as run_generator
    from probation_returns.reference import provider_codes

    try:
        qs = quarter_range(quarters)
        codes = provider_codes(providers)
        as_of = dt.date.fromisoformat(extract_date) if extract_date else None
    except ValueError as exc:
        _fail(str(exc))
    _folder_for_output(out, "the generated returns")
    started = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("generating returns", total=len(qs) * len(codes) + 1)
        try:
            result = run_generator(out, qs, codes, scale=scale, seed=seed, faults=faults, extract_date=as_of,
                                   progress=lambda label: bar.update(task, advance=1, description=label))
        except ValueError as exc:
            _fail(str(exc))
    console.print(f"Wrote {len(result.files)} files for {len(codes)} providers x {len(qs)} quarters to {out} "
                  f"in {time.perf_counter() - started:.1f} s")
    if faults:
        console.print(f"Injected {len(result.faults)} faults; exactly which are listed in {result.manifest_path}")
    print(result.manifest_path)


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
    from probation_returns.calendar import Quarter
    from probation_returns.reference import provider_codes
    from probation_returns.validation import validate_files
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
    from probation_returns.validation.header import about

    write_feedback(result, out, about=about(code[0], str(q), [(f.name, _sha256(f)) for f in files]))
    console.print(f"{code[0]} {q}: [bold]{result.outcome}[/bold]; "
                  f"{result.findings.height:,} findings written to {out}")
    for reason in result.reasons:
        console.print(f"  {reason}")
    rules = result.rules()  # what to fix first: fatal, errors (the cascade last), warnings; the most frequent first
    for r in rules[:15]:
        console.print(f"  {r['rule_id']:<8} {r['severity']} {r['count']:>8,}  {r['message']}")
    if len(rules) > 15:
        console.print(f"  and {len(rules) - 15} more rules: see {out / 'findings.csv'}")
    raise typer.Exit(1 if result.outcome == "Rejected" else 0)


@credits_app.command("list")
def credits_list(
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2017Q3.")],
    provider: Annotated[str, typer.Option(help="A CRC's code, e.g. C05.")],
) -> None:
    """The provider's current credits for the quarter with the latest decision on each."""
    from rich.table import Table

    from probation_returns.calendar import Quarter
    from probation_returns.measures.decisions import current_credits
    from probation_returns.reference import providers
    from probation_returns.warehouse.db import session_scope

    try:
        q = str(Quarter.parse(quarter))
    except ValueError as exc:
        _fail(str(exc))
    known = providers().get(provider.upper())
    if known is None:
        _fail(f"{provider} is not a provider code (C01..C21 for CRCs, N01..N07 for NPS divisions)")
    if not known.is_crc:
        console.print(f"{provider.upper()} is an NPS division: NPS divisions have no service credits.")
        raise typer.Exit(0)
    with session_scope(_warehouse_ready()) as session:
        rows = current_credits(session, q, provider.upper())
    if not rows:
        _fail(f"no service credits for {provider.upper()} in {q}; build the quarter first (returns run)", 1)
    table = Table("measure", "credit £", "decision", "reason", "by", "when")
    for r in rows:
        table.add_row(r.measure, f"{r.amount_gbp:,.2f}", r.decision, r.reason or "", r.decided_by or "", r.decided_at or "")
    Console().print(table)


@credits_app.command("decide")
def credits_decide(
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2017Q3.")],
    provider: Annotated[str, typer.Option(help="A CRC's code, e.g. C05.")],
    measure: Annotated[str, typer.Option(help="The measure, e.g. SL006R.")],
    decision: Annotated[str, typer.Option(help="applied, waived or reinvested.")],
    reason: Annotated[str, typer.Option(help="Why, in words the provider and auditors will read.")],
    by: Annotated[str, typer.Option(help="Who decided (name and role).")],
) -> None:
    """Record a decision on a credit. Decisions are kept as a trail: the original figure stays."""
    from probation_returns.calendar import Quarter
    from probation_returns.measures.decisions import DecisionError, decide
    from probation_returns.warehouse.db import session_scope

    try:
        q = str(Quarter.parse(quarter))
        with session_scope(_warehouse_ready()) as session:
            row = decide(session, q, provider.upper(), measure.upper(), decision.lower(), reason, by)
            when = row.decided_at
    except (ValueError, DecisionError) as exc:
        _fail(str(exc))
    console.print(f"Recorded: {provider.upper()} {measure.upper()} {q} {decision.lower()} by {by} at {when}. "
                  "Rebuild the quarter (returns run) to show it in the outputs.")


@db_app.command("upgrade")
def db_upgrade(url: Annotated[str | None, typer.Option(help="Database URL; default RETURNS_DATABASE_URL "
                                                      "or sqlite:///var/returns.db.")] = None) -> None:
    """Apply the warehouse migrations (safe to repeat)."""
    from probation_returns.warehouse.db import database_url, upgrade

    target = url or database_url()
    try:
        upgrade(target)
    except Exception as exc:  # a connection or permission problem, said in one line
        _fail(f"could not upgrade {_safe_url(target)}: {str(exc).splitlines()[0]}", 1)
    console.print(f"Warehouse {_safe_url(target)} is at the latest schema.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address: what they sign in with.")],
    role: Annotated[str, typer.Option(help="provider (a provider's submitter), manager (a contract manager) or admin.")],
    provider: Annotated[str | None, typer.Option(help="For a provider submitter: the provider, e.g. C14.")] = None,
    name: Annotated[str | None, typer.Option(help="The person's name, as shown in the portal.")] = None,
    generate: Annotated[bool, typer.Option("--generate", help="Make up a password and print it, instead of "
                                           "reading one from standard input.")] = False,
) -> None:
    """Add a portal account. The password is read from standard input (one line), or made up with --generate.

    Only an argon2 hash of the password is kept.
    """
    from probation_returns.accounts import AccountError, add_user, generate_password
    from probation_returns.warehouse.db import session_scope

    password = generate_password() if generate else _password_from_stdin()
    engine = _warehouse_ready()
    try:
        with session_scope(engine) as session:
            account = add_user(session, email, role, password, provider=provider, name=name)
            from probation_returns import audit

            audit.record(session, None, "account_added", provider=account.provider_code,
                         target=account.email, role=account.role)
    except AccountError as exc:
        _fail(str(exc))
    where = f" for {account.provider_code}" if account.provider_code else ""
    print(f"Added {account.email} ({account.role}{where}).")
    if generate:
        print(f"Password: {password}")


def _account_change(email: str, change, action: str, **detail):
    """Apply ``change`` (an accounts function) to the account and audit it; one line on success or failure."""
    from probation_returns import audit
    from probation_returns.accounts import AccountError
    from probation_returns.warehouse.db import session_scope

    engine = _warehouse_ready()
    try:
        with session_scope(engine) as session:
            account = change(session, email)
            audit.record(session, None, action, provider=account.provider_code, target=account.email,
                         by="command line", **detail)
    except AccountError as exc:
        _fail(str(exc))
    return account


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The account's email address.")]) -> None:
    """Stop an account signing in; every session it has ends at once."""
    from probation_returns.accounts import disable

    account = _account_change(email, disable, "account_disabled")
    print(f"Disabled {account.email}: it cannot sign in, and its sessions have ended.")


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="The account's email address.")]) -> None:
    """Let a disabled account sign in again (with its password as it was)."""
    from probation_returns.accounts import enable

    account = _account_change(email, enable, "account_enabled")
    print(f"Enabled {account.email}: it can sign in again.")


@users_app.command("unlock")
def users_unlock(email: Annotated[str, typer.Argument(help="The account's email address.")]) -> None:
    """Lift the lock made by wrong passwords in a row, before it ends by itself."""
    from probation_returns.accounts import unlock

    account = _account_change(email, unlock, "account_unlocked")
    print(f"Unlocked {account.email}.")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    generate: Annotated[bool, typer.Option("--generate", help="Make up a password and print it, instead of "
                                           "reading one from standard input.")] = False,
) -> None:
    """Give an account a new password (read from standard input, or made up with --generate).

    Every session of the account ends, and any lock is lifted.
    """
    from probation_returns.accounts import generate_password, reset_password

    password = generate_password() if generate else _password_from_stdin()
    account = _account_change(email, lambda s, e: reset_password(s, e, password), "password_reset")
    print(f"New password set for {account.email}; its sessions have ended.")
    if generate:
        print(f"Password: {password}")


def _password_from_stdin() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password (at least 12 characters): ")
    return sys.stdin.readline().rstrip("\r\n")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on (put a TLS proxy in front in production).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
) -> None:
    """Serve the portal with gunicorn: providers send returns and read feedback; contract managers sign off.

    Settings come from the environment: RETURNS_DATABASE_URL, RETURNS_PORTAL_SECRET_KEY, RETURNS_PSEUDONYM_KEY, RETURNS_LANDING, RETURNS_OUTPUT, DAGSTER_HOME (see the README).
    """
    from probation_returns.pseudonym import MissingKey, key

    _warehouse_ready()
    try:
        key()  # the validation of an upload needs it: say so now, not at the first upload
    except MissingKey as exc:
        _fail(str(exc))
    _dagster_home()
    from orchestration.instance import open_instance

    open_instance(Path(os.environ["DAGSTER_HOME"]))  # its storage made now, not by two first uploads at once
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--threads", "4", "--timeout", "300", "--access-logfile", "-", "portal.wsgi:app"]
    console.print(f"Portal on http://{host}:{port} (Ctrl+C stops it)")
    os.execv(sys.executable, args)


@app.command()
def demo(
    quarter: Annotated[str, typer.Option(help="The quarter to generate and process.")] = "2017Q3",
    scale: Annotated[float, typer.Option(help="Volume relative to the real caseloads.")] = 1.0,
    faults: Annotated[float, typer.Option(help="Share of rows to break, so the feedback has something to say.")] = 0.002,
) -> None:
    """Generate a quarter for all 28 providers and run the whole pipeline on it through Dagster.

    Uses the service's own folders (var/landing, var/archive, var/output) and warehouse, so the
    Dagster UI (make ui) shows the same data afterwards. Running it again is safe: the same files
    are recognised as already received.
    """
    from orchestration.resources import Folders
    from probation_returns.calendar import Quarter
    from probation_returns.generator import generate as run_generator
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
        generated = run_generator(landing, [q], codes, scale=scale, seed=7, faults=faults,
                                  progress=lambda label: bar.update(task, advance=1, description=f"generating {label}"))
    generated_in = time.perf_counter() - started

    from orchestration.run import run_quarter

    with _progress() as bar:
        task = bar.add_task("pipeline", total=len(codes))
        run = run_quarter(q, codes, landing=landing, archive=archive, output=output, database_url=db_url,
                          workers=DEFAULT_WORKERS,
                          progress=lambda code: bar.update(task, advance=1, description=f"pipeline {code}"))
    total = time.perf_counter() - started
    _outcomes(run.submissions_csv, output / "feedback")
    console.print(f"\n[bold]Demo for {q}[/bold]: generated in {generated_in:.1f} s, whole run {total:.1f} s")
    rows = [
        ("Provider returns (landing)", landing),
        ("What was broken on purpose", generated.manifest_path),
        ("Reoffending extract", generated.extract),
        ("Archived submissions", archive),
        ("Warehouse", _safe_url(db_url)),
        (f"Ministry return ({_build_of(run.submissions_csv.parent)})", run.submissions_csv.parent / f"ministry_return_{q}.xlsx"),
        ("CSV twin and manifest", run.submissions_csv.parent),
        ("Publication copy", run.submissions_csv.parent / "publication"),
        ("Feedback for providers", output / "feedback"),
        ("Dagster run history", os.environ["DAGSTER_HOME"]),
    ]
    for label, where in rows:
        console.print(f"  {label:<28} {where}")
    console.print("  Open the Dagster UI with:    make ui   (then http://127.0.0.1:3000)")
    from probation_returns.accounts import demo_accounts
    from probation_returns.warehouse.db import engine_for, session_scope

    with session_scope(engine_for(db_url)) as session:
        made = demo_accounts(session)
    console.print("  Open the portal with:        make portal   (then http://127.0.0.1:8000)", soft_wrap=True)
    console.print(f"  Portal accounts for {q} (passwords made now, shown once):", soft_wrap=True)
    for account, password in made:
        who = f"{account.provider_code} submitter" if account.provider_code else "contract manager"
        console.print(f"    {who:<17} {account.email:<30} {password}", soft_wrap=True)
    if run.failed:
        _fail(f"pipeline steps failed for: {', '.join(run.failed)}; see the Dagster UI for why", 1)


@app.command()
def run(
    landing: Annotated[Path, typer.Option(help="Folder of returns: files directly in it or in `<PROVIDER>/` sub-folders.")],
    quarter: Annotated[str, typer.Option(help="The quarter to process, e.g. 2017Q3.")],
    out: Annotated[Path, typer.Option(help="Where the quarter's outputs are written.")],
    archive: Annotated[Path | None, typer.Option(help="Archive of received bytes; default var/archive.")] = None,
    extract: Annotated[Path | None, typer.Option(help="Reoffending extract reoffending_YYYY-MM-DD.csv; default: "
                                                  "the latest one in the landing folder.")] = None,
    workers: Annotated[int, typer.Option(help="Provider runs side by side (worker processes).")] = DEFAULT_WORKERS,
) -> None:
    """Receive, validate and measure the returns in LANDING for the quarter, through Dagster.

    Writes the ministry return into OUT: ministry_return_YYYYQn.xlsx, service_levels.csv,
    reoffending.csv, payments.csv, data_quality.csv, submissions.csv, manifest.json and the
    publication copy (publication/); each numbered build is kept under OUT/builds/. Exits 0 when the
    run itself succeeded (a rejected return is a normal outcome).
    """
    from orchestration.resources import Folders
    from probation_returns.calendar import Quarter
    from probation_returns.reference import provider_codes

    try:
        q = Quarter.parse(quarter)
    except ValueError as exc:
        _fail(str(exc))
    db_url, pool = _ready_to_run(landing, extract, workers)
    from orchestration.run import run_quarter

    codes = provider_codes("all")
    with _progress() as bar, _closing(pool):
        task = bar.add_task("pipeline", total=len(codes))
        result = run_quarter(q, codes, landing=landing.resolve(), archive=(archive or Folders().archive_path).resolve(),
                             output=out.resolve(), database_url=db_url, quarter_subfolders=False,
                             extract=extract.resolve() if extract else None, workers=max(1, workers), pool=pool,
                             progress=lambda code: bar.update(task, advance=1, description=f"pipeline {code}"))
    _outcomes(result.submissions_csv, out.resolve() / "feedback")
    console.print(f"{q}: ministry_return_{q}.xlsx ({_build_of(out)}), service_levels.csv, reoffending.csv, payments.csv, "
                  f"data_quality.csv, submissions.csv and manifest.json in {out}; publication copy in "
                  f"{out / 'publication'}; every build kept in {out / 'builds'}")
    if result.failed:
        for what in result.failed:
            console.print(f"[red]failed:[/red] {what}: {result.reasons.get(what, 'see the Dagster UI')}")
        _fail(f"pipeline steps failed for: {', '.join(result.failed)}; see the Dagster UI for more", 1)


@app.command()
def backfill(
    quarters: Annotated[str, typer.Option(help="Quarters to rebuild, e.g. 2016Q1..2017Q3 (or a comma-separated list).")],
    landing: Annotated[Path | None, typer.Option(help="Folder of returns; default var/landing.")] = None,
    out: Annotated[Path | None, typer.Option(help="Outputs, one folder per quarter; default var/output.")] = None,
    archive: Annotated[Path | None, typer.Option(help="Archive of received bytes; default var/archive.")] = None,
    extract: Annotated[Path | None, typer.Option(help="Reoffending extract; default: the latest in the landing folder.")] = None,
    workers: Annotated[int, typer.Option(help="Provider runs side by side (worker processes).")] = DEFAULT_WORKERS,
) -> None:
    """Rebuild history quarter by quarter through Dagster: receive and validate what is in the landing
    folder, measure, and build each quarter's ministry return (`OUT/<quarter>/`). Safe to repeat: the
    same files are recognised, and an unchanged quarter keeps its build number."""
    from orchestration.resources import Folders
    from probation_returns.calendar import quarter_range
    from probation_returns.reference import provider_codes

    try:
        qs = quarter_range(quarters)
    except ValueError as exc:
        _fail(str(exc))
    folders = Folders()
    landing = (landing or folders.landing_path).resolve()
    db_url, pool = _ready_to_run(landing, extract, workers)
    from orchestration.run import run_quarter

    out = (out or folders.output_path).resolve()
    codes = provider_codes("all")
    failed, started = [], time.perf_counter()
    with _progress() as bar, _closing(pool):  # the same workers for every quarter
        task = bar.add_task("backfill", total=len(qs))
        for i, q in enumerate(qs):
            bar.update(task, description=f"backfill {q}")
            run = run_quarter(q, codes, landing=landing, archive=(archive or folders.archive_path).resolve(), output=out,
                              database_url=db_url, extract=extract.resolve() if extract else None,
                              register_extract=i == 0, workers=max(1, workers), pool=pool)
            failed += [f"{q} {step}" for step in run.failed]
            _outcomes(run.submissions_csv, out / "feedback", table=False)
            console.print(f"{q}: {_build_of(out / str(q))}" + (f", failed: {', '.join(run.failed)}" if run.failed else ""))
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
        findings = (sum(rule["count"] for rule in _json.loads(summary.read_text(encoding="utf-8"))["rules"])
                    if summary.is_file() else None)
        style = "red" if r["outcome"] == "Rejected" else ""
        shown.add_row(r["provider_code"], r["outcome"] or "no return", "" if findings is None else f"{findings:,}",
                      r["counted"], str(folder) if summary.is_file() else "", style=style)
    if table:
        console.print(shown)
    sent = [r for r in rows if r["submission_id"]]
    rejected = [r["provider_code"] for r in sent if r["outcome"] == "Rejected"]
    console.print(f"{len(rejected)} of {len(sent)} returns rejected" + (f": {', '.join(rejected)}" if rejected else "")
                  + f"; {len(rows) - len(sent)} providers sent nothing.")


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
    from orchestration import workers as worker_processes

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


def main() -> None:  # pragma: no cover
    app(prog_name="returns")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
