"""Validation assets: each provider return is checked against the rules; checks show the result in the UI."""

import dagster as dg

from assets.intake import provider_submission
from orchestration.partitions import return_partitions, split_return_key
from orchestration.resources import Folders, Warehouse
from probation_returns.spec import TABLES
from probation_returns.validation.service import current_submission, validate_submission
from probation_returns.warehouse.db import session_scope

CHECKS = [dg.AssetCheckSpec("file_readable", asset="provider_validation",
                            description="The return could be read: no fatal file finding (FIL-*, CAS-004).")]
for _table in TABLES:
    CHECKS.append(dg.AssetCheckSpec(f"{_table}_errors", asset="provider_validation",
                                    description=f"Records of {_table} rejected by error rules, within the tolerance."))
    CHECKS.append(dg.AssetCheckSpec(f"{_table}_warnings", asset="provider_validation",
                                    description=f"Warnings on {_table} (accepted, shown to the provider)."))


@dg.asset(partitions_def=return_partitions, group_name="validation", deps=[provider_submission],
          check_specs=CHECKS, kinds={"polars", "great_expectations"})
def provider_validation(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """The provider's current submission checked against every rule; findings, feedback and accepted records stored."""
    quarter, provider = split_return_key(context)
    with session_scope(warehouse.engine) as session:
        submission = current_submission(session, provider, str(quarter))
        submission_id = submission.id if submission else None
    if submission_id is None:
        context.log.info(f"{provider} has no return for {quarter}: nothing to validate")
        yield dg.MaterializeResult(metadata={"outcome": "no return"})
        for spec in CHECKS:
            yield dg.AssetCheckResult(check_name=spec.name, passed=True, metadata={"status": "no return"})
        return
    done = validate_submission(warehouse.engine, submission_id, folders.output_path / "feedback")
    yield dg.MaterializeResult(metadata={
        "outcome": done.outcome,
        "submission_id": submission_id,
        "validation_run_id": done.validation_run_id,
        "reused_earlier_validation": done.reused,
        "findings": sum(done.rule_counts.values()),
        "rules_fired": dg.MetadataValue.json(done.rule_counts),
        "feedback": dg.MetadataValue.path(str(done.feedback)),
        **{f"{t}_rows": c["rows"] for t, c in done.tables.items()},
    })
    yield dg.AssetCheckResult(
        check_name="file_readable", passed=not done.fatal_rules, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"fatal_rules": ", ".join(done.fatal_rules) or "none"})
    for table, counts in done.tables.items():
        rows = counts["rows"]
        rejected_share = counts["rejected"] / rows if rows else 0.0
        yield dg.AssetCheckResult(
            check_name=f"{table}_errors", passed=done.outcome != "Rejected", severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": rows, "rejected": counts["rejected"], "errors": counts["errors"],
                      "pass_rate": dg.MetadataValue.float(round(1 - rejected_share, 6)),
                      "return_outcome": done.outcome})
        yield dg.AssetCheckResult(
            check_name=f"{table}_warnings", passed=counts["warnings"] == 0, severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": rows, "warnings": counts["warnings"]})
