"""The Dagster instance's home: SQLite files under ``DAGSTER_HOME`` by default, PostgreSQL when
``RETURNS_DAGSTER_POSTGRES_URL`` is set (runs, event logs and schedules in that database).

``python -m orchestration.instance DIR`` writes ``DIR/dagster.yaml`` from the matching template in
``orchestration/instance_templates/``; a ``dagster.yaml`` someone wrote by hand is left alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

TEMPLATES = Path(__file__).parent / "instance_templates"
MARK = "# written by orchestration.instance"


def prepare(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if (
        target.exists()
        and target.read_text(encoding="utf-8").strip()
        and MARK not in target.read_text(encoding="utf-8")
    ):
        return target  # the operator's own configuration
    name = "postgres.yaml" if os.environ.get("RETURNS_DAGSTER_POSTGRES_URL") else "sqlite.yaml"
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    history = (home / "history").resolve()  # Dagster's default places; JSON is YAML
    text = text.replace("{HISTORY}", json.dumps(str(history / "runs"))).replace(
        "{HISTORY_DIR}", json.dumps(str(history))
    )
    target.write_text(f"{MARK} from {name}\n" + text, encoding="utf-8")
    return target


@contextmanager
def _exclusive(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the kernel frees it if the process dies
        yield
    finally:
        os.close(fd)


def open_instance(home: Path, overrides: dict | None = None):
    """The Dagster instance under ``home``, its storage created by one process at a time.

    Two processes opening a new SQLite instance at once can both create its tables: one fails ("table
    already exists", "UNIQUE constraint failed: alembic_version"), or the run storage is left with two
    migration heads. Every process of ours (the command line, its workers, the portal's workers) opens
    the instance here, under one lock file, and touches each storage so that it exists when the lock goes.
    """
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with _exclusive(home / ".open.lock"):
        if not (home / "dagster.yaml").exists():
            prepare(home)
        instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides or {}))
        instance.get_runs(limit=1)  # the run storage exists and is migrated
        instance.event_log_storage.get_asset_records()  # and the event log's index
        instance.all_instigator_state()  # and the schedule storage
    return instance


if __name__ == "__main__":  # pragma: no cover
    print(prepare(Path(sys.argv[1] if len(sys.argv) > 1 else "var/dagster")))
