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


def _levels(small_code: str = "C02") -> pl.DataFrame:
    from probation_returns.measures.figures import SERVICE_LEVELS

    rows = []
    for code in CRC + NPS:
        n, d = (3, 30) if code == small_code else (90, 100)
        missed = n / d < 0.9
        rows.append(
            (
                "2017Q3",
                code,
                "SL016",
                n,
                d,
                (Decimal(n) / d).quantize(Decimal("0.001")),
                Decimal("0.900"),
                "missed" if missed else "met",
                (Decimal("1000.00") if missed else Decimal("0.00")) if code in CRC else None,
                "applied" if code in CRC else None,
                "2017-18.1",
            )
        )
    return pl.DataFrame(rows, schema=SERVICE_LEVELS, orient="row")


def _cohorts(rows: list[tuple] | None = None) -> pl.DataFrame:
    from probation_returns.measures.figures import REOFFENDING

    return pl.DataFrame(rows or [], schema=REOFFENDING, orient="row")


def _publish(levels: pl.DataFrame, cohorts: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The publication copy of a release made of these tables (payments follow from the credit lines)."""
    from probation_returns.measures.figures import PAYMENTS
    from reports.ministry import tidy
    from reports.ministry.content import DATA_QUALITY, SUBMISSIONS

    cohorts = cohorts if cohorts is not None else _cohorts()
    final = {
        r["provider_code"]: r["outcome_payment_gbp"] for r in cohorts.iter_rows(named=True) if r["result"] == "final"
    }
    pay, quality, subs = [], [], []
    for i, code in enumerate(CRC + NPS, start=1):
        lines = [
            r["credit_gbp"] for r in levels.iter_rows(named=True) if r["provider_code"] == code and r["credit_gbp"]
        ]
        total = sum(lines, Decimal("0.00"))
        fee, paid = Decimal("1000000.00"), final.get(code, Decimal("0.00"))
        pay.append(("2017Q3", code, fee, total, Decimal("0.00"), Decimal("0.00"), total, paid, fee - total + paid, "x"))
        quality += [
            ("2017Q3", code, i, t, "read: 1,000 rows", 1000, 10, 10, 0, "CAS-001 (10)", None)
            for t in ("cases", "contacts", "breaches")
        ]
        quality.append(("2017Q3", code, i, "whole return", "the files' names", None, None, 0, 0, "none", None))
        subs.append(
            (
                "2017Q3",
                code,
                i,
                1,
                None,
                None,
                "f.csv",
                "0" * 64 + "  f.csv",
                "1" * 64,
                "validated",
                "Accepted",
                "yes",
                i,
                "no",  # not signed off by the provider
                None,
                0,  # no open query
            )
        )
    tables = tidy.return_tables(
        levels,
        cohorts,
        pl.DataFrame(pay, schema=PAYMENTS, orient="row"),
        pl.DataFrame(quality, schema=DATA_QUALITY, orient="row"),
        pl.DataFrame(subs, schema=SUBMISSIONS, orient="row"),
    )
    return suppression.publication(tables, tidy.mark(tables))


def _row(frame: pl.DataFrame, code: str, measure: str | None = None) -> dict:
    found = frame.filter(pl.col("provider_code") == code)
    if measure:
        found = found.filter(pl.col("measure") == measure)
    return found.row(0, named=True)


def test_the_publication_table_hides_derived_figures_and_marks_not_applicable():
    internal = _levels()
    public = _publish(internal)
    levels = public["service_levels"]
    c02 = _row(levels, "C02")
    assert [c02[c] for c in ("numerator", "denominator", "performance", "credit_gbp")] == [None] * 4
    assert [c02[f"{c}_marker"] for c in ("numerator", "denominator", "performance", "credit_gbp")] == [HIDDEN] * 4
    n01 = _row(levels, "N01")
    assert n01["credit_gbp_marker"] == NOT_APPLICABLE and n01["numerator"] == 90  # NPS: no credits
    # the secondary cell: another CRC's figures hidden too, so All CRCs cannot give C02 back
    assert levels.filter(pl.col("provider_code").is_in(CRC) & (pl.col("numerator_marker") == HIDDEN)).height == 2
    total = _row(levels, "CRC")
    assert total["numerator"] == 3 + 90 * 20 and total["performance"] == Decimal("0.888")  # 1,803 / 2,030 = 88.82%
    # C02's credit is hidden, so its service credits and what follows from them are hidden in Payments too
    pay = _row(public["payments"], "C02")
    assert pay["service_credits_gbp_marker"] == HIDDEN and pay["quarterly_fee_gbp"] == Decimal("1000000.00")
    # the internal return is never suppressed
    assert internal.filter(pl.col("provider_code") == "C02")["numerator"].item() == 3


def test_a_row_is_hidden_whole_so_the_denominator_total_gives_nothing_away():
    levels = _publish(_levels())["service_levels"]
    crc = levels.filter(pl.col("provider_code").is_in(CRC))
    assert (
        crc.filter(pl.col("denominator_marker") == HIDDEN)["provider_code"].to_list()
        == crc.filter(pl.col("numerator_marker") == HIDDEN)["provider_code"].to_list()
        == ["C01", "C02"]
    )


def test_a_reported_only_measure_hides_its_counts_but_no_money():
    """The defect found in the demo: a small 'high risk not referred' count hid every credit total."""
    levels = _levels(small_code="none").with_columns(
        pl.lit("high_risk_not_referred").alias("measure"),
        pl.lit(None, pl.Decimal(5, 3)).alias("target"),
        pl.lit("reported").alias("status"),
        pl.lit(None, pl.Decimal(14, 2)).alias("credit_gbp"),
        pl.lit(None, pl.String).alias("credit_decision"),
    )
    levels = levels.with_columns(
        pl.when(pl.col("provider_code") == "C04").then(2).otherwise(pl.col("numerator")).alias("numerator")
    )
    public = _publish(pl.concat([_levels(small_code="C04"), levels]))
    hidden = public["service_levels"].filter(pl.col("numerator_marker") == HIDDEN)
    assert set(hidden["measure"]) == {"SL016", "high_risk_not_referred"}
    # money is hidden only for C04, whose missed SL016 credit would give its counts away
    money = [c for c in public["payments"].columns if c.endswith("_marker")]
    hidden_money = public["payments"].filter(pl.any_horizontal(pl.col(money) == HIDDEN))
    assert hidden_money["provider_code"].to_list() == ["C04"]
    c05 = _row(public["service_levels"], "C05", "SL016")
    assert c05["credit_gbp"] == Decimal("0.00") and c05["credit_gbp_marker"] is None


def test_a_small_cohort_hides_its_rates_and_payment_and_one_more_cohort():
    rows = []
    for code in CRC:
        size, reoffenders, reoffences = (3, 1, 2) if code == "C09" else (400, 160, 700)
        rows.append(
            (
                "2017Q3",
                code,
                "2017Q3",
                size,
                reoffenders,
                reoffences,
                Decimal("0.4000"),
                Decimal("4.375"),
                Decimal("0.3900"),
                Decimal("0.3800"),
                Decimal("0.4500"),
                Decimal("4.50"),
                Decimal("-2.8141"),
                "significant reduction",
                "final",
                Decimal("94000.00"),
                None,
                "2017-18.1",
            )
        )
    public = _publish(_levels(small_code="none"), _cohorts(rows))
    c09 = _row(public["reoffending"], "C09")
    for column in (
        "cohort_size",
        "reoffenders",
        "reoffences",
        "binary_rate",
        "frequency_rate",
        "adjusted_binary_rate",
        "z",
        "outcome_payment_gbp",
    ):
        assert c09[column] is None and c09[f"{column}_marker"] == HIDDEN, column
    assert c09["baseline_binary_rate"] == Decimal("0.4500")  # a contract parameter, not derived from the cohort
    hidden = public["reoffending"].filter(pl.col("cohort_size_marker") == HIDDEN)["provider_code"].to_list()
    assert hidden == ["C01", "C09"]
    assert _row(public["reoffending"], "CRC")["cohort_size"] == 3 + 400 * 20
    # C09's outcome payment is paid in Payments: hidden there too, with the net it would give away
    pay = _row(public["payments"], "C09")
    assert pay["outcome_payments_gbp_marker"] == HIDDEN and pay["net_gbp_marker"] == HIDDEN


def test_the_totals_rates_are_pooled_and_rounded_half_up():
    rows = []
    for code in CRC + NPS:
        # NPS divisions of 32 people with 1 reoffender (3 reoffences), N06 2 (6), N07 none: hidden but N07, and
        # not pinned (7 of every hidden cell 1 would pin them to 1, as hidden counts are never 0)
        size, people, offences = (
            {"N06": (32, 2, 6), "N07": (32, 0, 0)}.get(code, (32, 1, 3)) if code in NPS else (400, 160, 700)
        )
        rows.append(
            (
                "2017Q3",
                code,
                "2017Q3",
                size,
                people,
                offences,
                None,
                None,
                Decimal("0.39"),
                None,
                Decimal("0.45"),
                Decimal("4.50"),
                None,
                "not significant",
                "interim",
                Decimal("0.00"),
                None,
                "x",
            )
        )
    public = _publish(_levels(small_code="none"), _cohorts(rows))["reoffending"]
    nps = _row(public, "NPS")
    # 7 / 224 = 0.03125 exactly: half up gives 0.0313 (half to even would give 0.0312)
    assert (nps["cohort_size"], nps["reoffenders"], nps["binary_rate"], nps["frequency_rate"]) == (
        224,
        7,
        Decimal("0.0313"),
        Decimal("3.000"),
    )
    crc = _row(public, "CRC")
    assert (crc["binary_rate"], crc["frequency_rate"], crc["cohort_quarter"]) == (
        Decimal("0.4000"),
        Decimal("4.375"),
        "2017Q3",
    )


def _high_risk(counts: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """'High risk not referred' (reported only) for every provider: 0 of 150 unless given (NPS: 0 of 0)."""
    return _levels(small_code="none").with_columns(
        pl.lit("high_risk_not_referred").alias("measure"),
        pl.lit(None, pl.Decimal(5, 3)).alias("target"),
        pl.lit("reported").alias("status"),
        pl.lit(None, pl.Decimal(14, 2)).alias("credit_gbp"),
        pl.lit(None, pl.String).alias("credit_decision"),
        pl.col("provider_code")
        .replace_strict({c: counts.get(c, (0, 150))[0] for c in CRC}, default=0)
        .alias("numerator"),
        pl.col("provider_code")
        .replace_strict({c: counts.get(c, (0, 150))[1] for c in CRC}, default=0)
        .alias("denominator"),
    )


def test_the_cases_warnings_and_top_rules_are_hidden_with_the_count_cas017_repeats():
    public = _publish(pl.concat([_levels(small_code="none"), _high_risk({"C04": (2, 150), "C05": (30, 150)})]))
    quality = public["data_quality"]
    hidden = quality.filter(pl.col("warnings_marker") == HIDDEN)
    assert hidden.select("provider_code", "table").rows() == [("C04", "cases"), ("C05", "cases")]  # not contacts
    assert hidden["top_rules"].to_list() == [HIDDEN] * 2 and hidden["warnings"].to_list() == [None] * 2
    assert _row(public["service_levels"], "C04", "high_risk_not_referred")["numerator_marker"] == HIDDEN
    # the complement C04 needs is another CRC's non-zero numerator (C05: the only one), hidden with its cells too
    assert _row(public["service_levels"], "C05", "high_risk_not_referred")["numerator_marker"] == HIDDEN
    assert _row(quality.filter(pl.col("table") == "cases"), "C06")["top_rules"] == "CAS-001 (10)"


def test_a_zero_is_published_beside_a_hidden_count_and_never_hidden_as_a_complement():
    levels = _levels(small_code="none").with_columns(
        pl.when(pl.col("provider_code") == "N03").then(0).otherwise(pl.col("numerator")).alias("numerator"),
        pl.when(pl.col("provider_code") == "N03").then(3).otherwise(pl.col("denominator")).alias("denominator"),
        pl.when(pl.col("provider_code") == "N03")
        .then(Decimal("0.000"))
        .otherwise(pl.col("performance"))
        .alias("performance"),
        pl.when(pl.col("provider_code") == "N03")
        .then(pl.lit("insufficient volume"))
        .otherwise(pl.col("status"))
        .alias("status"),
    )
    public = _publish(levels)["service_levels"]
    n03 = _row(public, "N03")
    assert (n03["numerator"], n03["denominator_marker"], n03["performance"]) == (0, HIDDEN, Decimal("0.000"))
    hidden = public.filter(pl.col("denominator_marker") == HIDDEN)
    counts = public.filter(pl.col("numerator_marker") == HIDDEN)
    assert 0 not in hidden["denominator"].to_list() and len(hidden) >= 2  # N03 and its complement, never a 0
    assert counts["provider_code"].to_list() == [c for c in hidden["provider_code"].to_list() if c != "N03"]
