"""Intake assets: a provider's return for a quarter is received and archived; the quarter's list follows."""

import dagster as dg
import polars as pl

from assets.lib.partitions import (
    ALL_PROVIDERS_OF_QUARTER,
    quarter_of,
    quarter_partitions,
    return_partitions,
    split_return_key,
)
from assets.lib.resources import Folders, Warehouse
from assets.lib.trends import quarter_return_counts
from probation_returns.ingest import current_submissions, discover, receive
from probation_returns.warehouse.db import read_scope, session_scope
from reports.markdown import table as markdown_table


@dg.asset(partitions_def=return_partitions, group_name="intake", kinds={"python", "sql"})
def provider_submission(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders
) -> dg.MaterializeResult:
    """The provider's return for the quarter, archived byte for byte and recorded as a submission version."""
    quarter, provider = split_return_key(context)
    landed = discover(folders.landing_path, provider=provider, quarter=str(quarter))
    if not landed:
        context.log.info(f"No return from {provider} for {quarter} in the landing folder")
        return dg.MaterializeResult(metadata={"status": "no return", "files": 0})
    ret = landed[0]
    with session_scope(warehouse.engine) as session:
        receipt = receive(session, ret, folders.archive_path)
    status = "duplicate" if receipt.duplicate else ("resubmission" if receipt.superseded_id else "new")
    context.log.info(f"{provider} {quarter}: submission {receipt.submission_id} version {receipt.version} ({status})")
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "submission_id": receipt.submission_id,
            "version": receipt.version,
            "files": len(ret.files),
            "bytes": sum(f.size for f in ret.files),
            "complete": ret.is_complete,
            "sha256": ret.sha256,
        }
    )


@dg.asset(
    partitions_def=quarter_partitions,
    group_name="validation",  # after the returns are validated: lineage reads downhill, intake -> validation
    deps=[dg.AssetDep("provider_validation", partition_mapping=ALL_PROVIDERS_OF_QUARTER)],
    kinds={"csv"},
)
def quarter_submissions(
    context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders
) -> dg.MaterializeResult:
    """Which submission version is current for each of the 28 providers this quarter."""
    quarter = quarter_of(context.partition_key)
    with read_scope(warehouse.engine) as session:
        rows = current_submissions(session, str(quarter))
        counts = quarter_return_counts(session, quarter)
    frame = pl.DataFrame(
        rows,
        schema={
            "quarter": pl.String,
            "provider_code": pl.String,
            "submission_id": pl.Int64,
            "version": pl.Int64,
            "received_at": pl.String,
            "sha256": pl.String,
            "files": pl.String,
            "status": pl.String,
            "outcome": pl.String,
        },
    )
    received = frame.filter(pl.col("submission_id").is_not_null()).height
    return dg.MaterializeResult(
        metadata={
            "providers_with_return": received,
            "providers_without_return": frame.height - received,
            **counts,  # received, rejected, late and missing returns and the rejected share: plotted by quarter
            "preview": dg.MetadataValue.md(
                markdown_table(frame.select("provider_code", "submission_id", "version", "status"))
            ),
        }
    )
