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
from tests.disclosure_attacker import attack

Q = "2017Q3"
CRC = [c for c, p in providers().items() if p.type == "CRC"]
NPS = [c for c, p in providers().items() if p.type == "NPS"]
KIND = {c: p.type for c, p in providers().items()}
LEVEL_COLUMNS = ["quarter", "provider_code", "provider_name", "measure", "numerator", "denominator", "performance",
                 "target", "status", "credit_gbp", "credit_decision", "parameter_version"]
PAY_COLUMNS = ["quarter", "provider_code", "provider_name", "quarterly_fee_gbp", "service_credits_gbp",
               "credits_waived_gbp", "credits_reinvested_gbp", "credits_applied_gbp", "outcome_payments_gbp", "net_gbp",
               "parameter_version"]
MARKED = {"numerator", "denominator", "performance", "target", "credit_gbp", *PAY_COLUMNS[4:10]}


# --- a constructed release, written by hand in the published format ---

def _rate(n: int, d: int) -> Decimal | None:
    return (Decimal(n) / Decimal(d)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) if d else None


def levels(measure: str, counts: dict[str, tuple[int, int]], target: str | None = "0.900",
           credits: dict[str, Decimal] | None = None) -> list[dict]:
    """One measure for all 28 providers (90/100 unless given) and its totals, with status and credit lines."""
    rows = []
    for code in CRC + NPS:
        n, d = counts.get(code, (90, 100))
        status = ("reported" if target is None else "insufficient volume" if d < 10
                  else "met" if Decimal(n) / d >= Decimal(target) else "missed")
        credit = (credits or {}).get(code, Decimal("0.00")) if KIND[code] == "CRC" and target else None
        rows.append({"provider_code": code, "measure": measure, "numerator": n, "denominator": d,
                     "performance": _rate(n, d), "target": target and Decimal(target), "status": status,
                     "credit_gbp": credit, "credit_decision": "applied" if credit is not None else ""})
    for total, members in (("CRC", CRC), ("NPS", NPS), ("ALL", CRC + NPS)):
        n = sum(r["numerator"] for r in rows if r["provider_code"] in members)
        d = sum(r["denominator"] for r in rows if r["provider_code"] in members)
        rows.append({"provider_code": total, "measure": measure, "numerator": n, "denominator": d,
                     "performance": _rate(n, d), "target": target and Decimal(target), "status": "total",
                     "credit_gbp": None, "credit_decision": ""})
    return rows


def payments(lines: list[dict]) -> list[dict]:
    """Each provider's money from its credit lines (all applied), a fee of 1,000,000.00 and no outcome payment."""
    rows = []
    for code in CRC + NPS:
        total = sum((r["credit_gbp"] for r in lines if r["provider_code"] == code and r["credit_gbp"] is not None),
                    Decimal("0.00"))
        fee = Decimal("1000000.00") if KIND[code] == "CRC" else Decimal("0.00")
        zero = Decimal("0.00")
        money = (total, zero, zero, total, zero) if KIND[code] == "CRC" else (None,) * 5
        rows.append({"provider_code": code, "quarterly_fee_gbp": fee,
                     **dict(zip(PAY_COLUMNS[4:9], money)), "net_gbp": fee - total})
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
    leaks = found(release(tmp_path / "one", lines, {("C05", "high_risk_not_referred", c)
                                                     for c in ("numerator", "denominator", "performance")}))
    row = ("C05", "high_risk_not_referred")
    assert leaks[("service_levels.csv", row, "numerator")] == 3
    assert leaks[("service_levels.csv", row, "denominator")] == 30
    assert leaks[("service_levels.csv", row, "performance")] == Decimal("0.100")

    # 2. two hidden numerators whose visible residual is 0 (C05 0 of 3, C06 0 of 2): bounds pin both to 0
    lines = levels("high_risk_not_referred", {"C05": (0, 3), "C06": (0, 2)}, target=None)
    cells = {(c, "high_risk_not_referred", col) for c in ("C05", "C06") for col in ("numerator", "denominator",
                                                                                      "performance")}
    leaks = attack(release(tmp_path / "zero", lines, cells))
    pinned = {leak.row[0]: leak for leak in leaks if leak.column == "numerator"}
    assert {c: leak.value for c, leak in pinned.items()} == {"C05": 0, "C06": 0}
    assert all(leak.how.startswith("bounds") for leak in pinned.values())
    assert not any(leak.column == "denominator" for leak in leaks)  # 3 + 2 = 5 could be split many ways

    # 3. money: C07 missed two measures; one credit line hidden, its total and the other line visible
    lines = (levels("SL016", {"C07": (60, 100)}, credits={"C07": Decimal("15000.00")})
             + levels("SL003", {"C07": (80, 100)}, credits={"C07": Decimal("2500.00")}))
    leaks = found(release(tmp_path / "money", lines, {("C07", "SL016", "credit_gbp")}))
    assert leaks == {("service_levels.csv", ("C07", "SL016"), "credit_gbp"): Decimal("15000.00")}

    # 4. the workbook: the CSV hides two rows safely, but the Service levels sheet shows C05's numerator
    lines = levels("high_risk_not_referred", {"C05": (3, 200), "C06": (7, 150)}, target=None)
    cells = {(c, "high_risk_not_referred", col) for c in ("C05", "C06") for col in ("numerator", "denominator",
                                                                                      "performance")}
    folder = release(tmp_path / "book", lines, cells)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Service levels"
    sheet.append(["Provider code", "Measure code", "Numerator (count)", "Denominator (count)", "Performance (%)"])
    for r in hide(lines, cells - {("C05", "high_risk_not_referred", "numerator")}):
        sheet.append([r["provider_code"], r["measure"], r["numerator"], r["denominator"],
                      r["performance"] if r["performance"] in ("[c]", None) else float(r["performance"])])
    sheet.add_table(Table(displayName="ServiceLevels", ref=f"A1:E{sheet.max_row}"))
    book.save(folder / f"ministry_return_{Q}_publication.xlsx")
    leaks = found(folder)
    assert leaks[("service_levels.csv", ("C05", "high_risk_not_referred"), "numerator")] == 3
    assert leaks[("service_levels.csv", ("C06", "high_risk_not_referred"), "numerator")] == 7  # then the total


def test_the_attacker_accepts_a_safe_table(tmp_path):
    lines = levels("high_risk_not_referred", {"C05": (3, 200), "C06": (7, 150)}, target=None)
    cells = {(c, "high_risk_not_referred", col) for c in ("C05", "C06") for col in ("numerator", "denominator",
                                                                                      "performance")}
    assert attack(release(tmp_path, lines, cells)) == []


# --- the project's own builder on constructed inputs ---

MEASURES = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")
TARGETS = {"SL001R": "0.950", "SL002R": "0.950"}
SMALL_LEVELS = {("C05", "SL016"): (3, 12),  # missed, so it has a credit (the 2.5% cap)
                ("C09", "AE"): (3, 4),  # insufficient volume
                ("N03", "SL002R"): (2, 30),  # an NPS division's missed measure (no credit)
                ("C04", "high_risk_not_referred"): (2, 150)}  # a reported measure, every other CRC at 0
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
            status = ("reported" if target is None else "insufficient volume" if d < 10
                      else "met" if Decimal(n) / d >= target else "missed")
            amount = None
            if KIND[code] == "CRC" and target is not None:  # 0.25% of the fee per point below target, at most 2.5%
                short = target * 100 - Decimal(n) * 100 / d if status == "missed" else Decimal(0)
                amount = dec(min(fee * Decimal("0.0025") * short, fee * Decimal("0.025")), "0.01")
                credit[code] = credit.get(code, Decimal("0.00")) + amount
            level_rows.append((Q, code, m, n, d, dec(Decimal(n) / d, "0.001"), target, status, amount,
                               "applied" if amount is not None else None, "2017-18.1"))
    cohort_rows, pay_rows, quality, subs = [], [], [], []
    for i, code in enumerate(CRC + NPS, start=1):
        size, people, offences = cohorts.get(code, (400 + 10 * i, 160 + i, 700 + 3 * i))
        binary, reduction = Decimal(people) / size, code == paid
        outcome = Decimal("94000.00") if reduction else Decimal("0.00")
        cohort_rows.append((Q, code, Q, size, people, offences, dec(binary, "0.0001"),
                            dec(Decimal(offences) / people, "0.001"), Decimal("0.4000"),
                            dec(binary - Decimal("0.05"), "0.0001"), Decimal("0.4500"), Decimal("4.50"),
                            Decimal("-2.5000") if reduction else Decimal("-0.5000"),
                            "significant reduction" if reduction else "not significant", "final", outcome, None,
                            "2017-18.1"))
        fee = providers()[code].quarterly_fee_gbp if KIND[code] == "CRC" else Decimal("0.00")
        total = credit.get(code, Decimal("0.00"))
        pay_rows.append((Q, code, fee, total, Decimal("0.00"), Decimal("0.00"), total, outcome, fee - total + outcome,
                         "2017-18.1"))
        quality += [(Q, code, i, t, 3 if (code, t) == ("C10", "breaches") else 1000 + i, 2, 2, 0, "CAS-001 (2)")
                    for t in ("cases", "contacts", "breaches")]
        subs.append((Q, code, i, 1, None, None, "0" * 64, "f.csv", "validated", "Accepted", "yes", i))
    return (pl.DataFrame(level_rows, schema=SERVICE_LEVELS, orient="row"),
            pl.DataFrame(cohort_rows, schema=REOFFENDING, orient="row"),
            pl.DataFrame(pay_rows, schema=PAYMENTS, orient="row"),
            pl.DataFrame(quality, schema=DATA_QUALITY, orient="row"),
            pl.DataFrame(subs, schema=SUBMISSIONS, orient="row"))


def publish(folder: Path, **inputs) -> tuple[dict, dict]:
    """The builder's internal tables and publication copy; the copy's CSVs written to ``folder``."""
    from reports.csv import write_csv
    from reports.ministry import suppression, tidy

    tables = tidy.return_tables(*_inputs(**inputs))
    public = suppression.publication(tables, tidy.mark(tables))
    for name in ("service_levels", "reoffending", "payments", "data_quality"):
        write_csv(public[name], folder / f"{name}.csv")
    return tables, public


def report(leaks) -> str:
    return "the builder's publication copy gives hidden cells away:\n" + "\n".join(
        f"  {leak.file} {'/'.join(leak.row)} {leak.column} = {leak.value}  ({leak.how})" for leak in leaks)


def test_the_real_publication_copy_gives_nothing_away(tmp_path):
    tables, public = publish(tmp_path)
    people = {"service_levels": ("numerator", "denominator"),
              "reoffending": ("cohort_size", "reoffenders", "reoffences")}
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


@pytest.mark.parametrize("inputs", [{"paid": "C05"},  # C05's hidden credit line, and a final outcome payment
                                    {"cohorts": {"C09": (3, 1, 2)}}],  # a CRC's small cohort
                         ids=["hidden credit and outcome payment", "small CRC cohort"])
def test_the_builder_can_protect_a_crc_with_hidden_money(tmp_path, inputs):
    """Found by this attacker: both once crashed the builder (a complement only a derived cell could protect)."""
    publish(tmp_path, **inputs)
    leaks = attack(tmp_path)
    assert leaks == [], report(leaks)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_no_release_of_random_small_counts_gives_anything_away(tmp_path, data):
    """Small counts anywhere (CRC or NPS, missed or not, with or without an outcome payment): every count of 1 to 4
    is hidden, and the attacker, reading the Notes' rules too, recovers nothing."""
    codes = CRC + NPS
    levels = {(data.draw(st.sampled_from(codes)), data.draw(st.sampled_from(MEASURES))):
              data.draw(st.sampled_from([(1, 2), (3, 4), (2, 12), (4, 30), (0, 3)]))
              for _ in range(data.draw(st.integers(0, 4)))}
    cohorts = {data.draw(st.sampled_from(codes)): data.draw(st.sampled_from([(3, 1, 2), (4, 4, 9), (30, 2, 2)]))
               for _ in range(data.draw(st.integers(0, 3)))}
    paid = data.draw(st.sampled_from(CRC))
    tables, public = publish(tmp_path, paid=paid, cohorts=cohorts, levels=levels)
    for name, columns in {"service_levels": ("numerator", "denominator"),
                          "reoffending": ("cohort_size", "reoffenders", "reoffences")}.items():
        for column in columns:
            values, shown = tables[name][column].to_list(), public[name][f"{column}_marker"].to_list()
            assert all(shown[i] == "[c]" for i, v in enumerate(values) if v is not None and 1 <= v <= 4), (name, column)
    leaks = attack(tmp_path)
    assert leaks == [], report(leaks)


@pytest.mark.slow
def test_a_national_quarter_publication_gives_nothing_away(tmp_path, monkeypatch):
    """All 28 providers at a tenth of their caseloads (so small counts are common), through the real pipeline:
    the publication copy (CSVs and workbook) hides every small count of people and gives none of them away."""
    from orchestration.run import run_quarter
    from probation_returns.calendar import Quarter
    from probation_returns.generator import generate
    from probation_returns.warehouse.db import upgrade

    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    quarter = Quarter.parse(Q)
    made = generate(tmp_path / "landing", [quarter], CRC + NPS, scale=0.1, faults=0.002)
    run = run_quarter(quarter, CRC + NPS, landing=tmp_path / "landing", archive=tmp_path / "archive",
                      output=tmp_path / "out", database_url=db, extract=made.extract, quarter_subfolders=False)
    assert run.failed == []
    internal = tmp_path / "out"
    public = internal / "publication"
    hidden = 0
    for name, columns in {"service_levels": ("numerator", "denominator"),
                          "reoffending": ("cohort_size", "reoffenders", "reoffences")}.items():
        inside = pl.read_csv(internal / f"{name}.csv", infer_schema_length=None)
        outside = pl.read_csv(public / f"{name}.csv", infer_schema_length=None)
        for column in columns:
            small = inside[column].is_between(1, 4).fill_null(False)
            assert (outside.filter(small)[f"{column}_marker"] == "[c]").all(), (name, column)
            hidden += int(small.sum())
    assert hidden > 0  # the quarter has small counts to protect
    leaks = attack(public)
    assert leaks == [], report(leaks)
