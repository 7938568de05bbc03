"""Files and folders written under a temporary name, then renamed into place, and left-overs of killed writers.

A writer holds an exclusive ``flock`` on its temporary file or folder while it writes. The kernel drops
the lock when the process ends, however it ends, so a temporary name nobody holds a lock on belongs
to a writer that was killed, and any tidy-up removes it; one that is locked is another writer at work
(a second run at the same time) and is left alone.

Making a temporary name and locking it are two steps (``mkstemp``, then ``flock``). A writer takes a
shared lock on the parent folder for those two steps and a tidy-up takes an exclusive one while it
looks, so a tidy-up never sees a name between its making and its locking: an unlocked name it sees is
abandoned, whatever its age or size.

Every temporary name the service writes matches one of ``TEMPORARY_NAMES``, and ``tidy`` removes the
abandoned ones under the output, archive and landing folders: each run and each worker calls it when it
starts, so a kill in any writer is healed by the next run, whichever step that run goes on to do.
"""

from __future__ import annotations

import fcntl
import fnmatch
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

# Every temporary name the service makes, and who makes it:
#   .<name>.incoming-*   feedback staging folders, an extract's findings and checked rows, the published return
#   .incoming-*          archive copies (archive/ab/cd/.incoming-*)
#   .building-*          a ministry return build being written (<output>/<quarter>/builds/.building-*)
#   upload-*             a portal upload being streamed (<landing>/.portal-staging/upload-*)
TEMPORARY_NAMES = (".*.incoming-*", ".incoming-*", ".building-*", "upload-*")
PORTAL_STAGING = ".portal-staging"  # inside the landing folder: the same file system, so the final rename is atomic


def is_temporary(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in TEMPORARY_NAMES)


@contextmanager
def _folder_lock(parent: Path, kind: int):
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, kind)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _remove_if_abandoned(path: Path) -> bool:
    """Remove ``path`` unless its writer holds its lock (the caller holds the parent's exclusive lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # gone already
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False  # a writer at work
    try:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _remove_abandoned_in(parent: Path, names: Iterable[str]) -> list[Path]:
    names = list(names)
    if not names:
        return []
    try:
        with _folder_lock(parent, fcntl.LOCK_EX):  # no writer is between making a name and locking it
            return [parent / name for name in names if _remove_if_abandoned(parent / name)]
    except FileNotFoundError:
        return []


def remove_abandoned(parent: Path, pattern: str) -> list[Path]:
    """Remove temporary files or folders matching ``pattern`` in ``parent`` whose writer is gone."""
    try:
        names = [entry.name for entry in os.scandir(parent) if fnmatch.fnmatchcase(entry.name, pattern)]
    except FileNotFoundError:
        return []
    return _remove_abandoned_in(parent, names)


def tidy(output: Path, archive: Path, landing: Path) -> list[Path]:
    """Remove every abandoned temporary name the service writes: anywhere under the output and archive
    folders, and in the landing folder's portal staging (a provider's own files in the landing folder are
    never touched). Returns what was removed."""
    removed: list[Path] = []
    for root in (output, archive, landing / PORTAL_STAGING):
        removed += _tidy_tree(root)
    return removed


def _tidy_tree(root: Path) -> list[Path]:
    removed: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        found = []
        for entry in entries:
            if is_temporary(entry.name):
                found.append(entry.name)  # not looked inside: the whole name goes, or stays
            elif entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
        removed += _remove_abandoned_in(folder, found)
    return removed


@contextmanager
def _made_and_locked(parent: Path, make):
    parent.mkdir(parents=True, exist_ok=True)
    with _folder_lock(parent, fcntl.LOCK_SH):
        fd, path = make()
        fcntl.flock(fd, fcntl.LOCK_EX)
    yield fd, path


def _new_folder(parent: Path, prefix: str):
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    return os.open(path, os.O_RDONLY), path


def _new_file(parent: Path, prefix: str):
    fd, name = tempfile.mkstemp(dir=parent, prefix=prefix)
    return fd, Path(name)


@contextmanager
def staging_folder(parent: Path, prefix: str):
    """A new folder in ``parent``, locked while the block runs and removed after it (rename what you keep)."""
    with _made_and_locked(parent, lambda: _new_folder(parent, prefix)) as (fd, path):
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            os.close(fd)


@contextmanager
def staging_file(parent: Path, prefix: str):
    """A new file in ``parent`` (open for writing, binary), locked while the block runs; removed if left."""
    with _made_and_locked(parent, lambda: _new_file(parent, prefix)) as (fd, path):
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                yield out, path
        finally:
            path.unlink(missing_ok=True)
            os.close(fd)
