"""The portal's intake worker: ``python -m orchestration.runner.portal_intake UPLOAD_ID``.

Receives and validates uploads through the ``provider_intake`` job (a run in the Dagster instance under
``DAGSTER_HOME``, tagged ``source=portal``), then ties each upload to the submission it became.

The web process starts one worker per upload. At most ``RETURNS_PORTAL_WORKERS`` (default 2, the
machine's cores) work at once: a worker takes a slot (a locked file) before it imports anything heavy,
so workers queued behind the slots cost no CPU. A worker with a slot validates every upload still
waiting, with Dagster imported and the job built once: when 28 providers send at once, two processes do
the work and the others find it done and leave. Each upload's files wait in their own folder; a
provider's uploads are validated one at a time in the order they were sent (the provider's turn is a
locked file), each put in the landing folder just before its run, so uploads sent together never mix
and each becomes the next version.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path


def _slot(folder: Path) -> int:
    """Wait for one of the worker slots (a locked file; the kernel frees it when the process ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    slots = max(1, int(os.environ.get("RETURNS_PORTAL_WORKERS", "2")))
    while True:
        for i in range(slots):
            fd = os.open(folder / f"slot-{i}", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        time.sleep(0.1)


class _Runner:
    """Dagster imported, the instance opened and the job built once, for every upload this worker takes."""

    def __init__(self, home: Path, url: str):
        from assets.lib.resources import Folders, Warehouse
        from orchestration import origin
        from orchestration.instance import open_instance
        from orchestration.runner.runs import QUIET

        self.instance = open_instance(home)
        self.config = {**QUIET, **origin.resource_config({"warehouse": Warehouse(url=url), "folders": Folders()})}
        origin.code_location()  # the job built once, for every upload

    def run(self, quarter: str, provider: str, upload_id: int) -> tuple[str | None, str | None]:
        from assets.lib.partitions import return_key
        from orchestration import origin
        from orchestration.runner.runs import _tags, failure
        from probation_returns.calendar import Quarter

        try:
            result = origin.execute(
                "provider_intake",
                self.instance,
                partition_key=return_key(Quarter.parse(quarter), provider),
                tags={**_tags(), "source": "portal", "returns/upload": str(upload_id)},
                run_config=self.config,
            )
            return result.run_id, failure(result)
        except Exception as exc:  # noqa: BLE001 - recorded on the upload, shown to the provider as a failure
            return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def _turn(landing: Path, provider: str) -> int | None:
    """The provider's turn (a locked file; the kernel frees it when the process ends), or None if another
    worker has it: a provider's uploads are validated one at a time, oldest first, whoever sent them."""
    folder = landing / ".portal-queue"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{provider}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def work(first: int, home: Path) -> int:
    """Validate every upload waiting, ``first``'s among them: each provider's in order, one at a time. The
    number validated. A provider another worker is at is left to it (it looks again before it stops)."""
    from probation_returns.uploads import (
        WORKER,
        claim,
        discard_queued,
        finish,
        oldest_waiting,
        place,
        providers_waiting,
    )
    from probation_returns.warehouse.db import database_url, engine_for, session_scope

    url = database_url()
    engine = engine_for(url)
    landing = Path(os.environ.get("RETURNS_LANDING") or "var/landing")
    runner, done = None, 0
    while True:
        with session_scope(engine) as s:
            waiting = providers_waiting(s)
        progressed = False
        for provider in waiting:
            fd = _turn(landing, provider)
            if fd is None:
                continue
            try:
                while True:
                    with session_scope(engine) as s:
                        upload_id = oldest_waiting(s, provider)
                        upload = claim(s, upload_id, WORKER) if upload_id is not None else None
                        if upload is not None:
                            place(landing, upload)
                            job = (upload.quarter, upload.provider_code)
                    if upload is None:
                        break
                    runner = runner or _Runner(home, url)
                    run_id, why = runner.run(*job, upload_id)
                    with session_scope(engine) as s:
                        finished = finish(s, upload_id, run_id, why)
                        failed = finished.status == "failed"
                        if not failed:
                            discard_queued(landing, upload_id)
                    if failed:
                        _alert(engine, upload_id, job, run_id, why)
                    done += 1
                    progressed = True
            finally:
                os.close(fd)
            break  # look again from the oldest: another provider's upload may be older than this one's next
        if not progressed:
            break
    engine.dispose()
    return done


def _alert(engine, upload_id: int, job: tuple[str, str], run_id: str | None, why: str | None) -> None:
    """A failed upload is an alert for the data engineers (the clerk's page says they were told)."""
    from probation_returns.alerts import Alert, raise_alert

    quarter, provider = job
    raise_alert(
        engine,
        Path(os.environ.get("RETURNS_ALERTS") or "var/alerts"),
        Alert(
            key=f"upload-{upload_id}-{run_id or 'no-run'}",
            kind="run_failed",
            run_id=run_id,
            partition_key=f"{provider}|{quarter}",
            title=f"The portal upload {upload_id} of {provider} {quarter} could not be checked",
            detail={"upload": upload_id, "why": (why or "no version was recorded from its files")[:300]},
        ),
    )


def main(argv: list[str]) -> int:
    upload_id = int(argv[1])
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    fd = _slot(home.parent / "portal" / "slots")  # before importing anything heavy
    try:
        work(upload_id, home)
        return 0
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
