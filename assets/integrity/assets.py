"""The quarter's integrity signals, stored in the warehouse, with a check per signal that warns when any
provider is flagged (information for a contract manager, never a rejection: docs/integrity.md)."""

import dagster as dg
import polars as pl

from assets.lib.partitions import ALL_PROVIDERS_OF_QUARTER, partitioned_check, quarter_of, quarter_partitions
from assets.lib.resources import Warehouse
from probation_returns.integrity import store
from probation_returns.integrity.model import Signal
from probation_returns.integrity.signals import SIGNALS
from probation_returns.reference import providers
from reports.markdown import table as markdown_table

ASSET = "integrity_signals"


def _said(name: str) -> str:
    """The signal's module docstring, first paragraph, as one line (``deadline_heaping``: events piled up ...)."""
    first = (SIGNALS[name].__doc__ or name).strip().split("\n\n")[0]
    return " ".join(first.replace("``", "").split())


CHECKS = [
    partitioned_check(
        name,
        ASSET,
        quarter_partitions,
        f"{_said(name)} Warns when any provider is flagged by it (provider codes and figures in the metadata; "
        "the cases behind a flag are on the contract manager's integrity page). A flag is never a rejection.",
    )
    for name in SIGNALS
]


@dg.asset(
    name=ASSET,
    partitions_def=quarter_partitions,
    group_name="integrity",
    check_specs=CHECKS,
    kinds={"polars", "sql"},
    deps=["quarter_submissions", dg.AssetDep("accepted_return", partition_mapping=ALL_PROVIDERS_OF_QUARTER)],
)
def integrity_signals(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Every provider's integrity signals for the quarter (one row per provider, signal and measure, flagged or
    not), worked out from the accepted returns of the quarter and its previous four and stored in the warehouse
    once per set of inputs: the ministry return's integrity.csv and the portal read them from there."""
    quarter = quarter_of(context.partition_key)
    stored = store.ensure(warehouse.engine, quarter, list(providers()))
    flagged = [r for r in stored.rows if r.flagged]
    yield dg.MaterializeResult(
        metadata={
            "computation_id": stored.id,
            "stored_now": stored.new,  # false: the same inputs were stored before (a rerun stores nothing twice)
            "computed_at": stored.computed_at.isoformat(timespec="seconds"),
            "rows": len(stored.rows),
            "flagged_rows": len(flagged),
            "flagged_providers": ", ".join(sorted({r.provider_code for r in flagged})) or "none",
            "flagged": dg.MetadataValue.md(_table(flagged) if flagged else "No provider is flagged."),
        }
    )
    for name in SIGNALS:
        mine = [r for r in stored.rows if r.signal == name]
        hits = [r for r in mine if r.flagged]
        codes = sorted({r.provider_code for r in hits})
        yield dg.AssetCheckResult(
            check_name=name,
            passed=not hits,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{len(codes)} provider{'s' if len(codes) != 1 else ''} flagged by {name} in {quarter}: "
                f"{', '.join(codes)}. Information for the contract manager, never a rejection."
                if hits
                else f"No provider flagged by {name} in {quarter}."
            ),
            # provider codes and figures only: the case references stay behind the contract manager's page
            metadata={
                "flagged_providers": ", ".join(codes) or "none",
                "flagged_rows": len(hits),
                "rows_judged": len(mine),
                "flagged": dg.MetadataValue.json([_figures(r) for r in hits]),
            },
        )


def _figures(r: Signal) -> dict:
    return {
        "provider_code": r.provider_code,
        "measure": r.measure,
        "count": r.count,
        "statistic": None if r.statistic is None else str(r.statistic),
        "expected": None if r.expected is None else str(r.expected),
        "threshold": None if r.threshold is None else str(r.threshold),
        "z": None if r.z is None else str(r.z),
    }


def _table(rows: list[Signal]) -> str:
    return markdown_table(
        pl.DataFrame(
            [{"signal": r.signal, **_figures(r)} for r in rows],
            schema={
                "signal": pl.String,
                "provider_code": pl.String,
                "measure": pl.String,
                "count": pl.Int64,
                "statistic": pl.String,
                "expected": pl.String,
                "threshold": pl.String,
                "z": pl.String,
            },
        )
    )
