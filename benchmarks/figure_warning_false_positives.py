"""How often RET-004 (a figure moved implausibly against the provider's previous quarters) warns an honest provider,
and whether it warns a gaming one.

For each seed, every provider's accepted returns for the quarter and its previous four come straight from the
generator (``integrity.synthetic``: no files, no warehouse), and RET-004's own function
(``validation.history.moved_figures``) is run for each provider on its own return and its own history, as validation
runs it. A second pass switches one gaming profile on for one CRC each (from the quarter, its history honest); only
those providers are generated, as RET-004 reads nothing of any other provider.

    .venv/bin/python benchmarks/figure_warning_false_positives.py --seeds 20 --scale 0.05

The figures are in docs/credibility.md; the output in benchmarks/results/figure_warning_false_positives.txt.
"""

from __future__ import annotations

import argparse
import collections
import time

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import tallies
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.reference import providers
from probation_returns.validation.history import moved_figures

GAMED = {
    "C05": "due_day_appointments",
    "C06": "transfers",
    "C07": "due_day_referrals",
    "C08": "phone_parking",
    "C17": "ogrs_inflation",
}


def _figures(history: dict) -> dict:
    """The previous quarters' figures, as validation reads them from the warehouse."""
    return {q: tallies(q, tables) for q, tables in history.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--quarter", default="2016Q4")
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    codes = list(providers())
    returns = warned = findings = 0
    caught: collections.Counter = collections.Counter()
    seeds_warned: collections.Counter = collections.Counter()
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = quarter_data(seed, quarter, codes, args.scale, reoffending=False)
        for code in codes:
            found = moved_figures(quarter, code, data.current[code], _figures(data.history[code]))
            returns += 1
            warned += found.height > 0
            findings += found.height
            for value, message in found.select("value", "message").iter_rows():
                print(f"seed {seed}: honest {code} warned: {value}: {message}")
        gaming = {code: Gaming(profile, quarter) for code, profile in GAMED.items()}
        gamed = quarter_data(seed, quarter, list(GAMED), args.scale, gaming, reoffending=False)
        for code, profile in GAMED.items():
            found = moved_figures(quarter, code, gamed.current[code], _figures(gamed.history[code]))
            seeds_warned[(code, profile)] += found.height > 0
            for value in found["value"]:
                caught[(code, profile, value.split(":")[0])] += 1
        print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{args.seeds} seeds from {args.first_seed}, scale {args.scale}, quarter {quarter}, 28 providers")
    print(f"honest returns checked: {returns}; warned: {warned}; RET-004 findings: {findings}")
    print("\n| gamed provider | profile | seeds warned |")
    print("|---|---|---|")
    for (code, profile), n in sorted(seeds_warned.items()):
        print(f"| {code} | {profile} | {n} of {args.seeds} |")
    print("\n| gamed provider | profile | figure | seeds warned on it |")
    print("|---|---|---|---|")
    for (code, profile, figure), n in sorted(caught.items()):
        print(f"| {code} | {profile} | {figure} | {n} of {args.seeds} |")


if __name__ == "__main__":
    main()
