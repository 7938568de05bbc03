"""Timing: validating one large provider return (1M cases, 2M contacts).

Compares, on the same three CSV files:
- Polars merely reading them (``pl.read_csv(path, infer_schema=False)``), the floor;
- our Polars engine, ``validate_files`` as a whole (reading, every rule, cascade, outcome);
- Great Expectations' own engine running the same suites (``expectations/*.json``) on pandas.

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/validation_large.py [--gx auto|full|sample|skip]

The return is generated once (C17, 2017Q3, seed 7, no faults) at the scale that gives about
1,000,000 cases, trimmed to exactly 1,000,000 cases and the first 2,000,000 contacts, and cached
under ``benchmarks/.data/``. Figures go to stdout and ``benchmarks/results/validation_large.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.validation.checking import params_for, validate_files
from probation_returns.validation.engine import Expectation, compile_expectation, evaluation_frame, parameters
from probation_returns.validation.reader import ROW, read_return

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
GENERATED = DATA / "generated"
RETURN = DATA / "return"
SCENARIO = DATA / "scenario.json"
RESULT = ROOT / "benchmarks" / "results" / "validation_large.json"

PROVIDER, QUARTER, SEED = "C17", "2017Q3", 7
TARGET_CASES, TARGET_CONTACTS = 1_000_000, 2_000_000
TABLES = ("cases", "contacts", "breaches")
REPEATS = 3
GX_SAMPLE_ROWS = 100_000
GX_FULL_LIMIT_S = 15 * 60  # above this projected time for cases, GX is measured on samples and extrapolated


def files(folder: Path) -> list[Path]:
    return [folder / f"{PROVIDER}_{QUARTER}_{t}.csv" for t in TABLES]


def count_rows(path: Path) -> int:
    return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()


# The scenario ----------------------------------------------------------------------------------


def prepare() -> dict:
    """Generate (once) and trim the return; its description is cached in scenario.json."""
    if SCENARIO.exists() and all(p.exists() for p in files(RETURN)):
        return json.loads(SCENARIO.read_text())
    DATA.mkdir(parents=True, exist_ok=True)
    quarter = [Quarter.parse(QUARTER)]

    probe = DATA / "probe"
    generate(probe, quarter, [PROVIDER], scale=1.0, seed=SEED, faults=0.0)
    cases_at_1 = count_rows(files(probe / PROVIDER)[0])
    shutil.rmtree(probe)
    scale = round(TARGET_CASES / cases_at_1 * 1.005, 3)  # a little over, then trimmed to exactly 1M

    while True:
        print(f"generating {PROVIDER} {QUARTER} at scale {scale} (scale 1.0 gives {cases_at_1:,} cases)...", flush=True)
        if GENERATED.exists():
            shutil.rmtree(GENERATED)
        t = time.perf_counter()
        generate(GENERATED, quarter, [PROVIDER], scale=scale, seed=SEED, faults=0.0)
        generation_s = time.perf_counter() - t
        generated = dict(zip(TABLES, (count_rows(p) for p in files(GENERATED / PROVIDER))))
        if generated["cases"] >= TARGET_CASES:
            break
        scale = round(scale * TARGET_CASES / generated["cases"] * 1.005, 3)

    RETURN.mkdir(parents=True, exist_ok=True)
    src, dst = files(GENERATED / PROVIDER), files(RETURN)
    cases = pl.read_csv(src[0], infer_schema=False).head(TARGET_CASES)
    contacts = pl.read_csv(src[1], infer_schema=False).head(TARGET_CONTACTS)
    breaches = pl.read_csv(src[2], infer_schema=False)
    cases.write_csv(dst[0])
    contacts.write_csv(dst[1])
    shutil.copyfile(src[2], dst[2])
    kept = cases.select("case_ref")
    scenario = {
        "provider": PROVIDER,
        "quarter": QUARTER,
        "seed": SEED,
        "faults": 0.0,
        "scale": scale,
        "cases_at_scale_1": cases_at_1,
        "generation_seconds": round(generation_s, 1),
        "generated_rows": generated,
        "benchmark_rows": {"cases": cases.height, "contacts": contacts.height, "breaches": breaches.height},
        "trimming": f"cases: first {TARGET_CASES:,} rows; contacts: first {TARGET_CONTACTS:,} rows; breaches: all",
        "rows_whose_case_was_trimmed": {
            "contacts": contacts.join(kept, on="case_ref", how="anti").height,
            "breaches": breaches.join(kept, on="case_ref", how="anti").height,
        },
        "file_bytes": {t: p.stat().st_size for t, p in zip(TABLES, dst)},
    }
    SCENARIO.write_text(json.dumps(scenario, indent=1) + "\n")
    return scenario


# Polars read and our validation ----------------------------------------------------------------


def polars_read(paths: list[Path]) -> float:
    t = time.perf_counter()
    frames = [pl.read_csv(p, infer_schema=False) for p in paths]
    s = time.perf_counter() - t
    del frames
    return s


def our_validation(paths: list[Path]):
    t = time.perf_counter()
    result = validate_files(paths, PROVIDER, QUARTER)
    return time.perf_counter() - t, result


def our_reader(paths: list[Path]) -> float:
    t = time.perf_counter()
    raw = read_return(paths, PROVIDER, QUARTER)
    s = time.perf_counter() - t
    del raw
    return s


def repeat(fn, paths):
    runs = []
    for _ in range(REPEATS):
        gc.collect()
        runs.append(fn(paths))
    return runs


def peak_memory_child(mode: str) -> None:
    """Run in a fresh process: one validation (or one plain read), then print peak memory as JSON."""
    paths = files(RETURN)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if mode == "validate":
        s, _ = our_validation(paths)
    else:
        s = polars_read(paths)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:")
    )
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": s,
                "max_rss_mib_after_imports": before / 1024,
                "max_rss_mib": peak / 1024,
                "vm_hwm_mib": hwm / 1024,
            }
        )
    )


def peak_memory(mode: str) -> dict:
    # Linux carries a process's ru_maxrss across fork and exec, so a child forked straight from this
    # (large) process would report this process's peak. A small shell in between gives a clean count.
    command = [sys.executable, __file__, "--peak-memory", mode]
    done = subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", *command], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# Great Expectations ----------------------------------------------------------------------------


def gx_engine(paths: list[Path], mode: str) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    warnings.filterwarnings("ignore")
    t = time.perf_counter()
    import great_expectations as gx
    import pandas as pd
    from great_expectations.expectations.registry import get_expectation_impl

    import_s = time.perf_counter() - t

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
    )
    specs, suites = {}, {}
    for table in TABLES:
        specs[table] = json.loads((ROOT / "expectations" / f"{table}.json").read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(name=f"benchmark_{table}")
        for e in specs[table]["expectations"]:
            suite.add_expectation(get_expectation_impl(e["type"])(**e["kwargs"], meta=e["meta"]))
        suites[table] = context.suites.add(suite)
    values = parameters(params_for(PROVIDER, QUARTER))
    gx_values = {
        "provider_codes": values["provider_codes"],
        "quarter_first_day": pd.Timestamp(values["quarter_first_day"]),
        "quarter_last_day": pd.Timestamp(values["quarter_last_day"]),
    }

    raw = read_return(paths, PROVIDER, QUARTER)

    def to_pandas(frame: pl.DataFrame):
        t = time.perf_counter()
        out = pd.DataFrame(
            {
                c: pd.to_datetime(pd.Series(frame[c].to_list(), dtype="object"))
                if c.endswith("__date")
                else pd.Series(frame[c].to_list(), dtype="object")
                for c in frame.columns
            }
        )
        return out, time.perf_counter() - t

    def run(table: str, frame: pl.DataFrame) -> dict:
        pdf, convert_s = to_pandas(frame)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": pdf})
        t = time.perf_counter()
        result = batch.validate(suites[table], expectation_parameters=gx_values, result_format="SUMMARY")
        validate_s = time.perf_counter() - t
        del pdf, batch
        # Sanity: GX ran every expectation without error and agrees with our engine on the same rows.
        ours = (
            frame.select(
                compile_expectation(Expectation(e["type"], e["kwargs"], e["meta"]), values).alias(f"x{i}")
                for i, e in enumerate(specs[table]["expectations"])
            )
            .sum()
            .row(0)
        )
        exceptions, mismatches = 0, 0
        for e, unexpected in zip(specs[table]["expectations"], ours):
            match = [
                r
                for r in result.results
                if r.expectation_config.type == e["type"] and r.expectation_config.meta == e["meta"]
            ]
            if not match or match[0].exception_info.get("raised_exception"):
                exceptions += 1
            elif match[0].result.get("unexpected_count", 0) != unexpected:
                mismatches += 1
        return {
            "rows": frame.height,
            "validate_seconds": validate_s,
            "pandas_conversion_seconds": convert_s,
            "expectations": len(specs[table]["expectations"]),
            "gx_exceptions": exceptions,
            "unexpected_count_mismatches_vs_ours": mismatches,
        }

    def sample(frame: pl.DataFrame) -> pl.DataFrame:
        return frame if frame.height <= GX_SAMPLE_ROWS else frame.sample(GX_SAMPLE_ROWS, seed=SEED).sort(ROW)

    evaluated = {t: evaluation_frame(t, raw.tables[t], raw.tables) for t in TABLES}
    full_rows = {t: f.height for t, f in evaluated.items()}
    probe = None
    if mode == "auto":
        print(f"GX: probing on {GX_SAMPLE_ROWS:,} sampled cases...", flush=True)
        probe = run("cases", sample(evaluated["cases"]))
        projected = probe["validate_seconds"] * full_rows["cases"] / probe["rows"]
        mode = "sample" if projected > GX_FULL_LIMIT_S else "full"
        print(f"GX: cases projected at {projected:,.0f} s -> {mode} mode", flush=True)
    tables = {}
    for table in TABLES:
        if mode == "sample" and table == "cases" and probe is not None:
            measured = probe
        else:
            print(f"GX: validating {table} ({mode})...", flush=True)
            measured = run(table, sample(evaluated[table]) if mode == "sample" else evaluated[table])
        factor = full_rows[table] / measured["rows"]
        measured["full_rows"] = full_rows[table]
        measured["extrapolation_factor"] = factor
        measured["validate_seconds_full_table"] = measured["validate_seconds"] * factor
        tables[table] = measured
        gc.collect()
    return {
        "mode": mode,
        "runs": 1,
        "import_seconds_excluded": import_s,
        "extrapolated": mode == "sample" and any(t["extrapolation_factor"] > 1 for t in tables.values()),
        "sample_rows": GX_SAMPLE_ROWS if mode == "sample" else None,
        "tables": tables,
        "validate_seconds_total": sum(t["validate_seconds_full_table"] for t in tables.values()),
        "pandas_conversion_seconds_total_measured": sum(t["pandas_conversion_seconds"] for t in tables.values()),
        "great_expectations_version": gx.__version__,
        "pandas_version": pd.__version__,
    }


# Report ----------------------------------------------------------------------------------------


def machine() -> dict:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu,
        "mem_total": meminfo["MemTotal"].strip(),
        "mem_total_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "platform": platform.platform(),
    }


READ_ONLY = "import sys, polars as pl; [pl.read_csv(p, infer_schema=False) for p in sys.argv[1:]]"


def whole_process(command: list[str]) -> float:
    """Seconds for a fresh process, start-up and imports included (``returns`` and ``python`` from this venv)."""
    exe = Path(sys.executable).parent / command[0]
    shutil.rmtree(DATA / "validate-out", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [str(exe), *command[1:]], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gx",
        choices=["auto", "full", "sample", "skip"],
        default="auto",
        help="GX on whole tables, on samples extrapolated linearly, or decide from a probe (auto)",
    )
    parser.add_argument("--peak-memory", choices=["validate", "read"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_memory:
        peak_memory_child(args.peak_memory)
        return

    started = dt.datetime.now().astimezone()
    scenario = prepare()
    paths = files(RETURN)
    rows = scenario["benchmark_rows"]
    print(
        f"return: {', '.join(f'{rows[t]:,} {t}' for t in TABLES)} (scale {scenario['scale']}; "
        f"generated {', '.join(f'{v:,} {k}' for k, v in scenario['generated_rows'].items())})",
        flush=True,
    )

    print("timing Polars read x3...", flush=True)
    read_runs = repeat(polars_read, paths)
    print("timing our reader (read_return) x3...", flush=True)
    reader_runs = repeat(our_reader, paths)
    print("timing our validation x3...", flush=True)
    ours_runs, result = [], None
    for _ in range(REPEATS):
        result = None
        gc.collect()
        s, result = our_validation(paths)
        ours_runs.append(s)
    findings_by_rule = dict(result.findings.group_by("rule_id").len().sort("rule_id").iter_rows())
    validation = {
        "outcome": result.outcome,
        "reasons": result.reasons,
        "findings": result.findings.height,
        "findings_by_rule": findings_by_rule,
        "tables": result.tables,
    }
    del result
    gc.collect()

    print("timing the whole `returns validate` process and a process that only reads x3 (issue 16)...", flush=True)
    process_runs = [
        whole_process(
            [
                "returns",
                "validate",
                *map(str, paths),
                "--provider",
                PROVIDER,
                "--quarter",
                QUARTER,
                "--out",
                str(DATA / "validate-out"),
            ]
        )
        for _ in range(REPEATS)
    ]
    read_process_runs = [whole_process(["python", "-c", READ_ONLY, *map(str, paths)]) for _ in range(REPEATS)]

    print("peak memory (separate processes)...", flush=True)
    memory = {"validate": peak_memory("validate"), "read": peak_memory("read")}

    gx = None if args.gx == "skip" else gx_engine(paths, args.gx)

    read_s, reader_s, ours_s = (statistics.median(r) for r in (read_runs, reader_runs, ours_runs))
    process_s, read_process_s = statistics.median(process_runs), statistics.median(read_process_runs)
    ratios = {
        "validation_over_read": ours_s / read_s,
        "validate_process_over_read": process_s / read_s,
        "validate_process_over_read_process": process_s / read_process_s,
    }
    targets_16 = {
        "measured": process_s / read_s,
        "target": "<= 2 (issue 16: the whole process against Polars' read)",
        "met": process_s / read_s <= 2,
    }
    targets = {
        "validation_at_most_3x_read": {"measured": ours_s / read_s, "target": "<= 3", "met": ours_s / read_s <= 3},
        "returns_validate_process_at_most_2x_read": targets_16,
    }
    if gx:
        ratios["gx_over_ours"] = gx["validate_seconds_total"] / ours_s
        targets["at_least_10x_faster_than_gx"] = {
            "measured": ratios["gx_over_ours"],
            "target": ">= 10",
            "met": ratios["gx_over_ours"] >= 10,
        }
    out = {
        "benchmark": "validation_large",
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "scenario": scenario,
        "rows": rows,
        "repeats": REPEATS,
        "seconds": {
            "polars_read": {"median": read_s, "runs": read_runs},
            "our_reader_read_return": {"median": reader_s, "runs": reader_runs},
            "our_validation": {"median": ours_s, "runs": ours_runs},
            "returns_validate_process": {"median": process_s, "runs": process_runs},
            "polars_read_process": {"median": read_process_s, "runs": read_process_runs},
            "gx_validate": gx["validate_seconds_total"] if gx else None,
        },
        "ratios": ratios,
        "targets": targets,
        "peak_memory": memory,
        "validation": validation,
        "gx": gx,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=1, default=str) + "\n")

    print()
    print(f"{'step':<52}{'seconds':>10}")
    print(f"{'Polars read_csv, 3 files (median of 3)':<52}{read_s:>10.2f}")
    print(f"{'  our reader alone, read_return (median of 3)':<52}{reader_s:>10.2f}")
    print(f"{'our validation, validate_files (median of 3)':<52}{ours_s:>10.2f}")
    if gx:
        note = "extrapolated from samples" if gx["extrapolated"] else "whole tables"
        for t in TABLES:
            g = gx["tables"][t]
            label = f"  GX {t} ({g['rows']:,} rows measured)"
            print(
                f"{label:<52}"
                f"{g['validate_seconds']:>10.2f}  -> {g['validate_seconds_full_table']:.1f} for {g['full_rows']:,}"
            )
        print(f"{f'GX validate, 3 tables (1 run, {note})':<52}{gx['validate_seconds_total']:>10.2f}")
        print(
            f"{'  (excluded) GX pandas conversion, measured rows':<52}"
            f"{gx['pandas_conversion_seconds_total_measured']:>10.2f}"
        )
        print(f"{'  (excluded) GX import':<52}{gx['import_seconds_excluded']:>10.2f}")
    print()
    print(
        f"`returns validate` process (median of 3): {process_s:.2f} s; a process that only reads: "
        f"{read_process_s:.2f} s"
    )
    print(
        f"whole process / Polars read = {ratios['validate_process_over_read']:.2f}x (issue 16 target <= 2x: "
        f"{'met' if targets_16['met'] else 'MISSED'}); / a reading process = "
        f"{ratios['validate_process_over_read_process']:.2f}x"
    )
    print(
        f"validation / read = {ratios['validation_over_read']:.2f}x (target <= 3x: "
        f"{'met' if targets['validation_at_most_3x_read']['met'] else 'MISSED'})"
    )
    if gx:
        print(
            f"GX / ours = {ratios['gx_over_ours']:.1f}x (target >= 10x: "
            f"{'met' if targets['at_least_10x_faster_than_gx']['met'] else 'MISSED'})"
        )
    print(
        f"peak RSS, our validation alone: {memory['validate']['max_rss_mib']:,.0f} MiB "
        f"(Polars read alone: {memory['read']['max_rss_mib']:,.0f} MiB)"
    )
    print(f"outcome: {validation['outcome']}; findings: {validation['findings']:,} {findings_by_rule}")
    print(f"written {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
