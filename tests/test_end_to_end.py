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
from probation_returns.generator import generate
from probation_returns.warehouse.db import upgrade

ROOT = Path(__file__).resolve().parent.parent
RUNS = """{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
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


def test_dagster_dev_runs_the_sensor_and_builds_the_quarter(tmp_path):
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    q = Quarter.parse("2017Q3")
    generate(tmp_path / "landing", [q], ["C05", "C14"], scale=0.02)
    (tmp_path / "landing" / "manifest.json").unlink()
    for extract in (tmp_path / "landing").glob("reoffending_*.csv"):
        extract.unlink()  # returns only: the extract's own rebuild would race the build requested below
    home = tmp_path / "dagster"
    env = {**os.environ, "DAGSTER_HOME": str(home), "RETURNS_AUTOMATION": "on", "RETURNS_SENSOR_INTERVAL": "5",
           "RETURNS_LANDING": str(tmp_path / "landing"), "RETURNS_ARCHIVE": str(tmp_path / "archive"),
           "RETURNS_OUTPUT": str(tmp_path / "out"), "RETURNS_ALERTS": str(tmp_path / "alerts"),
           "RETURNS_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "RETURNS_PSEUDONYM_KEY": os.environ.get("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")}
    env.pop("RETURNS_DAGSTER_POSTGRES_URL", None)
    prepare(home)
    upgrade(env["RETURNS_DATABASE_URL"])
    port = _free_port()
    dagster = Path(sys.executable).with_name("dagster")
    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen([str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                                "-p", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait(lambda: _graphql(port, "{ version }").get("data"), 180, "the webserver", process)

        def intake_done():
            runs = _graphql(port, RUNS)["data"]["runsOrError"]["results"]
            intake = [r for r in runs if r["jobName"] == "provider_intake"]
            if len(intake) == 2 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in intake):
                return intake
            return None

        intake = _wait(intake_done, 300, "the landing sensor's two intake runs", process)
        assert {r["status"] for r in intake} == {"SUCCESS"}
        partitions = {t["value"] for r in intake for t in r["tags"] if t["key"] == "dagster/partition"}
        assert partitions == {"C05|2017-07-01", "C14|2017-07-01"}

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("quarter_build", tags={"dagster/partition": "2017-07-01"})

        def finished():
            try:
                status = client.get_run_status(run_id)
            except DagsterGraphQLClientError:
                return None
            return status if status.value in ("SUCCESS", "FAILURE", "CANCELED") else None

        assert _wait(finished, 300, "the quarter build", process).value == "SUCCESS"
        out = tmp_path / "out" / "2017Q3"
        assert (out / "ministry_return_2017Q3.xlsx").exists() and (out / "publication").is_dir()
        manifest = json.loads((out / "manifest.json").read_text())
        assert {s["provider_code"] for s in manifest["inputs"]["submissions"]} == {"C05", "C14"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()
