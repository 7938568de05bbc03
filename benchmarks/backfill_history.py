"""Timing: the whole history of the contracts through `returns backfill`, and whether memory stays flat.

The issue asks for ten years (40 quarters), but the Transforming Rehabilitation contracts ran from
2015Q1 to 2021Q1 (25 quarters; `parameters/` has no contract year after 2020-21, and inventing one
would be inventing contract terms), so the default is those 25 quarters; the figure for 40 is
extrapolated from the per-quarter times in the doc. They are generated once for all 28 providers (seed 7,
faults 0.002, one reoffending extract as of the generator's default date; cached under ``benchmarks/.data/history/``,
generation timed separately). Then one fresh process runs exactly `returns backfill --quarters
2015Q1..2021Q1 --landing L --out O --extract E` against an empty warehouse, archive, output folder
and Dagster instance, and records each quarter's time and the process's resident memory after it
(VmRSS) and at its peak (VmHWM), and the largest worker process's peak. One run: it takes about a quarter of
an hour at scale 1.0, plus about 6 minutes to generate the data the first time.

    uv run python benchmarks/backfill_history.py [--scale 1.0] [--quarters 2015Q1..2021Q1]

Figures go to stdout and ``benchmarks/results/backfill_history.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "history"
RESULT = ROOT / "benchmarks" / "results" / "backfill_history.json"
KEY = "benchmark-key-0123456789"


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def landing(quarters: str, scale: float) -> Path:
    folder = DATA / f"{quarters.replace('..', '-')}-scale-{scale:g}"
    done = folder / "generated.json"
    if done.exists():
        return folder
    from probation_returns.calendar import quarter_range
    from probation_returns.generator.dataset import generate
    from probation_returns.reference import provider_codes

    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    made = generate(
        folder / "landing", quarter_range(quarters), provider_codes("all"), scale=scale, seed=7, faults=0.002
    )
    (folder / "landing" / "manifest.json").unlink()
    done.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1), "extract": made.extract.name}))
    return folder


def child(quarters: str, scale: float) -> None:
    folder = landing(quarters, scale)
    extract = next((folder / "landing").glob("reoffending_*.csv"))
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        tmp = Path(tmp)
        os.environ.update(
            {
                "RETURNS_PSEUDONYM_KEY": KEY,
                "RETURNS_DATABASE_URL": f"sqlite:///{tmp / 'returns.db'}",
                "DAGSTER_HOME": str(tmp / "dagster"),
                "RETURNS_ARCHIVE": str(tmp / "archive"),
            }
        )
        import orchestration.runner.quarter as run_module

        per_quarter = []
        original = run_module.run_quarter

        def timed(quarter, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(quarter, *args, **kwargs)
            finally:
                per_quarter.append(
                    {
                        "quarter": str(quarter),
                        "seconds": round(time.perf_counter() - start, 2),
                        "rss_mib": round(_status("VmRSS")),
                        "hwm_mib": round(_status("VmHWM")),
                    }
                )
                print(json.dumps(per_quarter[-1]), file=sys.__stderr__, flush=True)  # CliRunner captures sys.stderr

        run_module.run_quarter = timed
        from typer.testing import CliRunner

        from cli.main import app

        start = time.perf_counter()
        result = CliRunner().invoke(
            app,
            [
                "backfill",
                "--quarters",
                quarters,
                "--landing",
                str(folder / "landing"),
                "--out",
                str(tmp / "out"),
                "--extract",
                str(extract),
            ],
        )
        total = time.perf_counter() - start
        db_mib = (tmp / "returns.db").stat().st_size / 2**20
        import multiprocessing
        import resource

        for worker in multiprocessing.active_children():  # reap the exiting workers so their peak is counted
            worker.join()
        workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "exit_code": result.exit_code,
                "total_s": round(total, 1),
                "per_quarter": per_quarter,
                "peak_mib": round(_status("VmHWM")),
                "worker_peak_mib": round(workers_peak),
                "warehouse_mib": round(db_mib),
                "output": result.output[-800:],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quarters", default="2015Q1..2021Q1")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.quarters, args.scale)
        return
    folder = landing(args.quarters, args.scale)
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--quarters", args.quarters, "--scale", str(args.scale)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode:
        raise SystemExit("backfill process failed")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = [q["seconds"] for q in run["per_quarter"]]
    summary = {
        "quarters": args.quarters,
        "scale": args.scale,
        "exit_code": run["exit_code"],
        "generation_s": json.loads((folder / "generated.json").read_text())["seconds"],
        "backfill_total_s": run["total_s"],
        "quarter_s_min": min(seconds),
        "quarter_s_median": sorted(seconds)[len(seconds) // 2],
        "quarter_s_max": max(seconds),
        "peak_mib": run["peak_mib"],
        "worker_peak_mib": run["worker_peak_mib"],
        "rss_mib_first_last": [run["per_quarter"][0]["rss_mib"], run["per_quarter"][-1]["rss_mib"]],
        "warehouse_mib": run["warehouse_mib"],
        "per_quarter": run["per_quarter"],
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "per_quarter"}, indent=1))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                **summary,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
