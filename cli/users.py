"""``returns users``: accounts that sign in to the portal."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.app import _fail, _warehouse_ready, users_app


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address: what they sign in with.")],
    role: Annotated[
        str,
        typer.Option(
            help="provider (a provider's submitter), officer (a provider's accountable officer, who signs off "
            "its return), manager (a contract manager) or admin."
        ),
    ],
    provider: Annotated[
        str | None, typer.Option(help="For a provider submitter or officer: the provider, e.g. C14.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The person's name, as shown in the portal.")] = None,
    generate: Annotated[
        bool,
        typer.Option("--generate", help="Make up a password and print it, instead of reading one from standard input."),
    ] = False,
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

            audit.record(
                session, None, "account_added", provider=account.provider_code, target=account.email, role=account.role
            )
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
            audit.record(
                session, None, action, provider=account.provider_code, target=account.email, by="command line", **detail
            )
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
    generate: Annotated[
        bool,
        typer.Option("--generate", help="Make up a password and print it, instead of reading one from standard input."),
    ] = False,
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
