"""The portal's worker: ``python -m orchestration.portal_intake UPLOAD_ID``.

Receives and validates one upload through the ``provider_intake`` job (a run in the Dagster instance
under ``DAGSTER_HOME``, tagged ``source=portal``), then ties the upload to the submission it became.
At most ``RETURNS_PORTAL_WORKERS`` (default 2, the machine's cores) validate at once; the others wait
their turn for a slot, so 28 providers sending at once queue rather than exhaust memory.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

from probation_returns.uploads import WORKER, begin, finish


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


def process(upload_id: int) -> str:
    import dagster as dg

    from orchestration.partitions import return_key
    from orchestration.resources import Folders, Warehouse
    from orchestration.run import QUIET, _tags, failure, jobs_with
    from probation_returns.calendar import Quarter
    from probation_returns.warehouse.db import database_url, engine_for, session_scope

    url = database_url()
    engine = engine_for(url)
    with session_scope(engine) as s:
        upload = begin(s, upload_id, WORKER)
        if upload is None:
            return "nothing to do"
        quarter, provider = Quarter.parse(upload.quarter), upload.provider_code
    resources = {"warehouse": Warehouse(url=url), "folders": Folders()}
    try:
        result = jobs_with(resources).resolve_job_def("provider_intake").execute_in_process(
            partition_key=return_key(quarter, provider), instance=dg.DagsterInstance.get(), raise_on_error=False,
            tags={**_tags(), "source": "portal", "returns/upload": str(upload_id)}, run_config=QUIET)
        run_id, why = result.run_id, failure(result)
    except Exception as exc:  # noqa: BLE001 - recorded on the upload, shown to the provider as a failure
        run_id, why = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    with session_scope(engine) as s:
        return finish(s, upload_id, run_id, why).status


def main(argv: list[str]) -> int:
    upload_id = int(argv[1])
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster")
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    fd = _slot(home.parent / "portal" / "slots")
    try:
        return 0 if process(upload_id) in ("done", "nothing to do") else 1
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
