"""Numbered, kept builds of a quarter's ministry return.

A build is the workbook, its CSV twin and ``manifest.json`` (and the publication copy), written to
``<out>/builds/NNN/`` and copied to ``<out>/`` as the current return. The build number goes up only
when what the return is made of changes (a resubmission, a new extract, a credit decision, new
parameters or software); building again from the same inputs reuses the number and build time, so
the files come out byte for byte the same. A build folder, once written, is never touched again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.files.csv import write_csv
from probation_returns.ingest import sha256_file
from probation_returns.reference import providers
from probation_returns.staging import remove_abandoned, staging_file, staging_folder
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import ReturnBuild, ReturnBuildDecision, ReturnBuildSubmission
from reports.ministry import dictionary, sheets, suppression
from reports.ministry.content import ReturnContent, gather
from reports.ministry.layout import MEASURE_NAMES
from reports.ministry.workbook import write_workbook

CSV_FILES = ("service_levels", "reoffending", "payments", "data_quality", "submissions")
INTERNAL_CSV_FILES = ("integrity", "credibility")  # the internal copy's only: never written to publication/


@dataclass(frozen=True)
class Build:
    quarter: Quarter
    number: int
    built_at: dt.datetime
    folder: Path  # builds/NNN
    current: Path  # where the current return is copied
    files: dict[str, str]  # relative path -> sha256
    new: bool  # False: the inputs were unchanged, the existing build was kept
    content: ReturnContent

    @property
    def workbook(self) -> Path:
        return self.folder / workbook_name(self.quarter)


def workbook_name(quarter: Quarter, publication: bool = False) -> str:
    return f"ministry_return_{quarter}{'_publication' if publication else ''}.xlsx"


def _csv_twin(frames: dict[str, pl.DataFrame], folder: Path, internal: dict[str, pl.DataFrame] | None = None) -> None:
    """The CSV files and their dictionary; ``internal``: the internal copy's own files (integrity, credibility)."""
    files = {name: frames[name] for name in CSV_FILES} | (internal or {})
    for name, frame in files.items():
        write_csv(frame, folder / f"{name}.csv")
    write_csv(dictionary.frame({name: frame.columns for name, frame in files.items()}), folder / "data_dictionary.csv")


def _internal(content: ReturnContent) -> dict[str, pl.DataFrame]:
    return {"integrity": content.integrity, "credibility": content.credibility}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(frame: pl.DataFrame) -> list[dict]:
    if "measure" in frame.columns:
        frame = frame.with_columns(pl.col("measure").replace_strict(MEASURE_NAMES, default=None).alias("measure_name"))
    return frame.to_dicts()


def _tables(frames: dict[str, pl.DataFrame], content: ReturnContent, publication: bool) -> dict[str, list[dict]]:
    tables = {name: _rows(frame) for name, frame in frames.items()}
    if not publication:
        tables["integrity"] = _rows(content.integrity)
        tables["credibility"] = _rows(content.credibility)
    tables["chart_data"] = _rows(sheets.chart_data(frames["service_levels"]))
    tables["notes"] = sheets.notes(content.figures.params, publication).to_dicts()
    tables["contents"] = sheets.contents(publication).to_dicts()
    return tables


def _provenance(content: ReturnContent, number: int, built_at: dt.datetime) -> list[tuple[str, object]]:
    extract = content.figures.extract
    counted = sum(1 for s in content.received if s["counts"])
    return [
        ("Quarter", str(content.quarter)),
        ("Build", number),
        ("Built at (UTC)", built_at.astimezone(dt.UTC).replace(tzinfo=None)),
        ("Software version", f"probation-returns {content.software_version}"),
        ("Contract parameters", content.figures.params.version),
        ("Validation rules", content.rules_version),
        (
            "Reoffending extract",
            f"as of {extract.as_of.isoformat()}, SHA-256 {extract.sha256}"
            if extract
            else "none yet: reoffending results are not available",
        ),
        (
            "Submission deadline",
            "end of " + (content.deadline - dt.timedelta(days=1)).strftime("%A %d %B %Y") + " (UK time)",
        ),
        (
            "Submissions",
            f"{len(content.received)} received, {counted} of {len(content.submissions)} providers' "
            "returns count (see the Submissions sheet and manifest.json)",
        ),
        (
            "Inputs checksum",
            f"{content.inputs_sha256()} (SHA-256 of the return's inputs: every file received, by "
            "its checksum and delivery time, the parameters, rules, software and extract)",
        ),
    ]


def _write(
    content: ReturnContent, folder: Path, number: int, built_at: dt.datetime, content_sha: str, publication: bool
) -> None:
    q = content.quarter
    crc = {c for c, p in providers().items() if p.is_crc}
    provenance = _provenance(content, number, built_at)
    _csv_twin(content.frames, folder, _internal(content))
    write_workbook(
        folder / workbook_name(q),
        _tables(content.frames, content, False),
        quarter=str(q),
        build=number,
        built_at=built_at,
        provenance=provenance,
        publication=False,
        crc_codes=crc,
    )
    if publication:
        public = suppression.publication(content.tables, content.frames)
        _csv_twin(public, folder / "publication")
        write_workbook(
            folder / "publication" / workbook_name(q, True),
            _tables(public, content, True),
            quarter=str(q),
            build=number,
            built_at=built_at,
            provenance=_public_provenance(provenance),
            publication=True,
            crc_codes=crc,
        )
        _public_manifest(content, folder / "publication", number, built_at)
    manifest = {
        "quarter": str(q),
        "build_number": number,
        "built_at": built_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "software_version": content.software_version,
        "parameter_version": content.figures.params.version,
        "rules_version": content.rules_version,
        "extract_as_of": content.figures.extract.as_of.isoformat() if content.figures.extract else None,
        "inputs": content.inputs(),
        "inputs_sha256": content.inputs_sha256(),
        "content_sha256": content_sha,
        "files": [{"path": path, "sha256": digest} for path, digest in _hashes(folder).items()],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _public_provenance(provenance: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The Cover of the publication copy: no inputs checksum (it hashes the unsuppressed tables, so it would confirm
    a guess of the hidden cells), and its submissions are in its Submissions sheet (its manifest lists none)."""
    out = []
    for label, value in provenance:
        if label == "Submissions":
            value = str(value).replace(" (see the Submissions sheet and manifest.json)", " (see the Submissions sheet)")
        if label != "Inputs checksum":
            out.append((label, value))
    return out


def _public_manifest(content: ReturnContent, folder: Path, number: int, built_at: dt.datetime) -> None:
    """The publication folder's own manifest: the build and the checksums of the public files only."""
    manifest = {
        "quarter": str(content.quarter),
        "build_number": number,
        "built_at": built_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "software_version": content.software_version,
        "parameter_version": content.figures.params.version,
        "rules_version": content.rules_version,
        "extract_as_of": content.figures.extract.as_of.isoformat() if content.figures.extract else None,
        "files": [{"path": path, "sha256": digest} for path, digest in _hashes(folder).items()],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def build_return(engine: Engine, quarter: Quarter, out: Path, *, publication: bool = True) -> Build:
    """Build the quarter's return, or keep the latest build when its inputs are unchanged.

    The build number is allocated, the folder written (under a temporary name, then renamed) and the
    build recorded while holding the quarter's build lock, so two runs at once make one build. A build
    folder left unrecorded by a run killed part-way is adopted when it is complete and made from the same
    inputs, and removed otherwise; staging folders of killed runs are removed.
    """
    content = gather(engine, quarter)
    with tempfile.TemporaryDirectory() as tmp:  # the tables' content decides whether anything changed
        _csv_twin(content.frames, Path(tmp), _internal(content))
        content_sha = content.content_sha256(_hashes(Path(tmp)))
    builds = out / "builds"  # numbered 001, 002, ...
    builds.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as session:
        hold(session, "return_build", str(quarter))
        remove_abandoned(builds, ".building-*")  # a killed run's
        latest = session.scalar(
            select(ReturnBuild)
            .where(ReturnBuild.quarter == str(quarter))
            .order_by(ReturnBuild.build_number.desc())
            .limit(1)
        )
        same = latest is not None and latest.inputs_sha256 == content_sha  # the column holds the content checksum
        if same:
            number, built_at = latest.build_number, _aware(latest.built_at)
        else:
            number = (latest.build_number if latest else 0) + 1
            built_at = _unrecorded(builds / f"{number:03d}", content_sha) or clock.now().replace(microsecond=0)
        folder = builds / f"{number:03d}"
        if not folder.exists():  # a kept build is never rewritten; a lost one is rewritten identically
            with staging_folder(builds, ".building-") as staging:
                _write(content, staging, number, built_at, content_sha, publication)
                os.replace(staging, folder)
        if not same:
            record = ReturnBuild(
                quarter=str(quarter),
                build_number=number,
                built_at=built_at,
                software_version=content.software_version,
                parameter_version=content.figures.params.version,
                extract_id=content.figures.extract.id if content.figures.extract else None,
                inputs_sha256=content_sha,
                manifest_sha256=sha256_file(folder / "manifest.json"),
                output_path=str(folder),
            )
            session.add(record)
            session.flush()
            for submission_id in content.counted_submission_ids:
                session.add(ReturnBuildSubmission(build_id=record.id, submission_id=submission_id))
        # The decisions its figures carry. A build kept because nothing changed carries the new ones too (a
        # decision that changes no figure, such as applying a credit never decided on).
        build_id = record.id if not same else latest.id
        recorded = set(
            session.scalars(select(ReturnBuildDecision.decision_id).where(ReturnBuildDecision.build_id == build_id))
        )
        for decision_id in content.figures.decision_ids:
            if decision_id not in recorded:
                session.add(ReturnBuildDecision(build_id=build_id, decision_id=decision_id))
        _publish_current(folder, out)  # still holding the lock: one publisher at a time
    files = {p: d for p, d in _hashes(folder).items()}
    return Build(quarter, number, built_at, folder, out, files, not same, content)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite drops the offset


def _unrecorded(folder: Path, content_sha: str) -> dt.datetime | None:
    """A build folder no build record names (its run was killed before recording it).

    Complete and from the same inputs: it is the build, and its build time is kept (None is returned
    otherwise, after removing the folder, which is then written again).
    """
    if not folder.exists():
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("content_sha256") == content_sha and not verify(folder):
            return dt.datetime.fromisoformat(manifest["built_at"].replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError):
        pass
    shutil.rmtree(folder)
    return None


def _publish_current(folder: Path, out: Path) -> None:
    """Copy the build's files to ``out`` (the current return), each replaced atomically.

    Half-copied files of a publisher that was killed are removed first (the caller holds the build lock).
    """
    for source in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = out / source.relative_to(folder)
        remove_abandoned(target.parent, f".{target.name}.incoming-*")
        with staging_file(target.parent, f".{target.name}.incoming-") as (copy, tmp):
            with source.open("rb") as src:
                shutil.copyfileobj(src, copy)
            copy.flush()
            os.replace(tmp, target)


def verify(folder: Path) -> list[str]:
    """Files missing or changed since the manifest was written (empty: the build is intact)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']} is missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['path']} does not match its checksum")
    return problems
