"""The ``returns`` command line: the application, its command groups and what every command shares."""

from __future__ import annotations

import os
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
            Console(stderr=True).print(
                f"[red]error:[/red] {type(exc).__name__}: {text}. This is a fault in the "
                "service, not in your input: report it with the command you ran."
            )
            raise SystemExit(3) from None


app = _Guarded(
    help="Probation Returns: validate providers' quarterly returns and report contract performance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
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
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
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
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _dagster_home() -> None:
    """Keep Dagster's run history under var/dagster unless DAGSTER_HOME says otherwise."""
    from orchestration.instance import prepare

    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").resolve()
    prepare(home)  # SQLite, or PostgreSQL when RETURNS_DAGSTER_POSTGRES_URL is set
    os.environ["DAGSTER_HOME"] = str(home)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
