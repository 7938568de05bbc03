"""Timing: the whole `returns validate` process on the 1M-case return against a process that only reads it (issue 29).

The issue's bar, measured as it is stated: a fresh process running ``returns validate`` on the 1,000,000-case
return (2,000,000 contacts) of ``benchmarks/validation_large.py``, feedback files written, against a fresh
process that only imports Polars and reads the same three CSVs; wall seconds and peak resident memory of each,
in pairs (validate, read; the order alternating pair by pair), medians of the pairs. Targets: time at most 2x,
peak memory at most 1.3x. A plain timing script: it measures and reports, it asserts nothing.

    uv run python benchmarks/validate_process.py [--pairs 5]

Each process's peak is the kernel's own count for the finished child (``wait4``'s ru_maxrss). This script
imports nothing heavy, so the peak a child inherits from it at fork (Linux keeps it across exec) stays far
below what is measured; the line "this process" prints it. The return is made by ``validation_large.py``
the first time (about a minute, cached in ``benchmarks/.data/``). Figures go to stdout and
``benchmarks/results/validate_process.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
RETURN = DATA / "return"
OUT = DATA / "validate-process-out"
RESULT = ROOT / "benchmarks" / "results" / "validate_process.json"
PROVIDER, QUARTER = "C17", "2017Q3"
FILES = [RETURN / f"{PROVIDER}_{QUARTER}_{t}.csv" for t in ("cases", "contacts", "breaches")]
BIN = Path(sys.executable).parent
READ_ONLY = "import sys, polars as pl; [pl.read_csv(p, infer_schema=False) for p in sys.argv[1:]]"
TIME_TARGET, MEMORY_TARGET = 2.0, 1.3


def commands() -> dict[str, list[str]]:
    files = [str(p) for p in FILES]
    validate = [str(BIN / "returns"), "validate", *files, "--provider", PROVIDER, "--quarter", QUARTER]
    return {
        "validate": [*validate, "--out", str(OUT)],
        "read": [str(BIN / "python"), "-c", READ_ONLY, *files],
    }


def run(command: list[str]) -> dict:
    """One fresh process: wall seconds from its start to its reaping, its peak resident memory, its exit code."""
    shutil.rmtree(OUT, ignore_errors=True)
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "exit": child.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="pairs run first and not counted (default 1)")
    args = parser.parse_args()

    if not all(p.exists() for p in FILES):
        print("making the 1M-case return with benchmarks/validation_large.py (once)...", flush=True)
        subprocess.run(
            [str(BIN / "python"), "-c", "import validation_large; validation_large.prepare()"],
            cwd=ROOT / "benchmarks",
            check=True,
        )
    cmds = commands()
    for name, command in cmds.items():
        print(f"{name}: {shlex.join(command)}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process: {own:.0f} MiB peak (a child's peak reads at least this)", flush=True)

    started = dt.datetime.now().astimezone()
    load_before = os.getloadavg()
    pairs = []
    for i in range(args.warmup + args.pairs):
        order = ("validate", "read") if i % 2 == 0 else ("read", "validate")
        pair = {name: run(cmds[name]) for name in order}
        if i < args.warmup:
            continue
        pair["time_ratio"] = pair["validate"]["seconds"] / pair["read"]["seconds"]
        pair["memory_ratio"] = pair["validate"]["peak_mib"] / pair["read"]["peak_mib"]
        pairs.append(pair)
        print(
            f"pair {len(pairs)}: validate {pair['validate']['seconds']:.2f} s {pair['validate']['peak_mib']:,.0f} MiB "
            f"(exit {pair['validate']['exit']}); read {pair['read']['seconds']:.2f} s "
            f"{pair['read']['peak_mib']:,.0f} MiB; {pair['time_ratio']:.2f}x time, {pair['memory_ratio']:.2f}x memory",
            flush=True,
        )
    load_after = os.getloadavg()

    def median(key: str, name: str | None = None) -> float:
        return statistics.median(p[name][key] if name else p[key] for p in pairs)

    summary = {
        "validate_seconds": median("seconds", "validate"),
        "read_seconds": median("seconds", "read"),
        "validate_peak_mib": median("peak_mib", "validate"),
        "read_peak_mib": median("peak_mib", "read"),
        "time_ratio": median("time_ratio"),
        "memory_ratio": median("memory_ratio"),
    }
    out = {
        "benchmark": "validate_process",
        "date": started.isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "load_average_before_after": [load_before, load_after],
        "commands": {k: shlex.join(v) for k, v in cmds.items()},
        "pairs": pairs,
        "medians": summary,
        "targets": {
            "time": {"target": f"<= {TIME_TARGET}x", "met": summary["time_ratio"] <= TIME_TARGET},
            "memory": {"target": f"<= {MEMORY_TARGET}x", "met": summary["memory_ratio"] <= MEMORY_TARGET},
        },
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=1) + "\n")
    verdict = {k: "met" if v["met"] else "MISSED" for k, v in out["targets"].items()}
    print()
    print(f"medians of {len(pairs)} pairs (load average {load_before[0]:.1f} before, {load_after[0]:.1f} after):")
    print(
        f"  time:   validate {summary['validate_seconds']:.2f} s, read {summary['read_seconds']:.2f} s, "
        f"{summary['time_ratio']:.2f}x (target <= {TIME_TARGET}x: {verdict['time']})"
    )
    print(
        f"  memory: validate {summary['validate_peak_mib']:,.0f} MiB, read {summary['read_peak_mib']:,.0f} MiB, "
        f"{summary['memory_ratio']:.2f}x (target <= {MEMORY_TARGET}x: {verdict['memory']})"
    )
    print(f"written {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
