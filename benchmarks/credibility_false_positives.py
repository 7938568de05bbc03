"""How often the credibility report flags an honest provider, and what it flags at a gaming one.

For each seed, every provider's accepted returns for the quarter and its previous four quarters come straight from
the generator (``integrity.synthetic``: no files, no warehouse) and the credibility report is computed for all 28
providers; a second pass switches one gaming profile on for one CRC each (from the quarter, so its history is
honest). Prints, per family, the honest rows judged and flagged (false positives), the largest honest |z| and the
largest honest PSI as a share of its threshold; then each gamed provider's flags.

    .venv/bin/python benchmarks/credibility_false_positives.py --seeds 20 --scale 0.05

The figures are in docs/credibility.md; the output in benchmarks/results/credibility_false_positives.txt.
"""

from __future__ import annotations

import argparse
import collections
import time

from probation_returns.calendar import Quarter
from probation_returns.credibility.report import compute
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.reference import providers

GAMED = {
    "C05": "due_day_appointments",
    "C06": "transfers",
    "C07": "due_day_referrals",
    "C08": "phone_parking",
    "C17": "ogrs_inflation",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--quarter", default="2016Q4")
    parser.add_argument("--no-gaming", action="store_true", help="the honest pass only")
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    codes = list(providers())
    judged = collections.Counter()
    flagged = collections.Counter()
    largest_z = collections.defaultdict(float)
    largest_psi = collections.defaultdict(float)  # PSI / its threshold
    caught = collections.Counter()
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for row in compute(quarter_data(seed, quarter, codes, args.scale), codes):
            key = row.family
            if row.threshold is not None:  # compared and enough to judge
                judged[key] += 1
            flagged[key] += row.flagged
            if row.test == "PSI" and row.threshold is not None:
                largest_psi[key] = max(largest_psi[key], float(row.statistic / row.threshold))
            elif row.statistic is not None:
                largest_z[key] = max(largest_z[key], abs(float(row.statistic)))
            if row.flagged:
                print(f"seed {seed}: honest {row.provider_code} flagged: {row.explanation}")
        if not args.no_gaming:
            gaming = {code: Gaming(profile, quarter) for code, profile in GAMED.items()}
            for row in compute(quarter_data(seed, quarter, codes, args.scale, gaming), codes):
                if row.flagged and row.provider_code in GAMED:
                    caught[(row.provider_code, GAMED[row.provider_code], row.family, row.figure)] += 1
                elif row.flagged:
                    print(f"seed {seed}: honest {row.provider_code} flagged beside gaming ones: {row.explanation}")
        print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{args.seeds} seeds from {args.first_seed}, scale {args.scale}, quarter {quarter}, 28 providers")
    print(
        "| family | honest rows judged | flagged | false-positive rate | largest honest abs(z) "
        "| largest PSI / threshold |"
    )
    print("|---|---|---|---|---|---|")
    for key in sorted(set(judged) | set(flagged)):
        rate = flagged[key] / judged[key] if judged[key] else 0.0
        z = f"{largest_z[key]:.2f}" if key in largest_z else "-"
        psi = f"{largest_psi[key]:.2f}" if key in largest_psi else "-"
        print(f"| {key} | {judged[key]} | {flagged[key]} | {rate:.2%} | {z} | {psi} |")
    total_judged, total_flagged = sum(judged.values()), sum(flagged.values())
    print(f"\nall families: {total_flagged} flagged of {total_judged} honest rows judged")
    if not args.no_gaming:
        print("\n| gamed provider | profile | family | figure | seeds flagged |")
        print("|---|---|---|---|---|")
        for (code, profile, family, figure), n in sorted(caught.items()):
            print(f"| {code} | {profile} | {family} | {figure} | {n} of {args.seeds} |")


if __name__ == "__main__":
    main()
