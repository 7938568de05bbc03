"""Timing: measures and money for one quarter and for 8 quarters of a national generation (28 providers).

"Measures and money" is the step after validation: for every provider, its accepted records are read
back from the warehouse, the service levels, service credits and proven reoffending are computed,
the results are stored (replacing the quarter's earlier figures) and ``service_levels.csv``,
``reoffending.csv`` and ``payments.csv`` are written. It is timed on its own, as
``probation_returns.measures.quarter`` does it:

    extract = load(extract_csv)                                  # timed separately
    levels = [provider_levels(engine, code, quarter) for code in provider_codes("all")]
    cohorts = cohort_results(engine, quarter, extract)
    with session_scope(engine) as s:
        for r in levels: store_levels(s, quarter, r, for_quarter(quarter))
        store_cohorts(s, quarter, cohorts, for_quarter(quarter), None)
    figures = quarter_figures(engine, quarter)                   # read back from the warehouse
    for name in ("service_levels", "reoffending", "payments"):
        write_csv(getattr(figures, name), out_dir / f"{name}.csv")

- one quarter (2017Q3), median of 3 runs in this process (``--repeats-one``);
- all 8 quarters (2016Q1..2017Q4) in one loop, the extract loaded once, each run in a fresh process
  that also reports its peak memory (VmHWM); median of 2 runs (``--repeats-all``);
- peak memory of one quarter, in a fresh process too;
- the calibrated 2017Q3 figures (national CRC / NPS service levels and reoffending) from the CSVs.

Inside ``provider_levels`` and ``cohort_results`` the time is split by wrapping (in this process only) the module's
``accepted_submission`` + ``accepted_tables`` (reading the accepted records from SQLite) and
``reoffending_for`` (cohort, proven reoffences, outcome); the rest is the service levels and credits.

Set-up, cached under ``benchmarks/.data/measures/``: the generation (seed 7, scale 1.0, no faults;
about 5 minutes) and the pipeline per quarter (``orchestration.runner.quarter.run_quarter``: ingest, validate,
and the measures once more through the ``quarter_performance`` asset), whose time is recorded too.

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/measures_quarters.py [--providers all] [--scale 1.0] [--repeats-one 3] [--repeats-all 2]

At scale 1.0 one quarter takes about 30 s, 8 quarters about 4 minutes a run; the set-up (first run
only) about 5 minutes of generation and 14 minutes of pipeline.

Figures go to stdout and ``benchmarks/results/measures_quarters.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "measures"
LANDING = DATA / "landing"
ARCHIVE = DATA / "archive"
PIPELINE_OUT = DATA / "pipeline_output"
OUT = DATA / "output"
DB = DATA / "returns.db"
PIPELINE_LOG = DATA / "pipeline.json"
RESULT = ROOT / "benchmarks" / "results" / "measures_quarters.json"

URL = f"sqlite:///{DB}"
os.environ.setdefault("RETURNS_PSEUDONYM_KEY", "benchmark-key-0123456789")
os.environ["RETURNS_DATABASE_URL"] = URL
os.environ.pop("DAGSTER_HOME", None)  # a throwaway Dagster instance: nothing recorded outside .data

import polars as pl
from sqlalchemy import func, select

import probation_returns.measures.quarter as quarter_mod
from probation_returns.calendar import Quarter, quarter_range
from probation_returns.files.csv import write_csv
from probation_returns.measures.figures import quarter_figures
from probation_returns.measures.quarter import cohort_results, provider_levels, store_cohorts, store_levels
from probation_returns.measures.reoffending_extract import load
from probation_returns.parameters import for_quarter
from probation_returns.reference import provider_codes, providers
from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import (
    AcceptedBreach,
    AcceptedCase,
    AcceptedContact,
)

QUARTERS, ONE_QUARTER, SEED = "2016Q1..2017Q4", "2017Q3", 7
REPEATS_ONE, REPEATS_ALL = 3, 2
PUBLISHED = {  # 2017Q3, national CRC, percent
    "SL001R": (93.8, 97.6),
    "SL002R": (93.9, 97.8),
    "SL006R": (82.7, 89.1),
    "AE": (86.6, 92.1),
}


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Set-up -----------------------------------------------------------------------------------------


def generated(codes: list[str], scale: float) -> dict:
    """Generate the national returns and the extract once; the manifest says what is there."""
    from probation_returns.generator.dataset import generate

    manifest = LANDING / "manifest.json"
    want = {"quarters": [str(q) for q in quarter_range(QUARTERS)], "providers": codes, "scale": scale, "seed": SEED}
    if manifest.exists():
        found = json.loads(manifest.read_text())
        if all(found.get(k) == v for k, v in want.items()):
            return {"manifest": found, "seconds": None, "cached": True}
        shutil.rmtree(DATA)  # another scale or provider set: start again
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"generating {QUARTERS}, {len(codes)} providers, scale {scale} ...", flush=True)
    start = time.perf_counter()
    generate(LANDING, quarter_range(QUARTERS), codes, scale=scale, seed=SEED, faults=0.0)
    seconds = time.perf_counter() - start
    return {"manifest": json.loads(manifest.read_text()), "seconds": seconds, "cached": False}


def pipeline(codes: list[str], extract: Path) -> dict:
    """Ingest and validate every quarter through the pipeline (which also computes the measures) once."""
    from orchestration.runner.quarter import run_quarter

    if PIPELINE_LOG.exists() and DB.exists():
        return json.loads(PIPELINE_LOG.read_text()) | {"cached": True}
    for path in (DB, ARCHIVE, PIPELINE_OUT):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    upgrade(URL)
    log = {"seconds": {}, "failed": {}}
    for q in quarter_range(QUARTERS):
        start = time.perf_counter()
        run = run_quarter(
            q, codes, landing=LANDING, archive=ARCHIVE, output=PIPELINE_OUT, database_url=URL, extract=extract
        )
        log["seconds"][str(q)] = round(time.perf_counter() - start, 2)
        log["failed"][str(q)] = run.failed
        print(f"pipeline {q}: {log['seconds'][str(q)]:.1f} s, failed: {run.failed or 'none'}", flush=True)
    PIPELINE_LOG.write_text(json.dumps(log, indent=1) + "\n")
    return log | {"cached": False}


def rows_per_quarter(engine, codes: list[str]) -> dict:
    """Accepted cases, contacts and breaches the measures read, per quarter (current accepted submissions)."""
    out = {}
    with session_scope(engine) as session:
        for q in quarter_range(QUARTERS):
            ids = [s.id for code in codes if (s := quarter_mod.accepted_submission(session, code, str(q)))]
            counts = {"providers_with_accepted_return": len(ids)}
            for name, model in (("cases", AcceptedCase), ("contacts", AcceptedContact), ("breaches", AcceptedBreach)):
                counts[name] = (
                    session.scalar(select(func.count()).select_from(model).where(model.submission_id.in_(ids)))
                    if ids
                    else 0
                )
            out[str(q)] = counts
    return out


# The timed step ---------------------------------------------------------------------------------


class Split:
    """Time spent inside provider_levels and cohort_results: reading accepted records, and the reoffending part."""

    def __init__(self) -> None:
        self.read = self.reoffending = 0.0
        self._originals = {}

    def _wrap(self, name: str, bucket: str) -> None:
        original = getattr(quarter_mod, name)
        self._originals[name] = original

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                setattr(self, bucket, getattr(self, bucket) + time.perf_counter() - start)

        setattr(quarter_mod, name, timed)

    def __enter__(self) -> Self:
        self._wrap("accepted_submission", "read")
        self._wrap("accepted_tables", "read")
        self._wrap("reoffending_for", "reoffending")
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._originals.items():
            setattr(quarter_mod, name, original)


def measure_quarter(engine, codes: list[str], quarter: Quarter, extract, split: Split | None = None) -> dict:
    start = time.perf_counter()
    levels = [provider_levels(engine, code, quarter) for code in codes]
    cohorts = cohort_results(engine, quarter, extract)
    computed = time.perf_counter()
    with session_scope(engine) as s:
        for r in levels:
            store_levels(s, quarter, r, for_quarter(quarter))
        store_cohorts(s, quarter, cohorts, for_quarter(quarter), None)
    stored = time.perf_counter()
    figures = quarter_figures(engine, quarter)  # read back from the warehouse, as the returns are
    for name in ("service_levels", "reoffending", "payments"):
        write_csv(getattr(figures, name), OUT / str(quarter) / f"{name}.csv")
    written = time.perf_counter()
    return {
        "providers": computed - start,
        "store": stored - computed,
        "write": written - stored,
        "total": written - start,
    }


def run_once(engine, codes: list[str], quarters: list[Quarter], extract_path: Path) -> dict:
    """Load the extract once, then measure each quarter; seconds per step (summed over quarters)."""
    gc.collect()
    start = time.perf_counter()
    extract = load(extract_path)
    loaded = time.perf_counter() - start
    steps = {"providers": 0.0, "store": 0.0, "write": 0.0}
    per_quarter = {}
    with Split() as split:
        for q in quarters:
            t = measure_quarter(engine, codes, q, extract)
            per_quarter[str(q)] = round(t["total"], 3)
            for k in steps:
                steps[k] += t[k]
    return {
        "extract_load": loaded,
        "read_accepted": split.read,
        "service_levels_and_credits": steps["providers"] - split.read - split.reoffending,
        "reoffending": split.reoffending,
        "store": steps["store"],
        "write_csv": steps["write"],
        "measures_excluding_extract_load": sum(steps.values()),
        "total_including_extract_load": loaded + sum(steps.values()),
        "per_quarter": per_quarter,
    }


def median_of(runs: list[dict]) -> dict:
    keys = [k for k in runs[0] if k != "per_quarter"]
    out = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    out["per_quarter_median"] = {
        q: round(statistics.median(r["per_quarter"][q] for r in runs), 3) for q in runs[0]["per_quarter"]
    }
    out["runs_total_including_extract_load"] = [round(r["total_including_extract_load"], 3) for r in runs]
    return out


def child(codes: list[str], which: str, extract_path: Path) -> None:
    """In a fresh process: one run, and the peak resident memory (baseline after imports and set-up too)."""
    engine = engine_for(URL)
    with session_scope(engine) as s:
        quarter_mod.accepted_submission(s, codes[0], ONE_QUARTER)
    baseline = vm_hwm_mib()
    quarters = [Quarter.parse(ONE_QUARTER)] if which == "one" else quarter_range(QUARTERS)
    start = time.perf_counter()
    run = run_once(engine, codes, quarters, extract_path)
    print(
        json.dumps(
            {
                "peak_mib": round(vm_hwm_mib(), 1),
                "baseline_mib": round(baseline, 1),
                "seconds": round(time.perf_counter() - start, 2),
                "run": run,
            }
        )
    )


def peak_memory(codes: list[str], which: str, extract_path: Path, args) -> dict:
    command = [sys.executable, __file__, "--child", which, "--providers", args.providers, "--scale", str(args.scale)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        return {"error": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# Calibration ------------------------------------------------------------------------------------


def calibration(quarter: str) -> dict:
    folder = OUT / quarter
    kind = pl.DataFrame(
        {"provider_code": list(providers()), "type": ["CRC" if p.is_crc else "NPS" for p in providers().values()]}
    )
    levels = pl.read_csv(folder / "service_levels.csv", infer_schema_length=None).join(kind, on="provider_code")
    out: dict = {"service_levels_pct": {}, "reoffending": {}}
    for t in ("CRC", "NPS"):
        sums = (
            levels.filter(pl.col("type") == t, pl.col("denominator") > 0)
            .group_by("measure")
            .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
        )
        out["service_levels_pct"][t] = {
            m: {"pct": round(100 * n / d, 2), "numerator": n, "denominator": d}
            for m, n, d in sums.sort("measure").iter_rows()
        }
    reo = pl.read_csv(folder / "reoffending.csv", infer_schema_length=None).join(kind, on="provider_code")
    for t in ("CRC", "NPS"):
        part = reo.filter(pl.col("type") == t)
        cohort, offenders, offences = (int(part[c].sum()) for c in ("cohort_size", "reoffenders", "reoffences"))
        out["reoffending"][t] = {
            "cohort": cohort,
            "reoffenders": offenders,
            "reoffences": offences,
            "binary_pct": round(100 * offenders / cohort, 2) if cohort else None,
            "frequency": round(offences / offenders, 3) if offenders else None,
            "providers": part.height,
            "results": sorted(set(part["result"])),
            "extract_as_of": sorted(set(part["extract_as_of"])),
        }
    out["published_crc_ranges_pct"] = {m: list(r) for m, r in PUBLISHED.items()}
    out["published_reoffending"] = {
        "CRC": {"binary_pct": [42, 46], "frequency": 4.75},
        "NPS": {"binary_pct": 33, "frequency": 4.08},
    }
    out["crc_within_published_range"] = {
        m: (lo <= out["service_levels_pct"]["CRC"][m]["pct"] <= hi) if m in out["service_levels_pct"]["CRC"] else None
        for m, (lo, hi) in PUBLISHED.items()
    }
    return out


# Main -------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        None,
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "os": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", default="all", help="all, CRC, NPS or codes (default all: 28)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats-one", type=int, default=REPEATS_ONE, help="runs of one quarter (median)")
    parser.add_argument("--repeats-all", type=int, default=REPEATS_ALL, help="runs of 8 quarters (median)")
    parser.add_argument("--child", choices=["one", "all"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    codes = provider_codes(args.providers)

    if args.child:
        manifest = json.loads((LANDING / "manifest.json").read_text())
        child(codes, args.child, LANDING / f"reoffending_{manifest['extract_as_of']}.csv")
        return

    gen = generated(codes, args.scale)
    extract_path = LANDING / f"reoffending_{gen['manifest']['extract_as_of']}.csv"
    pipe = pipeline(codes, extract_path)
    engine = engine_for(URL)
    rows = rows_per_quarter(engine, codes)
    extract_rows = pl.scan_csv(extract_path, infer_schema=False).select(pl.len()).collect().item()

    one = [Quarter.parse(ONE_QUARTER)]
    one_runs = []  # no warm-up run: the files and the database are already in the page cache after set-up
    for i in range(args.repeats_one):
        one_runs.append(run_once(engine, codes, one, extract_path))
        print(f"one quarter, run {i + 1}: {one_runs[-1]['total_including_extract_load']:.2f} s", flush=True)
    memory = {"one_quarter": peak_memory(codes, "one", extract_path, args), "eight_quarters": []}
    all_runs = []
    for i in range(args.repeats_all):
        found = peak_memory(codes, "all", extract_path, args)
        if "run" not in found:
            print(found["error"], file=sys.stderr)
            break
        all_runs.append(found.pop("run"))
        memory["eight_quarters"].append(found)
        print(
            f"8 quarters, run {i + 1}: {all_runs[-1]['total_including_extract_load']:.2f} s, "
            f"peak {found['peak_mib']} MiB",
            flush=True,
        )
    memory["one_quarter"].pop("run", None)
    result = {
        "what": "measures and money (provider_levels for every provider, cohort_results, store, "
        "figures read back and written), after ingest and validation; seconds",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "generation": {
            "quarters": QUARTERS,
            "providers": len(codes),
            "scale": args.scale,
            "seed": SEED,
            "faults": 0.0,
            "extract_as_of": gen["manifest"]["extract_as_of"],
            "extract_rows": extract_rows,
            "seconds": gen["seconds"],
            "cached": gen["cached"],
        },
        "pipeline_per_quarter_seconds": pipe["seconds"],
        "pipeline_failed": pipe["failed"],
        "pipeline_cached": pipe["cached"],
        "rows_per_quarter": rows,
        "one_quarter": {
            "quarter": ONE_QUARTER,
            "runs": len(one_runs),
            "process": "the main process",
            "median": median_of(one_runs),
        },
        "eight_quarters": {
            "quarters": QUARTERS,
            "runs": len(all_runs),
            "process": "a fresh process per run",
            "median": median_of(all_runs) if all_runs else None,
        },
        "peak_memory": memory,
        "calibration_2017Q3": calibration(ONE_QUARTER),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "rows_per_quarter",
                    "one_quarter",
                    "eight_quarters",
                    "peak_memory",
                    "calibration_2017Q3",
                    "pipeline_per_quarter_seconds",
                )
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
