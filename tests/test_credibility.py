"""The credibility report: hand-computed figures on a tiny hand-made quarter (each kind of figure, the change, one
flag and one non-flag), a gaming provider flagged on the figure its profile moves, and the report through the
pipeline on each backend: ``credibility.csv`` and the internal sheet "Credibility" agree, the manifest lists the
file, the contract manager's page shows the same figures, and nothing of it reaches the publication copy."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html
import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import polars as pl
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from orchestration.runner.quarter import run_quarter
from probation_returns.calendar import Quarter
from probation_returns.credibility import store as credibility_store
from probation_returns.credibility.figures import CASE_COLUMNS
from probation_returns.credibility.limits import limits
from probation_returns.credibility.report import compute
from probation_returns.credibility.store import ensure
from probation_returns.generator.dataset import generate
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity.model import QuarterData
from probation_returns.integrity.synthetic import quarter_data as synthetic_data
from probation_returns.measures.service_levels import counts
from probation_returns.warehouse.db import upgrade
from probation_returns.warehouse.models import CredibilityTallies, CredibilityVanished
from tests.test_integrity_return import _manager_client

Q = Quarter.parse("2017Q3")
D = dt.date.fromisoformat
CASE_SCHEMA = {
    "case_ref": pl.String,
    "sentence_type": pl.String,
    "start_date": pl.Date,
    "rosh_level": pl.String,
    "ogrs3_2yr": pl.Int64,
    "age_at_start": pl.Int64,
    "index_offence_group": pl.String,
    "first_appointment_date": pl.Date,
    "first_appointment_attended": pl.Boolean,
    "sentence_plan_date": pl.Date,
    "upw_required": pl.Boolean,
    "upw_arranged_date": pl.Date,
    "termination_date": pl.Date,
    "termination_reason": pl.String,
}
assert tuple(CASE_SCHEMA) == CASE_COLUMNS
CONTACT_SCHEMA = {
    "case_ref": pl.String,
    "contact_date": pl.Date,
    "contact_type": pl.String,
    "outcome": pl.String,
    "followup_date": pl.Date,
}
BREACH_SCHEMA = {
    "case_ref": pl.String,
    "awareness_date": pl.Date,
    "referral_date": pl.Date,
    "pack_complete": pl.Boolean,
}


def _case(ref, kind, start, rosh, ogrs, age, offence, first, plan=None, upw=None, ended=None, reason=None):
    return (ref, kind, D(start), rosh, ogrs, age, offence, first and D(first), first is not None, plan and D(plan),
            upw is not None, upw and D(upw), ended and D(ended), reason)  # fmt: skip


def _tables(cases, contacts, breaches=()):
    return {
        "cases": pl.DataFrame(cases, schema=CASE_SCHEMA, orient="row"),
        "contacts": pl.DataFrame(
            [(ref, D(day), kind, outcome, None) for ref, day, kind, outcome in contacts],
            schema=CONTACT_SCHEMA,
            orient="row",
        ),
        "breaches": pl.DataFrame(
            [(ref, D(a), D(r), pack) for ref, a, r, pack in breaches], schema=BREACH_SCHEMA, orient="row"
        ),
    }


A2 = _case("A000002", "LIC", "2017-05-15", "H", 60, 41, "VIOLENCE", "2017-05-16", "2017-05-30")
A3 = _case("A000003", "CO", "2017-04-03", "L", 80, 19, "DRUG", "2017-04-05")
C05_NOW = _tables(
    [
        _case("A000001", "CO", "2017-07-03", "M", 45, 30, "THEFT", "2017-07-05", "2017-07-20", "2017-07-06"),
        A2[:12] + (D("2017-08-31"), "COMPLETED"),
        A3,
        # due 2017-08-08 (5 business days after its start): seen on the 10th, late
        _case(
            "A000005",
            "SSO",
            "2017-08-01",
            "L",
            92,
            55,
            "FRAUD",
            "2017-08-10",
            None,
            None,
            "2017-09-15",
            "TRANSFERRED_NPS",
        ),  # fmt: skip
    ],
    [
        ("A000001", "2017-07-05", "F2F", "ATTENDED"),
        ("A000001", "2017-08-02", "F2F", "ATTENDED"),
        ("A000003", "2017-07-12", "F2F", "ATTENDED"),
        ("A000003", "2017-08-09", "PHONE", "ATTENDED"),
        ("A000005", "2017-08-10", "PHONE", "FAILED_TO_ATTEND"),
    ],
    [("A000001", "2017-08-01", "2017-08-03", True)],
)
C05_BEFORE = _tables(
    [
        A2,
        A3,
        _case("A000004", "CO", "2017-01-10", "M", 50, 25, "THEFT", "2017-01-12"),  # open at 2017Q2's end, gone now
        _case(
            "A000006", "CO", "2016-10-03", "M", 50, 25, "THEFT", "2016-10-04", None, None, "2017-06-01", "COMPLETED"
        ),  # fmt: skip
    ],
    [(ref, "2017-05-20", "F2F", "ATTENDED") for ref in ("A000002", "A000003", "A000004", "A000006")],
)
C06_NOW = _tables(
    [
        _case("B000001", "CO", "2017-07-10", "L", 30, 22, "THEFT", "2017-07-11"),
        _case("B000002", "PSS", "2017-06-01", "M", 55, 35, "DRUG", "2017-06-02"),
    ],
    [("B000001", "2017-07-11", "F2F", "ATTENDED")],
)


def _rows(lim=None):
    data = QuarterData(Q, {"C05": C05_NOW, "C06": C06_NOW}, {"C05": {Q - 1: C05_BEFORE}, "C06": {}})
    return {(r.provider_code, r.family, r.figure): r for r in compute(data, ["C05", "C06"], lim)}


def _loose():
    """Thresholds a four-case provider can pass: every minimum 1, z 1, a contact type's share 30 points."""
    lim = copy.deepcopy(limits())
    for family in lim.values():
        family["minimum"] = 1
        if "z" in family:
            family["z"] = 1.0
    lim["contact_type"]["change"] = 0.30
    return lim


def test_hand_made_quarter_each_kind_of_figure():
    rows = _rows()
    # a plain count: 5 contacts now, 4 last quarter: +25%, Poisson z = (5 - 4) / sqrt(9) = 0.33; national 5 + 1
    contacts = rows[("C05", "totals", "contacts")]
    assert (contacts.value, contacts.previous, contacts.national) == (Decimal(5), (Decimal(4), None, None, None), 6)
    assert (contacts.change, contacts.statistic, contacts.flagged) == (Decimal("0.2500"), None, False)
    assert "Too few to judge (fewer than 50)" in contacts.explanation  # the real thresholds: far too few to judge
    # a share: 2 of 5 contacts by phone (0.4), none of 4 before; national (2 + 0) / (5 + 1)
    phone = rows[("C05", "contact_type", "PHONE")]
    assert (phone.count, phone.base, phone.value, phone.previous[0]) == (2, 5, Decimal("0.4000"), Decimal("0.0000"))
    assert (phone.national, phone.change, phone.change_vs_mean) == (
        Decimal("0.3333"),
        Decimal("0.4000"),
        Decimal("0.4000"),
    )
    assert phone.statistic is None and not phone.flagged
    # terminations this quarter: A000002 completed, A000005 transferred; before, A000006 completed
    assert rows[("C05", "totals", "terminations")].value == 2
    transferred = rows[("C05", "termination_reason", "TRANSFERRED_NPS")]
    assert (transferred.count, transferred.base, transferred.value) == (1, 2, Decimal("0.5000"))
    # band and age: A000005 (OGRS3 92, age 55) is 1 of 4 cases in 90-100 and 50+
    assert rows[("C05", "ogrs3_band", "90-100")].count == 1 and rows[("C05", "age_band", "50+")].count == 1
    assert rows[("C05", "age_band", "18-20")].count == 1  # A000003, 19
    assert rows[("C05", "offence_group", "THEFT")].value == Decimal("0.2500")
    assert rows[("C05", "rosh_level", "L")].count == 2 and rows[("C05", "sentence_type", "CO")].count == 2
    assert rows[("C05", "contact_outcome", "FAILED_TO_ATTEND")].count == 1
    # a service level, as the measures count it: SL001R's population is A000001 (met) and A000005 (late), 1 of 2;
    # last quarter A000003 only (met); national (1 + B000001's 1) of (2 + 1)
    sl001r = rows[("C05", "service_level", "SL001R")]
    assert (sl001r.count, sl001r.base, sl001r.value, sl001r.previous[0]) == (1, 2, Decimal("0.5000"), Decimal(1))
    assert sl001r.national == Decimal("0.6667") and sl001r.change == Decimal("-0.5000")
    assert counts(Q, *C05_NOW.values())["SL001R"] == (1, 2)
    assert rows[("C05", "totals", "breaches")].value == 1
    # ESFA's check: A000002, A000003 and A000004 were active at the end of 2017Q2; A000004 is neither listed nor
    # ended now (A000006 ended in 2017Q2, so it is not looked for)
    gone = rows[("C05", "vanished_cases", "vanished_cases")]
    assert (gone.count, gone.base, gone.value, gone.national, gone.flagged) == (1, 3, 1, 1, False)
    assert gone.threshold == 5  # 5 cases (1% of 3 is less)
    # the mix of contact types: PSI with half a count added per type, hand-computed as 0.5430
    mix = rows[("C05", "contact_type", "mix")]
    assert (mix.value, mix.test, mix.flagged) == (Decimal("0.5430"), "PSI", False)
    # C06 has no previous quarter: shown, never compared
    c06 = rows[("C06", "contact_type", "F2F")]
    assert c06.value == 1 and c06.previous == (None,) * 4 and c06.change is None and not c06.flagged
    assert "No accepted return last quarter" in c06.explanation


def test_a_flag_and_a_non_flag_at_thresholds_a_tiny_provider_can_pass():
    rows = _rows(_loose())
    # PHONE: +40 points, z = 0.4 / sqrt((2/9)(7/9)(1/5 + 1/4)) = 1.43: past 30 points and |z| 1
    phone = rows[("C05", "contact_type", "PHONE")]
    assert (phone.statistic, phone.threshold, phone.flagged) == (Decimal("1.43"), Decimal("0.3000"), True)
    assert phone.explanation.endswith(
        "Flagged: +40.0 points (z 1.43); flagged at a move of 30.0 points or more either way with |z| at least 1."
    )
    # contacts: +25% reaches 25%, but z = (5 - 4) / sqrt(9) = 0.33 is short of 1: not flagged
    contacts = rows[("C05", "totals", "contacts")]
    assert (contacts.statistic, contacts.flagged) == (Decimal("0.33"), False)
    # VIDEO: none now, none before: no change, not flagged
    video = rows[("C05", "contact_type", "VIDEO")]
    assert (video.change, video.statistic, video.flagged) == (Decimal("0.0000"), Decimal("0.00"), False)
    # 1 vanished case of 3 active: the minimum (1) and 1% of 3 both passed
    assert rows[("C05", "vanished_cases", "vanished_cases")].flagged


def test_a_gaming_provider_is_flagged_on_the_figure_its_profile_moves():
    q = Quarter.parse("2016Q4")
    codes = ["C01", "C02", "C03", "C08"]
    data = synthetic_data(3, q, codes, 0.05, {"C08": Gaming("phone_parking", q)})
    rows = compute(data, codes)
    flagged = {(r.provider_code, r.family, r.figure) for r in rows if r.flagged}
    assert ("C08", "contact_type", "PHONE") in flagged and ("C08", "contact_type", "mix") in flagged
    assert {code for code, _, _ in flagged} == {"C08"}  # honest providers unflagged


def test_the_sheet_shows_counts_as_whole_numbers_and_shares_as_percentages_with_the_csv_figures(tmp_path):
    """Each value column holds counts on one row and shares on the next: every cell's number format is its row's
    (a count never as 620.0000), and the number under the format is the CSV's figure."""
    from openpyxl import Workbook

    from probation_returns.credibility.table import frame
    from reports.ministry import tidy
    from reports.ministry.layout import CREDIBILITY
    from reports.ministry.workbook import write_table

    q = Quarter.parse("2016Q4")
    rows = tidy.with_names(frame(compute(synthetic_data(3, q, ["C05"], 0.05, reoffending=False), ["C05"])))
    rows.write_csv(tmp_path / "credibility.csv")
    wb = Workbook()
    write_table(wb.active, CREDIBILITY, rows.to_dicts(), title="t", marking="m", footer="f")
    wb.save(tmp_path / "c.xlsx")
    ws = load_workbook(tmp_path / "c.xlsx").active
    header = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Provider code")
    col = {str(ws.cell(header, c).value).split(" [note")[0]: c for c in range(1, ws.max_column + 1)}
    by_figure = {(r["family"], r["figure"]): header + 1 + i for i, r in enumerate(_csv(tmp_path / "credibility.csv"))}

    def cell(family, figure, heading):
        return ws.cell(by_figure[(family, figure)], col[heading])

    formats = {  # (family, figure): this quarter, change on last quarter, threshold, test statistic
        ("totals", "cases"): ("#,##0", "+0.0%;-0.0%;0.0%", "0.0%", "0.00"),
        ("contact_type", "PHONE"): ("0.0%", '+0.0%" points";-0.0%" points";0.0%" points"', '0.0%" points"', "0.00"),
        ("service_level", "SL001R"): ("0.0%", '+0.0%" points";-0.0%" points";0.0%" points"', '0.0%" points"', "0.00"),
        ("rosh_level", "mix"): ("0.0000", None, "0.0000", "0.0000"),
        ("vanished_cases", "vanished_cases"): ("#,##0", "+#,##0;-#,##0;0", "#,##0", None),
    }
    headings = ("This quarter (number)", "Change on last quarter (number)", "Threshold (number)")
    for key, expected in formats.items():
        for heading, fmt in zip((*headings, "Test statistic (number)"), expected, strict=True):
            if fmt is not None:
                assert cell(*key, heading).number_format == fmt, (key, heading)
    cases = cell("totals", "cases", "This quarter (number)").value
    assert isinstance(cases, int) and cases > 100  # a whole number, not 620.0000
    for r in _csv(tmp_path / "credibility.csv"):  # the same figures as the CSV, under whatever format
        for heading, key in zip(headings, ("value", "change", "threshold"), strict=True):
            shown = ws.cell(by_figure[(r["family"], r["figure"])], col[heading]).value
            assert shown == "[z]" if r[key] == "" else Decimal(str(shown)) == Decimal(r[key]), (r["figure"], key)


COLUMNS = [
    "quarter",
    "provider_code",
    "provider_name",
    "family",
    "figure",
    "count",
    "base",
    "value",
    "q_minus_1",
    "q_minus_2",
    "q_minus_3",
    "q_minus_4",
    "national",
    "change",
    "change_vs_mean",
    "threshold",
    "test",
    "statistic",
    "flagged",
    "explanation",
]
FIGURES_PER_PROVIDER = 4 + (4 + 4 + 4 + 6 + 12 + 3 + 3 + 7) + 8 + 7 + 1  # totals, categories, mixes, levels, vanished


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _sheet(path: Path) -> list[dict]:
    ws = load_workbook(path)["Credibility"]
    header = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Provider code")
    keys = [str(ws.cell(header, c).value).split(" [note")[0] for c in range(1, ws.max_column + 1)]
    out = []
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        out.append(dict(zip(keys, (ws.cell(r, c).value for c in range(1, len(keys) + 1)), strict=True)))
    return out


def test_the_report_through_the_pipeline_csv_sheet_manifest_and_page_agree(database_url, tmp_path, monkeypatch):
    """Two quarters of three CRCs through the pipeline as the CLI runs it, C08 parking low-risk cases on the phone
    from the second: the report read back from the warehouse is the one computed from the generator's returns."""
    upgrade(database_url)
    q, codes, seed = Quarter.parse("2016Q4"), ["C05", "C06", "C08"], 11
    gaming = {"C08": Gaming("phone_parking", q)}
    made = generate(tmp_path / "landing", [q - 1, q], codes, scale=0.05, seed=seed, gaming=gaming)
    out = tmp_path / "out"
    for quarter in (q - 1, q):
        run = run_quarter(
            quarter,
            codes,
            landing=tmp_path / "landing",
            archive=tmp_path / "archive",
            output=out,
            database_url=database_url,
            extract=made.extract,
        )
        assert run.failed == []
    built = out / str(q)

    rows = _csv(built / "credibility.csv")
    assert list(rows[0]) == COLUMNS and len(rows) == len(codes) * FIGURES_PER_PROVIDER
    flagged = {(r["provider_code"], r["family"], r["figure"]) for r in rows if r["flagged"] == "yes"}
    assert ("C08", "contact_type", "PHONE") in flagged and {f[0] for f in flagged} == {"C08"}
    # the same report as computed from the generator's returns, without files or warehouse
    returns = {(c, k): synthetic_data(seed, k, [c], 0.05, gaming).current[c] for c in codes for k in (q - 1, q)}
    data = QuarterData(q, {c: returns[(c, q)] for c in codes}, {c: {q - 1: returns[(c, q - 1)]} for c in codes})
    assert [r["explanation"] for r in rows] == [f.explanation for f in compute(data, codes)]
    phone = next(r for r in rows if (r["provider_code"], r["figure"]) == ("C08", "PHONE"))
    assert Decimal(phone["value"]) == round(Decimal(phone["count"]) / Decimal(phone["base"]), 4)
    assert phone["q_minus_2"] == "" and phone["test"] == "two-proportion z"

    # the workbook's internal sheet shows the same figures, row for row
    sheet = _sheet(built / f"ministry_return_{q}.xlsx")
    assert len(sheet) == len(rows)
    for shown, row in zip(sheet, rows, strict=True):
        assert (shown["Provider code"], shown["Family"], shown["Figure"], shown["Flagged"]) == (
            row["provider_code"],
            row["family"],
            row["figure"],
            row["flagged"],
        )
        assert shown["Explanation"] == row["explanation"]
        for heading, key in (("This quarter (number)", "value"), ("Last quarter (number)", "q_minus_1")):
            if row[key]:
                assert Decimal(str(shown[heading])) == Decimal(row[key])
            else:
                assert shown[heading] == "[z]"

    # the manifest lists it like the other files; the dictionary describes it; the publication has none of it
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert "credibility.csv" in {f["path"] for f in manifest["files"]}
    dictionary = _csv(built / "data_dictionary.csv")
    assert [d["column"] for d in dictionary if d["file"] == "credibility.csv"] == COLUMNS
    publication = built / "publication"
    assert not (publication / "credibility.csv").exists()
    assert "Credibility" not in load_workbook(publication / f"ministry_return_{q}_publication.xlsx").sheetnames
    for path in publication.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif path.is_file():
            text = path.read_text(encoding="utf-8")
        else:
            continue
        assert "credibility" not in text.lower() and "vanished_cases" not in text, path.name

    # the contract manager's page: the open quarter's report, the same figures and words, C08's flags tagged
    client, engine = _manager_client(database_url, tmp_path, out)
    try:
        page = client.get("/manage/providers/C08/credibility")
        assert page.status_code == 302 and page.headers["Location"] == f"/manage/quarters/{q}/providers/C08/credibility"
        text = html.unescape(client.get(page.headers["Location"]).get_data(as_text=True))
        mine = [r for r in rows if r["provider_code"] == "C08"]
        assert all(r["explanation"] in text for r in mine)
        flags = [r["figure"] for r in mine if r["flagged"] == "yes"]
        assert f"{len(flags)} figures flagged for {q}: {', '.join(flags)}." in text
        assert len(re.findall(r">\s*Flagged\s*<", text)) == len(flags)
        assert len(re.findall(r">\s*Not flagged\s*<", text)) == len(mine) - len(flags)
        shown_phone = f"{Decimal(phone['value']) * 100:.1f}%"  # a share as a percentage
        assert re.search(rf">\s*{re.escape(shown_phone)}\s*<", text)
        assert "Contacts by type" in text and "Cases active at the end of last quarter and gone now" in text

        # each counted return's figures are stored once (six returns; three pairs for the vanished cases), and a
        # rerun works nothing out again and reads the same report
        def stored_rows() -> tuple[int, int]:
            with engine.connect() as c:
                return tuple(
                    c.scalar(select(func.count()).select_from(m)) for m in (CredibilityTallies, CredibilityVanished)
                )

        assert stored_rows() == (6, 3)
        assert ensure(engine, q, codes)[3] == 0
        assert [r.explanation for r in credibility_store.report(engine, q, codes)] == [r["explanation"] for r in rows]
        # two runs at once that both found nothing stored: both work the figures out and store them in the same
        # moment, and the unique keys keep one row each
        with engine.begin() as c:
            c.execute(delete(CredibilityVanished))
            c.execute(delete(CredibilityTallies))
        monkeypatch.setattr(credibility_store, "stored", lambda session, ids: ({}, {}))
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: ensure(engine, q, codes), range(2)))
        assert [r[3] for r in runs] == [9, 9] and stored_rows() == (6, 3)
        monkeypatch.undo()
        assert [r.explanation for r in credibility_store.report(engine, q, codes)] == [r["explanation"] for r in rows]
    finally:
        engine.dispose()
