"""What RET-004 adds to validating one full-scale CRC return: its own four previous quarters read from the warehouse
(SQLite) and the credibility figures worked out for five quarters.

Generates C17 (the largest CRC) for 2016Q3..2017Q3 at full scale without faults, receives and validates each quarter
in order into a fresh SQLite warehouse (each delivered on time, so each counts), then validates 2017Q3 again
(``force``) with RET-004 and with it switched off (no history read), alternately, three times each; and
``validate_files`` (``returns validate``) on the same files with and without the four previous quarters given.

    .venv/bin/python benchmarks/figure_warning_cost.py

Figures in docs/credibility.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from probation_returns import clock
from probation_returns.calendar import Quarter, quarter_range
from probation_returns.credibility import store
from probation_returns.generator.dataset import generate
from probation_returns.ingest import discover, receive
from probation_returns.validation import service
from probation_returns.validation.checking import validate_files
from probation_returns.warehouse.db import engine_for, session_scope, upgrade

PROVIDER = "C17"
QUARTERS = quarter_range("2016Q3..2017Q3")


def main() -> None:
    os.environ.setdefault("RETURNS_PSEUDONYM_KEY", "benchmark-key-for-synthetic-data-only")
    root = Path(tempfile.mkdtemp(prefix="ret004-"))
    generate(root / "landing", QUARTERS, [PROVIDER], scale=1.0, seed=7, faults=0.0)
    url = f"sqlite:///{root / 'warehouse.db'}"
    upgrade(url)
    engine = engine_for(url)
    sid = None
    for q in QUARTERS:
        os.environ[clock.VARIABLE] = f"{(q + 1).first_day.isoformat()}T09:00:00+00:00"
        landing = root / "one" / str(q) / PROVIDER
        landing.mkdir(parents=True)
        for p in (root / "landing").rglob(f"{PROVIDER}_{q}*"):
            shutil.copyfile(p, landing / p.name)
        with session_scope(engine) as session:
            sid = receive(session, discover(landing.parent)[0], root / "archive").submission_id
        done = service.validate_submission(engine, sid, root / "feedback")
        print(q, done.outcome, done.tables["cases"]["rows"], "cases", done.tables["contacts"]["rows"], "contacts")
    real = service.provider_history
    timings: dict[str, list[float]] = {"with RET-004": [], "without": []}
    for _ in range(3):
        for name, history in (("with RET-004", real), ("without", lambda *a: {})):
            service.provider_history = history
            t = time.perf_counter()
            service.validate_submission(engine, sid, root / "feedback", force=True)
            timings[name].append(time.perf_counter() - t)
    service.provider_history = real
    for name, ts in timings.items():
        print(f"validate_submission {name}: median {statistics.median(ts):.2f} s ({', '.join(f'{t:.2f}' for t in ts)})")
    files = sorted((root / "landing").rglob(f"{PROVIDER}_2017Q3*"))
    q = Quarter.parse("2017Q3")
    t = time.perf_counter()
    history = store.provider_history(engine, q, PROVIDER)
    print(f"the four previous quarters' figures (stored by the first validation): {time.perf_counter() - t:.2f} s")
    plain: list[float] = []
    given: list[float] = []
    for _ in range(3):
        t = time.perf_counter()
        validate_files(files, PROVIDER, str(q))
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        found = validate_files(files, PROVIDER, str(q), previous_figures=history)
        given.append(time.perf_counter() - t)
    print(f"validate_files without history: median {statistics.median(plain):.2f} s")
    print(f"validate_files with four previous quarters: median {statistics.median(given):.2f} s")
    print(
        "RET-004 findings on the honest return:", found.findings.filter(found.findings["rule_id"] == "RET-004").height
    )


if __name__ == "__main__":
    main()
