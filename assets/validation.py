"""Validation assets: each provider return is checked against the rules; checks show the result in the UI."""

import dagster as dg

from assets.intake import provider_submission
from orchestration.partitions import partitioned_check, return_partitions, split_return_key
from orchestration.resources import Folders, Warehouse
from probation_returns.spec import TABLES
from orchestration.alerting import with_check_alerts
from probation_returns.measures.quarter import accepted_submission
from probation_returns.validation import table_state
from probation_returns.validation.service import current_submission, validate_submission
from probation_returns.warehouse.db import read_scope

CHECKS = [partitioned_check("file_readable", "provider_validation", return_partitions,
                            "The return could be read: no fatal file finding (FIL-*, CAS-004).")]
for _table in TABLES:
    CHECKS.append(partitioned_check(f"{_table}_errors", "provider_validation", return_partitions,
                                    f"Records of {_table} rejected by error rules, within the tolerance."))
    CHECKS.append(partitioned_check(f"{_table}_warnings", "provider_validation", return_partitions,
                                    f"Warnings on {_table} (accepted, shown to the provider)."))
OUTCOME, PROVIDER, QUARTER = "returns/outcome", "returns/provider", "returns/quarter"


@dg.asset(partitions_def=return_partitions, group_name="validation", deps=[provider_submission],
          check_specs=CHECKS, kinds={"polars", "great_expectations"})
def provider_validation(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """The provider's current submission checked against every rule; findings, feedback and accepted records stored.

    The run is tagged with the outcome (returns/outcome=Rejected, ...), the provider and the quarter, so the
    Runs page can be filtered to rejected returns; a failed ERROR check raises an alert from this step.
    """
    yield from with_check_alerts(context, warehouse, folders, _validate(context, warehouse, folders))


def _validate(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    quarter, provider = split_return_key(context)
    tags = {PROVIDER: provider, QUARTER: str(quarter)}
    with read_scope(warehouse.engine) as session:
        submission = current_submission(session, provider, str(quarter))
        submission_id = submission.id if submission else None
    if submission_id is None:
        context.instance.add_run_tags(context.run.run_id, {**tags, OUTCOME: "no return"})
        context.log.info(f"{provider} has no return for {quarter}: nothing to validate")
        yield dg.MaterializeResult(metadata={"outcome": "no return"})
        for spec in CHECKS:
            yield dg.AssetCheckResult(check_name=spec.name, passed=True, metadata={"status": "no return"})
        return
    done = validate_submission(warehouse.engine, submission_id, folders.output_path / "feedback")
    context.instance.add_run_tags(context.run.run_id, {**tags, OUTCOME: done.outcome})
    yield dg.MaterializeResult(metadata={
        "outcome": done.outcome,
        "submission_id": submission_id,
        "validation_run_id": done.validation_run_id,
        "reused_earlier_validation": done.reused,
        "findings": sum(done.rule_counts.values()),
        "rules_fired": dg.MetadataValue.json(done.rule_counts),
        "feedback": dg.MetadataValue.path(_shown(done.feedback, folders.output_path)),
        **{f"{t}_rows": c["rows"] if c["rows"] is not None else table_state(c) for t, c in done.tables.items()},
    })
    yield dg.AssetCheckResult(
        check_name="file_readable", passed=not done.fatal_rules, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"fatal_rules": ", ".join(done.fatal_rules) or "none"})
    for table, counts in done.tables.items():
        rows = counts["rows"] if counts["rows"] is not None else table_state(counts)
        rejected = counts["rejected"] if counts["rejected"] is not None else "not checked"
        rejected_share = counts["rejected"] / rows if isinstance(rows, int) and rows and counts["rejected"] else 0.0
        yield dg.AssetCheckResult(
            check_name=f"{table}_errors", passed=done.outcome != "Rejected", severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": rows, "rejected": rejected, "errors": counts["errors"],
                      "pass_rate": dg.MetadataValue.float(round(1 - rejected_share, 6)),
                      "return_outcome": done.outcome})
        yield dg.AssetCheckResult(
            check_name=f"{table}_warnings", passed=counts["warnings"] == 0, severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": rows, "warnings": counts["warnings"]})


def _shown(path, output) -> str:
    """The feedback's path relative to the output folder (``feedback/C05/2017Q3/...``), as the README explains."""
    try:
        return path.resolve().relative_to(output.resolve()).as_posix()
    except ValueError:
        return str(path)


@dg.asset(partitions_def=return_partitions, group_name="validation", deps=[provider_validation],
          output_required=False, kinds={"sql"})
def accepted_return(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """The return that counts for the quarter (accepted and delivered by the deadline).

    Materialized only when there is one: in this asset's partitions view a rejected, late or missing return
    is a gap, so it stands out next to provider_validation (which is materialized for every return).
    """
    quarter, provider = split_return_key(context)
    with read_scope(warehouse.engine) as session:
        counted = accepted_submission(session, provider, str(quarter))
        facts = None if counted is None else {"submission_id": counted.id, "version": counted.version,
                                              "outcome": counted.outcome or "", "sha256": counted.sha256}
    if facts is None:
        context.log.info(f"{provider} has no return that counts for {quarter}: not materialized")
        return
    yield dg.MaterializeResult(metadata=facts)
