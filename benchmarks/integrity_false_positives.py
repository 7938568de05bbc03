"""How often the integrity signals flag an honest provider, and how often they see a gaming one.

For each seed, every provider's accepted returns for the quarter and its previous four quarters come straight
from the generator (``integrity.synthetic``: no files, no warehouse), every provider with an honest second
version of its return that corrects a few records (``generator.corrections``: what ``late_flip`` is judged
against); a second pass switches one gaming profile on for one CRC each (from the quarter, so its history is
honest), the other providers again with their honest second versions. Prints, per signal and measure, the honest
rows flagged (false positives) and the largest honest |z| seen, and which gamed providers were flagged.

    .venv/bin/python benchmarks/integrity_false_positives.py --seeds 20 --scale 0.05

The figures are in docs/integrity.md.
"""

from __future__ import annotations

import argparse
import collections
import time

from probation_returns.calendar import Quarter
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity.signals import compute
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.reference import providers

GAMED = {  # one CRC per profile, and the signal and measures meant to see it
    "C05": ("due_day_appointments", "deadline_heaping", ("SL001R", "SL002R")),
    "C06": ("transfers", "exclusion_drift", ("successful_completion",)),
    "C07": ("due_day_referrals", "deadline_heaping", ("AE",)),
    "C08": ("phone_parking", "contact_intensity", ("rosh_low",)),
    "C17": ("ogrs_inflation", "case_mix_drift", ("ogrs3_mean",)),
    "C10": ("resubmission", "late_flip", ("deadline_dates", "missed_to_met")),
    "C11": ("reoffending_focus", "binary_vs_frequency", ("binary_rate", "frequency")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--quarter", default="2016Q4")
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    codes = list(providers())
    rows_seen = collections.Counter()
    flagged = collections.Counter()
    largest = collections.defaultdict(float)
    caught = collections.Counter()
    stray = collections.Counter()  # flags on a gamed provider by a signal not meant for its profile
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        honest = set(codes)
        for row in compute(quarter_data(seed, quarter, codes, args.scale, resubmitted=honest), codes):
            key = (row.signal, row.measure)
            if row.count is not None:
                rows_seen[key] += 1
            flagged[key] += row.flagged
            if row.z is not None:
                largest[key] = max(largest[key], abs(float(row.z)))
            if row.flagged:
                print(f"seed {seed}: honest {row.provider_code} flagged: {row.explanation}")
        gaming = {code: Gaming(profile, quarter) for code, (profile, _, _) in GAMED.items()}
        others = honest - set(GAMED)
        for row in compute(quarter_data(seed, quarter, codes, args.scale, gaming, resubmitted=others), codes):
            if row.provider_code in GAMED:
                _, signal, measures = GAMED[row.provider_code]
                if row.signal == signal and row.measure in measures:
                    caught[(row.provider_code, row.measure)] += row.flagged
                    if row.provider_code in ("C10", "C11"):
                        print(f"seed {seed}: gamed {row.provider_code} {row.measure}: z {row.z}; {row.explanation}")
                elif row.flagged:
                    stray[(row.provider_code, row.signal, row.measure)] += 1
            elif row.flagged:
                print(f"seed {seed}: honest {row.provider_code} flagged beside gaming providers: {row.explanation}")
        print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{args.seeds} seeds from {args.first_seed}, scale {args.scale}, quarter {quarter}, 28 providers")
    print("late_flip: every honest provider sent a second version correcting a few records (generator.corrections)")
    print("| signal | measure | honest rows judged | flagged | false-positive rate | largest honest abs(z) |")
    print("|---|---|---|---|---|---|")
    for key in sorted(rows_seen):
        rate = flagged[key] / rows_seen[key] if rows_seen[key] else 0.0
        big = f"{largest[key]:.2f}" if key in largest else "-"
        print(f"| {key[0]} | {key[1]} | {rows_seen[key]} | {flagged[key]} | {rate:.2%} | {big} |")
    print("\n| gamed provider | profile | measure | seeds flagged |")
    print("|---|---|---|---|")
    for code, (profile, _, measures) in GAMED.items():
        for measure in measures:
            print(f"| {code} | {profile} | {measure} | {caught[(code, measure)]} of {args.seeds} |")
    for (code, signal, measure), n in sorted(stray.items()):
        print(f"also flagged: {code} ({GAMED[code][0]}) by {signal} {measure} in {n} seeds")


if __name__ == "__main__":
    main()
