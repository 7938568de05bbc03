"""gunicorn's settings for the portal: ``gunicorn -c python:portal.gunicorn_conf portal.wsgi:app`` (``returns serve``
passes them). The master starts the intake pool once it is ready to serve, and stops it when it stops.

The pool (``python -m orchestration.runner.portal_intake --pool``) keeps ``RETURNS_PORTAL_WORKERS`` worker processes
(default: the machine's cores, at most 4) running with Dagster imported and the job built, taking the uploads from the
warehouse as they arrive. ``RETURNS_PORTAL_WORKERS=0``: no pool; the web process starts a worker per upload, as it does
whenever no pool is running (its pool killed, or gunicorn run without these settings).
"""

from __future__ import annotations

import os
import subprocess
import sys

_pool: subprocess.Popen | None = None


def when_ready(server) -> None:  # noqa: ANN001 - gunicorn's arbiter
    global _pool
    from orchestration.instance import prepare
    from orchestration.runner.portal_intake import MODULE, wanted
    from portal.settings import Settings

    size = wanted()
    if size == 0:
        server.log.info("No intake pool (RETURNS_PORTAL_WORKERS=0): a worker is started for each upload")
        return
    settings = Settings.from_environment()
    prepare(settings.dagster_home)  # the instance's dagster.yaml, before any worker opens it
    _pool = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--pool", str(size)],
        env={**os.environ, **settings.worker_environment()},
        stdin=subprocess.DEVNULL,
        # Its own session, as each worker per upload has always had (portal.processing): a signal to gunicorn's
        # process group (a terminal's Ctrl+C) does not cut a run short; gunicorn stops the pool in on_exit, and
        # the pool stops itself if gunicorn's master is gone. Where the kernel groups CPU time by session
        # (autogroup, on by default), the validations also get their own share beside the web workers'.
        start_new_session=True,
    )
    server.log.info("Intake pool started (pid %s): %s workers", _pool.pid, size)


def on_exit(server) -> None:  # noqa: ANN001
    """The pool's workers finish the upload in hand and stop (killed after a minute: their uploads are taken again)."""
    if _pool is None or _pool.poll() is not None:
        return
    _pool.terminate()
    try:
        _pool.wait(75)
    except subprocess.TimeoutExpired:
        _pool.kill()
        _pool.wait()
