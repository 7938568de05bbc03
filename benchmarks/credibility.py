"""Timing: the credibility report of a quarter with its previous four quarters, for all 28 providers at full scale.

The five quarters' accepted returns (2017Q3 and 2016Q3..2017Q2, seed 7, scale 1.0 by default: "full scale", about
315,000 cases and 1.25 million contacts a quarter) come straight from the generator (``integrity.synthetic``: no
files, no warehouse; not timed). What is timed is ``credibility.report.compute`` over them: every provider's
figures for the five quarters (service levels by the measures' own counts), the national figures, the vanished
cases and the tests, as the quarter build and the portal page compute them once the records are read. Median of
``--repeats`` runs (default 3) in this process; peak resident memory (VmHWM) at the end.

Reading the records back from the warehouse is not in this figure, and the quarter build no longer computes the
report this way (each return's figures are stored once): ``benchmarks/credibility_warehouse.py`` times the report
end to end from a populated warehouse.

    .venv/bin/python benchmarks/credibility.py [--scale 1.0] [--repeats 3]

Figures go to stdout and ``benchmarks/results/credibility.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import polars as pl

from probation_returns import clock
from probation_returns.calendar import Quarter
from probation_returns.credibility.report import compute
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.reference import providers

RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "credibility.json"


def _peak_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quarter", default="2017Q3")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    codes = list(providers())
    started = time.perf_counter()
    data = quarter_data(args.seed, quarter, codes, args.scale)
    generated = time.perf_counter() - started
    cases = sum(t["cases"].height for t in data.current.values())
    contacts = sum(t["contacts"].height for t in data.current.values())
    print(f"generated 5 quarters x 28 providers in {generated:.0f} s ({cases:,} cases, {contacts:,} contacts now)")
    times, rows = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        rows = compute(data, codes)
        times.append(time.perf_counter() - t)
        print(f"report: {times[-1]:.2f} s, {len(rows):,} rows, {sum(r.flagged for r in rows)} flagged", flush=True)
    result = {
        "what": "credibility.report.compute for one quarter with its previous four, 28 providers; seconds",
        "date": clock.now().date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "polars": pl.__version__},
        "quarter": str(quarter),
        "scale": args.scale,
        "seed": args.seed,
        "cases_this_quarter": cases,
        "contacts_this_quarter": contacts,
        "generation_seconds": round(generated, 1),
        "report_seconds": [round(t, 2) for t in times],
        "report_median_seconds": round(statistics.median(times), 2),
        "rows": len(rows),
        "flagged": sum(r.flagged for r in rows),
        "peak_mib": round(_peak_mib() or 0, 0),
    }
    print(json.dumps(result, indent=1))
    if args.scale == 1.0:
        RESULT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
