"""Starting the validation of an upload.

When the intake pool is running (``returns serve`` starts it beside gunicorn: ``portal.gunicorn_conf``), the
upload waits in the warehouse for one of its workers, which are already running with their imports done: the
web process only rings their doorbell. Without a pool, it starts a worker process for the upload
(``python -m orchestration.runner.portal_intake UPLOAD_ID``) and records its host:pid on the upload, so a page
that finds the worker gone (killed, or the machine restarted) can start another; the intake is safe to repeat.
A thread waits for each child so that none is left a zombie (which would look alive).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

from orchestration.instance import prepare
from orchestration.runner.portal_intake import pool_alive, pool_folder, ring
from portal.security import db
from portal.settings import Settings
from probation_returns.uploads import worker_alive
from probation_returns.warehouse.models import BuildRequest, Upload

_prepared: set = set()
started: list[subprocess.Popen] = []  # workers this process started still running (tests wait for them)


def _child(module: str, key: int, settings: Settings) -> subprocess.Popen:
    if settings.dagster_home not in _prepared:  # the instance's dagster.yaml: written here, not by every worker
        prepare(settings.dagster_home)
        _prepared.add(settings.dagster_home)
    env = {**os.environ, **settings.worker_environment()}
    child = subprocess.Popen(
        [sys.executable, "-m", module, str(key)], env=env, stdin=subprocess.DEVNULL, start_new_session=True
    )
    threading.Thread(target=child.wait, daemon=True).start()
    started[:] = [c for c in started if c.poll() is None] + [child]
    return child


def start_build(request_id: int, settings: Settings) -> None:
    """A worker process for a contract manager's rebuild (``orchestration.runner.portal_build``)."""
    if not settings.process_uploads:
        return
    child = _child("orchestration.runner.portal_build", request_id, settings)
    with db() as s:
        row = s.get(BuildRequest, request_id, with_for_update=True)
        if row is not None and (
            row.status == "received" or (row.status == "building" and not worker_alive(row.worker))
        ):
            row.status, row.worker = "received", f"{socket.gethostname()}:{child.pid}"


def start(upload_id: int, settings: Settings) -> None:
    """The upload to the intake pool if one is running (its waiting workers woken), otherwise to a worker of its own.

    Called again by a page that finds the upload stalled: with a pool running, an upload still waiting is the
    pool's (a pool worker that died with it is replaced, and its upload taken again)."""
    if not settings.process_uploads:
        return
    folder = pool_folder(settings.dagster_home)
    if pool_alive(folder):
        ring(folder)
        return
    child = _child("orchestration.runner.portal_intake", upload_id, settings)
    with db() as s:
        upload = s.get(Upload, upload_id, with_for_update=True)
        # Waiting, or taken by a worker that has died: it waits for this child now (so it is not "stalled" while
        # the child queues for a slot). One a live worker has taken is left to it.
        if upload is not None and (
            upload.status == "received" or (upload.status == "validating" and not worker_alive(upload.worker))
        ):
            upload.status, upload.worker = "received", f"{socket.gethostname()}:{child.pid}"
