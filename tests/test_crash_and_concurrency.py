"""A run that is killed, or that meets another run, must leave what one uninterrupted run leaves.

Issue 11, "Done when":
1. ``returns run`` is killed with SIGKILL (the whole process group: the CLI and its worker processes)
   at 10 random moments on SQLite and on PostgreSQL; each is rerun to completion in the same warehouse,
   output folder and Dagster home, and the outputs (CSV twin, manifest minus build time) and the
   warehouse must equal an uninterrupted run's, with no orphan build folder.
2. Two ``returns run`` on the same landing folder at once (same warehouse, output, archive and Dagster
   home, as when the command is started twice): both exit 0, and outputs and warehouse equal one run's.

What "equal" means, and what is left out because two separate uninterrupted runs differ there too
(the intake time, the database's numbering of submissions, the build time in the workbooks), is in
``tests/support/pipeline_harness.py``. Each kill starts from an empty warehouse and empty folders: a kill in a
warehouse that already holds the finished quarter would test little. The moments are stratified: one
random point in each tenth of a run (from 0.5 s, scaled to how long the latest complete run took), so
the start, the provider runs and the quarter's build are all hit. Three more kills wait for a step of
the build to show on disk, since the build is too short for random moments to land in reliably. Also
here: two first runs migrating a new warehouse at once. ``RETURNS_CRASH_SEED`` and
``RETURNS_CRASH_KILLS`` change the seed and the number of random kills; a failure names each kill's
moment. About 10 minutes per backend on the 2-core machine (one run of the small quarter takes 23-25 s;
the 10 kills with their reruns are about 6.5 minutes of it).
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, POSTGRES_URL, _postgres_database
from tests.support.pipeline_harness import (
    RETURNS,
    RunResult,
    Scenario,
    Snapshot,
    build_folder_written,
    differences,
    generate_landing,
    publishing,
    recorded_builds,
    snapshot,
    staging_has_files,
    writing_extract_findings,
)

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("RETURNS_CRASH_KILLS", "10"))
SEED = int(os.environ.get("RETURNS_CRASH_SEED", "20171"))
EARLIEST_KILL = 0.5  # seconds after the start


class Warehouses:
    """Fresh, empty warehouses of one backend; PostgreSQL databases are dropped when the module ends."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name, self.folder, self._drops = name, folder, {}

    def new(self, label: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.folder / f'{label}.db'}"
        url, drop = _postgres_database()
        self._drops[url] = drop
        return url

    def drop(self, url: str) -> None:
        if url in self._drops:
            self._drops.pop(url)()

    def close(self) -> None:
        for url in list(self._drops):
            self.drop(url)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four providers (CRC and NPS; CSV and workbook returns) at 2% of real volume, and an extract."""
    return generate_landing(tmp_path_factory.mktemp("crash") / "landing")


@pytest.fixture(scope="module", params=BACKENDS)
def warehouses(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The same backends as ``database_url`` in conftest.py, but one module-wide factory of fresh databases."""
    if request.param == "postgresql" and not POSTGRES_URL:
        if os.environ.get("RETURNS_REQUIRE_POSTGRES"):
            pytest.fail("RETURNS_REQUIRE_POSTGRES is set but RETURNS_TEST_POSTGRES_URL is not")
        pytest.skip("RETURNS_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    factory = Warehouses(request.param, tmp_path_factory.mktemp(f"{request.param}-runs"))
    yield factory
    factory.close()


@dataclass
class Baseline:
    snapshot: Snapshot
    seconds: float


def _timeout(seconds: float) -> float:
    return max(240.0, 6 * seconds)


@pytest.fixture(scope="module")
def baseline(warehouses: Warehouses, landing: Path) -> Baseline:
    """One uninterrupted run from an empty warehouse: what every other scenario must end up as."""
    scenario = Scenario(warehouses.folder / "uninterrupted", warehouses.new("uninterrupted"), landing)
    done = scenario.run(timeout=900, tag="uninterrupted")
    print(f"\n[{warehouses.name}] uninterrupted run: {done.seconds:.1f} s, exit {done.returncode}")
    if done.returncode != 0:
        pytest.fail(
            f"[{warehouses.name}] nothing to compare with: "
            + scenario.explain(done, "the uninterrupted run from an empty warehouse")
        )
    snap = snapshot(scenario)
    assert not snap.problems, f"[{warehouses.name}] the uninterrupted run left: " + "; ".join(snap.problems)
    assert snap.manifest.get("build_number") == 1 and snap.builds == ["001"], (snap.manifest, snap.builds)
    assert sum(snap.tables["submissions"].values()) == 4, "four providers' returns were in the landing folder"
    print(f"[{warehouses.name}] warehouse rows: {snap.counts()}")
    return Baseline(snap, done.seconds)


def kill_fractions(kills: int, rng: random.Random) -> list[float]:
    """One random point in each of ``kills`` equal slices of (0, 1): where in a run to kill it."""
    return [round((i + rng.random()) / kills, 3) for i in range(kills)]


def moment(fraction: float, duration: float) -> float:
    return round(EARLIEST_KILL + fraction * (duration - EARLIEST_KILL), 2)


MAX_LINES = 14  # differences shown per kill


def _rerun_and_compare(
    scenario: Scenario, killed: RunResult, baseline: Baseline, duration: float, what: str
) -> tuple[RunResult, list[str], str]:
    rerun = scenario.run(timeout=_timeout(duration), tag="rerun")
    found = [] if rerun.returncode == 0 else [scenario.explain(rerun, "the rerun")]
    found += differences(baseline.snapshot, snapshot(scenario))
    if len(found) > MAX_LINES:
        found = found[:MAX_LINES] + [f"... and {len(found) - MAX_LINES} more"]
    line = f"{what}: killed at {killed.killed_at:.2f} s; rerun {rerun.seconds:.1f} s, exit {rerun.returncode}"
    return rerun, found, line


def test_killed_run_then_rerun_equals_uninterrupted_run(warehouses: Warehouses, baseline: Baseline, landing: Path):
    """Each kill lands at its fraction of how long a run takes now: the machine's load changes, so the
    estimate is the latest complete run (a rerun runs every step again), and a run that finished before
    its kill is repeated, in a fresh warehouse, with the kill moved to the same fraction of its own duration."""
    rng = random.Random(f"{SEED}-{warehouses.name}")
    fractions = kill_fractions(KILLS, rng)
    duration, started, failures, repeated = baseline.seconds, time.monotonic(), [], 0
    for i, fraction in enumerate(fractions):
        what = f"kill {i + 1:2d} at {fraction:4.0%} of a run"
        for attempt in range(3):
            label = f"kill-{i:02d}" + (f"-{attempt}" if attempt else "")
            url = warehouses.new(label)
            scenario = Scenario(warehouses.folder / label, url, landing)
            try:
                killed = scenario.run_and_kill(moment(fraction, duration), tag="killed")
                if killed.kill_landed:
                    rerun, found, line = _rerun_and_compare(scenario, killed, baseline, duration, what)
            finally:
                warehouses.drop(url)
            if killed.kill_landed or killed.returncode != 0:
                break
            repeated += 1  # it finished before its kill: nothing was interrupted
            duration = killed.seconds
        if not killed.kill_landed:
            line, found = (
                what,
                (
                    [scenario.explain(killed, "the run (before its kill)")]
                    if killed.returncode
                    else ["every attempt finished first"]
                ),
            )
        elif rerun.returncode == 0:
            duration = rerun.seconds
        print(f"[{warehouses.name}] {line}" + (f": {len(found)} difference(s)" if found else ": same"), flush=True)
        if found:
            failures.append(line + "\n  - " + "\n  - ".join(found))
    print(
        f"[{warehouses.name}] {len(fractions)} kills and reruns in {time.monotonic() - started:.0f} s "
        f"(seed {SEED}; {repeated} run(s) finished before their kill and were repeated)"
    )
    assert not failures, (
        f"[{warehouses.name}] {len(failures)} of {len(fractions)} killed runs did not rerun to the "
        f"uninterrupted result (seed {SEED}, uninterrupted run {baseline.seconds:.1f} s):\n" + "\n".join(failures)
    )


@pytest.mark.parametrize(
    "trigger",
    [staging_has_files, build_folder_written, publishing],
    ids=["writing-build", "build-renamed", "publishing"],
)
def test_killed_while_building_then_rerun_equals_uninterrupted_run(
    warehouses: Warehouses, baseline: Baseline, landing: Path, trigger
):
    """The quarter's build takes well under a second of a run, so random moments rarely land in it: these
    kills wait for a step of it to be seen on disk (writing the build folder under its staging name, the
    folder just renamed to builds/001, which the warehouse may not record yet, and the copy of the build
    to the output folder as the current return) and kill within a millisecond or so."""
    for attempt in range(1, 4):  # the copy to the output folder lasts milliseconds: a run may finish unseen
        name = f"kill-{trigger.__name__}-{attempt}"
        url = warehouses.new(name)
        scenario = Scenario(warehouses.folder / name, url, landing)
        try:
            killed = scenario.run_and_kill_when(trigger)
            if not killed.kill_landed and killed.returncode == 0 and attempt < 3:
                continue  # it finished before the moment was seen: nothing was interrupted, try a new run
            assert killed.kill_landed, (
                f"[{warehouses.name}] no kill in {attempt} attempts: the run ended before "
                f"{trigger.__name__}; " + scenario.explain(killed)
            )
            at_kill = (
                f"{trigger.__name__} (builds/: {sorted(p.name for p in (scenario.out / 'builds').iterdir())}, "
                f"return_builds rows: {recorded_builds(url)})"
            )
            rerun, found, line = _rerun_and_compare(scenario, killed, baseline, baseline.seconds, at_kill)
            break
        finally:
            warehouses.drop(url)
    print(f"[{warehouses.name}] {line}" + (f": {len(found)} difference(s)" if found else ": same"))
    assert not found, f"[{warehouses.name}] {line}\n  - " + "\n  - ".join(found)


def test_killed_while_writing_the_extract_findings_then_rerun_equals_uninterrupted_run(
    warehouses: Warehouses, baseline: Baseline, landing: Path
):
    """Writing the extract's findings takes a millisecond, so the killed run is held in that moment by a
    failpoint (its findings staging file made, nothing written) and killed there. CI once caught this by
    chance: the rerun found the extract registered and left ``.findings.csv.incoming-*`` behind for good."""
    name = "kill-extract-findings"
    url = warehouses.new(name)
    scenario = Scenario(warehouses.folder / name, url, landing)
    try:
        killed = scenario.run_and_kill_when(
            writing_extract_findings, extra_env={"RETURNS_FAILPOINT": "extract-findings:120"}
        )
        assert killed.kill_landed, (
            f"[{warehouses.name}] the run ended before writing the extract's findings: " + scenario.explain(killed)
        )
        rerun, found, line = _rerun_and_compare(
            scenario, killed, baseline, baseline.seconds, "writing the extract's findings"
        )
    finally:
        warehouses.drop(url)
    print(f"[{warehouses.name}] {line}" + (f": {len(found)} difference(s)" if found else ": same"))
    assert not found, f"[{warehouses.name}] {line}\n  - " + "\n  - ".join(found)


def test_two_first_upgrades_at_once_both_succeed(warehouses: Warehouses, landing: Path):
    """Two commands started at once on a new warehouse both migrate it first (every pipeline command does)."""
    url = warehouses.new("concurrent-upgrade")
    scenario = Scenario(warehouses.folder / "concurrent-upgrade", url, landing)
    try:
        env, cmd = scenario.env(), [RETURNS, "db", "upgrade"]
        both = [
            subprocess.Popen(
                cmd, cwd=scenario.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in both]
        again = scenario.upgrade()
    finally:
        warehouses.drop(url)
    failed = [
        f"upgrade {n} exited {code}: {' '.join(err.split())[-600:]}"
        for n, (code, err) in enumerate(outcomes, 1)
        if code != 0
    ]
    assert not failed, f"[{warehouses.name}] two `returns db upgrade` at once on an empty warehouse:\n" + "\n".join(
        failed
    )
    assert again.returncode == 0, again.stderr


def test_two_runs_at_once_equal_one_run(warehouses: Warehouses, baseline: Baseline, landing: Path):
    """The warehouse is migrated first: two first-ever runs racing to migrate is the test above."""
    url = warehouses.new("concurrent")
    scenario = Scenario(warehouses.folder / "concurrent", url, landing)
    try:
        migrated = scenario.upgrade()
        assert migrated.returncode == 0, migrated.stderr
        first, second = scenario.start("first"), scenario.start("second")
        timeout = _timeout(baseline.seconds)
        results = [Scenario.finish(*first, timeout=timeout), Scenario.finish(*second, timeout=timeout)]
        found = [scenario.explain(r, f"run {n}") for n, r in zip(("1", "2"), results) if r.returncode != 0]
        found += differences(baseline.snapshot, snapshot(scenario))
    finally:
        warehouses.drop(url)
    print(
        f"[{warehouses.name}] two runs at once: {results[0].seconds:.1f} s (exit {results[0].returncode}) and "
        f"{results[1].seconds:.1f} s (exit {results[1].returncode})"
    )
    assert not found, f"[{warehouses.name}] two runs at once did not leave what one run leaves:\n  - " + "\n  - ".join(
        found
    )
