"""What changed between two versions of a provider's return for a quarter: records added, removed and changed,
field by field, and how each service level and credit moved.

Records are matched by their natural keys (docs/provider-return.md): a case by ``case_ref``, a breach by
``breach_ref`` (both unique in a return), a contact by ``case_ref``, ``contact_date`` and ``contact_type`` and,
where the same three appear more than once (CON-006 allows it), by its place among them in file order. Where a
record sits in the file is not a change. Values are shown as text with every PNC-looking id masked wherever it
appears (``probation_returns.pnc.mask_text``); the PNC id itself is only held as a keyed hash, so a change to
it is shown as a change with both values withheld.

Service levels and credits come from each version's accepted records through the ministry return's own code
(``probation_returns.measures.quarter.levels_from``). A version that was rejected, or not yet checked, has no
accepted records: its records are not compared and its service levels are not worked out.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from probation_returns.calendar import Quarter, submission_deadline
from probation_returns.files.csv import neutralise
from probation_returns.measures.quarter import accepted_tables, counting_versions, delivered, levels_from
from probation_returns.parameters import for_quarter
from probation_returns.pnc import mask_text
from probation_returns.reference import providers
from probation_returns.spec import TABLES
from probation_returns.warehouse.db import read_scope
from probation_returns.warehouse.models import Submission, ValidationRun

KEYS = {
    "cases": ("case_ref",),
    "contacts": ("case_ref", "contact_date", "contact_type", "occurrence"),
    "breaches": ("breach_ref",),
}
NOT_FIELDS = {"id", "submission_id", "row_number", "occurrence"}  # bookkeeping, not what the provider wrote
WITHHELD = "withheld"  # a PNC id is never shown, changed or not
SHOWN_AS = {"pnc_hash": "pnc_id"}  # the column the provider wrote (only its keyed hash is stored)
CSV_COLUMNS = ("table", "case_ref", "record", "change", "column", "before", "after")


@dataclass(frozen=True)
class Side:
    """One of the two versions compared."""

    submission_id: int
    version: int
    outcome: str | None
    delivered_at: dt.datetime
    late: bool
    counts: bool  # the version that counts for the quarter now
    has_records: bool  # accepted records to compare (not rejected, and checked)

    @property
    def why_no_records(self) -> str | None:
        if self.has_records:
            return None
        if self.outcome is None:
            return f"Version {self.version} has not been checked yet, so it has no accepted records."
        return f"Version {self.version} was rejected, so it has no accepted records."


@dataclass(frozen=True)
class FieldChange:
    column: str
    before: str
    after: str


@dataclass(frozen=True)
class RecordChange:
    table: str
    case_ref: str
    record: str  # the record's key as the provider knows it (masked)
    change: str  # added, removed, changed
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class TableChange:
    table: str
    before_rows: int | None  # rows received (None: not known)
    after_rows: int | None
    before_accepted: int | None  # accepted records (None: none, the version has no accepted records)
    after_accepted: int | None
    added: int | None
    removed: int | None
    changed: int | None


@dataclass(frozen=True)
class Level:
    numerator: int | None
    denominator: int | None
    rate: Decimal | None  # percent to one decimal place, as the ministry return shows it
    target: Decimal
    status: str
    credit_gbp: Decimal | None  # None: an NPS division (no credits)


@dataclass(frozen=True)
class LevelMove:
    measure: str
    before: Level | None  # None: that version has no accepted records
    after: Level | None

    @property
    def credit_change_gbp(self) -> Decimal | None:
        if self.before is None or self.after is None or self.before.credit_gbp is None:
            return None
        return self.after.credit_gbp - self.before.credit_gbp

    @property
    def moved(self) -> bool:
        if self.before is None or self.after is None:
            return False
        b, a = self.before, self.after
        return (b.numerator, b.denominator, b.status, b.credit_gbp) != (
            a.numerator,
            a.denominator,
            a.status,
            a.credit_gbp,
        )


@dataclass(frozen=True)
class VersionDiff:
    provider: str
    quarter: str
    before: Side
    after: Side
    counted_version: int | None
    is_crc: bool
    tables: list[TableChange]
    records: list[RecordChange]  # sorted by table, case reference and record
    levels: list[LevelMove]
    credits_before_gbp: Decimal | None  # the quarter's total (None: no credits, or no accepted records)
    credits_after_gbp: Decimal | None
    notes: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        """Whether the records were compared (both versions have accepted records)."""
        return self.before.has_records and self.after.has_records

    @property
    def credits_change_gbp(self) -> Decimal | None:
        if self.credits_before_gbp is None or self.credits_after_gbp is None:
            return None
        return self.credits_after_gbp - self.credits_before_gbp

    def field_rows(self) -> list[dict]:
        """One row per changed field, and one per added or removed record: what the download holds."""
        rows = []
        for r in self.records:
            if r.change != "changed":
                rows.append(dict(zip(CSV_COLUMNS, (r.table, r.case_ref, r.record, r.change, "", "", ""))))
            for f in r.fields:
                rows.append(
                    dict(zip(CSV_COLUMNS, (r.table, r.case_ref, r.record, r.change, f.column, f.before, f.after)))
                )
        return rows

    def csv_text(self) -> str:
        """The field-level changes as CSV (RFC 4180, no formulas: a cell that would run as one is neutralised)."""
        frame = pl.DataFrame(self.field_rows(), schema={c: pl.String for c in CSV_COLUMNS}, orient="row")
        buffer = io.BytesIO()
        neutralise(frame).write_csv(buffer, null_value="", line_terminator="\r\n", quote_style="non_numeric")
        return buffer.getvalue().decode()


def _side(session: Session, submission: Submission, counted_id: int | None) -> Side:
    quarter = Quarter.parse(submission.quarter)
    moment = delivered(submission)
    return Side(
        submission.id,
        submission.version,
        submission.outcome,
        moment,
        moment >= submission_deadline(quarter, for_quarter(quarter)),
        submission.id == counted_id,
        submission.outcome is not None and submission.outcome != "Rejected",
    )


def _text(column: str, value) -> str:
    if column == "pnc_hash":
        return WITHHELD
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.date):
        return value.isoformat()
    return mask_text(str(value))


def _keyed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    if name == "contacts":  # the same case, day and type more than once: matched in file order
        frame = frame.sort("row_number").with_columns(
            (pl.int_range(pl.len()).over("case_ref", "contact_date", "contact_type") + 1).alias("occurrence")
        )
    return frame.drop([c for c in ("id", "submission_id", "row_number") if c in frame.columns])


def _record_name(name: str, row: dict) -> str:
    if name == "cases":
        return _text("case_ref", row["case_ref"])
    if name == "breaches":
        return _text("breach_ref", row["breach_ref"])
    nth = f" ({_ordinal(row['occurrence'])})" if row["occurrence"] > 1 else ""
    return f"{row['contact_date'].isoformat()} {_text('contact_type', row['contact_type'])}{nth}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def compare_tables(name: str, before: pl.DataFrame, after: pl.DataFrame) -> list[RecordChange]:
    """The records of one table added, removed and changed between two versions' accepted records."""
    keys = list(KEYS[name])
    b, a = _keyed(name, before), _keyed(name, after)
    fields = [c for c in b.columns if c not in keys and c not in NOT_FIELDS]
    joined = b.with_columns(pl.lit(True).alias("_in_before")).join(
        a.with_columns(pl.lit(True).alias("_in_after")), on=keys, how="full", coalesce=True, suffix="_after"
    )
    differs = [pl.col(c).ne_missing(pl.col(f"{c}_after")).fill_null(False).alias(f"_differs_{c}") for c in fields]
    joined = joined.with_columns(differs)
    out = []
    added = joined.filter(pl.col("_in_before").is_null())
    removed = joined.filter(pl.col("_in_after").is_null())
    changed = joined.filter(
        pl.col("_in_before").is_not_null()
        & pl.col("_in_after").is_not_null()
        & pl.any_horizontal([pl.col(f"_differs_{c}") for c in fields])
    )

    def case_ref(row: dict, side: str) -> str:  # a breach's case is a field: the version's own, after if both
        return _text("case_ref", row["case_ref"] if "case_ref" in keys or side == "before" else row["case_ref_after"])

    for kind, rows in (("added", added), ("removed", removed)):
        for row in rows.iter_rows(named=True):
            side = "after" if kind == "added" else "before"
            out.append(RecordChange(name, case_ref(row, side), _record_name(name, row), kind))
    for row in changed.iter_rows(named=True):
        out.append(
            RecordChange(
                name,
                case_ref(row, "after"),
                _record_name(name, row),
                "changed",
                tuple(
                    FieldChange(SHOWN_AS.get(c, c), _text(c, row[c]), _text(c, row[f"{c}_after"]))
                    for c in fields
                    if row[f"_differs_{c}"]
                ),
            )
        )
    return sorted(out, key=lambda r: (r.case_ref, r.record, r.change))


def _levels(provider: str, quarter: Quarter, side: Side, tables: dict[str, pl.DataFrame] | None) -> dict | None:
    if not side.has_records:
        return None
    result = levels_from(provider, quarter, side.submission_id, tables)
    money = {c.measure: c.amount_gbp for c in result.credits}
    return {
        level.measure: Level(
            level.numerator,
            level.denominator,
            level.performance_shown,
            level.target,
            level.status,
            money.get(level.measure) if money else None,
        )
        for level in result.levels
    }


def _received(session: Session, submission_id: int) -> dict:
    run = session.scalar(select(ValidationRun).where(ValidationRun.submission_id == submission_id))
    return (run.table_counts or {}) if run is not None else {}


def compare(engine: Engine, provider: str, quarter: str, before_version: int, after_version: int) -> VersionDiff | None:
    """What changed from ``before_version`` to ``after_version`` of the provider's return; None if either is not
    one of its versions for the quarter."""
    q = Quarter.parse(quarter)
    with read_scope(engine) as session:
        found = {
            s.version: s
            for s in session.scalars(
                select(Submission).where(
                    Submission.provider_code == provider,
                    Submission.quarter == quarter,
                    Submission.version.in_([before_version, after_version]),
                )
            )
        }
        if before_version not in found or after_version not in found:
            return None
        counted = next(counting_versions(session, provider, quarter), None)
        counted_id = counted.id if counted else None
        before, after = (_side(session, found[v], counted_id) for v in (before_version, after_version))
        received = {side.version: _received(session, side.submission_id) for side in (before, after)}
    tables = {
        side.version: accepted_tables(engine, side.submission_id) if side.has_records else None
        for side in (before, after)
    }
    records, table_changes = [], []
    for name in TABLES:
        b = tables[before.version][name] if tables[before.version] else None
        a = tables[after.version][name] if tables[after.version] else None
        found_changes = compare_tables(name, b, a) if b is not None and a is not None else None
        if found_changes is not None:
            records += found_changes
        counts = {k: sum(1 for r in found_changes or [] if r.change == k) for k in ("added", "removed", "changed")}
        table_changes.append(
            TableChange(
                name,
                received[before.version].get(name, {}).get("rows"),
                received[after.version].get(name, {}).get("rows"),
                b.height if b is not None else None,
                a.height if a is not None else None,
                *(
                    (counts["added"], counts["removed"], counts["changed"])
                    if found_changes is not None
                    else (None,) * 3
                ),
            )
        )
    levels_before = _levels(provider, q, before, tables[before.version])
    levels_after = _levels(provider, q, after, tables[after.version])
    measures = list((levels_before or levels_after or {}).keys())
    moves = [
        LevelMove(m, levels_before.get(m) if levels_before else None, levels_after.get(m) if levels_after else None)
        for m in measures
    ]
    is_crc = providers()[provider].is_crc

    def total(levels: dict | None) -> Decimal | None:
        if levels is None or not is_crc:
            return None
        return sum((lv.credit_gbp for lv in levels.values()), Decimal("0.00"))

    notes = []
    for side in (before, after):
        if not side.has_records:
            notes.append(
                f"{side.why_no_records} Its records are not compared and its service levels are not worked out"
                + (
                    ": a rejected version never replaces an accepted one, so it changes none of the quarter's figures."
                    if side.outcome == "Rejected"
                    else "."
                )
            )
    return VersionDiff(
        provider,
        quarter,
        before,
        after,
        counted.version if counted else None,
        is_crc,
        table_changes,
        sorted(records, key=lambda r: (list(TABLES).index(r.table), r.case_ref, r.record)),
        moves,
        total(levels_before),
        total(levels_after),
        notes,
    )


def previous_version(session: Session, provider: str, quarter: str, version: int) -> int | None:
    """The version sent before this one, if any."""
    return session.scalar(
        select(Submission.version)
        .where(Submission.provider_code == provider, Submission.quarter == quarter, Submission.version < version)
        .order_by(Submission.version.desc())
        .limit(1)
    )


def counted_pair(session: Session, provider: str, quarter: str) -> tuple[int, int] | None:
    """(the version that counted before, the version that counts now) when a resubmission changed which version
    counts; None when at most one version ever counted."""
    counting = [s.version for s, _ in zip(counting_versions(session, provider, quarter), range(2))]
    return (counting[1], counting[0]) if len(counting) == 2 else None
