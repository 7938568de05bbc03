"""The Dagster instance's home: SQLite files under ``DAGSTER_HOME`` by default, PostgreSQL when
``RETURNS_DAGSTER_POSTGRES_URL`` is set (runs, event logs and schedules in that database).

``python -m orchestration.instance DIR`` writes ``DIR/dagster.yaml`` from the matching template in
``orchestration/instance/``; a ``dagster.yaml`` someone wrote by hand is left alone.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TEMPLATES = Path(__file__).parent / "instance_templates"
MARK = "# written by orchestration.instance"


def prepare(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if target.exists() and target.read_text(encoding="utf-8").strip() and MARK not in target.read_text(encoding="utf-8"):
        return target  # the operator's own configuration
    name = "postgres.yaml" if os.environ.get("RETURNS_DAGSTER_POSTGRES_URL") else "sqlite.yaml"
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    text = text.replace("{HISTORY}", json.dumps(str((home / "history" / "runs").resolve())))  # Dagster's default place; JSON is YAML
    target.write_text(f"{MARK} from {name}\n" + text, encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover
    print(prepare(Path(sys.argv[1] if len(sys.argv) > 1 else "var/dagster")))
