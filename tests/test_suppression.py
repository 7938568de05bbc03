"""The publication variant: small counts hidden, and never recoverable from the totals published with them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from probation_returns.reference import providers
from reports.ministry import suppression
from reports.ministry.suppression import HIDDEN, NOT_APPLICABLE, protect

CRC = [c for c, p in providers().items() if p.is_crc]
NPS = [c for c, p in providers().items() if not p.is_crc]
GROUPS = [("CRC", CRC), ("NPS", NPS), ("ALL", ["CRC", "NPS"])]


def recoverable(values: dict, groups, hidden: set) -> set:
    """Hidden cells whose value follows from the published ones: the unit vector of the cell lies in
    the row space of the constraints (total - sum of parts = 0) restricted to the hidden cells."""
    unknown = sorted(hidden, key=str)
    if not unknown:
        return set()
    index = {k: i for i, k in enumerate(unknown)}
    rows = []
    for total, parts in groups:
        row = np.zeros(len(unknown))
        for k, sign in [(total, -1.0)] + [(p, 1.0) for p in parts]:
            if k in index:
                row[index[k]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for k, i in index.items():
        unit = np.zeros(len(unknown))
        unit[i] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.add(k)
    return found


def table(counts: dict[str, int]) -> dict:
    values = dict(counts)
    values["CRC"] = sum(counts[c] for c in CRC)
    values["NPS"] = sum(counts[c] for c in NPS)
    values["ALL"] = values["CRC"] + values["NPS"]
    return values


def test_primary_suppression_alone_would_give_a_cell_away_and_secondary_stops_it():
    # One CRC has 3 cases of a measure; everyone else has plenty. Hiding just the 3 is useless:
    # All CRCs (1,023) minus the 20 published CRC figures gives it back.
    counts = {c: 50 for c in CRC} | {c: 40 for c in NPS}
    counts["C07"] = 3
    counts["C12"] = 20  # the smallest other CRC figure
    values = table(counts)
    naive = {k for k, v in values.items() if suppression.small(v)}
    assert naive == {"C07"} and recoverable(values, GROUPS, naive) == {"C07"}
    assert values["CRC"] - sum(v for k, v in values.items() if k in CRC and k != "C07") == 3

    hidden = protect(values, GROUPS)
    assert hidden == {"C07", "C12"}  # the smallest non-zero other part goes with it
    assert recoverable(values, GROUPS, hidden) == set()


def test_zero_is_published_and_a_small_total_is_hidden_with_its_parts():
    counts = {c: 0 for c in CRC + NPS}
    counts["N03"] = 2
    values = table(counts)
    hidden = protect(values, GROUPS)
    assert {"N03", "NPS", "ALL"} <= hidden and not any(values[k] == 0 and k in hidden for k in CRC)
    assert recoverable(values, GROUPS, hidden) == set()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 400)), min_size=28, max_size=28))
def test_no_hidden_cell_can_be_recovered_and_every_small_count_is_hidden(numbers):
    values = table(dict(zip(CRC + NPS, numbers)))
    hidden = protect(values, GROUPS)
    assert {k for k, v in values.items() if 1 <= v <= 4} <= hidden
    assert recoverable(values, GROUPS, hidden) == set()
    assert all(values[k] != 0 for k in hidden if k not in ("CRC", "NPS", "ALL"))


def _levels() -> pl.DataFrame:
    rows = []
    for code in CRC + NPS:
        n, d = (3, 30) if code == "C02" else (90, 100)
        rows.append(("2017Q3", code, "SL016", n, d, Decimal(n * 100) / d, Decimal("90.0"),
                     "missed" if n / d < 0.9 else "met", Decimal("1000.00") if code == "C02" else
                     (Decimal("0.00") if code in CRC else None), None, "2017-18.1"))
    from probation_returns.measures.figures import SERVICE_LEVELS

    frame = pl.DataFrame(rows, schema=SERVICE_LEVELS, orient="row")
    return frame.with_columns(pl.col("performance_pct").round(1))


def test_the_publication_table_hides_derived_figures_and_marks_not_applicable():
    internal = _levels()
    public = suppression.service_levels(internal)
    c02 = public.filter(pl.col("provider_code") == "C02").row(0, named=True)
    assert (c02["numerator"], c02["denominator"], c02["performance_pct"], c02["credit_gbp"]) == (HIDDEN,) * 4
    n01 = public.filter(pl.col("provider_code") == "N01").row(0, named=True)
    assert n01["credit_gbp"] == NOT_APPLICABLE and n01["numerator"] == "90"  # NPS: no credits
    # the secondary cell: another CRC's figures hidden too, so All CRCs cannot give C02 back
    crc_hidden = public.filter(pl.col("provider_code").is_in(CRC) & (pl.col("numerator") == HIDDEN))
    assert crc_hidden.height == 2
    total = public.filter(pl.col("provider_code") == "CRC").row(0, named=True)
    assert total["numerator"] == str(3 + 90 * 20) and total["performance_pct"] == "88.8"  # 1,803 / 2,030 = 88.82%
    # the internal return is never suppressed
    assert internal.filter(pl.col("provider_code") == "C02")["numerator"].item() == 3


def test_a_row_is_hidden_whole_so_the_denominator_total_gives_nothing_away():
    public = suppression.service_levels(_levels())
    crc = public.filter(pl.col("provider_code").is_in(CRC))
    assert crc.filter(pl.col("denominator") == HIDDEN)["provider_code"].to_list() == \
        crc.filter(pl.col("numerator") == HIDDEN)["provider_code"].to_list() == ["C01", "C02"]


def test_a_small_cohort_hides_its_rates_and_payment_and_one_more_cohort():
    from probation_returns.measures.figures import REOFFENDING

    rows = []
    for code in CRC + NPS:
        size, reoffenders, reoffences = (3, 1, 2) if code == "C09" else (400, 160, 700)
        rows.append(("2017Q3", code, "2017Q3", size, reoffenders, reoffences, Decimal("0.4000"), Decimal("4.375"),
                     Decimal("0.3900"), Decimal("0.3800"), Decimal("0.4500"), Decimal("4.50"), Decimal("-2.8141"),
                     "significant reduction", "final", Decimal("94000.00"), None, "2017-18.1"))
    public = suppression.reoffending(pl.DataFrame(rows, schema=REOFFENDING, orient="row"))
    c09 = public.filter(pl.col("provider_code") == "C09").row(0, named=True)
    for column in ("cohort_size", "reoffenders", "reoffences", "binary_rate", "frequency_rate", "adjusted_binary_rate",
                   "z", "outcome_payment_gbp"):
        assert c09[column] == HIDDEN, column
    assert c09["baseline_binary_rate"] == "0.4500"  # a contract parameter, not derived from the cohort
    assert public.filter(pl.col("cohort_size") == HIDDEN)["provider_code"].to_list() == ["C01", "C09"]
    assert public.filter(pl.col("provider_code") == "CRC")["cohort_size"].item() == str(3 + 400 * 20)


def test_the_totals_rates_are_pooled_and_rounded_half_up():
    from probation_returns.measures.figures import REOFFENDING

    rows = []
    for code in CRC + NPS:
        # each NPS division: 32 people, 1 reoffender with 3 reoffences (hidden: 1 is a small count)
        size, people, offences = (32, 1, 3) if code in NPS else (400, 160, 700)
        rows.append(("2017Q3", code, "2017Q3", size, people, offences, None, None, Decimal("0.39"), None,
                     Decimal("0.45"), Decimal("4.50"), None, "not significant", "interim", Decimal("0.00"), None, "x"))
    public = suppression.reoffending(pl.DataFrame(rows, schema=REOFFENDING, orient="row"))
    nps = public.filter(pl.col("provider_code") == "NPS").row(0, named=True)
    # 7 / 224 = 0.03125 exactly: half up gives 0.0313 (half to even would give 0.0312)
    assert (nps["cohort_size"], nps["reoffenders"], nps["binary_rate"], nps["frequency_rate"]) == (
        "224", "7", "0.0313", "3.000")
    crc = public.filter(pl.col("provider_code") == "CRC").row(0, named=True)
    assert (crc["binary_rate"], crc["frequency_rate"], crc["cohort_quarter"]) == ("0.4000", "4.375", "2017Q3")
