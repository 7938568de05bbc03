"""``returns serve``: the portal, with gunicorn, and the intake pool that turns uploads into feedback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.app import _dagster_home, _fail, _warehouse_ready, app, console


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="The address to listen on (put a TLS proxy in front in production).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
    intake: Annotated[
        int | None,
        typer.Option(
            help="Intake pool workers: uploads validated at once, each process started before any upload "
            "(default RETURNS_PORTAL_WORKERS, or the machine's cores up to 4; 0: a process started per upload)."
        ),
    ] = None,
) -> None:
    """Serve the portal with gunicorn: providers send returns and read feedback; contract managers sign off.

    gunicorn's master also starts the intake pool (portal.gunicorn_conf): worker processes with Dagster imported
    and the job built, which validate each upload as it arrives.

    Settings come from the environment: RETURNS_DATABASE_URL, RETURNS_PORTAL_SECRET_KEY, RETURNS_PSEUDONYM_KEY,
    RETURNS_LANDING, RETURNS_OUTPUT, DAGSTER_HOME, RETURNS_PORTAL_WORKERS (see the README).
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
    if intake is not None:
        os.environ["RETURNS_PORTAL_WORKERS"] = str(max(0, intake))  # read by the pool and the workers per upload
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--timeout",
        "300",
        "--access-logfile",
        "-",
        "--config",
        "python:portal.gunicorn_conf",  # the master starts the intake pool when ready, and stops it
        "portal.wsgi:app",
    ]
    console.print(f"Portal on http://{host}:{port} (Ctrl+C stops it)")
    os.execv(sys.executable, args)
