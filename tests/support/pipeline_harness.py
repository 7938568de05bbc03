"""Run ``returns run`` as a user would (a separate process), kill it, and compare what it leaves behind.

Used by ``tests/test_crash_and_concurrency.py``. A *scenario* is one warehouse plus the folders a run
writes to (output, archive, Dagster home, alerts); runs in the same scenario share all of them, as two
runs of the same command on one machine would. A *snapshot* is what a user could notice afterwards,
made comparable between runs:

- the CSV twin and the publication CSVs: byte for byte, except in columns that cannot repeat between
  two separate uninterrupted runs either (``received_at`` is the wall clock at intake; submission ids
  are numbered by the database, in worker-completion order, and PostgreSQL sequences skip numbers
  after a rollback), which are compared after mapping each id to provider/quarter/version;
- ``manifest.json`` without ``built_at`` and ``content_sha256`` (both follow the wall clock), with the
  same id mapping in ``inputs``, and the checksums of the files whose content is comparable; every
  checksum is also checked against the file on disk, in the output folder and in the build folder;
- every warehouse table (reflected, so a table added by a migration is included): each row without its
  own id and time stamps, with references to other rows replaced by what they refer to, as a multiset;
- the build folders (no orphans, no staging folders), hidden leftovers, the archive's file names, and
  the providers' feedback (findings and summaries; the workbooks embed the time they were written).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import JSON, DateTime, MetaData, create_engine, text
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RETURNS = str(BIN / "returns") if (BIN / "returns").exists() else "returns"
QUARTER = "2017Q3"
PSEUDONYM_KEY = "test-key-for-synthetic-data-only"
CSV_TWIN = ("service_levels", "reoffending", "payments", "data_quality", "submissions")

ID_COLUMNS = {"submission_id", "counted_submission_id", "supersedes_id"}
CLOCK_COLUMNS = {"received_at"}  # the wall clock at intake: differs between any two separate runs
# the wall clock when the feedback's provisional performance was worked out (summary.json): the same
JSON_CLOCK_KEYS = {"worked_out_at", "worked_out_on"}


def generate_landing(folder: Path, providers: str = "C05,C14,C08,N03", scale: float = 0.02, seed: int = 7) -> Path:
    """A landing folder (per-provider sub-folders and a reoffending extract), written by ``returns generate``."""
    done = subprocess.run(
        [
            RETURNS,
            "generate",
            "--quarters",
            QUARTER,
            "--providers",
            providers,
            "--scale",
            str(scale),
            "--seed",
            str(seed),
            "--out",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder.parent,
    )
    assert done.returncode == 0, f"returns generate failed:\n{done.stderr[-3000:]}"
    return folder


def extract_of(landing: Path) -> Path:
    extracts = sorted(landing.glob("reoffending_*.csv"))
    assert extracts, f"no reoffending extract in {landing}"
    return extracts[-1]


@dataclass
class RunResult:
    returncode: int | None  # None: killed by the harness
    seconds: float
    stderr: str
    killed_at: float | None = None  # seconds after start; None when it was not killed
    kill_landed: bool = False  # the process was still running when it was killed

    def tail(self, lines: int = 12) -> str:
        """The end of what the command printed, without the frames of rich's traceback boxes."""
        kept = [line for line in self.stderr.strip().splitlines() if line.strip() and line.lstrip()[:1] not in "│╭╰"]
        return "\n".join(kept[-lines:])


@dataclass
class Scenario:
    """One warehouse and the folders of the runs that share it."""

    root: Path
    database_url: str
    landing: Path
    workers: int | None = None  # None: the CLI's default (min(cpus, 4))

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RETURNS_") and k != "DAGSTER_HOME" and not k.startswith("PYTEST")
        }
        env.update(
            RETURNS_DATABASE_URL=self.database_url,
            DAGSTER_HOME=str(self.root / "dagster"),
            RETURNS_PSEUDONYM_KEY=PSEUDONYM_KEY,
            RETURNS_ALERTS=str(self.root / "alerts"),
            RETURNS_LANDING=str(self.landing),
            RETURNS_ARCHIVE=str(self.archive),
            RETURNS_OUTPUT=str(self.out),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        return env

    def upgrade(self, timeout: float = 300) -> subprocess.CompletedProcess:
        """``returns db upgrade`` on this scenario's warehouse."""
        return subprocess.run(
            [RETURNS, "db", "upgrade"], cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def command(self) -> list[str]:
        cmd = [
            RETURNS,
            "run",
            "--landing",
            str(self.landing),
            "--quarter",
            QUARTER,
            "--out",
            str(self.out),
            "--archive",
            str(self.archive),
            "--extract",
            str(extract_of(self.landing)),
        ]
        return cmd + (["--workers", str(self.workers)] if self.workers else [])

    def start(self, tag: str = "run", extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path, float]:
        """Start ``returns run`` in its own session (process group), so that its workers can be killed with it."""
        log = self.root / f"{tag}.stderr"
        with open(log, "wb") as err:  # the child keeps its own descriptor
            process = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env={**self.env(), **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        return process, log, time.monotonic()

    @staticmethod
    def finish(process: subprocess.Popen, log: Path, started: float, timeout: float) -> RunResult:
        try:
            code = process.wait(timeout=max(0.0, timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            kill_group(process)
            return RunResult(
                None,
                time.monotonic() - started,
                f"did not finish within {timeout:.0f} s (killed)\n" + log.read_text(errors="replace"),
            )
        return RunResult(code, time.monotonic() - started, log.read_text(errors="replace"))

    def step_failures(self) -> list[str]:
        """Why Dagster steps failed in this scenario's runs (the CLI only says which), from the SQLite instance."""
        import sqlite3

        reasons: Counter = Counter()
        for db in sorted((self.root / "dagster" / "history" / "runs").glob("*.db")):
            try:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    events = conn.execute("SELECT event FROM event_logs WHERE dagster_event_type = 'STEP_FAILURE'")
                    for (event,) in events:
                        record = json.loads(event)
                        error = record["dagster_event"]["event_specific_data"]["error"]
                        while error.get("cause"):
                            error = error["cause"]
                        message = (error.get("message") or "").strip().splitlines()
                        reason = message[0][:240] if message else error.get("cls_name")
                        reasons[f"{record.get('step_key')}: {reason}"] += 1
                finally:
                    conn.close()
            except (sqlite3.Error, KeyError, TypeError, ValueError):
                continue
        return [f"{reason} (x{count})" if count > 1 else reason for reason, count in reasons.most_common(6)]

    def explain(self, result: RunResult, what: str = "the run") -> str:
        """One failure of ``returns run``, in words: its exit code, its last lines and Dagster's reasons."""
        reasons = self.step_failures()
        return f"{what} exited {result.returncode} after {result.seconds:.1f} s:\n{result.tail()}" + (
            "".join(f"\n      step failure: {r}" for r in reasons) if reasons else ""
        )

    def run(self, timeout: float = 600, tag: str = "run") -> RunResult:
        return self.finish(*self.start(tag), timeout=timeout)

    def run_and_kill(self, delay: float, tag: str = "killed") -> RunResult:
        """Start a run and SIGKILL its whole process group ``delay`` seconds later (if it is still running)."""
        process, log, started = self.start(tag)
        try:
            process.wait(timeout=delay)
            landed = False
        except subprocess.TimeoutExpired:
            landed = True
        killed_at = time.monotonic() - started
        kill_group(process)
        return RunResult(
            process.returncode,
            time.monotonic() - started,
            log.read_text(errors="replace"),
            killed_at=killed_at,
            kill_landed=landed,
        )

    def run_and_kill_when(
        self,
        ready: Callable[[Path], bool],
        tag: str = "killed",
        timeout: float = 900,
        extra_env: dict[str, str] | None = None,
    ) -> RunResult:
        """Start a run and SIGKILL its process group as soon as ``ready(out)`` is true (polled every 0.2 ms
        once ``out/builds`` exists, every 20 ms before), or leave it be if it finishes first. ``extra_env``
        is for the killed run only (a failpoint holding it in the moment to kill)."""
        process, log, started = self.start(tag, extra_env)
        landed, builds = False, self.out / "builds"
        while time.monotonic() - started < timeout and process.poll() is None:
            try:
                if ready(self.out):
                    landed = process.poll() is None
                    break
            except OSError:  # a folder renamed or removed while being looked at
                pass
            time.sleep(0.0002 if builds.is_dir() else 0.02)
        killed_at = time.monotonic() - started
        kill_group(process)
        return RunResult(
            process.returncode,
            time.monotonic() - started,
            log.read_text(errors="replace"),
            killed_at=killed_at,
            kill_landed=landed,
        )


def recorded_builds(database_url: str) -> int | None:
    """How many builds the warehouse records (None: no such table yet), to tell where a kill landed."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM return_builds")).scalar_one()
    except DBAPIError:
        return None
    finally:
        engine.dispose()


def staging_has_files(out: Path) -> bool:
    """A build is being written: a ``builds/.building-*`` folder already holds a file."""
    return any(
        entry.name.startswith(".building-") and any(Path(entry.path).iterdir()) for entry in os.scandir(out / "builds")
    )


def build_folder_written(out: Path) -> bool:
    """The first build's folder has its final name (whether or not the warehouse records it yet)."""
    return (out / "builds" / "001").is_dir()


def publishing(out: Path) -> bool:
    """The build is being copied to the output folder as the current return (``.*.incoming-*`` files)."""
    return any(
        ".incoming-" in name for folder in (out, out / "publication") if folder.is_dir() for name in os.listdir(folder)
    )


def writing_extract_findings(out: Path) -> bool:
    """The reoffending extract's findings are being written.

    (``feedback/reoffending/<as of>/.findings.csv.incoming-*``)"""
    return any(".findings.csv.incoming-" in p.name for p in (out / "feedback" / "reoffending").glob("*/.*"))


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL every process in the run's group (the CLI, its worker pool, Dagster's helpers) and reap the CLI."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # workers are re-parented and reaped elsewhere; wait until none is left
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        if all(_is_zombie(pid) for pid in _group_members(process.pid)):
            return
        time.sleep(0.05)


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# ---------------------------------------------------------------------------------------------- snapshots


@dataclass
class Snapshot:
    csv: dict[str, list[tuple]] = field(default_factory=dict)  # relative path -> normalised rows
    csv_bytes: dict[str, str] = field(default_factory=dict)  # files with no volatile column: path -> sha256
    manifest: dict = field(default_factory=dict)
    tables: dict[str, Counter] = field(default_factory=dict)
    builds: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # dot-files left under the output folder
    archive: set[str] = field(default_factory=set)
    feedback: dict[str, str] = field(default_factory=dict)  # normalised path -> normalised content digest
    problems: list[str] = field(default_factory=list)  # wrong in itself, whatever the baseline

    def counts(self) -> dict[str, int]:
        return {name: sum(rows.values()) for name, rows in sorted(self.tables.items())}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _value(value, root: str):
    if isinstance(value, str):
        return value.replace(root, "<root>")
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str).replace(root, "<root>")
    return value


def warehouse(database_url: str, root: Path) -> tuple[dict[str, Counter], dict[int, str], list[str]]:
    """Every table's rows, normalised; the id -> provider/quarter/version map; submissions left 'received'."""
    engine = create_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            raw = {
                t.name: [dict(r._mapping) for r in conn.execute(t.select())]
                for t in meta.sorted_tables
                if t.name != "alembic_version"
            }
    finally:
        engine.dispose()
    subs = {r["id"]: f"{r['provider_code']}/{r['quarter']}/v{r['version']}" for r in raw.get("submissions", [])}
    refs = {
        "submissions": subs,
        "validation_runs": {
            r["id"]: "run of " + subs.get(r["submission_id"], "?") for r in raw.get("validation_runs", [])
        },
        "reoffending_extracts": {r["id"]: r["sha256"] for r in raw.get("reoffending_extracts", [])},
        "return_builds": {r["id"]: f"{r['quarter']} build {r['build_number']}" for r in raw.get("return_builds", [])},
        "credits": {
            r["id"]: f"{r['quarter']}/{r['provider_code']}/{r['measure']}/{_value(r['amount_gbp'], '')}"
            for r in raw.get("credits", [])
        },
    }
    roots = sorted({str(root), str(root.resolve())}, key=len, reverse=True)
    tables: dict[str, Counter] = {}
    for table in meta.sorted_tables:
        if table.name not in raw:
            continue
        fks = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
        rows = Counter()
        for r in raw[table.name]:
            out = []
            for col in table.columns:
                name, value = col.name, r[col.name]
                if col.primary_key and name == "id":
                    continue
                if name == "replaced_at":
                    value = "current" if value is None else "replaced"
                elif isinstance(col.type, DateTime) and name != "delivered_at":
                    continue  # when it happened: differs between any two runs
                elif name in ("inputs_sha256", "manifest_sha256") and table.name == "return_builds":
                    continue  # cover submissions.csv, whose received_at is the wall clock
                elif name in ("run_id", "alert_key"):
                    continue
                elif name in fks or name in ID_COLUMNS:
                    target = fks.get(name, "submissions")
                    value = None if value is None else refs.get(target, {}).get(value, f"<{target} row>")
                elif isinstance(col.type, JSON) and isinstance(value, str):
                    value = json.loads(value)
                for prefix in roots:
                    value = _value(value, prefix)
                out.append((name, value))
            rows[tuple(out)] += 1
        tables[table.name] = rows
    received = [
        f"{subs[r['id']]} is still '{r['status']}'" for r in raw.get("submissions", []) if r["status"] == "received"
    ]
    return tables, subs, received


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return (rows[0], rows[1:]) if rows else ([], [])


def _normalise_csv(path: Path, ids: dict[int, str]) -> tuple[list[tuple], bool]:
    header, rows = _read_csv(path)
    volatile = [i for i, h in enumerate(header) if h in ID_COLUMNS | CLOCK_COLUMNS]
    for row in rows:
        for i in volatile:
            if i >= len(row) or not row[i]:
                continue
            if header[i] in CLOCK_COLUMNS:
                row[i] = "<clock>"
            elif row[i].isdigit():
                row[i] = ids.get(int(row[i]), f"<unknown submission {row[i]}>")
    return [tuple(header)] + [tuple(r) for r in rows], not volatile


def _normalise_json(value, ids: dict[int, str]):
    if isinstance(value, dict):
        return {
            k: (
                ids.get(v, f"<unknown submission {v}>")
                if k in ID_COLUMNS and isinstance(v, int)
                else "<clock>"
                if k in JSON_CLOCK_KEYS
                else _normalise_json(v, ids)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normalise_json(v, ids) for v in value]
    return value


def snapshot(scenario: Scenario) -> Snapshot:
    snap = Snapshot()
    snap.tables, ids, received = warehouse(scenario.database_url, scenario.root)
    snap.problems += received
    out = scenario.out

    for name in CSV_TWIN:
        for rel in (f"{name}.csv", f"publication/{name}.csv"):
            path = out / rel
            if not path.is_file():
                snap.problems.append(f"{rel} is missing")
                continue
            snap.csv[rel], stable = _normalise_csv(path, ids)
            if stable:
                snap.csv_bytes[rel] = _sha(path)

    manifest_path = out / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = {f["path"]: f["sha256"] for f in manifest.get("files", [])}
        number = manifest.get("build_number")
        build = out / "builds" / f"{number:03d}" if isinstance(number, int) else None
        for where in (out, build):
            if where is None:
                continue
            for rel, digest in files.items():
                if not (where / rel).is_file():
                    snap.problems.append(f"{(where / rel).relative_to(out)} (in manifest.json) is missing")
                elif _sha(where / rel) != digest:
                    snap.problems.append(f"{(where / rel).relative_to(out)} does not match manifest.json")
        if (
            build is not None
            and (build / "manifest.json").is_file()
            and (build / "manifest.json").read_bytes() != manifest_path.read_bytes()
        ):
            snap.problems.append(f"manifest.json differs from builds/{number:03d}/manifest.json")
        manifest.pop("built_at", None)
        manifest.pop("content_sha256", None)  # over the tables, whose received_at follows the wall clock
        # inputs_sha256 stays: the inputs' checksum must be the same after a kill, or with two runs at once
        manifest["inputs"] = _normalise_json(manifest.get("inputs"), ids)
        manifest["files"] = {
            rel: (digest if rel in snap.csv_bytes else "<not comparable>") for rel, digest in sorted(files.items())
        }
        snap.manifest = manifest
    else:
        snap.problems.append("manifest.json is missing")

    recorded = {
        row_value(r, "build_number")
        for r in snap.tables.get("return_builds", Counter())
        if row_value(r, "quarter") == QUARTER
    }
    builds = out / "builds"
    if builds.is_dir():
        snap.builds = sorted(p.name for p in builds.iterdir())
        for name in snap.builds:
            if re.fullmatch(r"\d{3}", name):
                if int(name) not in recorded:
                    snap.problems.append(f"orphan build folder builds/{name}: no row in return_builds")
            else:
                snap.problems.append(f"left in builds/: {name}")
    for number in sorted(recorded):
        if not (builds / f"{number:03d}").is_dir():
            snap.problems.append(f"return_builds records build {number} but builds/{number:03d} does not exist")

    if out.is_dir():
        snap.hidden = {p.relative_to(out).as_posix() for p in out.rglob(".*")}
    for root in (scenario.archive, scenario.landing / ".portal-staging"):  # a writer's temporary names
        if root.is_dir():
            left = sorted(
                p.relative_to(root.parent).as_posix()
                for p in root.rglob("*")
                if p.name.startswith(".") or root.name == ".portal-staging"
            )
            if left:
                snap.problems.append(f"temporary names left in {root.name}/: {left[:6]}")
    if scenario.archive.is_dir():
        for path in scenario.archive.rglob("*"):
            if path.is_file():
                rel = path.relative_to(scenario.archive).as_posix()
                snap.archive.add(rel)
                if re.fullmatch(r"[0-9a-f]{64}", path.name) and _sha(path) != path.name:
                    snap.problems.append(f"archive/{rel} does not match its name (a partial copy?)")

    feedback = out / "feedback"
    if feedback.is_dir():
        for path in sorted(feedback.rglob("*")):
            if not path.is_file():
                continue
            rel = re.sub(
                r"submission-(\d+)",
                lambda m: "submission-" + ids.get(int(m.group(1)), m.group(1)).replace("/", "_"),
                path.relative_to(feedback).as_posix(),
            )
            if path.suffix == ".csv":
                snap.feedback[rel] = _sha(path)
            elif path.suffix == ".json":
                try:
                    body = _normalise_json(json.loads(path.read_text(encoding="utf-8")), ids)
                    snap.feedback[rel] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
                except ValueError:
                    snap.feedback[rel] = "<not JSON>"
            else:
                snap.feedback[rel] = "<present>"  # the workbook and page embed when they were written
    return snap


def row_value(row: tuple, column: str):
    return dict(row).get(column)


def _short(value, limit: int = 260) -> str:
    text = str(dict(value)) if isinstance(value, tuple) else str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def differences(expected: Snapshot, actual: Snapshot, examples: int = 2) -> list[str]:
    """What differs from the uninterrupted run, in words; plus what is wrong in ``actual`` by itself."""
    found = list(actual.problems)
    for rel in sorted(set(expected.csv) | set(actual.csv)):
        a, b = expected.csv.get(rel), actual.csv.get(rel)
        if a == b:
            if rel in expected.csv_bytes and expected.csv_bytes[rel] != actual.csv_bytes.get(rel):
                found.append(f"{rel}: same rows but different bytes")
            continue
        if a is None or b is None:
            found.append(f"{rel}: {'missing' if b is None else 'not in the uninterrupted run'}")
            continue
        extra, missing = Counter(b) - Counter(a), Counter(a) - Counter(b)
        line = f"{rel}: {len(b) - 1} rows (uninterrupted run {len(a) - 1})"
        if not extra and not missing:
            line += "; same rows in a different order"
        for row in list(extra)[:examples]:
            line += f"\n      extra:   {','.join(row)[:200]}"
        for row in list(missing)[:examples]:
            line += f"\n      missing: {','.join(row)[:200]}"
        found.append(line)
    for key in sorted(set(expected.manifest) | set(actual.manifest)):
        a, b = expected.manifest.get(key), actual.manifest.get(key)
        if a != b:
            if key == "files" and isinstance(a, dict) and isinstance(b, dict):
                changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                found.append(f"manifest.json files differ: {', '.join(changed)}")
            else:
                found.append(f"manifest.json {key}: {_short(b)} (uninterrupted run {_short(a)})")
    for name in sorted(set(expected.tables) | set(actual.tables)):
        a, b = expected.tables.get(name, Counter()), actual.tables.get(name, Counter())
        if a == b:
            continue
        line = f"table {name}: {sum(b.values())} rows (uninterrupted run {sum(a.values())})"
        extra, missing = b - a, a - b
        for row in list(extra)[:examples]:
            line += f"\n      extra x{extra[row]}:   {_short(row)}"
        for row in list(missing)[:examples]:
            line += f"\n      missing x{missing[row]}: {_short(row)}"
        found.append(line)
    if expected.builds != actual.builds:
        found.append(f"builds/ holds {actual.builds} (uninterrupted run {expected.builds})")
    if actual.hidden - expected.hidden:
        found.append(f"left in the output folder: {sorted(actual.hidden - expected.hidden)[:6]}")
    if expected.archive != actual.archive:
        found.append(
            f"archive: extra {sorted(actual.archive - expected.archive)[:4]}, "
            f"missing {sorted(expected.archive - actual.archive)[:4]}"
        )
    if expected.feedback != actual.feedback:
        changed = sorted(
            k
            for k in set(expected.feedback) | set(actual.feedback)
            if expected.feedback.get(k) != actual.feedback.get(k)
        )
        found.append(f"feedback differs: {changed[:6]}{' ...' if len(changed) > 6 else ''}")
    return found
