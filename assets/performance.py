"""Performance assets: a quarter's service levels, credits, reoffending and payments for all providers."""

from decimal import ROUND_HALF_UP, Decimal

import dagster as dg

from assets.intake import ALL_PROVIDERS_OF_QUARTER
from orchestration.partitions import quarter_of, quarter_partitions
from orchestration.resources import Folders, Warehouse
from probation_returns.measures.decisions import current_credits
from probation_returns.measures.quarter import provider_quarter, store, write_outputs
from probation_returns.measures.reoffending_extract import load
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.warehouse.db import session_scope

CHECKS = [
    dg.AssetCheckSpec("every_provider_present", asset="quarter_performance",
                      description="All 28 providers have service levels (a measured return or 'no valid return')."),
    dg.AssetCheckSpec("numerators_within_denominators", asset="quarter_performance",
                      description="0 <= numerator <= denominator for every measure."),
    dg.AssetCheckSpec("credits_within_caps", asset="quarter_performance",
                      description="No credit over its per-measure cap; no provider over the quarterly cap."),
]


@dg.asset(partitions_def=quarter_partitions, group_name="performance", check_specs=CHECKS,
          deps=[dg.AssetDep("provider_validation", partition_mapping=ALL_PROVIDERS_OF_QUARTER)],
          kinds={"polars", "csv"})
def quarter_performance(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """Service levels, service credits, proven reoffending and payments for every provider this quarter."""
    quarter = quarter_of(context.partition_key)
    params = for_quarter(quarter)
    extract_path = folders.extract_path
    extract = load(extract_path) if extract_path else None
    if extract is None:
        context.log.warning("No reoffending extract found: reoffending results are left out")
    results = [provider_quarter(warehouse.engine, code, quarter, extract) for code in providers()]
    with session_scope(warehouse.engine) as session:
        for result in results:
            store(session, quarter, result, params)
    with session_scope(warehouse.engine) as session:
        decisions = {(r.provider, c.measure): c.decision for r in results
                     for c in current_credits(session, str(quarter), r.provider)}
    paths = write_outputs(quarter, results, extract, folders.quarter_output(quarter), decisions)
    levels = [s for r in results for s in r.levels]
    statuses = {status: sum(s.status == status for s in levels) for status in sorted({s.status for s in levels})}
    yield dg.MaterializeResult(metadata={
        "parameter_version": params.version,
        "extract_as_of": extract.as_of.isoformat() if extract else "none",
        "extract_rows_rejected": extract.findings.height if extract else 0,
        "providers_without_valid_return": sum(r.submission_id is None for r in results),
        "statuses": dg.MetadataValue.json(statuses),
        "service_credits_gbp": str(sum(c.amount_gbp for r in results for c in r.credits)),
        "outcome_payments_gbp": str(sum(r.reoffending.outcome_payment_gbp for r in results
                                        if r.reoffending and r.reoffending.final)),
        **{name: dg.MetadataValue.path(str(path)) for name, path in paths.items()},
    })
    yield dg.AssetCheckResult(check_name="every_provider_present", passed=len(results) == 28,
                              metadata={"providers": len(results)})
    bad = [f"{r.provider} {s.measure}" for r in results for s in r.levels
           if s.denominator is not None and not 0 <= s.numerator <= s.denominator]
    yield dg.AssetCheckResult(check_name="numerators_within_denominators", passed=not bad,
                              metadata={"violations": ", ".join(bad) or "none"})
    over = []
    for r in results:
        fee = params.providers[r.provider].quarterly_fee_gbp
        cap = (params.credit_cap_per_quarter * fee).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if sum(c.amount_gbp for c in r.credits) > cap:
            over.append(r.provider)
    yield dg.AssetCheckResult(check_name="credits_within_caps", passed=not over,
                              metadata={"providers_over_cap": ", ".join(over) or "none"})
