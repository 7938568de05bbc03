"""The portal's intake: the warm pool that turns uploads into feedback, and the worker started per upload.

``python -m orchestration.runner.portal_intake --pool`` (what ``returns serve`` starts beside gunicorn, through
``portal.gunicorn_conf``) keeps ``RETURNS_PORTAL_WORKERS`` worker processes running (default: the machine's
cores, at most 4), each started again if it dies. Each pool worker imports Dagster, opens the instance and
builds the job once, when it starts, then takes uploads from the warehouse's ``uploads`` table as they arrive
(the web process rings a doorbell after each upload; without one they look every half second). An upload then
pays only for its validation run and the writing of its feedback.

``python -m orchestration.runner.portal_intake UPLOAD_ID`` is the worker the web process starts for an upload
when no pool is running (``gunicorn portal.wsgi:app`` on its own, a pool stopped or killed). At most as many of
those work at once as a pool would have: one takes a slot (a locked file) before it imports anything
heavy, so workers queued behind the slots cost no CPU, and then validates every upload still waiting.

Either way, every upload is received and validated through the ``provider_intake`` job (a run in the Dagster
instance under ``DAGSTER_HOME``, tagged ``source=portal``), then tied to the submission it became. An upload is
claimed in the warehouse by a conditional update (``uploads.claim``), so two pool workers, or a pool worker and
a worker started per upload, never both take it; one claimed by a process that has died is taken again. Each
upload's files wait in their own folder; a provider's uploads are validated one at a time in the order they were
sent (the provider's turn is a locked file), each put in the landing folder just before its run, so uploads
sent together never mix and each becomes the next version.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

MODULE = "orchestration.runner.portal_intake"
POLL = 0.5  # s: how often an idle pool worker looks at the queue when no doorbell rang
MAX_POOL = 4


def _cores() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_POOL))


def wanted() -> int:
    """The intake pool's size: ``RETURNS_PORTAL_WORKERS``, or the machine's cores, at most 4 (0: no pool)."""
    value = os.environ.get("RETURNS_PORTAL_WORKERS")
    return max(0, int(value)) if value else _cores()


def pool_folder(home: Path) -> Path:
    """The pool's lock files: ``DAGSTER_HOME``'s parent / portal / pool, beside the slots of the workers per upload."""
    return Path(home).parent / "portal" / "pool"


def _locks(folder: Path) -> list[Path]:
    try:
        return sorted(folder.glob("worker-*.lock"))
    except OSError:
        return []


def pool_alive(folder: Path) -> bool:
    """Whether a pool worker is running: each holds its lock file while it lives (the kernel frees it at its end)."""
    for path in _locks(folder):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
    return False


def _bell_address(folder: Path, index: int) -> str:
    """A pool worker's doorbell: a datagram socket in Linux's abstract namespace (no file, no path length limit)."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    return f"\0returns-intake-{digest}-{index}"


def ring(folder: Path) -> None:
    """Wake the pool's idle workers: an upload is waiting (a worker not woken finds it at its next look)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for path in _locks(folder):
            try:
                s.sendto(b".", _bell_address(folder, int(path.stem.rpartition("-")[2])))
            except (OSError, ValueError):
                pass  # that worker is not listening (gone, or a system without abstract sockets): it polls


def _slot(folder: Path) -> int:
    """Wait for one of the worker slots (a locked file; the kernel frees it when the process ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    slots = wanted() or _cores()  # without a pool (0), as many as a pool would have
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


def work(
    first: int | None,
    home: Path,
    *,
    runner: _Runner | None = None,
    engine=None,  # noqa: ANN001 - a SQLAlchemy engine (imported only when the work starts)
    stop: threading.Event | None = None,
) -> int:
    """Validate every upload waiting, ``first``'s among them: each provider's in order, one at a time. The
    number validated. A provider another worker is at is left to it (it looks again before it stops).

    A pool worker passes its ``runner`` (Dagster imported, the job built) and its ``engine``; a worker started
    for one upload makes them at its first upload. ``stop`` set: no further upload is taken."""
    from probation_returns import failpoints
    from probation_returns.uploads import (
        WORKER,
        claim,
        discard_queued,
        finish,
        oldest_waiting,
        place,
        providers_waiting,
    )
    from probation_returns.warehouse.db import database_url, engine_for, read_scope, session_scope

    url = database_url()
    own_engine = engine is None
    engine = engine if engine is not None else engine_for(url)
    landing = Path(os.environ.get("RETURNS_LANDING") or "var/landing")
    done = 0
    while stop is None or not stop.is_set():
        with read_scope(engine) as s:  # a look that never waits for a writer (SQLite)
            waiting = providers_waiting(s)
        progressed = False
        for provider in waiting:
            fd = _turn(landing, provider)
            if fd is None:
                continue
            try:
                while stop is None or not stop.is_set():
                    with session_scope(engine) as s:
                        upload_id = oldest_waiting(s, provider)
                        upload = claim(s, upload_id, WORKER) if upload_id is not None else None
                        if upload is not None:
                            place(landing, upload)
                            upload_id, job = upload.id, (upload.quarter, upload.provider_code)
                    if upload is None:
                        break
                    failpoints.reached(failpoints.UPLOAD_CLAIMED)
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
    if own_engine:
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


def _stopping() -> threading.Event:
    """Set by SIGTERM or SIGINT: the process finishes the upload in hand, takes no other, and ends."""
    stop = threading.Event()

    def _stop(_signum, _frame):  # noqa: ANN001
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def _doorbell(folder: Path, index: int) -> socket.socket | None:
    bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        bell.bind(_bell_address(folder, index))
    except OSError:  # no abstract sockets here (not Linux): the worker polls
        bell.close()
        return None
    bell.setblocking(False)
    return bell


def _wait(bell: socket.socket | None, stop: threading.Event, seconds: float) -> None:
    """Until the doorbell rings, ``seconds`` pass, or the process is told to stop."""
    if bell is None:
        stop.wait(seconds)
        return
    ready, _, _ = select.select([bell], [], [], seconds)
    if ready:
        try:
            while bell.recv(64):  # every ring so far: one look serves them all
                pass
        except BlockingIOError:
            pass


def serve(index: int, home: Path) -> int:
    """One pool worker: imports done and the job built at the start, then every upload as it arrives, until
    told to stop or its pool has gone (its parent changed)."""
    stop, parent = _stopping(), os.getppid()
    folder = pool_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"worker-{index}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # while another pool's worker of this number lives, this one waits
    bell = _doorbell(folder, index)
    try:
        from probation_returns.warehouse.db import database_url, engine_for

        url = database_url()
        engine = engine_for(url)
        runner = _Runner(home, url)  # Dagster imported, the instance opened, the job built: once
        _warm()
        print(f"intake pool worker ready (worker {index}, pid {os.getpid()})", file=sys.stderr, flush=True)
        while not stop.is_set() and os.getppid() == parent:
            if work(None, home, runner=runner, engine=engine, stop=stop) == 0:
                _wait(bell, stop, POLL)
        engine.dispose()
        return 0
    finally:
        if bell is not None:
            bell.close()
        os.close(fd)


def _warm() -> None:
    """What a first run would otherwise import while a provider waits: the validation and the feedback's writers."""
    import probation_returns.validation.engine  # noqa: F401
    import probation_returns.validation.feedback  # noqa: F401


def pool(home: Path, size: int) -> int:
    """Keep ``size`` pool workers running (one that dies is started again, after a pause if it died young) until
    told to stop or the parent (gunicorn's master) has gone; then stop them, letting each finish its upload."""
    stop, parent = _stopping(), os.getppid()
    children: dict[int, subprocess.Popen] = {}
    started: dict[int, float] = {}
    pause = dict.fromkeys(range(size), 0.0)
    due = dict.fromkeys(range(size), 0.0)
    while not stop.is_set() and os.getppid() == parent:
        now = time.monotonic()
        for i in range(size):
            child = children.get(i)
            if child is not None:
                if child.poll() is None:
                    continue
                # it died: started again at once if it had lived a while, otherwise after a growing pause
                pause[i] = 0.0 if now - started[i] > 60 else min(max(1.0, 2 * pause[i]), 60.0)
                due[i] = now + pause[i]
                del children[i]
            if now >= due[i]:
                children[i] = subprocess.Popen(  # its own session, as a worker per upload has (see gunicorn_conf)
                    [sys.executable, "-m", MODULE, "--pool-worker", str(i)],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                started[i] = now
        stop.wait(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()  # kill-safe: its upload is taken again by the next worker
            child.wait()
    return 0


def main(argv: list[str]) -> int:
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    if argv[1:2] == ["--pool"]:
        return pool(home, int(argv[2]) if len(argv) > 2 else wanted())
    if argv[1:2] == ["--pool-worker"]:
        return serve(int(argv[2]), home)
    upload_id = int(argv[1])
    fd = _slot(home.parent / "portal" / "slots")  # before importing anything heavy
    try:
        work(upload_id, home)
        return 0
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
