"""The portal's warm intake pool (``python -m orchestration.runner.portal_intake --pool``): worker processes started
before any upload, taking the uploads from the warehouse. Each upload is claimed once, whether two pool workers and a
worker started for one upload (the path without a pool) all look at once; an upload claimed by a worker that is then
killed is taken again; a pool worker that dies is started again. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select, text

from tests.support.portal_fixtures import settings_under
from tests.support.returns import clean_tables, set_value, write_csvs

MODULE = "orchestration.runner.portal_intake"
BOUND = 400  # s: a bound against a hang, never a timing assertion


@pytest.fixture
def intake(tmp_path, database_url, monkeypatch):
    from orchestration.instance import prepare
    from probation_returns import accounts
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    prepare(tmp_path / "dagster")
    upgrade(database_url)
    engine = engine_for(database_url)
    with session_scope(engine) as s:
        user = accounts.add_user(s, "clerk@c14.example", "provider", "a-long-test-password", provider="C14").id
    settings = settings_under(tmp_path, database_url, "pool-test")
    env = {**os.environ, **settings.worker_environment()}
    env.pop("RETURNS_FAILPOINT", None)
    processes: list[subprocess.Popen] = []

    class Intake:
        pass

    it = Intake()
    it.engine, it.settings, it.env, it.user, it.tmp, it.processes = engine, settings, env, user, tmp_path, processes
    try:
        yield it
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
            p.wait()
        engine.dispose()


def _start(intake, *args: str, **extra_env: str) -> tuple[subprocess.Popen, queue.Queue]:
    """A process of the intake, its standard error read line by line into a queue."""
    p = subprocess.Popen(
        [sys.executable, "-m", MODULE, *args],
        env={**intake.env, **extra_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    intake.processes.append(p)
    lines: queue.Queue = queue.Queue()

    def read():
        for line in p.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return p, lines


def _ready(lines: queue.Queue) -> int:
    """The pid of the next pool worker to say it is ready (its imports done and the job built)."""
    end = time.monotonic() + BOUND
    while True:
        line = lines.get(timeout=max(0.1, end - time.monotonic()))
        if "intake pool worker ready" in line:
            return int(line.rsplit("pid ", 1)[1].rstrip(")\n"))


def _store(intake, code: str, day: int) -> int:
    """An upload of a valid return of ``code`` (its second contact on ``day`` August: each one different)."""
    from probation_returns import uploads
    from probation_returns.warehouse.db import session_scope

    tables = clean_tables()
    for row in range(len(tables["cases"])):
        set_value(tables, "cases", row, "provider_code", code)
    set_value(tables, "contacts", 1, "contact_date", f"2017-08-{day:02d}")
    paths = write_csvs(intake.tmp / "sent" / code / str(day), tables, provider=code)
    incoming = [uploads.Incoming(p.name.rsplit("_", 1)[1][:-4], p.name, io.BytesIO(p.read_bytes())) for p in paths]
    with session_scope(intake.engine) as s:
        return uploads.store(s, intake.settings.landing, code, "2017Q3", intake.user, "A Clerk", incoming).id


def _wait_until(intake, ids: list[int], statuses: tuple[str, ...]) -> dict:
    from probation_returns.warehouse.db import read_scope
    from probation_returns.warehouse.models import Upload

    end = time.monotonic() + BOUND
    while True:
        with read_scope(intake.engine) as s:
            rows = {u.id: u for u in s.scalars(select(Upload).where(Upload.id.in_(ids)))}
        if all(rows[i].status in statuses for i in ids):
            return rows
        assert time.monotonic() < end, {i: rows[i].status for i in ids}
        time.sleep(0.1)


def _runs_of(intake, upload_id: int) -> list:
    import dagster as dg

    from orchestration.instance import open_instance

    with open_instance(intake.settings.dagster_home) as instance:
        return instance.get_runs(filters=dg.RunsFilter(tags={"returns/upload": str(upload_id)}))


def test_two_claims_at_once_let_one_through(intake):
    """The claim is a conditional update: a second worker that read the upload as waiting before the first committed
    its claim changes nothing (PostgreSQL: it waits on the row, then finds it changed; SQLite: on the write lock)."""
    from probation_returns import uploads
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Upload

    upload_id = _store(intake, "C14", 10)
    first, second = uploads.WORKER, f"{socket.gethostname()}:{os.getppid()}"  # two live processes
    got = {}
    with session_scope(intake.engine) as s:
        assert uploads.claim(s, upload_id, first).worker == first

        def other():
            with session_scope(intake.engine) as s2:
                got["second"] = uploads.claim(s2, upload_id, second)

        thread = threading.Thread(target=other)
        thread.start()
        if s.get_bind().dialect.name == "postgresql":  # until the second claim waits on the row
            end = time.monotonic() + BOUND
            while (
                not s.connection()
                .engine.connect()
                .execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
                .scalar()
            ):
                assert time.monotonic() < end
                time.sleep(0.05)
        else:
            time.sleep(0.3)  # the second is waiting for SQLite's write lock (it cannot be seen from here)
    thread.join(BOUND)
    assert got["second"] is None
    with session_scope(intake.engine) as s:
        assert (s.get(Upload, upload_id).status, s.get(Upload, upload_id).worker) == ("validating", first)


def test_two_pool_workers_and_a_worker_per_upload_take_each_upload_once(intake):
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Submission

    sent = [_store(intake, code, day) for day in (10, 11, 12) for code in ("C14", "C05")]
    pool = [_start(intake, "--pool-worker", str(i)) for i in (0, 1)]
    per_upload, _ = _start(intake, str(sent[0]))  # the path without a pool, at the same time
    pids = {_ready(lines) for _, lines in pool}
    rows = _wait_until(intake, sent, ("done", "failed"))
    assert [(rows[i].status, rows[i].error) for i in sent] == [("done", None)] * len(sent)
    assert all(len(_runs_of(intake, i)) == 1 for i in sent)  # one provider_intake run each: claimed once
    with session_scope(intake.engine) as s:
        for code in ("C14", "C05"):  # each provider's in the order sent, whoever took them
            versions = [s.get(Submission, rows[i].submission_id).version for i in sent if rows[i].provider_code == code]
            assert versions == [1, 2, 3]
    by = {int(rows[i].worker.rpartition(":")[2]) for i in sent}
    assert by <= pids | {per_upload.pid}
    per_upload.wait(BOUND)
    for p, _ in pool:  # told to stop, a pool worker ends cleanly
        p.send_signal(signal.SIGTERM)
        assert p.wait(BOUND) == 0


def test_an_upload_claimed_by_a_killed_pool_worker_is_taken_again(intake):
    # the first worker stops on purpose once it has claimed an upload: killed there, the claim is all it leaves
    doomed, lines = _start(intake, "--pool-worker", "0", RETURNS_FAILPOINT="upload-claimed:600")
    _ready(lines)
    upload_id = _store(intake, "C14", 10)
    rows = _wait_until(intake, [upload_id], ("validating",))
    assert rows[upload_id].worker.endswith(f":{doomed.pid}")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    survivor, lines = _start(intake, "--pool-worker", "1")
    pid = _ready(lines)
    rows = _wait_until(intake, [upload_id], ("done", "failed"))
    assert (rows[upload_id].status, rows[upload_id].error) == ("done", None)
    assert rows[upload_id].worker.endswith(f":{pid}")
    assert len(_runs_of(intake, upload_id)) == 1
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(BOUND) == 0


def test_the_pool_starts_a_killed_worker_again_and_the_portal_sends_it_the_uploads(intake):
    from orchestration.runner.portal_intake import pool_alive, pool_folder
    from portal import processing

    folder = pool_folder(intake.settings.dagster_home)
    assert not pool_alive(folder)
    supervisor, lines = _start(intake, "--pool", "1")
    first = _ready(lines)
    assert pool_alive(folder)
    os.kill(first, signal.SIGKILL)
    second = _ready(lines)  # started again
    assert second != first
    upload_id = _store(intake, "C14", 10)
    processing.start(upload_id, intake.settings)  # what the portal does after an upload: the pool's, no process
    assert processing.started == [] or all(c.poll() is not None for c in processing.started)
    rows = _wait_until(intake, [upload_id], ("done", "failed"))
    assert rows[upload_id].status == "done" and rows[upload_id].worker.endswith(f":{second}")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(BOUND) == 0
    end = time.monotonic() + BOUND
    while pool_alive(folder):  # its worker stopped with it
        assert time.monotonic() < end
        time.sleep(0.1)
