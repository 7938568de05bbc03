"""Receiving returns: find them in the landing folder, archive every byte, record the submission.

Landing layout: ``landing/<PROVIDER>/<files>`` (files directly in ``landing/`` are attributed to
the provider their name says). Recognised names: ``P_Q.xlsx`` and ``P_Q_<table>.csv``. A file's
bytes are archived under their sha256 before anything reads them, so nothing a provider sent is
ever lost, and names a provider chose never become paths in the archive.

A submission is the set of a provider's return files for one quarter: the workbook, or the cases,
contacts and breaches CSVs. Its identity is what each part holds (the table or workbook and the
bytes' sha256), not what the files are called, so renamed but identical files are the same return.
The same content as the latest version is a duplicate (recorded nowhere new, processed once); any
other content is a new version that supersedes the latest, which is kept, even when it repeats an
earlier version's bytes (the latest delivery counts). A file named like a return but not one of its
parts (``C05_2017Q3_notes.csv``) is never part of a return: it is archived, listed on the submission
and reported to the provider as a warning (FIL-007), and it cannot make or replace a return.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.reference import providers
from probation_returns.spec import RETURN_STEM, TABLES
from probation_returns.staging import remove_abandoned, staging_file
from probation_returns.warehouse.locks import hold
from probation_returns.warehouse.models import Submission, SubmissionFile

RETURN_NAME = re.compile(rf"^{RETURN_STEM}\.(?P<ext>csv|xlsx)$")
CHUNK = 1 << 20
MAX_IGNORED_BYTES = 200 * 1024 * 1024  # a stray file larger than a return may be is listed, not archived


@dataclass(frozen=True)
class LandedFile:
    path: Path
    provider: str  # the provider whose folder it arrived in (or whose name it bears, if loose)
    quarter: str
    named_provider: str  # the provider code in the file's own name
    table: str | None
    size: int
    sha256: str
    modified_at: dt.datetime  # the file's own time stamp (UTC)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def part(self) -> str | None:
        """Which part of a return the file is (a table, or ``workbook``); None: not part of a return."""
        return part_of(self.name)


def part_of(name: str) -> str | None:
    match = RETURN_NAME.match(name)
    if not match:
        return None
    table = (match.group("table") or "").lower()
    if match.group("ext").lower() == "xlsx":
        return "workbook" if not table else None
    return table if table in TABLES else None


def identity(parts: list[tuple[str | None, str]]) -> str:
    """A return's identity from its (part, sha256) pairs: the same content under other names is the same."""
    h = hashlib.sha256()
    for part, digest in sorted((p or "", d) for p, d in parts):
        h.update(f"{part}\0{digest}\n".encode())
    return h.hexdigest()


@dataclass
class LandedReturn:
    provider: str
    quarter: str
    files: list[LandedFile] = field(default_factory=list)
    ignored: list[LandedFile] = field(default_factory=list)  # named like a return's files, but not one of its parts

    @property
    def sha256(self) -> str:
        """The return's identity: a hash over what each of its parts holds (see :func:`identity`)."""
        return identity([(f.part, f.sha256) for f in self.files])

    @property
    def delivered_at(self) -> dt.datetime:
        """When the provider delivered the return: its newest file's time stamp, never in the future.

        SFTP and rsync keep the sender's time stamps, so a return replayed later (a backfill, the demo)
        is judged against the submission deadline on when it was really sent.
        """
        now = clock.now()
        return min(max(f.modified_at for f in self.files), now)

    @property
    def is_complete(self) -> bool:
        """A workbook, or all three CSVs."""
        if any(f.path.suffix.lower() == ".xlsx" for f in self.files):
            return True
        return {"cases", "contacts", "breaches"} <= {f.table for f in self.files if f.table}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _landed(
    path: Path,
    folder_provider: str | None,
    provider: str | None = None,
    quarter: str | None = None,
    memo: dict | None = None,
) -> LandedFile | None:
    """The file as a landed return file, or None when its name is not one (or not the one asked for).

    The name is checked before the bytes are hashed: a landing folder holding years of returns is
    not read in full to find one provider's quarter.
    """
    match = RETURN_NAME.match(path.name)
    if not match:
        return None
    named = match.group("provider").upper()
    in_quarter = str(Quarter.parse(match.group("quarter")))
    if (provider and (folder_provider or named) != provider) or (quarter and in_quarter != quarter):
        return None
    table = (match.group("table") or "").lower() or None
    stat = path.stat()
    digest = None
    if memo is not None:  # the sensor's memo: a file with the same size and time stamp is not read again
        known = memo.get(str(path))
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            digest = known[2]
    if digest is None:
        digest = sha256_file(path)
        if memo is not None:
            memo[str(path)] = [stat.st_size, stat.st_mtime_ns, digest]
    return LandedFile(
        path=path,
        provider=folder_provider or named,
        quarter=in_quarter,
        named_provider=named,
        table=table,
        size=stat.st_size,
        sha256=digest,
        modified_at=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
    )


def discover(
    landing: Path, provider: str | None = None, quarter: str | None = None, memo: dict | None = None
) -> list[LandedReturn]:
    """Returns waiting in ``landing``, grouped by provider and quarter (optionally just one of each).

    ``memo`` (path -> [size, mtime_ns, sha256]) lets a caller that looks often, the landing sensor,
    skip re-reading files it has hashed before; it is updated in place.
    """
    known = providers()
    found: dict[tuple[str, str], LandedReturn] = {}
    if not landing.is_dir():
        return []
    candidates: list[tuple[Path, str | None]] = []
    for entry in sorted(landing.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and entry.name.upper() in known:
            if provider is None or entry.name.upper() == provider:
                candidates.extend((f, entry.name.upper()) for f in sorted(entry.iterdir()))
        else:
            candidates.append((entry, None))
    for path, folder in candidates:
        if not path.is_file() or path.is_symlink():
            continue
        landed = _landed(path, folder, provider, quarter, memo)
        if landed is None or landed.provider not in known:
            continue
        if (provider and landed.provider != provider) or (quarter and landed.quarter != quarter):
            continue
        ret = found.setdefault((landed.provider, landed.quarter), LandedReturn(landed.provider, landed.quarter))
        (ret.files if landed.part else ret.ignored).append(landed)
    return [found[k] for k in sorted(found) if found[k].files]  # stray files alone are not a return


def archive_file(source: Path, sha256: str, archive_root: Path) -> Path:
    """Copy into ``archive_root/ab/cd/<sha256>`` once, read-only; the copy is verified before it counts."""
    target = archive_root / sha256[:2] / sha256[2:4] / sha256
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target.parent, ".incoming-*")  # copies a killed run left half made
    with staging_file(target.parent, ".incoming-") as (out, tmp):
        with source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        out.flush()
        if sha256_file(tmp) != sha256:
            raise OSError(f"{source.name} changed while it was being archived; it will be picked up again")
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class Receipt:
    submission_id: int
    version: int
    duplicate: bool
    superseded_id: int | None


def receive(session: Session, landed: LandedReturn, archive_root: Path) -> Receipt:
    """Archive the return's files and record the submission (in the caller's transaction).

    Holds the provider-quarter lock, so two runs receiving the same return record one version.
    """
    hold(session, "return", landed.provider, landed.quarter)
    digest = landed.sha256
    latest = session.scalar(
        select(Submission)
        .where(Submission.provider_code == landed.provider, Submission.quarter == landed.quarter)
        .order_by(Submission.version.desc())
        .limit(1)
    )
    if latest is not None and stored_identity(latest) == digest:
        return Receipt(latest.id, latest.version, True, None)
    stored = [(f, archive_file(f.path, f.sha256, archive_root)) for f in landed.files]
    ignored = []
    for f in landed.ignored:  # every byte is kept, even of files that are not part of the return
        if f.size <= MAX_IGNORED_BYTES:
            archive_file(f.path, f.sha256, archive_root)
        ignored.append({"file_name": f.name, "sha256": f.sha256, "size_bytes": f.size})
    current = latest if latest is not None and latest.status != "superseded" else None
    version = (latest.version if latest else 0) + 1
    submission = Submission(
        provider_code=landed.provider,
        quarter=landed.quarter,
        version=version,
        sha256=digest,
        file_names=sorted(f.name for f in landed.files),
        status="received",
        delivered_at=landed.delivered_at,
        supersedes_id=current.id if current else None,
        ignored_files=sorted(ignored, key=lambda i: i["file_name"]) or None,
    )
    session.add(submission)
    if current is not None:
        current.status = "superseded"
    for f, path in stored:
        submission.files.append(
            SubmissionFile(file_name=f.name, sha256=f.sha256, size_bytes=f.size, archive_path=str(path))
        )
    session.flush()
    return Receipt(submission.id, version, False, current.id if current else None)


def stored_identity(submission: Submission) -> str:
    """The identity of a recorded submission, from its files (whatever formula its ``sha256`` was made with)."""
    return identity([(part_of(f.file_name), f.sha256) for f in submission.files])


def current_submissions(session: Session, quarter: str) -> list[dict]:
    """Every provider's current submission for the quarter (providers with none get a row too)."""
    current = {
        s.provider_code: s
        for s in session.scalars(
            select(Submission).where(Submission.quarter == quarter, Submission.status != "superseded")
        )
    }
    rows = []
    for code in providers():
        s = current.get(code)
        rows.append(
            {
                "quarter": quarter,
                "provider_code": code,
                "submission_id": s.id if s else None,
                "version": s.version if s else None,
                "received_at": s.received_at.isoformat(timespec="seconds") if s else None,
                "sha256": s.sha256 if s else None,
                "files": ";".join(s.file_names) if s else None,
                "status": s.status if s else "no return",
                "outcome": s.outcome if s else None,
            }
        )
    return rows
