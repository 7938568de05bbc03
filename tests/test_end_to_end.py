"""End to end as a data engineer runs it: `dagster dev` (webserver and daemon) on 127.0.0.1, returns
dropped into the landing folder, the sensor's runs, then the quarter's build, all through GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.instance import prepare
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.warehouse.db import upgrade

ROOT = Path(__file__).resolve().parent.parent
RUNS = """{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(condition, timeout: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited early ({process.returncode}) while waiting for {what}")
        try:
            found = condition()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _start(tmp_path: Path, env: dict, port: int, name: str) -> tuple[subprocess.Popen, object]:
    dagster = Path(sys.executable).with_name("dagster")
    log = (tmp_path / f"dagster-dev-{name}.log").open("w")
    process = subprocess.Popen(
        [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def _stop(process: subprocess.Popen, log) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    log.close()


def _ticks(inst, name: str) -> list:
    states = [s for s in inst.all_instigator_state() if s.name == name]
    return [t for s in states for t in inst.get_ticks(s.instigator_origin_id, s.selector_id, limit=10_000)]


SENSORS = ("landing_sensor", "extract_sensor", "extract_rebuild_sensor", "run_failure_alerts")


def _failed_ticks(inst, since: float) -> list:
    """Sensor ticks that failed since a moment (stopping `dagster dev` fails the ticks in flight as its code
    server goes away: Dagster's shutdown, not the service's, so only ticks while it runs are counted)."""
    return [
        (n, t.timestamp, t.error.message[:200] if t.error else "")
        for n in SENSORS
        for t in _ticks(inst, n)
        if t.status.value == "FAILURE" and t.timestamp >= since
    ]


def _alerts(db: str) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from probation_returns.warehouse.db import engine_for, session_scope
    from probation_returns.warehouse.models import Alert as AlertRow

    with session_scope(engine_for(db)) as session:
        return [
            (a.kind, a.partition_key or "", a.run_id or "")
            for a in session.scalars(select(AlertRow).order_by(AlertRow.id))
        ]


def _rejected(landing: Path, code: str) -> None:
    from tests.support.returns import clean_tables, set_value, write_csvs

    tables = clean_tables()
    for row in range(len(tables["cases"])):  # every case broken: far over the 1% tolerance
        set_value(tables, "cases", row, "sentence_type", "XX")
    write_csvs(landing / code, tables, provider=code)


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "postgresql"])
def test_dagster_dev_runs_the_sensor_builds_the_quarter_and_alerts_every_failure_once(tmp_path, monkeypatch, storage):
    """As a data engineer runs it: returns land (two of them rejected), the landing sensor's runs, the quarter's
    build, a failed run; the daemon ticks on; every rejected return and the failed run are alerted once, no sensor
    tick fails, and starting again alerts nothing twice. On the default run-sharded SQLite instance and on a
    PostgreSQL instance."""
    import dagster as dg
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    from tests.conftest import POSTGRES_URL, _postgres_database

    drop = None
    monkeypatch.delenv("RETURNS_DAGSTER_POSTGRES_URL", raising=False)
    if storage == "postgresql":
        if not POSTGRES_URL:
            if os.environ.get("RETURNS_REQUIRE_POSTGRES"):
                pytest.fail("RETURNS_REQUIRE_POSTGRES is set but RETURNS_TEST_POSTGRES_URL is not")
            pytest.skip("RETURNS_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
        url, drop = _postgres_database()
        monkeypatch.setenv("RETURNS_DAGSTER_POSTGRES_URL", url.replace("postgresql+psycopg:", "postgresql+psycopg2:"))
    q = Quarter.parse("2017Q3")
    landing = tmp_path / "landing"
    generate(landing, [q], ["C03", "C14"], scale=0.02)
    (landing / "manifest.json").unlink()
    for extract in landing.glob("reoffending_*.csv"):
        extract.unlink()  # returns only: the extract's own rebuild would race the build requested below
    for code in ("C05", "N02"):
        _rejected(landing, code)
    home = tmp_path / "dagster"
    db = f"sqlite:///{tmp_path / 'w.db'}"
    settings = {
        "DAGSTER_HOME": str(home),
        "RETURNS_AUTOMATION": "on",
        "RETURNS_SENSOR_INTERVAL": "3",
        "RETURNS_LANDING": str(landing),
        "RETURNS_ARCHIVE": str(tmp_path / "archive"),
        "RETURNS_OUTPUT": str(tmp_path / "out"),
        "RETURNS_ALERTS": str(tmp_path / "alerts"),
        "RETURNS_DATABASE_URL": db,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    env = dict(os.environ)
    prepare(home)
    upgrade(db)
    port = _free_port()
    started = time.time()
    process, log = _start(tmp_path, env, port, "first")
    inst = dg.DagsterInstance.get()
    try:
        _wait(lambda: _graphql(port, "{ version }").get("data"), 180, "the webserver", process)

        def intake_done():
            runs = _graphql(port, RUNS)["data"]["runsOrError"]["results"]
            intake = [r for r in runs if r["jobName"] == "provider_intake"]
            if len(intake) == 4 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in intake):
                return intake
            return None

        # Bounds against a hang, not timings: on a loaded 2-core machine each daemon-launched run took about 90 s.
        intake = _wait(intake_done, 900, "the landing sensor's four intake runs", process)
        assert {r["status"] for r in intake} == {"SUCCESS"}  # a rejected return is a successful run...
        tags = {r["runId"]: {t["key"]: t["value"] for t in r["tags"]} for r in intake}
        rejected = {t["dagster/partition"] for t in tags.values() if t.get("returns/outcome") == "Rejected"}
        assert rejected == {"C05|2017-07-01", "N02|2017-07-01"}  # ...that says so in its tags

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("quarter_build", tags={"dagster/partition": "2017-07-01"})

        def finished():
            try:
                status = client.get_run_status(run_id)
            except DagsterGraphQLClientError:
                return None
            return status if status.value in ("SUCCESS", "FAILURE", "CANCELED") else None

        assert _wait(finished, 900, "the quarter build", process).value == "SUCCESS"
        out = tmp_path / "out" / "2017Q3"
        assert (out / "ministry_return_2017Q3.xlsx").exists() and (out / "publication").is_dir()

        # a run that fails (an extract named for a date that does not exist), after the alert sensor's first tick
        _wait(lambda: _ticks(inst, "run_failure_alerts"), 120, "the run failure sensor's first tick", process)
        from assets.lib.resources import Folders, Warehouse
        from assets.performance.assets import reoffending_extract

        bad = tmp_path / "bad" / "reoffending_2019-02-30.csv"
        bad.parent.mkdir()
        bad.write_text("pnc_id,offence_date,disposal_date,disposal_type,offence_group\n")
        failed = dg.materialize(
            [reoffending_extract],
            instance=inst,
            raise_on_error=False,
            resources={"warehouse": Warehouse(url=db), "folders": Folders(extract=str(bad))},
        )
        assert not failed.success
        _wait(lambda: any(k == "run_failed" for k, _, _ in _alerts(db)), 120, "the failed run's alert", process)
        seen = len(_ticks(inst, "run_failure_alerts"))
        _wait(lambda: len(_ticks(inst, "run_failure_alerts")) >= seen + 2, 120, "two more ticks", process)
        assert _failed_ticks(inst, started) == []  # no sensor tick failed while it ran, on this storage
    finally:
        _stop(process, log)
    alerts = _alerts(db)
    checks = sorted(p for k, p, _ in alerts if k == "check_failed")
    assert checks == ["C05|2017-07-01", "N02|2017-07-01"]  # one per rejected return
    assert [r for k, _, r in alerts if k == "run_failed"] == [failed.run_id]  # one per failed run
    assert len(_ticks(inst, "run_failure_alerts")) >= 3

    started = time.time()
    process, log = _start(tmp_path, env, port, "second")  # a restart: the cursor holds, nothing is alerted twice
    try:
        before = len(_ticks(inst, "run_failure_alerts"))
        _wait(lambda: len(_ticks(inst, "run_failure_alerts")) >= before + 2, 180, "ticks after the restart", process)
        assert _failed_ticks(inst, started) == []
    finally:
        _stop(process, log)
    assert _alerts(db) == alerts
    inst.dispose()
    if drop:
        drop()
