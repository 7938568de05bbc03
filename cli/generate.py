"""``returns generate``: synthetic returns for a quarter range."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

from cli.app import _fail, _folder_for_output, _progress, app, console


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write into: one sub-folder per provider.")],
    quarters: Annotated[str, typer.Option(help="A quarter or range, e.g. 2017Q3 or 2016Q1..2017Q3.")] = "2017Q3",
    providers: Annotated[str, typer.Option(help="all, CRC, NPS or codes such as C14,N03.")] = "all",
    scale: Annotated[float, typer.Option(help="Volume relative to the real caseloads (1.0 = national).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 7,
    faults: Annotated[
        float,
        typer.Option(
            help="Share of rows to break (0 to 0.2), plus one whole-return fault "
            "of each kind per quarter; listed in manifest.json."
        ),
    ] = 0.0,
    extract_date: Annotated[
        str | None,
        typer.Option(
            help="As-of date of the reoffending extract (YYYY-MM-DD); "
            "default: when the last quarter's results are final."
        ),
    ] = None,
    gaming: Annotated[
        list[str] | None,
        typer.Option(
            help="A provider that games its measures: PROVIDER:profile, or PROVIDER:profile:YYYYQn from that "
            "quarter on (repeatable). Profiles: due_day_appointments, due_day_referrals, transfers, phone_parking, "
            "ogrs_inflation, resubmission (a second version under OUT/resubmissions), reoffending_focus "
            "(docs/synthetic-data.md)."
        ),
    ] = None,
) -> None:
    """Write realistic synthetic returns and a matching reoffending extract."""
    from probation_returns.calendar import quarter_range
    from probation_returns.generator.dataset import generate as run_generator
    from probation_returns.generator.gaming import PROFILES, SECOND_VERSION
    from probation_returns.generator.gaming import parse as parse_gaming
    from probation_returns.reference import provider_codes

    try:
        qs = quarter_range(quarters)
        codes = provider_codes(providers)
        as_of = dt.date.fromisoformat(extract_date) if extract_date else None
        gamers = parse_gaming(gaming or [])
    except ValueError as exc:
        _fail(str(exc))
    _folder_for_output(out, "the generated returns")
    started = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("generating returns", total=len(qs) * len(codes) + 1)
        try:
            result = run_generator(
                out,
                qs,
                codes,
                scale=scale,
                seed=seed,
                faults=faults,
                extract_date=as_of,
                gaming=gamers,
                progress=lambda label: bar.update(task, advance=1, description=label),
            )
        except ValueError as exc:
            _fail(str(exc))
    console.print(
        f"Wrote {len(result.files)} files for {len(codes)} providers x {len(qs)} quarters to {out} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    for code, g in sorted(gamers.items()):
        console.print(f"{code} games its measures from {g.since or qs[0]}: {PROFILES[g.profile]}")
        if g.profile in SECOND_VERSION:
            console.print(
                f"  its second version is in {out / SECOND_VERSION[g.profile]}: receive {out} first, then that folder"
            )
    if faults:
        console.print(f"Injected {len(result.faults)} faults; exactly which are listed in {result.manifest_path}")
    print(result.manifest_path)
