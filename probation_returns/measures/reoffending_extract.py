"""The ministry's PNC extract ``reoffending_YYYY-MM-DD.csv``: read, checked (REO rules), pseudonymised.

Rules (each finding names the row as in the file, header = row 1):
- REO-001 ``pnc_id`` blank, not in canonical form, or its check letter is wrong;
- REO-002 ``offence_date`` or ``disposal_date`` blank or not a valid date;
- REO-003 ``disposal_date`` before ``offence_date``;
- REO-004 ``disposal_date`` after the extract's as-of date;
- REO-005 ``disposal_type`` or ``offence_group`` not a listed code.
Rows breaking any rule are left out of the measures. ``pnc_id`` is replaced by its keyed hash, so the
extract joins to the cases (stored hashed) without the identifier being kept.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from expectations.catalogue import pnc_check_letter
from probation_returns.pseudonym import hash_values
from probation_returns.shown import shown_value
from probation_returns.spec import DISPOSAL_TYPES, REOFFENDING_COLUMNS, REOFFENDING_OFFENCE_GROUPS

NAME = re.compile(r"^reoffending_(\d{4}-\d{2}-\d{2})\.csv$")
MAX_BYTES = 2 * 1024 * 1024 * 1024


class ExtractError(ValueError):
    pass


@dataclass
class Extract:
    as_of: dt.date
    rows: pl.DataFrame  # pnc_hash, offence_date, disposal_date, disposal_type, offence_group (valid rows only)
    findings: pl.DataFrame
    total_rows: int
    path: Path


def as_of_date(path: Path) -> dt.date:
    match = NAME.match(path.name)
    if not match:
        raise ExtractError(f"{path.name}: an extract must be named reoffending_YYYY-MM-DD.csv (its as-of date)")
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError as exc:
        raise ExtractError(f"{path.name}: {match.group(1)} is not a real date") from exc


def latest(folder: Path) -> Path | None:
    """The extract with the latest as-of date in ``folder``."""
    found = [p for p in folder.glob("reoffending_*.csv") if NAME.match(p.name)]
    return max(found, key=lambda p: p.name) if found else None


def load(path: Path) -> Extract:
    as_of = as_of_date(path)
    if path.stat().st_size > MAX_BYTES:
        raise ExtractError(f"{path.name} is over 2 GB; ask the PNC team for a smaller extract")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise ExtractError(f"{path.name} cannot be read as UTF-8 CSV ({str(exc).splitlines()[0][:120]})") from exc
    header = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in REOFFENDING_COLUMNS if c not in header]
    if missing:
        raise ExtractError(
            f"{path.name} has no {', '.join(missing)} column(s); expected {', '.join(REOFFENDING_COLUMNS)}"
        )
    frame = raw.select([pl.col(header[c]).str.strip_chars().replace("", None).alias(c) for c in REOFFENDING_COLUMNS])
    frame = frame.with_row_index("row_number", offset=2).with_columns(
        pl.col("offence_date").str.to_date("%Y-%m-%d", strict=False).alias("offence"),
        pl.col("disposal_date").str.to_date("%Y-%m-%d", strict=False).alias("disposal"),
    )
    rules = {
        ("REO-001", "pnc_id", "pnc_id is blank, not in the form YYYY/NNNNNNNC, or its check letter is wrong"): pl.col(
            "pnc_id"
        ).is_null()
        | ~pl.col("pnc_id").str.contains(r"^\d{4}/\d{7}[A-Z]$").fill_null(False)
        | pnc_check_letter(None, {}),
        ("REO-002", "offence_date", "offence_date or disposal_date is blank or not a valid date"): pl.col(
            "offence"
        ).is_null()
        | pl.col("disposal").is_null(),
        ("REO-003", "disposal_date", "disposal_date is before offence_date"): (
            pl.col("disposal") < pl.col("offence")
        ).fill_null(False),
        ("REO-004", "disposal_date", f"disposal_date is after the extract's as-of date {as_of}"): (
            pl.col("disposal") > as_of
        ).fill_null(False),
        ("REO-005", "offence_group", "disposal_type or offence_group is not a listed code"): ~pl.col("disposal_type")
        .is_in(DISPOSAL_TYPES)
        .fill_null(False)
        | ~pl.col("offence_group").is_in(REOFFENDING_OFFENCE_GROUPS).fill_null(False),
    }
    flags = frame.with_columns([expr.alias(rule) for (rule, _, _), expr in rules.items()])
    findings = pl.concat(
        [
            flags.filter(pl.col(rule)).select(
                pl.col("row_number").cast(pl.Int64),
                pl.lit(rule).alias("rule_id"),
                pl.lit(column).alias("column"),
                shown_value(column).alias("value"),
                pl.lit(message).alias("message"),
            )
            for (rule, column, message) in rules
        ]
    ).sort("row_number", "rule_id")
    bad = pl.any_horizontal([pl.col(rule) for rule, _, _ in rules])
    good = flags.filter(~bad)
    rows = good.select(
        hash_values(good["pnc_id"]).alias("pnc_hash"),
        pl.col("offence").alias("offence_date"),
        pl.col("disposal").alias("disposal_date"),
        "disposal_type",
        "offence_group",
    )
    return Extract(as_of, rows, findings, frame.height, path)


def register(engine, extract: Extract, archive_root: Path, feedback_root: Path) -> tuple[int, str, Path]:
    """Archive the extract's bytes, keep its checked rows (pseudonymised, Parquet) and its findings.

    Returns the warehouse id (the same file again keeps its id), the file's sha256 and the findings file.
    """
    from sqlalchemy import select

    from probation_returns.files.csv import write_csv
    from probation_returns.ingest import archive_file, sha256_file
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import ReoffendingExtract

    digest = sha256_file(extract.path)
    archived = archive_file(extract.path, digest, archive_root)
    from probation_returns import failpoints
    from probation_returns.staging import remove_abandoned, staging_file

    rows_path = checked_rows_path(archive_root, digest)
    if not rows_path.exists():
        remove_abandoned(rows_path.parent, ".*.incoming-*")
        with staging_file(rows_path.parent, f".{rows_path.name}.incoming-") as (out, tmp):
            extract.rows.write_parquet(out)
            out.flush()
            os.replace(tmp, rows_path)
    findings = feedback_root / "reoffending" / extract.as_of.isoformat() / "findings.csv"
    remove_abandoned(findings.parent, ".*.incoming-*")
    with staging_file(findings.parent, f".{findings.name}.incoming-") as (_, tmp):
        failpoints.reached(failpoints.EXTRACT_FINDINGS)
        write_csv(extract.findings, tmp)
        os.replace(tmp, findings)
    from probation_returns.warehouse.locks import hold

    with session_scope(engine) as session:
        hold(session, "reoffending_extract", digest)  # two runs registering the same file record it once
        row = session.scalar(select(ReoffendingExtract).where(ReoffendingExtract.sha256 == digest))
        if row is None:
            row = ReoffendingExtract(
                as_of_date=extract.as_of,
                file_name=extract.path.name,
                sha256=digest,
                archive_path=str(archived),
                rows=extract.total_rows,
            )
            session.add(row)
            session.flush()
        return row.id, digest, findings


def checked_rows_path(archive_root: Path, sha256: str) -> Path:
    return archive_root / "extracts" / f"{sha256}.parquet"


def latest_registered(engine, archive_root: Path) -> tuple[int, Extract] | None:
    """The registered extract with the latest as-of date, as checked when it was registered."""
    from sqlalchemy import select

    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import ReoffendingExtract

    with session_scope(engine) as session:
        row = session.scalar(
            select(ReoffendingExtract).order_by(ReoffendingExtract.as_of_date.desc(), ReoffendingExtract.id.desc())
        )
        if row is None:
            return None
        found = (row.id, row.as_of_date, row.sha256, row.rows, Path(row.archive_path), row.file_name)
    extract_id, as_of, digest, total, archived, name = found
    rows_path = checked_rows_path(archive_root, digest)
    if rows_path.exists():
        rows = pl.read_parquet(rows_path)
        return extract_id, Extract(as_of, rows, pl.DataFrame(), total or 0, archived)
    return extract_id, _load_archived(archived, name)


def _load_archived(archived: Path, name: str) -> Extract:
    """Re-check an archived extract (kept under its sha256, so the as-of date comes from its recorded name)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / name
        shutil.copyfile(archived, copy)
        return load(copy)
