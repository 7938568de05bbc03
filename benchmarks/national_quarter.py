"""Timing: a national quarter end to end through `returns run` (ingest, validate, measures, money,
the ministry workbook, CSVs and the publication copy), and how it grows with the data.

For each scale (default 1.0; `--scales 0.25,1,4` for the growth table) the quarter 2017Q3 is
generated once for all 28 providers (seed 7, faults 0.002, cached under
``benchmarks/.data/national/``). Each run is a fresh process with an empty warehouse, archive,
output folder and Dagster instance, doing exactly what `returns run --landing L --quarter 2017Q3
--out O --extract E` does; it reports its wall time, where the time went (the 28 provider runs,
registering the extract, the quarter build) and its peak resident memory (VmHWM). Medians of
``--repeats`` runs (default 3).

``--postgres URL`` keeps the warehouse in a new scratch database on that server (made and dropped by
each run; the Dagster instance stays SQLite files, as ``returns run`` makes it by default).

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/national_quarter.py [--scales 0.25,1,4] [--repeats 3] [--postgres URL]

Figures go to stdout and ``benchmarks/results/national_quarter.json``; a chart of time and memory
against rows to ``docs/images/growth.png`` when more than one scale was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "national"
RESULT = ROOT / "benchmarks" / "results" / "national_quarter.json"
CHART = ROOT / "docs" / "images" / "growth.png"
QUARTER = "2017Q3"
KEY = "benchmark-key-0123456789"


def landing(scale: float) -> Path:
    """The generated quarter for this scale (made once)."""
    folder = DATA / f"scale-{scale:g}"
    done = folder / "generated.json"
    if done.exists():
        return folder / "landing"
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.reference import provider_codes

    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    made = generate(
        folder / "landing", [Quarter.parse(QUARTER)], provider_codes("all"), scale=scale, seed=7, faults=0.002
    )
    (folder / "landing" / "manifest.json").unlink()
    done.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1), "extract": made.extract.name}))
    return folder / "landing"


def rows(folder: Path) -> dict:
    import polars as pl

    counts = {"cases": 0, "contacts": 0, "breaches": 0}
    for path in folder.rglob("*_*_*.csv"):
        table = path.stem.rsplit("_", 1)[1]
        if table in counts:
            counts[table] += pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
    for path in folder.rglob("*.xlsx"):
        for table in counts:
            counts[table] += pl.read_excel(path, sheet_name=table, infer_schema_length=0).height
    return counts


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def scratch_database(server: str):
    """A new, empty PostgreSQL database on ``server`` for one run, dropped after it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"returns_bench_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def child(scale: float, postgres: str | None = None) -> None:
    """One run of `returns run` in this (fresh) process, with its phases timed."""
    folder = landing(scale)
    extract = next(folder.glob("reoffending_*.csv"))
    with tempfile.TemporaryDirectory(dir=DATA) as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        url = stack.enter_context(scratch_database(postgres)) if postgres else f"sqlite:///{tmp / 'returns.db'}"
        os.environ.update(
            {
                "RETURNS_PSEUDONYM_KEY": KEY,
                "RETURNS_DATABASE_URL": url,
                "DAGSTER_HOME": str(tmp / "dagster"),
                "RETURNS_ARCHIVE": str(tmp / "archive"),
            }
        )
        import orchestration.runner.runs as run_module

        phases = {"provider runs": 0.0, "extract": 0.0, "quarter build": 0.0}
        original = run_module._execute

        def timed(job, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(job, *args, **kwargs)
            finally:
                phase = {"quarter_build": "quarter build", "extract_intake": "extract"}.get(job, "provider runs")
                phases[phase] += time.perf_counter() - start

        run_module._execute = timed  # in this process: the extract and the quarter build (provider runs go to workers)
        from typer.testing import CliRunner

        from cli.main import app

        start = time.perf_counter()
        workers = os.environ.get("RETURNS_BENCH_WORKERS")  # default: the command's own default
        result = CliRunner().invoke(
            app,
            [
                "run",
                "--landing",
                str(folder),
                "--quarter",
                QUARTER,
                "--out",
                str(tmp / "out"),
                "--extract",
                str(extract),
                *(["--workers", workers] if workers else []),
            ],
        )
        total = time.perf_counter() - start
        manifest = json.loads((tmp / "out" / "manifest.json").read_text()) if result.exit_code == 0 else {}
        import multiprocessing

        for worker in multiprocessing.active_children():  # the command leaves its workers exiting: reap them,
            worker.join()  # so that their peak memory is counted below
    import resource

    phases["provider runs"] = total - phases["extract"] - phases["quarter build"]  # incl. the command's start-up
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process
    print(
        json.dumps(
            {
                "exit_code": result.exit_code,
                "total": total,
                "phases": phases,
                "peak_mib": max(vm_hwm_mib(), workers_peak),
                "main_mib": vm_hwm_mib(),
                "worker_mib": workers_peak,
                "build": manifest.get("build_number"),
                "output": result.output[-500:],
            }
        )
    )


def measure(scale: float, repeats: int, postgres: str | None = None) -> dict:
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(scale), *(["--postgres", postgres] if postgres else [])],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
        if run["exit_code"]:
            raise SystemExit(f"returns run exited {run['exit_code']}:\n{run['output']}")
        runs.append(run)
        print(f"  scale {scale:g}: {run['total']:.1f} s, peak {run['peak_mib']:.0f} MiB", flush=True)
    return {
        "scale": scale,
        "warehouse": "postgresql" if postgres else "sqlite",
        "rows": rows(landing(scale)),
        "total_median_s": round(statistics.median(r["total"] for r in runs), 1),
        "totals_s": [round(r["total"], 1) for r in runs],
        "phases_median_s": {p: round(statistics.median(r["phases"][p] for r in runs), 1) for p in runs[0]["phases"]},
        "peak_mib_median": round(statistics.median(r["peak_mib"] for r in runs)),
        "main_process_mib_median": round(statistics.median(r["main_mib"] for r in runs)),
        "largest_worker_mib_median": round(statistics.median(r["worker_mib"] for r in runs)),
        "workers": int(os.environ.get("RETURNS_BENCH_WORKERS", "0")) or min(os.cpu_count() or 1, 4),
        "generation_s": json.loads((DATA / f"scale-{scale:g}" / "generated.json").read_text())["seconds"],
    }


def chart(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [sum(r["rows"].values()) / 1e6 for r in results]
    fig, left = plt.subplots(figsize=(6, 3.5))
    left.plot(x, [r["total_median_s"] for r in results], "o-", color="#1f4e79", label="time (s)")
    left.set_xlabel("rows in the quarter's returns (millions)")
    left.set_ylabel("seconds, end to end")
    right = left.twinx()
    right.plot(x, [r["peak_mib_median"] for r in results], "s--", color="#c00000", label="peak memory (MiB)")
    right.set_ylabel("peak MiB")
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: the warehouse in a scratch database there")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.postgres)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        landing(scale)
        results.append(measure(scale, args.repeats, args.postgres))
        print(json.dumps(results[-1], indent=1), flush=True)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(RESULT.read_text())["results"] if RESULT.exists() else []

    def which(r: dict) -> tuple:
        return r["scale"], r.get("workers"), r.get("warehouse", "sqlite")

    measured = {which(r) for r in results}
    merged = [r for r in kept if which(r) not in measured] + results
    RESULT.write_text(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                "results": merged,
            },
            indent=1,
        )
        + "\n"
    )
    if len(results) > 1:
        try:
            chart(results)
        except ImportError:
            print("matplotlib is not installed: no chart (uv run --with matplotlib ...)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
