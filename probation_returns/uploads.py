"""Returns sent through the portal, from the browser's bytes to the submission they became.

An upload is streamed to a locked staging file in the landing folder, counted and hashed as it
arrives and stopped at the specification's size limit (the validation reader's ``MAX_FILE_BYTES``),
so nothing larger than a return may be is ever held. It is then put in the provider's landing folder
under a name the service chooses (``C14_2017Q3_cases.csv``, ``C14_2017Q3.xlsx``): the name the
sender's browser gave is recorded, never used as a path. From there the return is received and
validated by the same intake as the landing sensor's (the ``provider_intake`` job), so data engineers
see the run in Dagster like any other; the upload row follows it (received, validating, done, failed)
and, once done, points at the submission its files became.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.ingest import RETURN_NAME, identity, stored_identity
from probation_returns.spec import TABLES
from probation_returns.staging import PORTAL_STAGING, remove_abandoned, staging_file
from probation_returns.validation.reader import MAX_FILE_BYTES
from probation_returns.warehouse.models import Submission, Upload

CHUNK = 1 << 20
STAGING = PORTAL_STAGING
QUEUE = ".portal-queue"  # inside the landing folder: each upload's files, until the worker takes them
EXTENSIONS = {"workbook": ".xlsx", **{t: ".csv" for t in TABLES}}


class UploadError(ValueError):
    """What was sent cannot be taken; the message says what to send instead."""


@dataclass
class Incoming:
    part: str  # "workbook" or a table
    sent_as: str  # the name the browser gave (shown back, never a path)
    stream: BinaryIO


def _check_parts(incoming: list[Incoming]) -> None:
    parts = [i.part for i in incoming]
    if parts == ["workbook"] or sorted(parts) == sorted(TABLES):
        for item in incoming:
            if not item.sent_as.lower().endswith(EXTENSIONS[item.part]):
                what = (
                    "an Excel workbook (.xlsx)" if item.part == "workbook" else f"the {item.part} table as a .csv file"
                )
                raise UploadError(f"{shown_name(item.sent_as)} is not {what}")
        return
    raise UploadError("Send either one Excel workbook (.xlsx) or the three CSV files: cases, contacts and breaches")


def shown_name(name: str) -> str:
    """The sender's file name as text to show: its last part, printable, at most 100 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:100] or "the file"


def _stream_to(item: Incoming, out: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := item.stream.read(CHUNK):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise UploadError(
                f"{shown_name(item.sent_as)} is larger than {MAX_FILE_BYTES // 2**20} MB, the most a "
                "return file may be: check it is the right file"
            )
        digest.update(chunk)
        out.write(chunk)
    if size == 0:
        raise UploadError(f"{shown_name(item.sent_as)} is empty")
    return digest.hexdigest(), size


def part_sent_as(name: str) -> str:
    """Which part of a return a file chosen in the portal is, from the end of its name (never used as a path).

    Looser than ``ingest.part_of``, the landing folder's naming rule: an upload is saved under the name the
    rule wants (``landed_name``), so a clerk's "cases.csv" or "July return.xlsx" will do."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return "workbook"
    for table in TABLES:
        if lower.endswith(f"{table}.csv"):
            return table
    raise UploadError(
        f"{shown_name(name)}: name CSV files so they end in _cases.csv, _contacts.csv "
        "or _breaches.csv, or send one .xlsx workbook"
    )


def landed_name(provider: str, quarter: str, part: str) -> str:
    return f"{provider}_{quarter}.xlsx" if part == "workbook" else f"{provider}_{quarter}_{part}.csv"


def queued_folder(landing: Path, upload_id: int) -> Path:
    """Where an upload's files wait for their turn: its own folder, so uploads sent together never mix."""
    return landing / QUEUE / str(upload_id)


def store(
    session: Session,
    landing: Path,
    provider: str,
    quarter: str,
    user_id: int,
    declared_by: str,
    incoming: list[Incoming],
) -> Upload:
    """Stream the files to disk and queue them, in their own folder, as the upload's return.

    Nothing in the provider's landing folder changes here: the worker puts each upload's files there in
    turn (``place``), one upload of a provider at a time, oldest first.
    """
    _check_parts(incoming)
    if not declared_by.strip():
        raise UploadError("Type your full name to declare the return complete and accurate")
    staging = landing / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    remove_abandoned(staging, "upload-*")
    files, staged = [], []
    with ExitStack() as stack:  # every staging file locked while it is written, removed unless renamed into place
        outs = [stack.enter_context(staging_file(staging, "upload-")) for _ in incoming]
        for item, (out, path) in zip(incoming, outs):
            digest, size = _stream_to(item, out)
            out.flush()
            os.fsync(out.fileno())
            files.append({"part": item.part, "sent_as": shown_name(item.sent_as), "sha256": digest, "bytes": size})
            staged.append((item.part, path))
        upload = Upload(
            provider_code=provider,
            quarter=quarter,
            user_id=user_id,
            declared_by=declared_by.strip(),
            identity=identity([(f["part"], f["sha256"]) for f in files]),
            files=files,
            status="received",
        )
        session.add(upload)
        session.flush()
        folder = queued_folder(landing, upload.id)
        if folder.exists():  # an id SQLite handed out before, to an upload whose transaction was rolled back
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for part, path in staged:
            os.replace(path, folder / landed_name(provider, quarter, part))
    return upload


def place(landing: Path, upload: Upload) -> None:
    """Put the upload's queued files in the provider's landing folder as its return (the caller holds the
    provider's turn). Earlier return files of the quarter there are replaced: every version sent stays in the
    archive. The files carry the time the provider sent them, which is when the return was delivered."""
    queued = queued_folder(landing, upload.id)
    if not queued.is_dir():
        return  # sent before uploads were queued: its files went straight to the landing folder
    provider, quarter = upload.provider_code, upload.quarter
    folder = landing / provider
    folder.mkdir(parents=True, exist_ok=True)
    staging = landing / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    sent = _utc(upload.uploaded_at).timestamp()
    kept = set()
    for source in sorted(queued.iterdir()):
        with staging_file(staging, "upload-") as (out, path):
            with source.open("rb") as f:
                shutil.copyfileobj(f, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
            os.utime(path, (sent, sent))
            os.replace(path, folder / source.name)  # each rename replaces the file of the same name whole
        kept.add(source.name)
    for old in folder.iterdir():  # then the quarter's files of the other form (CSVs after a workbook, say)
        match = RETURN_NAME.match(old.name)
        if (
            match
            and old.is_file()
            and old.name not in kept
            and match.group("provider").upper() == provider
            and str(Quarter.parse(match.group("quarter"))) == quarter
        ):
            old.unlink()


def discard_queued(landing: Path, upload_id: int) -> None:
    """The upload's queued copy, once its return is received (its bytes are in the archive)."""
    shutil.rmtree(queued_folder(landing, upload_id), ignore_errors=True)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


WORKER = f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str | None) -> bool:
    """Whether the process named ``host:pid`` is still running (a worker on another host: assumed so)."""
    if not worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def claim(session: Session, upload_id: int, worker: str) -> Upload | None:
    """Take the upload to validate it, unless it is done or another live worker has it.

    The claim is one conditional update: it changes the row only if the row is still as it was read (the same
    status and worker). Two workers that read it at once (two pool workers, or a pool worker and a worker
    started for the upload) both try; the database lets one update through (PostgreSQL re-reads the row once
    the first commits; SQLite's write lock orders them) and the other changes nothing and leaves it."""
    seen = session.execute(select(Upload.status, Upload.worker).where(Upload.id == upload_id)).one_or_none()
    if seen is None or seen.status == "done":
        return None
    if seen.status == "validating" and seen.worker != worker and worker_alive(seen.worker):
        return None
    taken = session.execute(
        update(Upload)
        .where(
            Upload.id == upload_id,
            Upload.status == seen.status,
            Upload.worker.is_(None) if seen.worker is None else Upload.worker == seen.worker,
        )
        .values(status="validating", worker=worker, error=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return session.get(Upload, upload_id, populate_existing=True)


def next_waiting(session: Session) -> int | None:
    """The oldest upload still waiting to be validated (its own worker may be queued for a slot)."""
    return session.scalar(select(Upload.id).where(Upload.status == "received").order_by(Upload.id).limit(1))


def providers_waiting(session: Session) -> list[str]:
    """Providers with uploads to validate (waiting, or taken by a worker that has died), oldest upload first."""
    rows = session.execute(
        select(Upload.provider_code, Upload.status, Upload.worker)
        .where(Upload.status.in_(("received", "validating")))
        .order_by(Upload.id)
    )
    out = []
    for provider, status, worker in rows:
        if provider not in out and (status == "received" or not worker_alive(worker)):
            out.append(provider)
    return out


def oldest_waiting(session: Session, provider: str) -> int | None:
    """The provider's oldest upload not yet validated: its uploads are validated one at a time, in order."""
    return session.scalar(
        select(Upload.id)
        .where(Upload.provider_code == provider, Upload.status.in_(("received", "validating")))
        .order_by(Upload.id)
        .limit(1)
    )


def finish(session: Session, upload_id: int, run_id: str | None, error: str | None) -> Upload:
    """Tie the upload to the submission its files became (the received version with the same content)."""
    upload = session.get(Upload, upload_id)
    upload.run_id = run_id
    candidates = session.scalars(
        select(Submission)
        .where(Submission.provider_code == upload.provider_code, Submission.quarter == upload.quarter)
        .order_by(Submission.version.desc())
    )
    match = next((s for s in candidates if stored_identity(s) == upload.identity and s.outcome), None)
    upload.finished_at = clock.now()
    if match is not None:
        upload.submission_id, upload.status, upload.error = match.id, "done", None
    else:
        upload.status = "failed"
        upload.error = failure_words(error)
    return upload


STEP_WORDS = {  # the pipeline's steps, as a clerk would say them
    "provider_submission": "while your files were being received and stored",
    "provider_validation": "while your return was being checked against the rules",
    "accepted_return": "while the checked records were being kept",
    "provider_measures": "while your service levels were being worked out",
}


def failure_words(error: str | None) -> str:
    """Why the check stopped, in a clerk's words first, then the engineers' one line."""
    if not error:
        return "Your files were kept, but no version was recorded from them."
    step, _, detail = error.partition(":")
    where = STEP_WORDS.get(step.strip())
    if where is None:
        return f"The check stopped before it finished ({error.strip()[:300]})."
    return f"The check stopped {where} ({detail.strip()[:300]})."


def stalled(upload: Upload) -> bool:
    """Received or validating, with no process at work on it: its worker was killed or never started."""
    return upload.status in ("received", "validating") and not worker_alive(upload.worker)
