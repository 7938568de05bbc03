"""An independent attacker on publication folders: what a naive copy leaks, and whether the builder's does."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.table import Table

from probation_returns.reference import providers
from tests.support.disclosure_attacker import attack, rule_at_most

Q = "2017Q3"
CRC = [c for c, p in providers().items() if p.type == "CRC"]
NPS = [c for c, p in providers().items() if p.type == "NPS"]
KIND = {c: p.type for c, p in providers().items()}
LEVEL_COLUMNS = [
    "quarter",
    "provider_code",
    "provider_name",
    "measure",
    "numerator",
    "denominator",
    "performance",
    "target",
    "status",
    "credit_gbp",
    "credit_decision",
    "parameter_version",
]
PAY_COLUMNS = [
    "quarter",
    "provider_code",
    "provider_name",
    "quarterly_fee_gbp",
    "service_credits_gbp",
    "credits_waived_gbp",
    "credits_reinvested_gbp",
    "credits_applied_gbp",
    "outcome_payments_gbp",
    "net_gbp",
    "parameter_version",
]
QUALITY_COLUMNS = [
    "quarter",
    "provider_code",
    "provider_name",
    "submission_id",
    "table",
    "rows",
    "rejected_records",
    "errors",
    "warnings",
    "top_rules",
]
MARKED = {"numerator", "denominator", "performance", "target", "credit_gbp", *PAY_COLUMNS[4:10], *QUALITY_COLUMNS[5:9]}


# --- a constructed release, written by hand in the published format ---


def _rate(n: int, d: int) -> Decimal | None:
    return (Decimal(n) / Decimal(d)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) if d else None


def levels(
    measure: str,
    counts: dict[str, tuple[int, int]],
    target: str | None = "0.900",
    credits: dict[str, Decimal] | None = None,
) -> list[dict]:
    """One measure for all 28 providers (90/100 unless given) and its totals, with status and credit lines."""
    rows = []
    for code in CRC + NPS:
        n, d = counts.get(code, (90, 100))
        status = (
            "reported"
            if target is None
            else "insufficient volume"
            if d < 10
            else "met"
            if Decimal(n) / d >= Decimal(target)
            else "missed"
        )
        credit = (credits or {}).get(code, Decimal("0.00")) if KIND[code] == "CRC" and target else None
        rows.append(
            {
                "provider_code": code,
                "measure": measure,
                "numerator": n,
                "denominator": d,
                "performance": _rate(n, d),
                "target": target and Decimal(target),
                "status": status,
                "credit_gbp": credit,
                "credit_decision": "applied" if credit is not None else "",
            }
        )
    for total, members in (("CRC", CRC), ("NPS", NPS), ("ALL", CRC + NPS)):
        n = sum(r["numerator"] for r in rows if r["provider_code"] in members)
        d = sum(r["denominator"] for r in rows if r["provider_code"] in members)
        rows.append(
            {
                "provider_code": total,
                "measure": measure,
                "numerator": n,
                "denominator": d,
                "performance": _rate(n, d),
                "target": target and Decimal(target),
                "status": "total",
                "credit_gbp": None,
                "credit_decision": "",
            }
        )
    return rows


def payments(lines: list[dict]) -> list[dict]:
    """Each provider's money from its credit lines (all applied), a fee of 1,000,000.00 and no outcome payment."""
    rows = []
    for code in CRC + NPS:
        total = sum(
            (r["credit_gbp"] for r in lines if r["provider_code"] == code and r["credit_gbp"] is not None),
            Decimal("0.00"),
        )
        fee = Decimal("1000000.00") if KIND[code] == "CRC" else Decimal("0.00")
        zero = Decimal("0.00")
        money = (total, zero, zero, total, zero) if KIND[code] == "CRC" else (None,) * 5
        rows.append(
            {
                "provider_code": code,
                "quarterly_fee_gbp": fee,
                **dict(zip(PAY_COLUMNS[4:9], money)),
                "net_gbp": fee - total,
            }
        )
    return rows


def hide(rows: list[dict], cells: set[tuple]) -> list[dict]:
    """A copy with the cells ((provider, measure or None, column)) marked [c]."""
    return [{c: "[c]" if (r["provider_code"], r.get("measure"), c) in cells else v for c, v in r.items()} for r in rows]


def write(folder: Path, name: str, rows: list[dict], columns: list[str]) -> None:
    header = [x for c in columns for x in ([c, f"{c}_marker"] if c in MARKED else [c])]
    with (folder / name).open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        for r in rows:
            r = {"quarter": Q, "provider_name": r["provider_code"], "parameter_version": "2017-18.1", **r}
            cells = []
            for c in columns:
                v = r[c]
                if c in MARKED:
                    cells += ["", "[c]"] if v == "[c]" else ["", "[z]"] if v is None else [str(v), ""]
                else:
                    cells.append("" if v is None else str(v))
            out.writerow(cells)


def release(folder: Path, lines: list[dict], hidden: set[tuple], pay: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "service_levels.csv", hide(lines, hidden), LEVEL_COLUMNS)
    write(folder, "payments.csv", hide(pay if pay is not None else payments(lines), hidden), PAY_COLUMNS)
    return folder


def found(folder: Path) -> dict[tuple, Decimal]:
    return {(leak.file, leak.row, leak.column): leak.value for leak in attack(folder)}


def test_the_attacker_finds_what_naive_suppression_leaks(tmp_path):
    # 1. C05 has 3 of 30 (a reported measure: no credit); only its row is hidden, the CRC total is not
    lines = levels("high_risk_not_referred", {"C05": (3, 30)}, target=None)
    leaks = found(
        release(
            tmp_path / "one",
            lines,
            {("C05", "high_risk_not_referred", c) for c in ("numerator", "denominator", "performance")},
        )
    )
    row = ("C05", "high_risk_not_referred")
    assert leaks[("service_levels.csv", row, "numerator")] == 3
    assert leaks[("service_levels.csv", row, "denominator")] == 30
    assert leaks[("service_levels.csv", row, "performance")] == Decimal("0.100")

    # 2. two hidden numerators whose visible residual is 0 (C05 0 of 3, C06 0 of 2): bounds pin both to 0
    lines = levels("high_risk_not_referred", {"C05": (0, 3), "C06": (0, 2)}, target=None)
    cells = {
        (c, "high_risk_not_referred", col)
        for c in ("C05", "C06")
        for col in ("numerator", "denominator", "performance")
    }
    leaks = attack(release(tmp_path / "zero", lines, cells), positive=False)  # it hides zeros: none is >= 1
    pinned = {leak.row[0]: leak for leak in leaks if leak.column == "numerator"}
    assert {c: leak.value for c, leak in pinned.items()} == {"C05": 0, "C06": 0}
    assert all(leak.how.startswith("bounds") for leak in pinned.values())
    assert not any(leak.column == "denominator" for leak in leaks)  # 3 + 2 = 5 could be split many ways

    # 3. money: C07 missed two measures; one credit line hidden, its total and the other line visible
    lines = levels("SL016", {"C07": (60, 100)}, credits={"C07": Decimal("15000.00")}) + levels(
        "SL003", {"C07": (80, 100)}, credits={"C07": Decimal("2500.00")}
    )
    leaks = found(release(tmp_path / "money", lines, {("C07", "SL016", "credit_gbp")}))
    assert leaks == {("service_levels.csv", ("C07", "SL016"), "credit_gbp"): Decimal("15000.00")}

    # 4. the workbook: the CSV hides two rows safely, but the Service levels sheet shows C05's numerator
    lines = levels("high_risk_not_referred", {"C05": (3, 200), "C06": (7, 150)}, target=None)
    cells = {
        (c, "high_risk_not_referred", col)
        for c in ("C05", "C06")
        for col in ("numerator", "denominator", "performance")
    }
    folder = release(tmp_path / "book", lines, cells)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Service levels"
    sheet.append(["Provider code", "Measure code", "Numerator (count)", "Denominator (count)", "Performance (%)"])
    for r in hide(lines, cells - {("C05", "high_risk_not_referred", "numerator")}):
        sheet.append(
            [
                r["provider_code"],
                r["measure"],
                r["numerator"],
                r["denominator"],
                r["performance"] if r["performance"] in ("[c]", None) else float(r["performance"]),
            ]
        )
    sheet.add_table(Table(displayName="ServiceLevels", ref=f"A1:E{sheet.max_row}"))
    book.save(folder / f"ministry_return_{Q}_publication.xlsx")
    leaks = found(folder)
    assert leaks[("service_levels.csv", ("C05", "high_risk_not_referred"), "numerator")] == 3
    assert leaks[("service_levels.csv", ("C06", "high_risk_not_referred"), "numerator")] == 7  # then the total


def test_the_top_rules_text_bounds_a_rule_it_does_not_list():
    assert rule_at_most("CAS-017 (3); CAS-002 (1)", "CAS-017") == 3  # listed: its count
    assert rule_at_most("CAS-002 (2); CAS-007 (2); CAS-001 (1)", "CAS-017") == 1  # not above the third
    assert rule_at_most("CAS-019 (5); CAS-020 (2); CAS-018 (2)", "CAS-017") == 1  # a tie would list CAS-017 first
    assert rule_at_most("CAS-002 (4)", "CAS-017") == 0  # fewer than three listed: every rule that fired is
    assert [rule_at_most(t, "CAS-017") for t in ("[c]", None, "", "not validated")] == [None] * 4


# the demo quarter as the reviewer found it: five CRCs' 'high risk not referred' rows hidden, none recoverable from
# the service levels alone, but their cases warnings and most frequent rules published in data_quality.csv
HIGH_RISK = {"C04": (3, 294), "C07": (4, 568), "C09": (1, 234), "C15": (2, 255), "C19": (1, 209)}
HIGH_RISK_ROWS = {
    (c, "high_risk_not_referred", col) for c in HIGH_RISK for col in ("numerator", "denominator", "performance")
}


def high_risk_levels() -> list[dict]:
    counts = {c: HIGH_RISK.get(c, (0, 150)) for c in CRC} | {c: (0, 0) for c in NPS}
    return levels("high_risk_not_referred", counts, target=None)


def quality(warnings: dict[str, int], top: dict[str, str]) -> list[dict]:
    return [
        {
            "provider_code": code,
            "submission_id": i,
            "table": "cases",
            "rows": 5000,
            "rejected_records": 10,
            "errors": 10,
            "warnings": warnings.get(code, 9),
            "top_rules": top.get(code, "CAS-001 (10); CAS-019 (9); CAS-020 (8)"),
        }
        for i, code in enumerate(CRC + NPS, start=1)
    ]


def test_the_attacker_links_the_data_quality_table_to_the_measure_its_rule_tests(tmp_path):
    lines = high_risk_levels()
    alone = release(tmp_path / "alone", lines, HIGH_RISK_ROWS)
    assert attack(alone) == []  # 11 people over 5 hidden rows, each at least 1: at most 7 each

    folder = release(tmp_path / "linked", lines, HIGH_RISK_ROWS)
    warnings = {"C09": 1, "C15": 3, "C19": 3}
    top = {"C09": "CAS-017 (1)", "C15": "CAS-017 (2); CAS-002 (1)", "C19": "CAS-002 (2); CAS-007 (2); CAS-001 (1)"}
    write(folder, "data_quality.csv", quality(warnings, top), QUALITY_COLUMNS)
    leaks = {leak.row: leak for leak in attack(folder)}
    assert {row: leak.value for row, leak in leaks.items()} == {
        ("C09", "high_risk_not_referred"): 1,  # 1 <= numerator <= 1 warning
        ("C19", "high_risk_not_referred"): 1,
    }  # CAS-017 is not above CAS-001's 1 finding, or it would be listed
    assert "warnings" in leaks[("C09", "high_risk_not_referred")].how
    assert "top rules" in leaks[("C19", "high_risk_not_referred")].how  # its 3 warnings alone allow 1 to 3

    hidden = {(c, None, col) for c in ("C09", "C15", "C19") for col in ("warnings", "top_rules")}
    safe = release(tmp_path / "safe", lines, HIGH_RISK_ROWS)
    write(safe, "data_quality.csv", hide(quality(warnings, top), hidden), QUALITY_COLUMNS)
    assert attack(safe) == []


def test_the_attacker_accepts_a_safe_table(tmp_path):
    lines = levels("high_risk_not_referred", {"C05": (3, 200), "C06": (7, 150)}, target=None)
    cells = {
        (c, "high_risk_not_referred", col)
        for c in ("C05", "C06")
        for col in ("numerator", "denominator", "performance")
    }
    assert attack(release(tmp_path, lines, cells)) == []


# --- the project's own builder on constructed inputs ---

MEASURES = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")
TARGETS = {"SL001R": "0.950", "SL002R": "0.950"}
SMALL_LEVELS = {
    ("C05", "SL016"): (3, 12),  # missed, so it has a credit (the 2.5% cap)
    ("C09", "AE"): (3, 4),  # insufficient volume
    ("N03", "SL002R"): (2, 30),  # an NPS division's missed measure (no credit)
    ("C04", "high_risk_not_referred"): (2, 150),  # a reported measure, every other CRC at 0 but C11
    ("C11", "high_risk_not_referred"): (1, 150),
}  # its 1 CAS-017 warning is published in data quality
SMALL_COHORTS = {"N03": (3, 1, 2)}  # cohort size, reoffenders, reoffences
PAID = "C07"  # the CRC with a final, significant reduction (and an outcome payment)


def _inputs(paid: str = PAID, cohorts: dict = SMALL_COHORTS, levels: dict = SMALL_LEVELS) -> tuple[pl.DataFrame, ...]:
    """All 28 providers, big counts but for the small ones above; every CRC misses AK (so pays a credit)."""
    from probation_returns.measures.figures import PAYMENTS, REOFFENDING, SERVICE_LEVELS
    from reports.ministry.content import DATA_QUALITY, SUBMISSIONS

    def dec(value, places):
        return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)

    level_rows, credit = [], {}
    for i, code in enumerate(CRC + NPS):
        fee = providers()[code].quarterly_fee_gbp
        for m in (*MEASURES, "high_risk_not_referred"):
            target = None if m == "high_risk_not_referred" else Decimal(TARGETS.get(m, "0.900"))
            n, d = levels.get((code, m), (0 if target is None else 85 if m == "AK" else 95 + i % 5, 100 + 3 * i))
            if target is None and KIND[code] == "NPS":  # high risk not referred is for CRCs only
                n = d = None
            status = (
                "not applicable"
                if d is None
                else "reported"
                if target is None
                else "insufficient volume"
                if d < 10
                else "met"
                if Decimal(n) / d >= target
                else "missed"
            )
            amount = None
            if KIND[code] == "CRC" and target is not None:  # 0.25% of the fee per point below target, at most 2.5%
                short = target * 100 - Decimal(n) * 100 / d if status == "missed" else Decimal(0)
                amount = dec(min(fee * Decimal("0.0025") * short, fee * Decimal("0.025")), "0.01")
                credit[code] = credit.get(code, Decimal("0.00")) + amount
            level_rows.append(
                (
                    Q,
                    code,
                    m,
                    n,
                    d,
                    dec(Decimal(n) / d, "0.001") if d else None,
                    target,
                    status,
                    amount,
                    "applied" if amount is not None else None,
                    "2017-18.1",
                )
            )
    cohort_rows, pay_rows, quality, subs = [], [], [], []
    for i, code in enumerate(CRC + NPS, start=1):
        size, people, offences = cohorts.get(code, (400 + 10 * i, 160 + i, 700 + 3 * i))
        binary, reduction = Decimal(people) / size, code == paid
        outcome = Decimal("94000.00") if reduction else Decimal("0.00")
        cohort_rows.append(
            (
                Q,
                code,
                Q,
                size,
                people,
                offences,
                dec(binary, "0.0001"),
                dec(Decimal(offences) / people, "0.001"),
                Decimal("0.4000"),
                dec(binary - Decimal("0.05"), "0.0001"),
                Decimal("0.4500"),
                Decimal("4.50"),
                Decimal("-2.5000") if reduction else Decimal("-0.5000"),
                "significant reduction" if reduction else "not significant",
                "final",
                outcome,
                None,
                "2017-18.1",
            )
        )
        fee = providers()[code].quarterly_fee_gbp if KIND[code] == "CRC" else Decimal("0.00")
        total = credit.get(code, Decimal("0.00"))
        pay_rows.append(
            (Q, code, fee, total, Decimal("0.00"), Decimal("0.00"), total, outcome, fee - total + outcome, "2017-18.1")
        )
        not_referred = levels.get((code, "high_risk_not_referred"), (0,))[0]  # CAS-017 finds each of them
        quality += [
            (
                Q,
                code,
                i,
                t,
                "read",
                3 if (code, t) == ("C10", "breaches") else 1000 + i,
                2,
                2,
                not_referred if t == "cases" else 0,
                top_rules(not_referred if t == "cases" else 0),
                None,
            )
            for t in ("cases", "contacts", "breaches")
        ]
        quality.append((Q, code, i, "whole return", "the files' names", None, None, 0, 0, "none", None))
        subs.append(
            (Q, code, i, 1, None, None, "f.csv", "0" * 64 + "  f.csv", "1" * 64, "validated", "Accepted", "yes", i)
            + ("no", None, 0)  # not signed off by the provider, no open query
        )
    return (
        pl.DataFrame(level_rows, schema=SERVICE_LEVELS, orient="row"),
        pl.DataFrame(cohort_rows, schema=REOFFENDING, orient="row"),
        pl.DataFrame(pay_rows, schema=PAYMENTS, orient="row"),
        pl.DataFrame(quality, schema=DATA_QUALITY, orient="row"),
        pl.DataFrame(subs, schema=SUBMISSIONS, orient="row"),
    )


def top_rules(cas017: int) -> str:
    """Two CAS-001 errors and ``cas017`` CAS-017 warnings, the most frequent first (ties by rule id)."""
    ranked = sorted([(2, "CAS-001")] + ([(cas017, "CAS-017")] if cas017 else []), key=lambda x: (-x[0], x[1]))
    return "; ".join(f"{rule} ({n})" for n, rule in ranked)


def publish(folder: Path, **inputs) -> tuple[dict, dict]:
    """The builder's internal tables and publication copy; the copy's CSVs written to ``folder``."""
    from probation_returns.files.csv import write_csv
    from reports.ministry import suppression, tidy

    tables = tidy.return_tables(*_inputs(**inputs))
    public = suppression.publication(tables, tidy.mark(tables))
    for name in ("service_levels", "reoffending", "payments", "data_quality"):
        write_csv(public[name], folder / f"{name}.csv")
    return tables, public


def report(leaks) -> str:
    return "the builder's publication copy gives hidden cells away:\n" + "\n".join(
        f"  {leak.file} {'/'.join(leak.row)} {leak.column} = {leak.value}  ({leak.how})" for leak in leaks
    )


def test_the_real_publication_copy_gives_nothing_away(tmp_path):
    tables, public = publish(tmp_path)
    people = {
        "service_levels": ("numerator", "denominator"),
        "reoffending": ("cohort_size", "reoffenders", "reoffences"),
    }
    for name, columns in people.items():
        for column in columns:
            small = [i for i, v in enumerate(tables[name][column].to_list()) if v is not None and 1 <= v <= 4]
            assert small, f"the inputs should have small {column} counts in {name}"
            shown = public[name][f"{column}_marker"].to_list()
            assert all(shown[i] == "[c]" for i in small), f"a small {name} {column} is published"
    leaks = attack(tmp_path, rules=False)  # the published identities and rounding
    assert leaks == [], report(leaks)


def test_the_real_publication_copy_gives_nothing_away_to_a_reader_of_the_notes(tmp_path):
    publish(tmp_path)
    leaks = attack(tmp_path)  # also the status, result and significance columns and the Notes' rules
    assert leaks == [], report(leaks)


@pytest.mark.parametrize(
    "inputs",
    [
        {"paid": "C05"},  # C05's hidden credit line, and a final outcome payment
        {"cohorts": {"C09": (3, 1, 2)}},
    ],  # a CRC's small cohort
    ids=["hidden credit and outcome payment", "small CRC cohort"],
)
def test_the_builder_can_protect_a_crc_with_hidden_money(tmp_path, inputs):
    """Found by this attacker: both once crashed the builder (a complement only a derived cell could protect)."""
    publish(tmp_path, **inputs)
    leaks = attack(tmp_path)
    assert leaks == [], report(leaks)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_no_release_of_random_small_counts_gives_anything_away(tmp_path, data):
    """Small counts anywhere (CRC or NPS, missed or not, with or without an outcome payment, the high-risk measure
    CAS-017 also counts): every count of 1 to 4 is hidden, and the attacker, reading the Notes' rules and the data
    quality table too, recovers nothing."""
    codes = CRC + NPS
    levels = {
        (data.draw(st.sampled_from(codes)), data.draw(st.sampled_from(MEASURES))): data.draw(
            st.sampled_from([(1, 2), (3, 4), (2, 12), (4, 30), (0, 3)])
        )
        for _ in range(data.draw(st.integers(0, 4)))
    }
    levels |= {
        (data.draw(st.sampled_from(CRC)), "high_risk_not_referred"): (data.draw(st.integers(1, 6)), 150)
        for _ in range(data.draw(st.integers(0, 4)))
    }
    cohorts = {
        data.draw(st.sampled_from(codes)): data.draw(st.sampled_from([(3, 1, 2), (4, 4, 9), (30, 2, 2)]))
        for _ in range(data.draw(st.integers(0, 3)))
    }
    paid = data.draw(st.sampled_from(CRC))
    tables, public = publish(tmp_path, paid=paid, cohorts=cohorts, levels=levels)
    for name, columns in {
        "service_levels": ("numerator", "denominator"),
        "reoffending": ("cohort_size", "reoffenders", "reoffences"),
    }.items():
        for column in columns:
            values, shown = tables[name][column].to_list(), public[name][f"{column}_marker"].to_list()
            assert all(shown[i] == "[c]" for i, v in enumerate(values) if v is not None and 1 <= v <= 4), (name, column)
    leaks = attack(tmp_path)
    assert leaks == [], report(leaks)


def national(root: Path, monkeypatch, scale: float, faults: float) -> Path:
    """All 28 providers through the real pipeline (as ``returns demo`` does, seed 7): the internal output folder."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import upgrade

    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    db = f"sqlite:///{root / 'w.db'}"
    upgrade(db)
    quarter = Quarter.parse(Q)
    made = generate(root / "landing", [quarter], CRC + NPS, scale=scale, seed=7, faults=faults)
    run = run_quarter(
        quarter,
        CRC + NPS,
        landing=root / "landing",
        archive=root / "archive",
        output=root / "out",
        database_url=db,
        extract=made.extract,
        quarter_subfolders=False,
    )
    assert run.failed == []
    return root / "out"


def assert_small_counts_hidden(internal: Path) -> int:
    """Every count of people from 1 to 4 is [c] in the publication copy; how many there are."""
    hidden = 0
    for name, columns in {
        "service_levels": ("numerator", "denominator"),
        "reoffending": ("cohort_size", "reoffenders", "reoffences"),
    }.items():
        inside = pl.read_csv(internal / f"{name}.csv", infer_schema_length=None)
        outside = pl.read_csv(internal / "publication" / f"{name}.csv", infer_schema_length=None)
        for column in columns:
            small = inside[column].is_between(1, 4).fill_null(False)
            assert (outside.filter(small)[f"{column}_marker"] == "[c]").all(), (name, column)
            hidden += int(small.sum())
    return hidden


def cas017_top_rules(internal: Path) -> list[str]:
    """CRCs whose hidden 'high risk not referred' numerator is counted by CAS-017 among their top three rules."""
    levels = pl.read_csv(internal / "service_levels.csv", infer_schema_length=None)
    small = levels.filter((pl.col("measure") == "high_risk_not_referred") & pl.col("numerator").is_between(1, 4))
    quality = pl.read_csv(internal / "data_quality.csv", infer_schema_length=None).filter(pl.col("table") == "cases")
    listed = quality.filter(pl.col("top_rules").str.contains("CAS-017", literal=True))
    return sorted(set(small["provider_code"]) & set(listed["provider_code"]))


@pytest.mark.slow
def test_a_national_quarter_publication_gives_nothing_away(tmp_path, monkeypatch):
    """All 28 providers at a tenth of their caseloads (so small counts are common), through the real pipeline:
    the publication copy (CSVs and workbook) hides every small count of people and gives none of them away, the
    data-quality table included: CAS-017 is among the three most frequent rules of a CRC whose small 'high risk not
    referred' numerator it counts."""
    internal = national(tmp_path, monkeypatch, scale=0.1, faults=0.002)
    assert assert_small_counts_hidden(internal) > 0  # the quarter has small counts to protect
    assert cas017_top_rules(internal), "the quarter should list CAS-017 among a hidden CRC's top three rules"
    leaks = attack(internal / "publication")
    assert leaks == [], report(leaks)


@pytest.mark.slow
def test_the_demo_quarter_publication_gives_nothing_away(tmp_path, monkeypatch):
    """The quarter ``returns demo`` makes (full scale, faults 0.002): the reviewer undid its publication copy with
    the cases warnings and the most frequent rules of data_quality.csv (CAS-017 counts the hidden 'high risk not
    referred' numerators), which an attacker of sums inside one table did not see."""
    internal = national(tmp_path, monkeypatch, scale=1.0, faults=0.002)
    assert assert_small_counts_hidden(internal) >= 12
    leaks = attack(internal / "publication")
    assert leaks == [], report(leaks)
