"""Performance assets: each provider's service levels and credits, each cohort quarter's proven
reoffending from the latest extract, and the quarter's figures for all providers."""

from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import polars as pl
from sqlalchemy import select

from assets.lib.alerting import with_check_alerts
from assets.lib.partitions import (
    ALL_PROVIDERS_OF_QUARTER,
    partitioned_check,
    quarter_of,
    quarter_partitions,
    return_partitions,
    split_return_key,
)
from assets.lib.resources import Folders, Warehouse
from probation_returns.credibility.store import keep_return
from probation_returns.measures.figures import quarter_figures
from probation_returns.measures.quarter import cohort_results, provider_levels, store_cohorts, store_levels
from probation_returns.measures.reoffending_extract import ExtractError, latest_registered, load, register
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.warehouse.db import read_scope, session_scope
from probation_returns.warehouse.models import Measure


@dg.asset(group_name="performance", kinds={"polars", "csv"})
def reoffending_extract(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """The ministry's PNC extract: archived, checked against the REO rules, pseudonymised and registered.

    Its data version is the file's sha256, so a new extract marks every cohort's results stale.
    """
    path = folders.extract_path
    if path is None:
        context.log.warning("No reoffending extract (reoffending_YYYY-MM-DD.csv) in the landing folder")
        return dg.MaterializeResult(metadata={"status": "no extract"}, data_version=dg.DataVersion("none"))
    try:
        extract = load(path)
    except ExtractError as exc:
        raise dg.Failure(description=f"{exc}. Fix the file and place it in the landing folder again.") from None
    extract_id, digest, findings = register(
        warehouse.engine, extract, folders.archive_path, folders.output_path / "feedback"
    )
    return dg.MaterializeResult(
        metadata={
            "as_of": extract.as_of.isoformat(),
            "extract_id": extract_id,
            "rows": extract.total_rows,
            "rows_rejected": extract.findings.select("row_number").n_unique() if extract.findings.height else 0,
            "rules_fired": dg.MetadataValue.json(
                dict(extract.findings.group_by("rule_id").len().sort("rule_id").iter_rows())
            ),
            "findings": dg.MetadataValue.path(str(findings)),
            "sha256": digest,
        },
        data_version=dg.DataVersion(digest),
    )


@dg.asset(
    partitions_def=return_partitions, group_name="performance", deps=["provider_validation"], kinds={"polars", "sql"}
)
def provider_measures(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """The provider's service levels, reported-only measures and service credits for the quarter."""
    quarter, provider = split_return_key(context)
    params = for_quarter(quarter)
    # before the measures, which let go of the records this run just stored: the quarter's credibility report
    # then reads this return's figures instead of its records
    credibility_figures = keep_return(warehouse.engine, provider, quarter)
    result = provider_levels(warehouse.engine, provider, quarter)
    with session_scope(warehouse.engine) as session:
        store_levels(session, quarter, result, params)
    statuses = {s: sum(level.status == s for level in result.levels) for s in sorted({x.status for x in result.levels})}
    return dg.MaterializeResult(
        metadata={
            "submission_id": result.submission_id if result.submission_id else "none (no valid return)",
            "parameter_version": params.version,
            "credibility_figures_worked_out": credibility_figures,
            "statuses": dg.MetadataValue.json(statuses),
            "service_credits_gbp": str(sum((c.amount_gbp for c in result.credits), Decimal("0.00"))),
        }
    )


@dg.asset(
    partitions_def=quarter_partitions,
    group_name="performance",
    kinds={"polars", "sql"},
    deps=["reoffending_extract", dg.AssetDep("provider_validation", partition_mapping=ALL_PROVIDERS_OF_QUARTER)],
)
def reoffending_results(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """Proven reoffending of each provider's cohort starting this quarter, from the latest extract."""
    quarter = quarter_of(context.partition_key)
    params = for_quarter(quarter)
    found = latest_registered(warehouse.engine, folders.archive_path)
    extract_id, extract = found if found else (None, None)
    if extract is None:
        context.log.warning("No reoffending extract registered: no reoffending results")
    results = cohort_results(warehouse.engine, quarter, extract)
    with session_scope(warehouse.engine) as session:
        store_cohorts(session, quarter, results, params, extract_id)
    measured = [r for r in results if r.result is not None]
    return dg.MaterializeResult(
        metadata={
            "extract_as_of": extract.as_of.isoformat() if extract else "none",
            "cohorts": len(measured),
            "result": ("final" if measured[0].result.final else "interim") if measured else "none",
            "outcome_payments_gbp": str(
                sum((r.result.outcome_payment_gbp for r in measured if r.result.final), Decimal("0.00"))
            ),
        }
    )


CHECKS = [
    partitioned_check(
        "every_provider_present",
        "quarter_performance",
        quarter_partitions,
        "All 28 providers have service levels (a measured return or 'no valid return').",
    ),
    partitioned_check(
        "numerators_within_denominators",
        "quarter_performance",
        quarter_partitions,
        "0 <= numerator <= denominator for every measure.",
    ),
    partitioned_check(
        "credits_within_caps",
        "quarter_performance",
        quarter_partitions,
        "No credit over its per-measure cap; no provider over the quarterly cap.",
    ),
]


@dg.asset(
    partitions_def=quarter_partitions,
    group_name="performance",
    check_specs=CHECKS,
    kinds={"polars", "csv"},
    deps=[dg.AssetDep("provider_measures", partition_mapping=ALL_PROVIDERS_OF_QUARTER), reoffending_results],
)
def quarter_performance(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """Service levels, credits, reoffending and payments of all 28 providers, as stored and checked."""
    yield from with_check_alerts(context, warehouse, folders, _quarter_performance(context, warehouse))


def _quarter_performance(context: dg.AssetExecutionContext, warehouse: Warehouse):
    quarter = quarter_of(context.partition_key)
    params = for_quarter(quarter)
    with read_scope(warehouse.engine) as session:
        measured = set(session.scalars(select(Measure.provider_code).where(Measure.quarter == str(quarter))))
    for code in providers():
        if code not in measured:  # never sent anything: its measures are 'no valid return'
            result = provider_levels(warehouse.engine, code, quarter)
            with session_scope(warehouse.engine) as session:
                store_levels(session, quarter, result, params)
    figures = quarter_figures(warehouse.engine, quarter)
    levels = figures.service_levels
    statuses = dict(levels.group_by("status").len().sort("status").iter_rows())
    yield dg.MaterializeResult(
        metadata={
            "parameter_version": params.version,
            "extract_as_of": figures.extract.as_of.isoformat() if figures.extract else "none",
            "providers_without_valid_return": levels.filter(pl.col("status") == "no valid return")[
                "provider_code"
            ].n_unique(),
            "statuses": dg.MetadataValue.json(statuses),
            "service_credits_gbp": str(figures.payments["service_credits_gbp"].sum()),
            "outcome_payments_gbp": str(figures.payments["outcome_payments_gbp"].sum()),
        }
    )
    present = levels["provider_code"].n_unique()
    yield dg.AssetCheckResult(
        check_name="every_provider_present", passed=present == len(providers()), metadata={"providers": present}
    )
    bad = levels.filter(pl.col("denominator").is_not_null() & ~pl.col("numerator").is_between(0, pl.col("denominator")))
    yield dg.AssetCheckResult(
        check_name="numerators_within_denominators",
        passed=bad.is_empty(),
        metadata={
            "violations": ", ".join(f"{p} {m}" for p, m in bad.select("provider_code", "measure").iter_rows()) or "none"
        },
    )
    over = []
    for row in figures.payments.iter_rows(named=True):
        fee = row["quarterly_fee_gbp"]
        cap = (params.credit_cap_per_quarter * fee).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        per_measure = (params.credit_cap_per_measure * fee).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        credits = levels.filter(pl.col("provider_code") == row["provider_code"])["credit_gbp"].drop_nulls()
        if row["service_credits_gbp"] > cap or any(c > per_measure for c in credits):
            over.append(row["provider_code"])
    yield dg.AssetCheckResult(
        check_name="credits_within_caps", passed=not over, metadata={"providers_over_cap": ", ".join(over) or "none"}
    )
