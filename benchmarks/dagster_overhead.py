"""Timing: Dagster's bookkeeping for one provider-shaped run, by instance configuration.

A job shaped like ``provider_intake`` (4 partitioned assets in a chain, the first with 7 partitioned
checks) whose steps do no work, so what is timed is Dagster alone: creating the run, its planned
events, every step's events and their storage. Each configuration gets a fresh ``DAGSTER_HOME`` and
one process; after one warm-up run, ``--runs`` runs (default 20) are timed one by one and the median
reported:

- ``dagster default``: no ``dagster.yaml`` but telemetry off (Dagster's own SQLite storage);
- ``project template``: ``orchestration/instance_templates/sqlite.yaml`` as ``prepare`` writes it
  (the event log with kept connections and copied run databases);
- ``project template, command line``: the same instance as ``returns run`` opens it (no stdout and
  stderr capture: ``orchestration.runner.runs.instance``).

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/dagster_overhead.py [--runs 20]

Figures go to stdout and ``benchmarks/results/dagster_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "dagster_overhead.json"
CONFIGURATIONS = ("dagster default", "project template", "project template, command line")


def child(configuration: str, runs: int) -> None:
    import dagster as dg

    warnings.simplefilter("ignore")
    parts = dg.StaticPartitionsDefinition([f"p{i}" for i in range(runs + 1)])
    checks = [dg.AssetCheckSpec(f"check_{i}", asset="validation", partitions_def=parts) for i in range(7)]

    @dg.asset(partitions_def=parts)
    def submission():
        return dg.MaterializeResult(metadata={"status": "new"})

    @dg.asset(partitions_def=parts, deps=[submission], check_specs=checks)
    def validation():
        yield dg.MaterializeResult(metadata={"outcome": "Accepted"})
        for i in range(7):
            yield dg.AssetCheckResult(check_name=f"check_{i}", passed=True)

    @dg.asset(partitions_def=parts, deps=[validation])
    def accepted():
        return dg.MaterializeResult(metadata={"version": 1})

    @dg.asset(partitions_def=parts, deps=[accepted])
    def measures():
        return dg.MaterializeResult(metadata={"statuses": 9})

    job = dg.Definitions(
        assets=[submission, validation, accepted, measures], jobs=[dg.define_asset_job("provider_intake")]
    ).resolve_job_def("provider_intake")
    with tempfile.TemporaryDirectory() as home:
        os.environ["DAGSTER_HOME"] = home
        if configuration == "dagster default":
            (Path(home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            instance = dg.DagsterInstance.get()
        else:
            from orchestration.instance import prepare
            from orchestration.runner.runs import instance as command_line_instance

            prepare(Path(home))
            instance = dg.DagsterInstance.get() if configuration == "project template" else command_line_instance()
        quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        job.execute_in_process(partition_key="p0", instance=instance, run_config=quiet)  # warm-up
        seconds = []
        for i in range(1, runs + 1):
            start = time.perf_counter()
            job.execute_in_process(partition_key=f"p{i}", instance=instance, run_config=quiet)
            seconds.append(time.perf_counter() - start)
        kind = type(instance.event_log_storage).__name__
        instance.dispose()
    print(
        json.dumps(
            {
                "configuration": configuration,
                "event_log": kind,
                "median_s": statistics.median(seconds),
                "min_s": min(seconds),
                "max_s": max(seconds),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.runs)
        return
    results = []
    for configuration in CONFIGURATIONS:
        done = subprocess.run(
            [sys.executable, __file__, "--child", configuration, "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"{configuration} failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(
            f"{configuration:<32} {r['median_s']:.3f} s a run (median of {args.runs}; "
            f"{r['min_s']:.3f}-{r['max_s']:.3f}), event log {r['event_log']}",
            flush=True,
        )
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                "runs": args.runs,
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
