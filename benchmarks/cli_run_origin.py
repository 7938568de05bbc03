"""Timing: what recording the command line's runs under their code location costs a provider run.

The command line used to run each job with ``execute_in_process`` on definitions bound to its folders (a run
with no code-location origin, missing from the UI's Timeline and job pages); it now creates the run with the
code location's origin and executes it in the same process (``orchestration.origin``), its folders as run
configuration. Both are timed here on the same work, in one process, on an instance opened as ``returns run``
opens it (a fresh ``DAGSTER_HOME``, no log capture):

- 2017Q3 is generated for four providers (scale 0.05, seed 7) and each return received once;
- then ``provider_intake`` runs for those returns (the same work each time: an unchanged return checked
  again), alternating the two ways, ``--runs`` times each (default 20), and the median of each is reported.

A plain timing script: it measures and reports, it asserts nothing. Run from the project root:

    uv run python benchmarks/cli_run_origin.py [--runs 20]

Figures go to stdout and ``benchmarks/results/cli_run_origin.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "cli_run_origin.json"
PROVIDERS = ["C05", "C06", "N01", "N05"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("RETURNS_PSEUDONYM_KEY", "benchmark-key-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["DAGSTER_HOME"] = str(folder / "dagster")
        import dagster as dg

        from assets.lib.partitions import return_key
        from assets.lib.resources import Folders, Warehouse
        from orchestration.definitions import ASSETS, JOBS
        from orchestration.runner import runs as command_line
        from probation_returns.calendar import Quarter
        from probation_returns.generator import generate
        from probation_returns.warehouse.db import upgrade

        quarter = Quarter.parse("2017Q3")
        generate(folder / "landing", [quarter], PROVIDERS, scale=0.05, seed=7, faults=0.002)
        url = f"sqlite:///{folder / 'returns.db'}"
        upgrade(url)
        resources = {
            "warehouse": Warehouse(url=url),
            "folders": Folders(
                landing=str(folder / "landing"),
                archive=str(folder / "archive"),
                output=str(folder / "output"),
                alerts=str(folder / "alerts"),
            ),
        }
        instance = command_line.instance()
        bound = dg.Definitions(assets=ASSETS, jobs=JOBS, resources=resources).resolve_job_def("provider_intake")

        def before(code: str) -> bool:  # the old way: execute_in_process, no origin
            result = bound.execute_in_process(
                partition_key=return_key(quarter, code),
                instance=instance,
                raise_on_error=False,
                tags=command_line._tags(),
                run_config=command_line.QUIET,
            )
            return result.success

        def after(code: str) -> bool:  # the command line's way now
            return command_line._execute("provider_intake", resources, instance, return_key(quarter, code)).success

        for code in PROVIDERS:  # received once; both ways warmed up
            assert after(code) and before(code)
        seconds: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(args.runs):
            code = PROVIDERS[i % len(PROVIDERS)]
            for name, way in (
                (("before", before), ("after", after)) if i % 2 else (("after", after), ("before", before))
            ):
                start = time.perf_counter()
                ok = way(code)
                seconds[name].append(time.perf_counter() - start)
                assert ok, f"{name} failed for {code}"
        labelled = len(
            instance.get_runs(
                filters=dg.RunsFilter(tags={".dagster/repository": "__repository__@orchestration.definitions"})
            )
        )
        instance.dispose()
    results = {
        name: {"median_s": statistics.median(s), "min_s": min(s), "max_s": max(s)} for name, s in seconds.items()
    }
    for name, label in (("before", "execute_in_process, no origin"), ("after", "under the code location")):
        r = results[name]
        print(
            f"{label:<32} {r['median_s']:.3f} s a provider run (median of {args.runs}; "
            f"{r['min_s']:.3f}-{r['max_s']:.3f})"
        )
    print(f"runs with the code location's label: {labelled} of {2 * (args.runs + len(PROVIDERS))}")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                "runs": args.runs,
                "providers": PROVIDERS,
                "results": results,
                "runs_labelled": labelled,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
