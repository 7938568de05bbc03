"""The quarter's ministry return: workbook, CSV twin, manifest and publication copy, as a numbered build."""

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg

from assets.lib.alerting import with_check_alerts
from assets.lib.partitions import ALL_PROVIDERS_OF_QUARTER, partitioned_check, quarter_of, quarter_partitions
from assets.lib.resources import Folders, Warehouse
from assets.lib.trends import days_after_deadline
from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.measures.quarter import submission_deadline
from probation_returns.parameters import for_quarter
from reports.markdown import table as markdown_table
from reports.ministry.build import build_return, verify

CHECKS = [
    partitioned_check(
        "files_match_manifest",
        "ministry_return",
        quarter_partitions,
        "Every file of the build is present and matches its SHA-256 in manifest.json.",
    )
]
PREVIEW = (
    "provider_code",
    "outcome",
    "SL001R_performance",
    "SL002R_performance",
    "AK_performance",
    "service_credits_gbp",
    "outcome_payments_gbp",
)


@dg.asset(
    partitions_def=quarter_partitions,
    group_name="returns",
    check_specs=CHECKS,
    kinds={"excel", "csv"},
    deps=[
        "quarter_performance",
        "quarter_submissions",
        "integrity_signals",  # integrity.csv and its sheet are what it stored
        dg.AssetDep("accepted_return", partition_mapping=ALL_PROVIDERS_OF_QUARTER),
    ],
)
def ministry_return(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    """ministry_return_YYYYQn.xlsx with service_levels, reoffending, payments, data_quality and submissions CSVs,
    manifest.json and the publication copy; a new numbered build only when an input changed."""
    yield from with_check_alerts(context, warehouse, folders, _ministry_return(context, warehouse, folders))


def _ministry_return(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: Folders):
    quarter = quarter_of(context.partition_key)
    build = build_return(warehouse.engine, quarter, folders.quarter_output(quarter))
    summary = build.content.frames["summary"]
    yield dg.MaterializeResult(
        metadata={
            "build_number": build.number,
            "new_build": build.new,
            "built_at": build.built_at.isoformat(timespec="seconds"),
            # when the current build was made, counted from the quarter's submission deadline: plotted by quarter
            "build_days_after_deadline": days_after_deadline(quarter, build.built_at),
            "parameter_version": build.content.figures.params.version,
            "extract_as_of": build.content.figures.extract.as_of.isoformat()
            if build.content.figures.extract
            else "none",
            "workbook": dg.MetadataValue.path(_relative(build.workbook, folders.output_path)),
            "folder": dg.MetadataValue.path(_relative(build.folder, folders.output_path)),
            "inputs": dg.MetadataValue.json(
                [{k: s[k] for k in ("provider_code", "version", "outcome", "counts")} for s in build.content.received]
            ),
            "checksums": dg.MetadataValue.json(build.files),
            "summary": dg.MetadataValue.md(
                markdown_table(summary.select([c for c in PREVIEW if c in summary.columns]))
            ),
        }
    )
    problems = verify(build.folder)
    yield dg.AssetCheckResult(
        check_name="files_match_manifest",
        passed=not problems,
        metadata={"files": len(build.files), "problems": "; ".join(problems) or "none"},
    )


def _relative(path: Path, output: Path) -> str:
    """A path inside the output folder as the output folder's (``2017Q3/builds/001``), not where the run ran."""
    try:
        return Path(path).resolve().relative_to(Path(output).resolve()).as_posix()
    except ValueError:
        return str(path)


BUILD_GRACE = dt.timedelta(days=5)  # the schedule builds the day after the deadline; five days leave room for a rerun


def build_expected_by(quarter: Quarter) -> dt.datetime:
    """When the quarter's build should exist: ``BUILD_GRACE`` after its submission deadline."""
    return submission_deadline(quarter, for_quarter(quarter)) + BUILD_GRACE


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks: see assets/lib/partitions.py

    @dg.asset_check(
        asset=ministry_return,
        name="built_when_due",
        partitions_def=quarter_partitions,
        description=f"The quarter's build exists once {BUILD_GRACE.days} days have passed since its submission "
        "deadline. A quarter whose time has not come is not judged (it passes, saying when the build is due); "
        "evaluated with each build and by quarter_freshness_schedule once the time has passed.",
    )
    def built_when_due(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        quarter = quarter_of(context.partition_key)
        due = build_expected_by(quarter)
        [built] = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ministry_return.key, asset_partitions=[context.partition_key]), limit=1
        ).records or [None]
        now = clock.now()
        if built is not None:
            said, passed = f"{quarter} is built (due by {due:%Y-%m-%d %H:%M %Z}).", True
        elif now < due:
            said, passed = f"Not due: {quarter}'s build is expected by {due:%Y-%m-%d %H:%M %Z}.", True
        else:
            said, passed = f"Overdue: {quarter} has no build; it was expected by {due:%Y-%m-%d %H:%M %Z}.", False
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=said,
            metadata={
                "state": "built" if built else ("not due" if passed else "overdue"),
                "expected_by": dg.MetadataValue.timestamp(due),
                "days_past_expected": round((now - due).total_seconds() / 86400, 2),
            },
        )
