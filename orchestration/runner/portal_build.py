"""The portal's build worker: ``python -m orchestration.runner.portal_build REQUEST_ID``.

Runs a contract manager's rebuild through the ``quarter_build`` job (the command line's and the schedule's),
as a run in the Dagster instance under ``DAGSTER_HOME`` tagged ``source=portal``, then records the build it
ended with on the request. A failed build raises an alert, as any failed run does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def build(request_id: int, home: Path) -> bool:
    """Build the request's quarter unless it is finished or another live worker has it. Whether it was built."""
    from assets.lib.partitions import quarter_key
    from assets.lib.resources import Folders, Warehouse
    from orchestration import origin
    from orchestration.instance import open_instance
    from orchestration.runner.runs import QUIET, _tags, failure
    from probation_returns.alerts import Alert, raise_alert
    from probation_returns.calendar import Quarter
    from probation_returns.rebuilds import claim, finish
    from probation_returns.uploads import WORKER
    from probation_returns.warehouse.db import database_url, engine_for, session_scope

    url = database_url()
    engine = engine_for(url)
    try:
        with session_scope(engine) as s:
            row = claim(s, request_id, WORKER)
            quarter = row.quarter if row else None
        if quarter is None:
            return False
        folders = Folders()
        try:
            result = origin.execute(
                "quarter_build",
                open_instance(home),
                partition_key=quarter_key(Quarter.parse(quarter)),
                run_config={**QUIET, **origin.resource_config({"warehouse": Warehouse(url=url), "folders": folders})},
                tags={**_tags(), "source": "portal", "returns/build-request": str(request_id)},
            )
            run_id, why = result.run_id, failure(result)
        except Exception as exc:  # noqa: BLE001 - recorded on the request and alerted
            run_id, why = None, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
        with session_scope(engine) as s:
            finish(s, request_id, run_id, why)
        if why is not None:
            raise_alert(
                engine,
                folders.alerts_path,
                Alert(
                    key=f"build-request-{request_id}",
                    kind="run_failed",
                    run_id=run_id,
                    partition_key=quarter,
                    title=f"The rebuild of {quarter} asked for in the portal failed",
                    detail={"why": why},
                ),
            )
        return True
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    build(int(argv[1]), home)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
