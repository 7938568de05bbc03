"""``returns db``: the warehouse database."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import _fail, _safe_url, console, db_app


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[
        str | None, typer.Option(help="Database URL; default RETURNS_DATABASE_URL or sqlite:///var/returns.db.")
    ] = None,
) -> None:
    """Apply the warehouse migrations (safe to repeat)."""
    from probation_returns.warehouse.db import database_url, upgrade

    target = url or database_url()
    try:
        upgrade(target)
    except Exception as exc:  # a connection or permission problem, said in one line
        _fail(f"could not upgrade {_safe_url(target)}: {str(exc).splitlines()[0]}", 1)
    console.print(f"Warehouse {_safe_url(target)} is at the latest schema.")
