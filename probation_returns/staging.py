"""Files and folders written under a temporary name, then renamed into place, and left-overs of killed writers.

A writer holds an exclusive ``flock`` on its temporary file or folder while it writes. The kernel drops
the lock when the process ends, however it ends, so a temporary name nobody holds a lock on belongs
to a writer that was killed, and the next writer removes it; one that is locked is another writer at
work (a second run at the same time) and is left alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _lock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_EX)


def remove_abandoned(parent: Path, pattern: str) -> None:
    """Remove temporary files or folders matching ``pattern`` in ``parent`` whose writer is gone."""
    for path in parent.glob(pattern):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # gone already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a writer at work
        try:
            if _just_made(path):
                continue  # made this instant, not yet locked by its writer: another writer at work
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)


JUST_MADE_SECONDS = 10


def _just_made(path: Path) -> bool:
    """Empty and a few seconds old: a writer between making its file (or folder) and locking it.

    ``mkstemp``/``mkdtemp`` and ``flock`` are two steps; without this a second writer tidying up could
    delete the first one's new file in between. A killed writer's empty file goes at a later tidy-up.
    """
    import time

    try:
        st = path.stat()
    except OSError:
        return False
    empty = not any(path.iterdir()) if path.is_dir() else st.st_size == 0
    return empty and time.time() - st.st_mtime < JUST_MADE_SECONDS


@contextmanager
def staging_folder(parent: Path, prefix: str):
    """A new folder in ``parent``, locked while the block runs and removed after it (rename what you keep)."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    fd = os.open(path, os.O_RDONLY)
    _lock(fd)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


@contextmanager
def staging_file(parent: Path, prefix: str):
    """A new file in ``parent`` (open for writing, binary), locked while the block runs; removed if left."""
    parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=parent, prefix=prefix)
    _lock(fd)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb", closefd=False) as out:
            yield out, path
    finally:
        if path.exists():
            path.unlink()
        os.close(fd)
