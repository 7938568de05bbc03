"""``returns credits``: service credits and contract managers' decisions on them."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import _fail, _warehouse_ready, console, credits_app


@credits_app.command("list")
def credits_list(
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2017Q3.")],
    provider: Annotated[str, typer.Option(help="A CRC's code, e.g. C05.")],
) -> None:
    """The provider's current credits for the quarter with the latest decision on each."""
    from rich.console import Console
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
        table.add_row(
            r.measure, f"{r.amount_gbp:,.2f}", r.decision, r.reason or "", r.decided_by or "", r.decided_at or ""
        )
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
    console.print(
        f"Recorded: {provider.upper()} {measure.upper()} {q} {decision.lower()} by {by} at {when}. "
        "Rebuild the quarter (returns run) to show it in the outputs."
    )
