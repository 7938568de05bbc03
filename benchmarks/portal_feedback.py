"""Timing: the web portal, from the end of an upload to the feedback page showing the return's outcome.

Two measurements, each against a real server (gunicorn, as ``returns serve`` runs it: 2 worker
processes, 4 threads each, and ``portal.gunicorn_conf``, whose master starts the intake pool; the
benchmark waits until the pool's workers are ready; ``--intake per-upload``: without the pool, a
worker process per upload) over a fresh SQLite warehouse, landing, archive, output folder and
Dagster instance in a new temporary folder under /tmp:

1. One typical CRC return (default C05 at scale 1.0: about 12,500 cases and 49,000 contacts, sent as
   three CSV files). ``--runs`` uploads one after another (default 5), each generated with a
   different seed so its bytes differ and it is not recognised as a duplicate. Each is timed from
   the POST returning its redirect to the feedback page (``/submissions/<id>``) having loaded with
   its outcome in the h1: the browser's path (the follow page, its status polls, the feedback page).
   Median, min and max.
2. A national quarter sent at once: one upload per provider (``--providers``, default all 28,
   C01..C21 and N01..N07) at ``--scale`` (default 1.0, each provider's typical caseload; seed 7,
   row faults 0.002 as in national_quarter.py), all posted at the same moment, one client
   thread per provider polling at the follow page's own pace (``portal/static/follow.js``: first check after
   0.5 s, then every 1 s for a minute, then every 3 s).
   Timed from the start until every provider has its feedback page, with each upload's own time.

As shipped the portal refuses these returns: its MAX_FORM_MEMORY_SIZE of 64 KiB makes Werkzeug
3.1.9 answer 413 to almost any file over 64 KiB (see ``served_app``). So first a probe posts every
return once to the portal exactly as shipped and records the answers; the timed runs then serve
``portal.wsgi:app`` with that one setting at Flask's default (500,000 bytes, ``--form-memory``).
In the 28-at-once run a POST answered 5xx is sent again once (``--resend``), as a clerk told "Try
again later" would, and recorded.

Throughout, a sampler reads /proc every 0.2 s: each validation worker (``orchestration.runner.portal_intake``)
-- when it appeared, when it took one of the worker slots (its flock in /proc/locks), its peak
resident memory (VmHWM) and CPU -- and the web processes. With the Dagster run's start and end
and the upload's ``finished_at`` this splits each upload's time into waiting for a slot, starting
up, the validation run itself, tying the upload to its submission and the browser noticing.

Faults: every return carries row-level faults (rate 0.002, every record rule at least once in the
quarter) but none of the generator's whole-return faults (a missing file, a stray extra file, a
wrong name...), which it gives one provider each: the portal refuses a return with a missing file
at the upload (400), so that provider would never reach feedback, and for a single provider the
first such fault is always a missing file.

A plain timing script: it measures and reports, it asserts nothing (it exits 1 if an upload timed
out or ended without feedback). Run from the project root:

    .venv/bin/python benchmarks/portal_feedback.py [--runs 5] [--providers 28] [--scale 1.0]

Generated returns are cached under /tmp/portal-feedback-data/. Figures go to stdout and
``benchmarks/results/portal_feedback.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "portal_feedback.json"
DATA = Path(tempfile.gettempdir()) / "portal-feedback-data"
QUARTER = "2017Q3"
KEY = "probation-returns-demo-key-not-for-real-data"
PASSWORD = "benchmark-password-0123456789"
CODES = [f"C{i:02d}" for i in range(1, 22)] + [f"N{i:02d}" for i in range(1, 8)]
TICK = 0.2  # the sampler's interval (s)
# The follow page's own pace (portal/static/follow.js): first look after 0.5 s, then every 1 s for a minute, then 3 s.
BROWSER_FIRST, BROWSER_EVERY, BROWSER_FOR, BROWSER_LATER = 0.5, 1.0, 60.0, 3.0
CLK = os.sysconf("SC_CLK_TCK")


# -- data ------------------------------------------------------------------------------------------


def generated(name: str, codes: list[str], scale: float, seed: int, faults: float, whole_return: bool) -> Path:
    """The returns of ``codes`` for the quarter (made once, cached)."""
    folder = DATA / name
    if (folder / "done.json").exists():
        return folder
    import probation_returns.generator.dataset as generator
    from probation_returns.calendar import Quarter

    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    if whole_return:
        generator.generate(folder, [Quarter.parse(QUARTER)], codes, scale=scale, seed=seed, faults=faults)
    else:  # row faults only: no provider is given a missing file, a wrong name and the like
        with mock.patch.object(generator, "_designations", lambda *a, **k: {}):
            generator.generate(folder, [Quarter.parse(QUARTER)], codes, scale=scale, seed=seed, faults=faults)
    (folder / "done.json").write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
    return folder


def return_files(folder: Path, code: str) -> list[tuple[str, bytes]]:
    """What the provider sends: its workbook, or its cases, contacts and breaches CSVs (read into memory)."""
    own = sorted((folder / code).iterdir())
    books = [p for p in own if p.suffix == ".xlsx"]
    if books:
        return [(books[0].name, books[0].read_bytes())]
    chosen = []
    for table in ("cases", "contacts", "breaches"):
        hits = [p for p in own if p.name.endswith(f"_{table}.csv")]
        if hits:
            chosen.append((hits[0].name, hits[0].read_bytes()))
    return chosen


def manifest_rows(folder: Path, code: str) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = {}
    for f in manifest["files"]:
        if f["provider"] == code:
            if f["path"].endswith(".xlsx"):
                rows = {"workbook": True}
            else:
                rows[f["path"].rsplit("_", 1)[1].removesuffix(".csv")] = f["rows"]
    if rows.get("workbook"):
        import polars as pl

        book = next((folder / code).glob("*.xlsx"))
        rows = {
            t: pl.read_excel(book, sheet_name=t, infer_schema_length=0).height
            for t in ("cases", "contacts", "breaches")
        } | {"workbook": True}
    return rows


def served_app(max_form_memory_size: int | str | None = "shipped", process_uploads: bool = True):
    """What the benchmark's server serves: ``portal.wsgi:app`` itself, with at most these two changes.

    ``max_form_memory_size``: "shipped" leaves the portal's MAX_FORM_MEMORY_SIZE (64 KiB) alone; a
    number replaces it. With Werkzeug 3.1.9 the multipart decoder applies that limit to every 64 KiB
    read of the request body, file parts included, so as shipped a return file much over 64 KiB is
    usually refused with 413 "The files are too large" (see the as-shipped probe in the results).
    ``process_uploads=False``: uploads are stored but not validated (the probe only).
    """
    from portal.wsgi import app

    if max_form_memory_size != "shipped":
        app.config["MAX_FORM_MEMORY_SIZE"] = max_form_memory_size
    app.extensions["returns_settings"].process_uploads = process_uploads
    return app


# -- the sampler -----------------------------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def _environ(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().replace(b"\0", b"\n") + b"\n"
    except OSError:
        return None


def _status_kib(status: str, field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else 0


def _cpu_s(pid: int) -> float | None:
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def _busy_s() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK  # all but idle and iowait


def _upload_of(args: list[str]) -> int | None:
    """The upload a worker started for one upload was started for; None for the intake pool's processes."""
    after = args[args.index("orchestration.runner.portal_intake") + 1 :]
    return int(after[0]) if after and after[0].isdigit() else None


class Sampler(threading.Thread):
    """Every TICK: the validation workers and web processes (memory, CPU, slot locks) and the load."""

    def __init__(self, slots: Path, home: str | None = None):
        super().__init__(daemon=True)
        self.slots, self.stop, self.home = slots, threading.Event(), home
        self.workers: dict[int, dict] = {}  # pid -> upload, seen, slot, last, hwm_kib, cpu_s
        self.web: dict[int, dict] = {}
        self.load: list[float] = []
        self.other_cpu: dict[int, list] = {}  # pid -> [cpu at first sight, cpu now, command]
        self.lock = threading.Lock()

    def run(self) -> None:
        self.busy0, self.self0 = _busy_s(), sum(os.times()[:2])
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(TICK)
        self.sample()
        self.busy1, self.self1 = _busy_s(), sum(os.times()[:2])

    def sample(self) -> None:
        now = time.time()
        inodes = {}
        for slot in self.slots.glob("slot-*"):
            try:
                inodes[slot.stat().st_ino] = slot.name
            except OSError:
                pass
        holders = {}
        for line in (_read("/proc/locks") or "").splitlines():
            parts = line.split()
            if len(parts) > 5 and parts[1] == "FLOCK" and parts[2] != "->":
                ino = int(parts[5].rsplit(":", 1)[1])
                if ino in inodes:
                    holders[int(parts[4])] = inodes[ino]
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            cmd = _read(f"/proc/{pid}/cmdline")
            if not cmd:
                continue
            args = cmd.split("\0")
            if "orchestration.runner.portal_intake" in args:
                if self.home and f"DAGSTER_HOME={self.home}\n".encode() not in (_environ(pid) or b""):
                    continue  # another portal's (a test's, another benchmark's) on this machine
                table = self.workers
            elif any(a.startswith("portal_feedback:") or "from portal_feedback import" in a for a in args):
                table = self.web
            else:
                if pid != os.getpid():
                    cpu = _cpu_s(pid)
                    if cpu is not None:
                        other = self.other_cpu.setdefault(pid, [cpu, cpu, " ".join(a for a in args if a)[:120]])
                        other[1] = cpu
                continue
            status, cpu = _read(f"/proc/{pid}/status"), _cpu_s(pid)
            if status is None or cpu is None:
                continue
            with self.lock:
                row = table.setdefault(
                    pid,
                    {
                        "pid": pid,
                        "seen": now,
                        "slot": None,
                        "cpu_s": 0.0,
                        "hwm_kib": 0,
                        "cpu0": cpu if table is self.web else 0.0,
                        "upload": _upload_of(args) if table is self.workers else None,
                        "pool": table is self.workers and _upload_of(args) is None,
                    },
                )
                row["last"] = now
                row["hwm_kib"] = max(row["hwm_kib"], _status_kib(status, "VmHWM"), _status_kib(status, "VmRSS"))
                row["cpu_s"] = cpu - row["cpu0"]
                if pid in holders and row["slot"] is None:
                    row["slot"], row["slot_name"], row["cpu_before_slot_s"] = now, holders[pid], cpu
        self.load.append(os.getloadavg()[0])

    def finish(self) -> dict:
        self.stop.set()
        self.join()
        ours = sum(r["cpu_s"] for r in [*self.workers.values(), *self.web.values()]) + self.self1 - self.self0
        busy = self.busy1 - self.busy0
        return {
            "cpu_busy_s": round(busy, 1),
            "cpu_ours_s": round(ours, 1),
            "cpu_other_processes_s": round(max(0.0, busy - ours), 1),
            "load_1min_mean": round(statistics.fmean(self.load), 2) if self.load else None,
            "load_1min_max": round(max(self.load), 2) if self.load else None,
            "busiest_other_processes": self.busiest_others(),
        }

    def busiest_others(self) -> list[str]:
        by_command: dict[str, float] = {}
        for first, last, command in self.other_cpu.values():
            if "multiprocessing.spawn" in command or "watch_orphans" in command:
                command = "multiprocessing/dagster child: " + command[:40]
            by_command[command] = by_command.get(command, 0.0) + last - first
        top = sorted(by_command.items(), key=lambda kv: -kv[1])[:5]
        return [f"{cpu:.1f} s CPU: {command}" for command, cpu in top if cpu >= 0.5]


# -- the portal ------------------------------------------------------------------------------------


class Portal:
    """A fresh warehouse and folders under /tmp, the accounts, and the portal served over HTTP."""

    def __init__(
        self,
        label: str,
        codes: list[str],
        server: str,
        web_workers: int,
        keep: bool,
        form_memory: int | str | None = "shipped",
        process_uploads: bool = True,
        intake: str = "pool",
    ):
        self.form_memory, self.process_uploads = form_memory, process_uploads
        self.tmp = Path(tempfile.mkdtemp(prefix=f"portal-feedback-{label}-", dir=tempfile.gettempdir()))
        self.keep, self.server = keep, server
        self.pool = server == "gunicorn" and intake == "pool" and process_uploads
        self.url = f"sqlite:///{self.tmp / 'returns.db'}"
        self.env = {
            "RETURNS_DATABASE_URL": self.url,
            "RETURNS_LANDING": str(self.tmp / "landing"),
            "RETURNS_ARCHIVE": str(self.tmp / "archive"),
            "RETURNS_OUTPUT": str(self.tmp / "output"),
            "DAGSTER_HOME": str(self.tmp / "dagster"),
            "RETURNS_VAR": str(self.tmp / "var"),
            "RETURNS_PORTAL_SECRET_KEY": "benchmark-secret-" + "x" * 40,
            "RETURNS_OPEN_QUARTER": QUARTER,
            "RETURNS_PORTAL_SECURE_COOKIES": "0",
            "RETURNS_PSEUDONYM_KEY": KEY,
        }
        os.environ["RETURNS_PSEUDONYM_KEY"] = KEY  # the workers inherit it
        from probation_returns.accounts import add_user
        from probation_returns.warehouse.db import engine_for, session_scope, upgrade

        upgrade(self.url)
        engine = engine_for(self.url)
        with session_scope(engine) as s:
            for code in codes:
                add_user(s, self.email(code), "provider", PASSWORD, provider=code)
        engine.dispose()
        self.slots = self.tmp / "portal" / "slots"  # DAGSTER_HOME's parent / portal / slots (portal_intake)
        self.start()

    @staticmethod
    def email(code: str) -> str:
        return f"submitter.{code.lower()}@example.org"

    def start(self) -> None:
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, **self.env}
        self.log = open(self.tmp / "server.log", "wb")
        factory = f"served_app(max_form_memory_size={self.form_memory!r}, process_uploads={self.process_uploads!r})"
        if self.server == "gunicorn":  # as `returns serve` runs it, with portal.wsgi:app through served_app
            args = [
                sys.executable,
                "-m",
                "gunicorn",
                "--pythonpath",
                str(ROOT / "benchmarks"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(self.web_workers),
                "--threads",
                "4",
                "--timeout",
                "300",
                "--access-logfile",
                "-",
                *(["--config", "python:portal.gunicorn_conf"] if self.pool else []),  # the intake pool
                f"portal_feedback:{factory}",
            ]
        else:  # werkzeug's threaded server in a child process
            code = (
                f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                "from werkzeug.serving import run_simple; from portal_feedback import served_app; "
                f"run_simple('127.0.0.1', {port}, {factory}, threaded=True)"
            )
            args = [sys.executable, "-c", code]
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(self.base + "/sign-in", timeout=60).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(
                    f"the portal did not start; see {self.tmp / 'server.log'}:\n"
                    + (self.tmp / "server.log").read_text()[-3000:]
                )
            time.sleep(0.2)

    def wait_for_pool(self, limit: float = 180) -> float | None:
        """Until each intake pool worker says it is ready (its imports done, the job built): as in service, where
        the pool starts with the server, long before an upload. The seconds it took after the portal answered."""
        if not self.pool:
            return None
        began, deadline = time.monotonic(), time.monotonic() + limit
        size = int(os.environ.get("RETURNS_PORTAL_WORKERS") or min(os.cpu_count() or 1, 4))
        while (self.tmp / "server.log").read_text(errors="replace").count("intake pool worker ready") < size:
            if time.monotonic() > deadline:
                raise SystemExit(f"the intake pool was not ready within {limit:.0f} s; see {self.tmp / 'server.log'}")
            time.sleep(0.2)
        return round(time.monotonic() - began, 1)

    web_workers = 2

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def wait_for_workers(self, pids: list[int], limit: float = 60) -> None:
        deadline = time.monotonic() + limit
        for pid in pids:
            while (
                Path(f"/proc/{pid}").exists()
                and "portal_intake" in (_read(f"/proc/{pid}/cmdline") or "")
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def server_side(self, upload_ids: list[int]) -> dict[int, dict]:
        """Per upload, from the warehouse and the Dagster instance: when it finished, its run's start and end, steps."""
        from sqlalchemy import select

        from probation_returns.warehouse.db import engine_for, session_scope
        from probation_returns.warehouse.models import Submission, Upload

        engine = engine_for(self.url)
        out = {}
        with session_scope(engine) as s:
            for upload in s.scalars(select(Upload).where(Upload.id.in_(upload_ids))):
                sub = s.get(Submission, upload.submission_id) if upload.submission_id else None
                out[upload.id] = {
                    "status": upload.status,
                    "error": upload.error,
                    "run_id": upload.run_id,
                    "uploaded_at": _epoch(upload.uploaded_at),
                    "finished_at": _epoch(upload.finished_at),
                    "submission": upload.submission_id,
                    "worker": upload.worker,
                    "version": sub.version if sub else None,
                    "outcome": sub.outcome if sub else None,
                }
        engine.dispose()
        os.environ["DAGSTER_HOME"] = self.env["DAGSTER_HOME"]
        if not Path(self.env["DAGSTER_HOME"]).is_dir():
            return out
        import dagster as dg

        try:
            with dg.DagsterInstance.get() as instance:
                for row in out.values():
                    if not row["run_id"]:
                        continue
                    stats = instance.get_run_stats(row["run_id"])
                    row["run_start"], row["run_end"] = stats.start_time, stats.end_time
                    row["steps"] = {
                        st.step_key: round(st.end_time - st.start_time, 2)
                        for st in instance.get_run_step_stats(row["run_id"])
                        if st.start_time and st.end_time
                    }
        except Exception as exc:  # noqa: BLE001 - the instance itself would not open: read its run table directly
            self.dagster_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            import sqlite3

            runs_db = Path(self.env["DAGSTER_HOME"]) / "history" / "runs.db"
            with sqlite3.connect(runs_db) as db:
                times = {r[0]: (r[1], r[2]) for r in db.execute("SELECT run_id, start_time, end_time FROM runs")}
                self.alembic_versions = [r[0] for r in db.execute("SELECT version_num FROM alembic_version")]
            for row in out.values():
                if row["run_id"] in times:
                    row["run_start"], row["run_end"] = times[row["run_id"]]
        return out

    dagster_error: str | None = None
    alembic_versions: list | None = None


def _epoch(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values, self.h1, self._in_h1 = {}, "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def _parse(html: str) -> _Inputs:
    p = _Inputs()
    p.feed(html)
    return p


class Provider:
    """One provider's submitter in a browser-like session (its own address: the sign-in limit is per address)."""

    def __init__(self, portal: Portal, code: str, n: int):
        import requests

        self.portal, self.code, self.http, self.resets = portal, code, requests.Session(), []
        self.http.headers["X-Forwarded-For"] = f"10.0.{n // 250}.{n % 250 + 1}"  # portal.wsgi trusts one proxy
        token = _parse(self.get("/sign-in").text).values["csrf_token"]
        r = self.http.post(
            portal.base + "/sign-in",
            data={"email": portal.email(code), "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        if r.status_code != 302:
            raise SystemExit(f"{code}: sign-in answered {r.status_code}")

    def get(self, path: str, **kw):
        """A GET, tried again on a dropped connection as a browser does (a keep-alive connection the server closed)."""
        for attempt in range(4):
            try:
                return self.http.get(self.portal.base + path, timeout=120, **kw)
            except requests_errors() as exc:
                self.resets.append(f"GET {path.split('?')[0]}: {type(exc).__name__}")
                if attempt == 3:
                    raise
                time.sleep(0.2)

    resets: list

    def prepare(self, files: list[tuple[str, bytes]]) -> None:
        """Open the send page (its CSRF token) and choose the files: everything before pressing Send."""
        page = self.get(f"/returns/{QUARTER}/send")
        self.token = _parse(page.text).values["csrf_token"]
        self.files = files

    def post(self):
        mime = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".csv": "text/csv"}
        return self.http.post(
            self.portal.base + f"/returns/{QUARTER}/send",
            allow_redirects=False,
            timeout=600,
            data={"csrf_token": self.token, "declaration": "y", "declared_by": "Benchmark Submitter"},
            files=[("files", (name, body, mime[Path(name).suffix])) for name, body in self.files],
        )

    def send_and_follow(self, poll: str, timeout: float, start: float | None = None, resend: int = 0) -> dict:
        """POST the return; follow it as the browser does; the moment its feedback page has loaded.

        ``resend``: how many times to send again after a POST answered 5xx or dropped (as a clerk told
        "Try again later" would), recorded in ``resent``.
        """
        self.resets = []
        row = {
            "provider": self.code,
            "bytes": sum(len(b) for _, b in self.files),
            "files": len(self.files),
            "polls": 0,
            "poll_max_s": 0.0,
            "statuses": {},
            "resent": [],
        }
        try:
            self._send_and_follow(row, poll, timeout, start, resend)
        except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run marked failed
            row.update(ok=False, problem=f"{row.get('stage')}: {type(exc).__name__}: {exc}")
        row["dropped_connections"] = self.resets
        if start is not None and row.get("t_end"):
            row["from_start_s"] = round(row["t_end"] - start, 3)
        return row

    def _send_and_follow(self, row: dict, poll: str, timeout: float, start: float | None, resend: int) -> None:
        for attempt in range(resend + 1):
            row["stage"] = "POST"
            t_post = time.time()
            try:
                r = self.post()
                answer = f"{r.status_code}: {_page_problem(r.text)}"
            except requests_errors() as exc:
                r, answer = None, f"{type(exc).__name__}: {exc}"
            t0 = time.time()
            if r is not None and r.status_code < 500:
                break
            row["resent"].append({"answer": answer, "post_s": round(t0 - t_post, 3)})
            if attempt < resend:
                time.sleep(1)
                self.prepare(self.files)
        row.update(post_s=round(t0 - t_post, 3), t_post=t_post, t0=t0)
        if r is None or r.status_code != 302 or "/uploads/" not in r.headers.get("Location", ""):
            row.update(ok=False, problem=f"POST answered {answer}")
            return
        follow = r.headers["Location"]
        row["upload"] = int(follow.rstrip("/").rsplit("/", 1)[1])
        row["stage"] = "follow page"
        page = self.get(follow)  # the browser follows the redirect to the follow page
        nxt = page.url if "/submissions/" in page.url else None
        wait = BROWSER_FIRST if poll == "browser" else float(poll)
        row["stage"] = "status polls"
        while nxt is None:
            if time.time() - t0 > timeout:
                row.update(ok=False, problem=f"timed out after {timeout:.0f} s; last status {row.get('last_status')}")
                return
            time.sleep(wait)
            if poll == "browser":  # portal/static/follow.js's pace
                wait = BROWSER_EVERY if time.time() - t0 < BROWSER_FOR else BROWSER_LATER
            q0 = time.time()
            s = self.get(f"/uploads/{row['upload']}/status", headers={"Accept": "application/json"})
            row["polls"] += 1
            row["poll_max_s"] = round(max(row["poll_max_s"], time.time() - q0), 3)
            if s.status_code != 200:
                row.setdefault("poll_errors", []).append(s.status_code)
                continue
            state = s.json()
            row["last_status"] = state["status"]
            row["statuses"].setdefault(state["status"], round(time.time() - t0, 2))
            nxt = state.get("next")
        row["stage"] = "feedback page"
        t_next = time.time()
        page = self.get(nxt)
        t_end = time.time()
        h1 = _parse(page.text).h1.strip()
        row.update(
            t_end=t_end,
            seconds=round(t_end - t0, 3),
            page_s=round(t_end - t_next, 3),
            h1=h1,
            page_status=page.status_code,
            stage="done",
        )
        row["ok"] = page.status_code == 200 and "/submissions/" in nxt and not h1.startswith("No feedback")
        if not row["ok"]:
            row["problem"] = f"ended on {nxt} ({page.status_code}): {h1[:200]}"
            reason = re.search(r"Reason: ([^<]*)", page.text)
            if reason:
                row["problem"] += f" -- {reason.group(1).strip()[:300]}"


def requests_errors():
    import requests

    return (requests.ConnectionError, requests.Timeout)


def _page_problem(html: str) -> str:
    """A page's h1 and the first error message it shows (a form's error summary), as text."""
    p = _parse(html)
    error = re.search(r'class="govuk-error-message"[^>]*>(.*?)</p>', html, re.S) or re.search(
        r'class="govuk-error-summary__list"[^>]*>(.*?)</ul>', html, re.S
    )
    text = re.sub(r"<[^>]+>", " ", error.group(1)) if error else ""
    return " ".join(f"{p.h1.strip()} {text}".split())[:300]


def post_only(user: Provider, files: list[tuple[str, bytes]]) -> dict:
    """Send a return and say what the POST answered (nothing followed)."""
    user.prepare(files)
    r = user.post()
    return {
        "provider": user.code,
        "answer": r.status_code,
        "accepted": r.status_code == 302,
        "h1": None if r.status_code == 302 else _page_problem(r.text),
        "files": {name: len(body) for name, body in files},
    }


def probe(args) -> dict:
    """The portal exactly as shipped (uploads stored, not validated): is each return taken at all?"""
    crc = generated(
        f"single-{args.crc}-s{args.crc_scale:g}-seed101-f{args.faults:g}",
        [args.crc],
        args.crc_scale,
        101,
        args.faults,
        whole_return=False,
    )
    nat = generated(f"national-s{args.scale:g}-seed7-f0.002-rows", CODES, args.scale, 7, 0.002, whole_return=False)
    portal = Portal(
        "probe", CODES, args.server, args.web_workers, args.keep, form_memory="shipped", process_uploads=False
    )
    try:
        answers = [post_only(Provider(portal, args.crc, 0), return_files(crc, args.crc)) | {"return": "single CRC"}]
        for i, code in enumerate(CODES[: args.providers or len(CODES)]):
            answers.append(post_only(Provider(portal, code, i + 1), return_files(nat, code)) | {"return": "national"})
    finally:
        portal.stop()
        portal.cleanup()
    refused = [a for a in answers if not a["accepted"]]
    return {
        "max_form_memory_size": "as shipped (64 KiB)",
        "returns_sent": len(answers),
        "refused": len(refused),
        "refused_answers": sorted({f"{a['answer']} {a['h1']}" for a in refused}),
        "refused_providers": [f"{a['provider']} ({a['return']})" for a in refused],
        "accepted_providers": [f"{a['provider']} ({a['return']})" for a in answers if a["accepted"]],
        "answers": answers,
    }


def breakdown(row: dict, server: dict, workers: dict[int, dict]) -> None:
    """Where one upload's time went, in seconds from the end of its POST."""
    mine = [w for w in workers.values() if w["upload"] == row.get("upload")]
    srv = server.get(row.get("upload"), {})
    pooled = None
    if not mine and srv.get("worker"):  # taken by an intake pool worker (its host:pid is on the upload)
        pooled = workers.get(int(srv["worker"].rpartition(":")[2]))
        mine = [pooled] if pooled else []
    row.update({k: srv.get(k) for k in ("status", "outcome", "version", "error", "steps", "worker")})
    t0 = row["t0"]
    w = min(mine, key=lambda w: w["seen"]) if mine else None
    if len(mine) > 1:
        row["worker_processes"] = len(mine)  # another worker was started for the same upload
    marks = {
        "worker_seen": w["seen"] if w else None,
        "slot": w["slot"] if w else None,
        "run_start": srv.get("run_start"),
        "run_end": srv.get("run_end"),
        "finished_at": srv.get("finished_at"),
        "feedback_loaded": row.get("t_end"),
    }
    row["at_s"] = {k: round(v - t0, 2) if v else None for k, v in marks.items()}
    row["at_s"]["validating_first_polled"] = row["statuses"].get("validating")  # begin() ran (after imports)
    if w:
        row["worker_peak_mib"] = round(max(x["hwm_kib"] for x in mine) / 1024)
        row["worker_cpu_s"] = round(sum(x["cpu_s"] for x in mine), 1)
        if w.get("cpu_before_slot_s") is not None:
            row["worker_cpu_before_slot_s"] = round(w["cpu_before_slot_s"], 2)
    if pooled and marks["run_start"] and marks["run_end"] and marks["finished_at"] and row.get("t_end"):
        row["phases_s"] = {
            "a pool worker takes it and creates the run": round(marks["run_start"] - t0, 2),
            "validation run (Dagster)": round(marks["run_end"] - marks["run_start"], 2),
            "tie to submission": round(marks["finished_at"] - marks["run_end"], 2),
            "noticed and feedback page loaded": round(row["t_end"] - marks["finished_at"], 2),
        }
    elif marks["slot"] and marks["run_start"] and marks["run_end"] and marks["finished_at"] and row.get("t_end"):
        row["phases_s"] = {
            "worker process start and wait for a slot": round(max(0.0, marks["slot"] - t0), 2),
            "slot to run start (imports, begin, run created)": round(marks["run_start"] - max(t0, marks["slot"]), 2),
            "validation run (Dagster)": round(marks["run_end"] - marks["run_start"], 2),
            "tie to submission": round(marks["finished_at"] - marks["run_end"], 2),
            "noticed and feedback page loaded": round(row["t_end"] - marks["finished_at"], 2),
        }


# -- the measurements ------------------------------------------------------------------------------


def single(args) -> dict:
    seeds = [101 + i for i in range(args.runs)]
    folders = []
    for seed in seeds:
        folders.append(
            generated(
                f"single-{args.crc}-s{args.crc_scale:g}-seed{seed}-f{args.faults:g}",
                [args.crc],
                args.crc_scale,
                seed,
                args.faults,
                whole_return=False,
            )
        )
    portal = Portal(
        "single", [args.crc], args.server, args.web_workers, args.keep, form_memory=args.form_memory, intake=args.intake
    )
    pool_ready_s = portal.wait_for_pool()
    sampler = Sampler(portal.slots, portal.env["DAGSTER_HOME"])
    sampler.start()
    runs = []
    try:
        user = Provider(portal, args.crc, 0)
        for seed, folder in zip(seeds, folders):
            user.prepare(return_files(folder, args.crc))
            row = user.send_and_follow(args.poll, args.timeout)
            row.update(seed=seed, rows=manifest_rows(folder, args.crc))
            runs.append(row)
            print(
                f"  {args.crc} seed {seed}: {row.get('seconds', float('nan')):.2f} s "
                f"({row.get('h1') or row.get('problem')})",
                flush=True,
            )
            if not row.get("ok"):
                break
            portal.wait_for_workers([p for p, w in sampler.workers.items() if w["upload"] == row.get("upload")])
        load = sampler.finish()
        server = portal.server_side([r["upload"] for r in runs if r.get("upload")])
        for row in runs:
            breakdown(row, server, sampler.workers)
    finally:
        if sampler.is_alive():
            sampler.finish()
        portal.stop()
        portal.cleanup()
    ok = [r["seconds"] for r in runs if r.get("ok")]
    result = {
        "provider": args.crc,
        "scale": args.crc_scale,
        "faults": args.faults,
        "poll_s": args.poll,
        "intake": args.intake if portal.pool else "a worker per upload",
        "pool_ready_after_portal_s": pool_ready_s,
        "runs": len(runs),
        "ok": len(ok),
        "median_s": round(statistics.median(ok), 2) if ok else None,
        "min_s": round(min(ok), 2) if ok else None,
        "max_s": round(max(ok), 2) if ok else None,
        "seconds": [round(s, 2) for s in ok],
        "phases_median_s": _median_phases(runs),
        "steps_median_s": _median_steps(runs),
        "worker_peak_mib_max": max((r.get("worker_peak_mib", 0) for r in runs), default=None),
        "web_peak_mib_max": round(max((w["hwm_kib"] for w in sampler.web.values()), default=0) / 1024),
        "load": load,
        "dagster_instance_afterwards": portal.dagster_error or "opens",
        "uploads": [_clean(r) for r in runs],
    }
    return result


def national(args) -> dict:
    codes = CODES[: args.providers]
    folder = generated(f"national-s{args.scale:g}-seed7-f0.002-rows", CODES, args.scale, 7, 0.002, whole_return=False)
    portal = Portal(
        "national", codes, args.server, args.web_workers, args.keep, form_memory=args.form_memory, intake=args.intake
    )
    pool_ready_s = portal.wait_for_pool()
    sampler = Sampler(portal.slots, portal.env["DAGSTER_HOME"])
    users = [Provider(portal, code, i) for i, code in enumerate(codes)]
    for user in users:
        user.prepare(return_files(folder, user.code))
    rows: dict[str, dict] = {}
    go = threading.Barrier(len(users) + 1)

    def one(user: Provider) -> None:
        go.wait()
        try:
            rows[user.code] = user.send_and_follow("browser", args.timeout, start=start, resend=args.resend)
        except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run marked failed
            rows[user.code] = {"provider": user.code, "ok": False, "problem": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for t in threads:
        t.start()
    sampler.start()
    start = time.time()
    go.wait()
    try:
        for t in threads:
            t.join(args.timeout + 120)
        total = max((r["t_end"] for r in rows.values() if "t_end" in r), default=start) - start
        print(f"  all {len(codes)} uploads ended after {total:.1f} s", flush=True)
        portal.wait_for_workers([p for p, w in sampler.workers.items() if not w["pool"]])
        load = sampler.finish()
        server = portal.server_side([r["upload"] for r in rows.values() if r.get("upload")])
        for row in rows.values():
            if "t0" in row:
                breakdown(row, server, sampler.workers)
    finally:
        if sampler.is_alive():
            sampler.finish()
        portal.stop()
        portal.cleanup()
    ordered = [rows.get(c, {"provider": c, "ok": False, "problem": "no result (thread still running)"}) for c in codes]
    for row in ordered:
        row["rows"] = manifest_rows(folder, row["provider"])
    ok = [r for r in ordered if r.get("ok")]
    per = [r["seconds"] for r in ok]
    from_start = [r["from_start_s"] for r in ok]
    peak = max(sampler.workers.values(), key=lambda w: w["hwm_kib"], default=None)
    slots = sorted(w["slot"] for w in sampler.workers.values() if w["slot"])
    return {
        "providers": len(codes),
        "scale": args.scale,
        "seed": 7,
        "faults": "0.002 (row faults only)",
        "poll": "browser (follow.js's pace)",
        "intake": args.intake if portal.pool else "a worker per upload",
        "pool_ready_after_portal_s": pool_ready_s,
        "all_ok": len(ok) == len(codes),
        "ok": len(ok),
        "total_s": round(max(from_start), 1) if len(ok) == len(codes) else None,
        "last_ok_from_start_s": round(max(from_start), 1) if from_start else None,
        "first_from_start_s": round(min(from_start), 1) if from_start else None,
        "per_upload_s": {
            "median": _r(statistics.median(per)) if per else None,
            "min": _r(min(per, default=None)),
            "max": _r(max(per, default=None)),
        },
        "post_s": {
            "median": _r(statistics.median([r["post_s"] for r in ordered if "post_s" in r])),
            "max": _r(max(r["post_s"] for r in ordered if "post_s" in r)),
        },
        "phases_median_s": _median_phases(ordered),
        "phases_sum_s": {
            k: round(sum(r["phases_s"][k] for r in ordered if r.get("phases_s")), 1)
            for k in (ordered[0].get("phases_s") or {})
        }
        if any(r.get("phases_s") for r in ordered)
        else {},
        "validation_run_s": {
            "median": _r(statistics.median(v)) if (v := _runs(ordered)) else None,
            "min": _r(min(v, default=None)),
            "max": _r(max(v, default=None)),
            "sum": _r(sum(v)),
        },
        "slots_busy_span_s": round(max(w["last"] for w in sampler.workers.values()) - slots[0], 1) if slots else None,
        "worker_peak_mib": round(peak["hwm_kib"] / 1024) if peak else None,
        "worker_peak_upload": "a pool worker"
        if peak and peak.get("pool")
        else next((r["provider"] for r in ordered if peak and r.get("upload") == peak["upload"]), None),
        "worker_processes": len(sampler.workers),
        "worker_processes_kinds": sorted(
            "pool" if w["pool"] else f"per upload ({w['upload']})" for w in sampler.workers.values()
        ),
        "worker_cpu_sum_s": round(sum(w["cpu_s"] for w in sampler.workers.values()), 1),
        "worker_cpu_before_slot_sum_s": round(
            sum(w.get("cpu_before_slot_s") or 0 for w in sampler.workers.values()), 1
        ),
        "slot_hold_sum_s": round(sum(w["last"] - w["slot"] for w in sampler.workers.values() if w["slot"]), 1),
        "rows": _total_rows(ordered),
        "max_alive_workers_note": "the intake pool's processes, running before the uploads"
        if portal.pool
        else "every upload's worker process starts at once and waits for one of the slots",
        "web_peak_mib_max": round(max((w["hwm_kib"] for w in sampler.web.values()), default=0) / 1024),
        "status_poll_max_s": max((r.get("poll_max_s", 0) for r in ordered), default=None),
        "load": load,
        "dagster_instance_afterwards": portal.dagster_error or "opens",
        "dagster_runs_db_alembic_version_rows": portal.alembic_versions,
        "problems": {r["provider"]: r.get("problem") for r in ordered if not r.get("ok")},
        "resent_after": {r["provider"]: [x["answer"] for x in r["resent"]] for r in ordered if r.get("resent")},
        "dropped_get_connections": sum(len(r.get("dropped_connections") or []) for r in ordered),
        "uploads": [_clean(r) for r in ordered],
    }


def _total_rows(rows: list[dict]) -> dict:
    out = {"cases": 0, "contacts": 0, "breaches": 0}
    for r in rows:
        for t in out:
            out[t] += (r.get("rows") or {}).get(t) or 0
    return out


def _r(v):
    return round(v, 2) if isinstance(v, (int, float)) else v


def _runs(rows: list[dict]) -> list[float]:
    return [r["phases_s"]["validation run (Dagster)"] for r in rows if r.get("phases_s")]


def _median_phases(rows: list[dict]) -> dict:
    have = [r["phases_s"] for r in rows if r.get("phases_s")]
    return {k: round(statistics.median(p[k] for p in have), 2) for k in have[0]} if have else {}


def _median_steps(rows: list[dict]) -> dict:
    have = [r["steps"] for r in rows if r.get("steps")]
    keys = sorted({k for s in have for k in s})
    return {k: round(statistics.median(s[k] for s in have if k in s), 2) for k in keys}


def _clean(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("t_post", "t0", "t_end")}


# -- the report ------------------------------------------------------------------------------------


def machine() -> dict:
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    return {
        "machine": f"{platform.node()} {os.cpu_count()} cores, {int(mem.group(1)) // 1024} MiB, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "worktree_changes": [
            line for line in git("status", "--porcelain").splitlines() if "benchmarks/portal_feedback" not in line
        ][:20],
    }


def summary(results: dict) -> None:
    print()
    pr = results.get("as_shipped_probe")
    if pr:
        print(
            f"as shipped (MAX_FORM_MEMORY_SIZE 64 KiB): {pr['refused']} of {pr['returns_sent']} returns refused "
            f"{pr['refused_answers']}"
        )
    print(f"{'measurement (seconds unless said)':<54} {'median':>8} {'min':>8} {'max':>8} {'total':>8}")
    s = results.get("single_crc")
    if s and s.get("median_s") is not None:
        print(
            f"{'one ' + s['provider'] + ' upload -> feedback':<54} {s['median_s']:>8} {s['min_s']:>8} "
            f"{s['max_s']:>8} {'':>8}"
        )
        for k, v in s["phases_median_s"].items():
            print(f"{'   ' + k:<54} {v:>8}")
        print(f"{'   peak worker memory (MiB)':<54} {s['worker_peak_mib_max']:>8}")
    n = results.get("national")
    if n:
        p = n["per_upload_s"]
        total = n["total_s"] if n["total_s"] is not None else "FAILED"
        print(
            f"{str(n['providers']) + ' at once: each upload -> feedback; total':<54} {_s(p['median']):>8} "
            f"{_s(p['min']):>8} {_s(p['max']):>8} {total:>8}"
        )
        for k, v in n["phases_median_s"].items():
            print(f"{'   ' + k:<54} {v:>8}")
        v = n["validation_run_s"]
        print(
            f"{'   validation run alone':<54} {_s(v['median']):>8} {_s(v['min']):>8} {_s(v['max']):>8} "
            f"{_s(v['sum']):>8}"
        )
        print(f"{'   peak worker memory (MiB), ' + str(n['worker_peak_upload']):<54} {n['worker_peak_mib']:>8}")
        if n["resent_after"]:
            print("   SENT AGAIN after a failed POST:")
            for code, why in n["resent_after"].items():
                print(f"     {code}: {why}")
        if n["problems"]:
            print("   PROBLEMS:")
            for code, why in n["problems"].items():
                print(f"     {code}: {why}")
    for key in ("single_crc", "national"):
        if results.get(key):
            ld = results[key]["load"]
            print(
                f"{key}: CPU busy {ld['cpu_busy_s']} s, ours {ld['cpu_ours_s']} s, other processes "
                f"{ld['cpu_other_processes_s']} s; load {ld['load_1min_mean']} mean"
            )


def _s(v):
    return "-" if v is None else v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="single-CRC uploads (0: skip)")
    parser.add_argument("--crc", default="C05", help="the CRC of the single-upload measurement")
    parser.add_argument("--crc-scale", type=float, default=1.0)
    parser.add_argument("--faults", type=float, default=0.002, help="row fault rate of the single CRC's returns")
    parser.add_argument("--poll", default="0.25", help="single CRC: status poll interval (s) or 'browser'")
    parser.add_argument("--providers", type=int, default=28, help="providers uploading at once (0: skip)")
    parser.add_argument("--scale", type=float, default=1.0, help="national scale of the simultaneous uploads")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument(
        "--intake",
        choices=("pool", "per-upload"),
        default="pool",
        help="pool: gunicorn with portal.gunicorn_conf, as returns serve (the warm intake pool); per-upload: "
        "without it (a worker process started for each upload)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--timeout", type=float, default=600, help="per upload (s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument(
        "--form-memory",
        default="500000",
        help="MAX_FORM_MEMORY_SIZE for the timed runs: a number of bytes (default Flask's own "
        "500000), or 'shipped' for the portal's 64 KiB",
    )
    parser.add_argument(
        "--resend",
        type=int,
        default=1,
        help="28 at once: send again after a POST answered 5xx or dropped (recorded), up to N times",
    )
    parser.add_argument("--no-probe", action="store_true", help="skip the as-shipped upload probe")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    Portal.web_workers = args.web_workers
    args.form_memory = args.form_memory if args.form_memory == "shipped" else int(args.form_memory)
    DATA.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results = {}
    if not args.no_probe:
        print("probe: the portal as shipped, each return posted once (stored, not validated)", flush=True)
        results["as_shipped_probe"] = probe(args)
        print(
            f"  refused {results['as_shipped_probe']['refused']} of {results['as_shipped_probe']['returns_sent']}: "
            f"{results['as_shipped_probe']['refused_answers']}",
            flush=True,
        )
    if args.runs:
        print(f"single CRC: {args.runs} uploads of {args.crc} at scale {args.crc_scale:g}", flush=True)
        results["single_crc"] = single(args)
        _save(results, args, started)
    if args.providers:
        print(f"national: {args.providers} providers at scale {args.scale:g}, all at once", flush=True)
        results["national"] = national(args)
    _save(results, args, started)
    summary(results)
    print(f"\nwritten to {RESULT.relative_to(ROOT)}")
    failed = any(
        not r.get("ok") for key in ("single_crc", "national") if key in results for r in results[key]["uploads"]
    )
    if failed:
        print("SOME UPLOADS FAILED OR TIMED OUT: see 'problem' in the results", file=sys.stderr)
        sys.exit(1)


def _save(results: dict, args, started: float) -> None:
    kept = json.loads(RESULT.read_text()).get("results", {}) if RESULT.exists() else {}
    out = {
        **machine(),
        "server": f"{args.server} (--workers {args.web_workers} --threads 4 --timeout 300)"
        if args.server == "gunicorn"
        else "werkzeug threaded",
        "database": "SQLite (WAL) warehouse file in a fresh folder under /tmp; Dagster instance: SQLite under "
        "DAGSTER_HOME in the same folder",
        "validation_slots": int(os.environ.get("RETURNS_PORTAL_WORKERS") or min(os.cpu_count() or 1, 4)),  # pool size
        "max_form_memory_size_in_timed_runs": args.form_memory
        if args.form_memory == "shipped"
        else f"{args.form_memory} (changed from the portal's 64 KiB by served_app: as shipped the uploads are refused)",
        "wall_s": round(time.time() - started),
        "note": args.note,
        "results": {**kept, **results},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
