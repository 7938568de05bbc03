"""``binary_vs_frequency``'s thresholds from a measurement of honest data, and its detection of the gaming profile.

Honest pass (``--honest``): for every provider and each seed, the quarter's cohort against the provider's previous
four (``integrity.synthetic``: the generator's accepted returns and PNC records, no files, no warehouse), the two
test statistics as the signal computes them but with no dispersion correction: the binary rate's two-proportion z
and the further reoffences' rate z (Poisson, dispersion 1). Prints their spread over the honest provider-quarters
that have enough people to judge: in honest data each z should have variance 1; the measured variance of the
further reoffences' z is the dispersion the signal divides by (reoffences bunch in prolific people). Then, with the
thresholds in ``parameters/integrity.toml``, how many honest rows pass each condition and both.

Gamed pass (``--gamed C11``): the same provider with ``reoffending_focus`` switched on from the quarter (its history
honest) and three honest providers beside it, with the thresholds in ``parameters/integrity.toml``: in how many
seeds the signal flags it, and its z values.

    .venv/bin/python benchmarks/binary_vs_frequency_calibration.py --honest --seeds 30 --first-seed 101 --out a.csv
    .venv/bin/python benchmarks/binary_vs_frequency_calibration.py --summarise a.csv b.csv
    .venv/bin/python benchmarks/binary_vs_frequency_calibration.py --gamed C11 --seeds 20 --first-seed 1

The rule, the figures and the commands used are in docs/integrity.md ("How the thresholds were chosen").
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import time

from probation_returns.calendar import Quarter
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity import binary_vs_frequency
from probation_returns.integrity.binary_vs_frequency import _pool, rate_z
from probation_returns.integrity.statistics import two_proportion_z
from probation_returns.integrity.synthetic import quarter_data
from probation_returns.integrity.thresholds import thresholds
from probation_returns.reference import providers

RATE = 0.01  # each condition's false-positive rate per honest provider-quarter, at most
NORMAL_POINT = 2.33  # the standard normal's one-sided 1% point (2.326)
COLUMNS = ("seed", "code", "n1", "r1", "o1", "n2", "r2", "o2", "compared", "zb", "zf1")


def _raw(data, code: str, limits) -> list:
    """The cohort against what it is compared with, and the two z values with no dispersion correction."""
    q = data.quarter
    now = {c: r[q] for c, r in data.reoffending.items()}
    before = _pool([r for k, r in data.reoffending[code].items() if k < q])
    compared = "history"
    if before.cohort_size < limits["minimum_cohort"]:
        before = _pool([r for c, r in now.items() if c != code])
        compared = "peers"
    a = now[code]
    zb = two_proportion_z(a.reoffenders, a.cohort_size, before.reoffenders, before.cohort_size)
    zf = rate_z(a.reoffences - a.reoffenders, a.reoffenders, before.reoffences - before.reoffenders, before.reoffenders)
    return [a.cohort_size, a.reoffenders, a.reoffences, before.cohort_size, before.reoffenders, before.reoffences] + [
        compared,
        f"{zb:.4f}",
        f"{zf:.4f}",
    ]


def honest(args, quarter: Quarter, limits) -> None:
    """Every provider's honest rows to ``--out`` (a CSV), one line per provider and seed."""
    codes = list(providers())
    started = time.perf_counter()
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            data = quarter_data(seed, quarter, codes, args.scale)
            out.writerows([seed, code, *_raw(data, code, limits)] for code in codes)
            f.flush()
            print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)


def summarise(files: list[str], limits) -> None:
    """The spread of the honest rows' z values (those with enough people to judge), and how many pass."""
    rows = []
    for name in files:
        with open(name, newline="", encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    seeds = sorted({int(r["seed"]) for r in rows})
    judged = [
        r
        for r in rows
        if min(int(r["n1"]), int(r["n2"])) >= limits["minimum_cohort"]
        and min(int(r["r1"]), int(r["r2"])) >= limits["minimum_reoffenders"]
    ]
    zb = [float(r["zb"]) for r in judged]
    zf = [float(r["zf1"]) for r in judged]
    n = len(judged)
    print(
        f"{len(seeds)} seeds ({seeds[0]} to {seeds[-1]}), {len(rows)} provider-quarters, {n} with enough to judge "
        f"(median cohort {statistics.median(int(r['n1']) for r in judged):.0f} people; compared with their own "
        f"history: {sum(r['compared'] == 'history' for r in judged)})"
    )
    for name, values in (("binary rate z", zb), ("further reoffences z (dispersion 1)", zf)):
        var = statistics.variance(values)
        half = 1.96 * var * math.sqrt(2 / (n - 1))  # 95% interval of a variance, normal approximation
        print(
            f"{name}: mean {statistics.fmean(values):+.3f}, variance {var:.3f} (95% {var - half:.3f} to "
            f"{var + half:.3f}), min {min(values):.2f}, max {max(values):.2f}"
        )
    print(f"correlation of the two: {statistics.correlation(zb, zf):+.3f}")
    # The rule (docs/integrity.md): the dispersion is the further reoffences z's variance, rounded up to 0.1; each z
    # threshold is the larger of the normal 1% point and the honest rows' own 1% point, rounded up to 0.1.
    dispersion = math.ceil(statistics.variance(zf) * 10) / 10
    k = max(1, math.ceil(RATE * n))  # the k-th most extreme of n: at most RATE of the rows beyond it
    binary_point = sorted(-z for z in zb)[-k]
    frequency_point = sorted(z / math.sqrt(dispersion) for z in zf)[-k]
    print(
        f"the rule gives: dispersion {dispersion:g}; the honest rows' own {RATE:.0%} points: binary z "
        f"{-binary_point:.2f}, frequency z {frequency_point:.2f} (normal {NORMAL_POINT}); so z_binary "
        f"{math.ceil(max(NORMAL_POINT, binary_point) * 10) / 10:g}, z_frequency "
        f"{math.ceil(max(NORMAL_POINT, frequency_point) * 10) / 10:g}"
    )
    d = limits["dispersion"]
    scaled = [z / math.sqrt(d) for z in zf]
    print(
        f"further reoffences z divided by the square root of the dispersion in parameters/integrity.toml ({d:g}): "
        f"variance {statistics.variance(scaled):.3f}, max {max(scaled):.2f}"
    )
    fell = sum(z <= -limits["z_binary"] for z in zb)
    rose = sum(z >= limits["z_frequency"] for z in scaled)
    both = sum(b <= -limits["z_binary"] and f >= limits["z_frequency"] for b, f in zip(zb, scaled, strict=True))
    normal = [0.5 * math.erfc(limits[k] / math.sqrt(2)) for k in ("z_binary", "z_frequency")]
    print(f"binary z at most -{limits['z_binary']:g}: {fell} of {n} ({fell / n:.2%}; normal {normal[0]:.2%})")
    print(f"frequency z at least {limits['z_frequency']:g}: {rose} of {n} ({rose / n:.2%}; normal {normal[1]:.2%})")
    print(
        f"both z conditions (before the size-of-effect conditions): {both} of {n} "
        f"(independent normal: {normal[0] * normal[1] * n:.2f} expected)"
    )


def gamed(args, quarter: Quarter, limits) -> None:
    code = args.gamed
    codes = [code] + [c for c in ("C01", "C02", "C03") if c != code]
    gaming = {code: Gaming("reoffending_focus", quarter)}
    flagged = 0
    false_flags = 0
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = quarter_data(seed, quarter, codes, args.scale, gaming)
        rows = {(r.provider_code, r.measure): r for r in binary_vs_frequency.compute(data, codes, limits)}
        b, f = rows[(code, "binary_rate")], rows[(code, "frequency")]
        flagged += b.flagged
        false_flags += sum(r.flagged for (c, _), r in rows.items() if c != code)
        print(
            f"seed {seed}: {code} cohort {b.count}, binary {b.statistic} against {b.expected} (z {b.z}), "
            f"reoffences per reoffender {f.statistic} against {f.expected} (z {f.z}): "
            f"{'flagged' if b.flagged else 'not flagged'} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print(f"\n{args.seeds} seeds from {args.first_seed}, scale {args.scale}, quarter {quarter}")
    print(f"{code} reoffending_focus flagged in {flagged} of {args.seeds} seeds; honest rows flagged: {false_flags}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", action="store_true", help="write the honest rows to --out")
    parser.add_argument("--out", default="binary_vs_frequency_honest.csv")
    parser.add_argument("--summarise", nargs="*", default=[], help="summarise these CSV files of honest rows")
    parser.add_argument("--gamed", default="")
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=101)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--quarter", default="2016Q4")
    args = parser.parse_args()
    quarter = Quarter.parse(args.quarter)
    limits = thresholds()["binary_vs_frequency"]
    if args.honest:
        honest(args, quarter, limits)
    if args.summarise:
        summarise(args.summarise, limits)
    if args.gamed:
        gamed(args, quarter, limits)


if __name__ == "__main__":
    main()
