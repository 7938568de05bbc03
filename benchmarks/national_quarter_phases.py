"""Timing: where a national quarter's work goes, function by function, in one process.

The quarter of ``benchmarks/national_quarter.py`` (2017Q3, 28 providers, scale 1.0, the same cached data)
through `returns run` in this process with ``--workers 1`` (every run here, one after another), with timers
around the functions that read, validate, store and build, and around each Dagster run. Each line is the
function's wall seconds, its CPU seconds (this process, every thread: Polars' threads count) and how many
times it ran; nested functions are counted in their callers too. What a run costs beyond its assets is
Dagster's bookkeeping. CPU seconds are the figure to compare on a shared machine: wall seconds there measure
the other users.

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/national_quarter_phases.py [--postgres URL]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = [
    ("orchestration.runner.runs", "_execute"),
    ("dagster._core.instance.runs.run_domain", "RunDomain.create_run_for_job"),
    ("assets.lib.alerting", "with_check_alerts"),
    ("probation_returns.validation.service", "validate_submission"),
    ("probation_returns.validation.checking", "validate_files"),
    ("probation_returns.validation.store", "store"),
    ("probation_returns.validation.store", "_bulk"),
    ("reports.feedback", "with_feedback"),
    ("probation_returns.ingest", "receive"),
    ("probation_returns.credibility.store", "keep_return"),
    ("probation_returns.measures.quarter", "provider_levels"),
    ("probation_returns.measures.quarter", "store_levels"),
    ("probation_returns.measures.quarter", "cohort_results"),
    ("probation_returns.measures.quarter", "accepted_tables"),
    ("probation_returns.measures.reoffending_extract", "load"),
    ("probation_returns.measures.reoffending_extract", "register"),
    ("probation_returns.integrity.store", "ensure"),
    ("probation_returns.integrity.inputs", "quarter_data"),
    ("reports.ministry.build", "build_return"),
    ("reports.ministry.workbook", "write_workbook"),
    ("probation_returns.warehouse.db", "upgrade"),
    ("orchestration.instance", "open_instance"),
]
spent: dict[str, list] = defaultdict(lambda: [0.0, 0.0, 0])


def _timed(label: str, function, generator: bool = False):
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            result = function(*args, **kwargs)
            return list(result) if generator else result  # a generator's work is done when it is consumed
        finally:
            total = spent[label]
            total[0] += time.perf_counter() - wall
            total[1] += time.process_time() - cpu
            total[2] += 1

    return timed


def _install() -> None:
    """Each function replaced by its timed self wherever it was imported (by identity)."""
    for module_name, name in TIMED:
        module = importlib.import_module(module_name)
        if "." in name:
            owner, method = name.split(".")
            cls = getattr(module, owner)
            setattr(cls, method, _timed(name, getattr(cls, method)))
            continue
        original = getattr(module, name)
        timed = _timed(f"{module_name.rsplit('.', 1)[1]}.{name}", original, generator=name == "with_check_alerts")
        for loaded in list(sys.modules.values()):
            space = getattr(loaded, "__dict__", None) or {}
            for key, value in list(space.items()):
                if value is original:
                    space[key] = timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL server URL: the warehouse in a scratch database there")
    args = parser.parse_args()
    from benchmarks.national_quarter import KEY, QUARTER, landing, scratch_database

    folder = landing(1.0)
    extract = next(folder.glob("reoffending_*.csv"))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        url = stack.enter_context(scratch_database(args.postgres)) if args.postgres else f"sqlite:///{tmp / 'w.db'}"
        os.environ.update(
            {
                "RETURNS_PSEUDONYM_KEY": KEY,
                "RETURNS_DATABASE_URL": url,
                "DAGSTER_HOME": str(tmp / "dagster"),
                "RETURNS_ARCHIVE": str(tmp / "archive"),
            }
        )
        wall, cpu = time.perf_counter(), time.process_time()
        import orchestration.definitions  # noqa: F401 - loaded before the timers go in, as the command loads it

        _install()
        from typer.testing import CliRunner

        from cli.main import app

        command = ["run", "--landing", str(folder), "--quarter", QUARTER, "--out", str(tmp / "out")]
        result = CliRunner().invoke(app, [*command, "--extract", str(extract), "--workers", "1"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.exit_code:
        raise SystemExit(f"returns run exited {result.exit_code}:\n{result.output[-2000:]}")
    load = os.getloadavg()[0]
    print(f"whole command: {wall:.1f} s wall, {cpu:.1f} s CPU (load average {load:.1f} at the end)")
    print(f"{'wall s':>8} {'CPU s':>8} {'calls':>6}  function")
    for label, (w, c, n) in sorted(spent.items(), key=lambda item: -item[1][1]):
        print(f"{w:8.2f} {c:8.2f} {n:6d}  {label}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
