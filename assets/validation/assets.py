"""Validation assets: each provider return is checked against the rules; checks show the result in the UI."""

import os
from pathlib import Path

import dagster as dg

from assets.lib.alerting import with_check_alerts
from assets.lib.partitions import partitioned_check, return_partitions, split_return_key
from assets.lib.resources import Folders, Warehouse
from assets.lib.trends import return_trends, seconds_since_run_start
from probation_returns.measures.quarter import accepted_submission
from probation_returns.parameters import for_quarter
from probation_returns.spec import TABLES
from probation_returns.validation.result import part_words, table_state
from probation_returns.validation.service import current_submission, validate_submission
from probation_returns.warehouse.db import read_scope
from reports.feedback import with_feedback

CHECKS = [
    partitioned_check(
        "file_readable",
        "provider_validation",
        return_partitions,
        "The return as a whole could be used: no fatal finding (a file not sent or not readable, "
        "a missing column, misnamed files, no cases, a case under another provider's code). "
        "One fault of the whole return fails this check only.",
    )
]
for _table in TABLES:
    CHECKS.append(
        partitioned_check(
            f"{_table}_errors",
            "provider_validation",
            return_partitions,
            f"The {_table} records rejected by error rules are within the contract's "
            f"tolerance. Judges the {_table} table only; not judged when the return as a "
            "whole could not be used (see file_readable).",
        )
    )
    CHECKS.append(
        partitioned_check(
            f"{_table}_warnings",
            "provider_validation",
            return_partitions,
            f"Warnings on {_table} (accepted, shown to the provider).",
        )
    )
OUTCOME, PROVIDER, QUARTER, REASON = "returns/outcome", "returns/provider", "returns/quarter", "returns/reason"


@dg.asset(
    partitions_def=return_partitions,
    group_name="validation",
    deps=["provider_submission"],
    check_specs=CHECKS,
    kinds={"polars", "great_expectations"},
)
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
    done = with_feedback(
        warehouse.engine, validate_submission(warehouse.engine, submission_id, folders.output_path / "feedback")
    )
    tolerance = for_quarter(quarter).rejection_tolerance
    over = _over(done.tables, tolerance)
    reason = (done.reasons or [""])[0] if done.outcome == "Rejected" else ""
    run_tags = {**tags, OUTCOME: done.outcome}
    if done.outcome == "Rejected":  # what a person filters the Runs page by: the fatal rules, or the tables over
        run_tags[REASON] = ",".join(done.fatal_rules) or ",".join(f"{t} over tolerance" for t in over if over[t])
    context.instance.add_run_tags(context.run.run_id, run_tags)
    yield dg.MaterializeResult(
        metadata={
            "outcome": done.outcome,
            **({"reason": reason} if reason else {}),
            "submission_id": submission_id,
            "validation_run_id": done.validation_run_id,
            "reused_earlier_validation": done.reused,
            "findings": sum(done.rule_counts.values()),
            "rules_fired": dg.MetadataValue.json(done.rule_counts),
            "feedback": feedback_link(done.feedback, folders.output_path, submission_id),
            # numbers only, plotted by partition (rows, rejected, shares, the run's time so far); a file not read
            # is said in words under its own key
            **return_trends(done.tables, done.outcome),
            **{f"{t}_file": table_state(c) for t, c in done.tables.items() if table_state(c) != "read"},
            **seconds_since_run_start(context),
        }
    )
    fatal = bool(done.fatal_rules)
    yield dg.AssetCheckResult(
        check_name="file_readable",
        passed=not fatal,
        severity=dg.AssetCheckSeverity.ERROR,
        description=reason if fatal else "No fatal finding: the return as a whole could be used.",
        metadata={
            "fatal_rules": ", ".join(done.fatal_rules) or "none",
            "submission_id": submission_id,
            **({"reason": reason} if fatal else {}),
        },
    )
    for table, counts in done.tables.items():
        rows = counts["rows"] if counts["rows"] is not None else table_state(counts)
        judged = table_state(counts) == "read" and not fatal
        rejected = counts["rejected"] if counts["rejected"] is not None else "not checked"
        rejected_share = counts["rejected"] / rows if isinstance(rows, int) and rows and counts["rejected"] else 0.0
        if not judged:
            said = (
                f"Not judged: the return as a whole could not be used ({', '.join(done.fatal_rules)}; see "
                f"file_readable). The {table} file: {part_words(table, counts)}."
            )
        elif over[table]:
            said = next((r for r in done.reasons or [] if r.startswith(f"{table}:")), f"{table}: over tolerance")
        elif done.outcome == "Rejected" and (counts.get("rejected_by_cascade") or 0):
            said = (
                f"{rejected:,} of {rows:,} {table} records rejected, {counts['rejected_by_cascade']:,} of them "
                "only because their case was rejected: that fault is the cases table's (see cases_errors)."
            )
        else:
            said = f"{rejected:,} of {rows:,} {table} records rejected, within the {tolerance:.0%} tolerance."
        yield dg.AssetCheckResult(
            check_name=f"{table}_errors",
            passed=not (judged and over[table]),
            severity=dg.AssetCheckSeverity.ERROR,
            description=said,
            metadata={
                "rows": rows,
                "rejected": rejected,
                "errors": counts["errors"],
                "pass_rate": dg.MetadataValue.float(round(1 - rejected_share, 6)),
                "judged": judged,
                "return_outcome": done.outcome,
                "submission_id": submission_id,
            },
        )
        yield dg.AssetCheckResult(
            check_name=f"{table}_warnings",
            passed=counts["warnings"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": rows, "warnings": counts["warnings"]},
        )


def _over(tables: dict[str, dict], tolerance: float) -> dict[str, bool]:
    """Which tables' records were rejected beyond the tolerance (checked tables only), each fault once: contacts
    and breaches rejected only because their cases were count against cases, unless cases is within it."""

    def share(counts: dict, own: bool) -> float:
        rows, rejected = counts.get("rows"), counts.get("rejected")
        if table_state(counts) != "read" or not rows or rejected is None:
            return 0.0
        rejected -= counts.get("tolerated") or 0  # within a tolerance granted for the quarter: not counted
        return (rejected - (counts.get("rejected_by_cascade") or 0 if own else 0)) / rows

    cases_over = share(tables.get("cases", {}), own=True) > tolerance
    return {
        t: share(c, own=True) > tolerance or (share(c, own=False) > tolerance and not cases_over)
        for t, c in tables.items()
    }


def feedback_link(folder, output, submission_id: int):
    """The feedback as a link: the portal's page when ``RETURNS_PORTAL_URL`` is set, else the page on disk."""
    base = os.environ.get("RETURNS_PORTAL_URL", "").rstrip("/")
    if base:
        return dg.MetadataValue.url(f"{base}/submissions/{submission_id}")
    return dg.MetadataValue.url((Path(folder).resolve() / "feedback.html").as_uri())


@dg.asset(
    partitions_def=return_partitions,
    group_name="validation",
    deps=[provider_validation],
    output_required=False,
    kinds={"sql"},
)
def accepted_return(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """The return that counts for the quarter (accepted and delivered by the deadline).

    Materialized only when there is one: in this asset's partitions view a rejected, late or missing return
    is a gap, so it stands out next to provider_validation (which is materialized for every return).
    """
    quarter, provider = split_return_key(context)
    with read_scope(warehouse.engine) as session:
        counted = accepted_submission(session, provider, str(quarter))
        facts = (
            None
            if counted is None
            else {
                "submission_id": counted.id,
                "version": counted.version,
                "outcome": counted.outcome or "",
                "sha256": counted.sha256,
            }
        )
    if facts is None:
        context.log.info(f"{provider} has no return that counts for {quarter}: not materialized")
        return
    yield dg.MaterializeResult(metadata=facts)
