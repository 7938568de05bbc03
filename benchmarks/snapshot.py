"""A snapshot of everything a small quarter's run writes, to show that a change leaves the output alone.

With a fixed seed and a stopped clock (``RETURNS_CLOCK``), it does what the README says a person does:
``returns generate`` (twelve providers, scale 0.05, faults 0.002: some returns rejected, some accepted with
findings) and then ``returns run`` into an empty warehouse, archive, output folder and Dagster instance, each in a
fresh temporary folder. It then writes a manifest: the sha256 of every file the run wrote (each
provider's feedback folder, the ministry return's CSVs, workbook, manifest and publication copy, every
build) and of the generated returns, by path relative to the folder. Two runs on the same code give the
same manifest; a refactoring that changes no behaviour gives the same manifest as before it.

Nothing is left out: no file the run writes holds a Dagster run id or the machine's time (the warehouse
and Dagster's own storage are not outputs and are not in the manifest).

Run from the project root (about a minute on 2 cores):

    uv run python benchmarks/snapshot.py --manifest snapshot.json [--keep DIR]

It prints the manifest's own sha256 and the number of files; compare two manifests with ``cmp`` or ``diff``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUARTER = "2017Q3"
# Twelve, so that seed 7's whole-return faults (one provider each) leave some returns with only record faults:
# rejected, accepted with findings and accepted clean returns all have feedback in the snapshot.
PROVIDERS = "C01,C02,C03,C05,C09,C14,C17,C20,N01,N03,N05,N07"
SEED = 7
SCALE = 0.05
FAULTS = 0.002
CLOCK = "2017-10-20T09:00:00+00:00"  # a Friday, before 2017Q3's submission deadline
KEY = "snapshot-key-0123456789"


def _returns(*args: str, env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).with_name("returns")), *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def snapshot(work: Path, workers: int) -> dict:
    env = {
        **os.environ,
        "RETURNS_CLOCK": CLOCK,
        "RETURNS_PSEUDONYM_KEY": KEY,
        "RETURNS_DATABASE_URL": f"sqlite:///{work / 'returns.db'}",
        "DAGSTER_HOME": str(work / "dagster"),
        "RETURNS_ARCHIVE": str(work / "archive"),
        "RETURNS_ALERTS": str(work / "alerts"),
        "RETURNS_OUTPUT": str(work / "unused-output"),
        "RETURNS_LANDING": str(work / "landing"),
        "PYTHONPATH": str(ROOT),  # this tree's code, also when the script is run from a copy of another commit
    }
    env.pop("RETURNS_DAGSTER_POSTGRES_URL", None)
    env.pop("RETURNS_PORTAL_URL", None)
    landing, out = work / "landing", work / "out"
    _returns(
        "generate",
        *("--quarters", QUARTER, "--providers", PROVIDERS, "--scale", str(SCALE)),
        *("--seed", str(SEED), "--faults", str(FAULTS), "--out", str(landing)),
        env=env,
    )
    _returns(
        "run", "--landing", str(landing), "--quarter", QUARTER, "--out", str(out), "--workers", str(workers), env=env
    )
    return {
        "command": {
            "generate": f"--quarters {QUARTER} --providers {PROVIDERS} --scale {SCALE} --seed {SEED} --faults {FAULTS}",
            "run": f"--quarter {QUARTER} --workers {workers}",
            "RETURNS_CLOCK": CLOCK,
        },
        "generated": _digests(landing),
        "output": _digests(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True, help="where to write the manifest (JSON)")
    parser.add_argument("--workers", type=int, default=2, help="provider runs side by side, as `returns run`")
    parser.add_argument("--keep", type=Path, help="keep the run's folders here (must not exist)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
        manifest = snapshot(args.keep.resolve(), args.workers)
    else:
        with tempfile.TemporaryDirectory(prefix="returns-snapshot-") as tmp:
            manifest = snapshot(Path(tmp), args.workers)
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    args.manifest.write_text(text, encoding="utf-8")
    print(
        f"{len(manifest['generated'])} generated and {len(manifest['output'])} output files; manifest sha256 "
        f"{hashlib.sha256(text.encode()).hexdigest()} in {args.manifest}"
    )


if __name__ == "__main__":
    main()
