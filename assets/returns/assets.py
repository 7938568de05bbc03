"""The quarter's ministry return: workbook, CSV twin, manifest and publication copy, as a numbered build."""

from pathlib import Path

import dagster as dg

from assets.lib.alerting import with_check_alerts
from assets.lib.partitions import ALL_PROVIDERS_OF_QUARTER, partitioned_check, quarter_of, quarter_partitions
from assets.lib.resources import Folders, Warehouse
from assets.lib.trends import days_after_deadline
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
