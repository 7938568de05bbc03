"""The integrity signals in the ministry return: ``integrity.csv`` and the internal sheet "Credibility and
integrity" say the same, a gaming provider is flagged and honest ones are not, and nothing of it reaches the
publication copy. One quarter through the pipeline as the CLI runs it, on each backend."""

from __future__ import annotations

import csv
import html
import re
import zipfile
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from orchestration.runner.quarter import run_quarter
from portal.app import create_app
from portal.settings import Settings
from probation_returns import accounts
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.generator.gaming import Gaming
from probation_returns.reference import providers
from probation_returns.warehouse.db import engine_for, read_scope, session_scope, upgrade
from probation_returns.warehouse.models import Submission

Q = Quarter.parse("2016Q4")
CODES = ["C01", "C02", "C03", "C04", "C05", "C06"]
COLUMNS = [
    "quarter",
    "provider_code",
    "provider_name",
    "signal",
    "measure",
    "count",
    "statistic",
    "expected",
    "threshold",
    "z",
    "compared_with",
    "flagged",
    "explanation",
]
# deadline_heaping 5, exclusion_drift 1, contact_intensity 3, case_mix_drift 2, late_flip 2, binary_vs_frequency 2
MEASURES_PER_PROVIDER = 15
SIGNALS = (
    "deadline_heaping",
    "exclusion_drift",
    "contact_intensity",
    "case_mix_drift",
    "late_flip",
    "binary_vs_frequency",
)


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _manager_client(database_url: str, tmp_path: Path, out: Path):
    """The portal as `make portal` serves it, signed in as a contract manager."""
    settings = Settings(
        database_url=database_url,
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=out,
        dagster_home=tmp_path / "dagster",
        secret_key="test-secret-key",
        alerts=tmp_path / "alerts",
        open_quarter=str(Q),
        process_uploads=False,
        sign_in_limit="1000 per minute",
    )
    engine = engine_for(database_url)
    with session_scope(engine) as s:
        accounts.add_user(s, "manager@moj.example", "manager", "a-long-test-password", name="Contract Manager")
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed = client.post(
        "/sign-in", data={"email": "manager@moj.example", "password": "a-long-test-password", "csrf_token": token}
    )
    assert signed.status_code == 302
    return client, engine


def _sheet_rows(path: Path) -> list[dict]:
    ws = load_workbook(path)["Credibility and integrity"]
    header = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Provider code")
    keys = [str(ws.cell(header, c).value).split(" [note")[0] for c in range(1, ws.max_column + 1)]
    out = []
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        out.append(dict(zip(keys, (ws.cell(r, c).value for c in range(1, len(keys) + 1)))))
    return out


def test_integrity_csv_and_sheet_flag_the_gaming_provider_only_and_never_reach_the_publication(database_url, tmp_path):
    upgrade(database_url)
    made = generate(
        tmp_path / "landing", [Q], CODES, scale=0.05, seed=5, gaming={"C05": Gaming("due_day_appointments")}
    )
    out = tmp_path / "out"
    run = run_quarter(
        Q,
        CODES,
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=out,
        database_url=database_url,
        extract=made.extract,
        quarter_subfolders=False,
    )
    assert run.failed == []

    rows = _csv(out / "integrity.csv")
    assert list(rows[0]) == COLUMNS
    assert len(rows) == len(providers()) * MEASURES_PER_PROVIDER  # every provider, signal and measure
    assert {r["flagged"] for r in rows} == {"yes", "no"}
    assert {r["signal"] for r in rows} == set(SIGNALS)  # every signal of the registry
    flagged = {(r["provider_code"], r["signal"], r["measure"]) for r in rows if r["flagged"] == "yes"}
    assert ("C05", "deadline_heaping", "SL001R") in flagged
    assert {f[0] for f in flagged} == {"C05"}  # the honest providers are not flagged by anything
    c05 = next(r for r in rows if (r["provider_code"], r["measure"]) == ("C05", "SL001R"))
    on_due, n = (int(x.replace(",", "")) for x in c05["explanation"].split(" first appointments")[0].split(" of "))
    assert int(c05["count"]) == n and Decimal(c05["statistic"]) == round(Decimal(on_due) / n, 4)
    assert Decimal(c05["statistic"]) >= Decimal(c05["threshold"]) and c05["compared_with"] == "other providers"
    # a provider that sent nothing has a row for each measure that says so, and is never flagged
    n01 = [r for r in rows if r["provider_code"] == "N01"]
    assert len(n01) == MEASURES_PER_PROVIDER
    assert all(
        r["count"] == "" and r["flagged"] == "no" and r["explanation"].startswith("No accepted return") for r in n01
    )

    # the workbook's internal sheet shows the same figures, row for row
    sheet = _sheet_rows(out / f"ministry_return_{Q}.xlsx")
    assert len(sheet) == len(rows)
    for shown, row in zip(sheet, rows):
        assert (shown["Provider code"], shown["Signal"], shown["Measure"]) == (
            row["provider_code"],
            row["signal"],
            row["measure"],
        )
        assert shown["Flagged"] == row["flagged"] and shown["Explanation"] == row["explanation"]
        if row["statistic"]:
            assert Decimal(str(shown["Statistic (number)"])) == Decimal(row["statistic"])
        else:
            assert shown["Statistic (number)"] in ("[x]", "[z]")

    # the data dictionary of the internal copy describes integrity.csv; the publication copy knows nothing of it
    dictionary = _csv(out / "data_dictionary.csv")
    assert [d["column"] for d in dictionary if d["file"] == "integrity.csv"] == COLUMNS
    publication = out / "publication"
    assert not (publication / "integrity.csv").exists()
    assert not (publication / "credibility.csv").exists()  # nor the credibility report (tests/test_credibility.py)
    public_sheets = load_workbook(publication / f"ministry_return_{Q}_publication.xlsx").sheetnames
    assert "Credibility and integrity" not in public_sheets and "Credibility" not in public_sheets
    for path in publication.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif path.is_file():
            text = path.read_text(encoding="utf-8")
        else:
            continue
        for word in ("integrity", *SIGNALS, "credibility", "vanished_cases"):
            assert word not in text.lower(), (path.name, word)

    # the contract manager's page shows the same rows, and hands out the cases behind the flag: references only
    client, engine = _manager_client(database_url, tmp_path, out)
    try:
        page = client.get("/manage/providers/C05/integrity", follow_redirects=True)
        assert page.status_code == 200
        raw = page.get_data(as_text=True)
        assert f'href="/manage/quarters/{Q}/providers/C05/integrity/deadline_heaping/SL001R.csv"' in raw
        text = html.unescape(raw)
        mine = [r for r in rows if r["provider_code"] == "C05"]
        assert f"{sum(r['flagged'] == 'yes' for r in mine)} of {len(mine)} signals flagged for {Q}." in text
        assert all(r["explanation"] in text for r in mine)
        got = client.get(f"/manage/quarters/{Q}/providers/C05/integrity/deadline_heaping/SL001R.csv")
        assert got.status_code == 200 and got.mimetype == "text/csv"
        refs = got.get_data(as_text=True).split("\r\n")
        assert refs[0] == "case_ref" and refs[-1] == "" and len(refs[1:-1]) == on_due
        sent = (tmp_path / "landing" / "C05" / f"C05_{Q}_cases.csv").read_text(encoding="utf-8")
        assert all(re.fullmatch(r"[A-Z]\d{6}", ref) and f"\n{ref}," in sent for ref in refs[1:-1])
        unflagged = client.get(f"/manage/quarters/{Q}/providers/C01/integrity/deadline_heaping/SL001R.csv")
        assert unflagged.get_data(as_text=True) == "case_ref\r\n"  # only a flag has cases behind it
        assert client.get(f"/manage/quarters/{Q}/providers/C01/integrity/no_such/SL001R.csv").status_code == 404
        # the build page offers integrity.csv from the internal copy only, byte for byte
        build_page = html.unescape(client.get("/manage/builds/1").get_data(as_text=True))
        assert "Integrity signals (CSV; internal copy only)" in build_page
        assert "/manage/builds/1/files/integrity.csv" in build_page
        assert "/manage/builds/1/publication/integrity.csv" not in build_page
        got = client.get("/manage/builds/1/files/integrity.csv")
        assert got.status_code == 200 and got.data == (out / "integrity.csv").read_bytes()
        assert client.get("/manage/builds/1/publication/integrity.csv").status_code == 404
    finally:
        engine.dispose()


def test_a_resubmission_moving_only_deadline_dates_is_received_as_version_2_and_flagged_by_late_flip(
    database_url, tmp_path
):
    upgrade(database_url)
    landing = tmp_path / "landing"
    made = generate(landing, [Q], CODES, scale=0.05, seed=5, gaming={"C05": Gaming("resubmission")})
    second = landing / "resubmissions" / "C05"
    assert sorted(p.name for p in second.iterdir()) == [f"C05_{Q}_{t}.csv" for t in ("breaches", "cases", "contacts")]
    out = tmp_path / "out"
    kwargs = dict(
        archive=tmp_path / "archive",
        output=out,
        database_url=database_url,
        extract=made.extract,
        quarter_subfolders=False,
    )
    assert run_quarter(Q, CODES, landing=landing, **kwargs).failed == []
    first = {(r["provider_code"], r["signal"], r["measure"]): r for r in _csv(out / "integrity.csv")}
    assert first[("C05", "late_flip", "deadline_dates")]["compared_with"] == "nothing: one version only"
    # the provider sends its second version: received as version 2, which counts
    assert run_quarter(Q, CODES, landing=landing / "resubmissions", **kwargs).failed == []
    engine = engine_for(database_url)
    try:
        with read_scope(engine) as s:
            versions = [
                (v.version, v.outcome)
                for v in s.query(Submission).filter_by(provider_code="C05", quarter=str(Q)).order_by(Submission.version)
            ]
        assert [v for v, _ in versions] == [1, 2] and all(o != "Rejected" for _, o in versions)
    finally:
        engine.dispose()
    rows = _csv(out / "integrity.csv")
    assert len(rows) == len(providers()) * MEASURES_PER_PROVIDER
    by = {(r["provider_code"], r["signal"], r["measure"]): r for r in rows}
    dates = by[("C05", "late_flip", "deadline_dates")]
    assert dates["flagged"] == "yes" and dates["compared_with"] == "version 1, changes spread over every field"
    assert dates["statistic"] == "1.0000"  # nothing but deadline dates changed
    assert dates["explanation"].startswith(f"{dates['count']} of the {dates['count']} fields changed in version 2")
    flagged = {(r["provider_code"], r["signal"]) for r in rows if r["flagged"] == "yes" and r["signal"] == "late_flip"}
    assert flagged == {("C05", "late_flip")}  # no honest provider (one version each) is flagged by it
    assert all(
        by[(c, "late_flip", m)]["compared_with"] == "nothing: one version only"
        for c in CODES
        if c != "C05"
        for m in ("deadline_dates", "missed_to_met")
    )
    assert by[("C05", "binary_vs_frequency", "binary_rate")]["count"] != ""  # the cohort's result was there

    client, engine = _manager_client(database_url, tmp_path, out)
    try:
        page = html.unescape(client.get(f"/manage/quarters/{Q}/providers/C05/integrity").get_data(as_text=True))
        assert dates["explanation"] in page
        got = client.get(f"/manage/quarters/{Q}/providers/C05/integrity/late_flip/deadline_dates.csv")
        assert got.status_code == 200 and got.mimetype == "text/csv"
        refs = got.get_data(as_text=True).split("\r\n")[1:-1]
        assert refs and refs == sorted(set(refs))
        first_cases = (landing / "C05" / f"C05_{Q}_cases.csv").read_text(encoding="utf-8")
        second_cases = (second / f"C05_{Q}_cases.csv").read_text(encoding="utf-8")
        old = {line.split(",")[0]: line for line in first_cases.splitlines()[1:]}
        new = {line.split(",")[0]: line for line in second_cases.splitlines()[1:]}
        changed = {ref for ref in new if old.get(ref) != new[ref]}
        breaches_changed = set()
        for a, b in zip(
            (landing / "C05" / f"C05_{Q}_breaches.csv").read_text(encoding="utf-8").splitlines()[1:],
            (second / f"C05_{Q}_breaches.csv").read_text(encoding="utf-8").splitlines()[1:],
            strict=True,
        ):
            if a != b:
                breaches_changed.add(b.split(",")[1])
        assert set(refs) == changed | breaches_changed  # exactly the cases whose deadline dates moved
    finally:
        engine.dispose()
