"""The integrity signals as the quarter build stores them: the ``integrity_signals`` asset's checks warn for a
gaming provider and pass for honest ones, its rows are stored once per set of inputs (a rerun, two runs at once,
a kill while storing), and the ministry return and the contract manager's pages read what it stored. One
quarter through the pipeline as the CLI runs it, on each backend."""

from __future__ import annotations

import csv
import html
import json
import threading
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import delete, func, select, update

from assets.integrity.assets import integrity_signals
from assets.lib.partitions import quarter_key
from assets.lib.resources import Warehouse
from orchestration.runner.quarter import run_quarter
from probation_returns.generator.dataset import generate
from probation_returns.generator.gaming import Gaming
from probation_returns.integrity import store
from probation_returns.integrity.signals import SIGNALS
from probation_returns.reference import providers
from probation_returns.warehouse.db import read_scope, session_scope, upgrade
from probation_returns.warehouse.models import IntegrityCase, IntegrityComputation, IntegritySignalRow
from tests.test_integrity_return import CODES, MEASURES_PER_PROVIDER, Q, _manager_client

ROWS = len(providers()) * MEASURES_PER_PROVIDER


def _counts(engine) -> tuple[int, int, int]:
    with read_scope(engine) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t))
            for t in (IntegrityComputation, IntegritySignalRow, IntegrityCase)
        )


def _forget(engine) -> None:
    with session_scope(engine) as s:
        s.execute(delete(IntegrityCase))
        s.execute(delete(IntegritySignalRow))
        s.execute(delete(IntegrityComputation))


def test_the_quarter_build_stores_the_signals_once_and_the_portal_and_the_return_read_them(database_url, tmp_path):
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
    client, engine = _manager_client(database_url, tmp_path, out)
    try:
        # the build stored one computation; integrity.csv is its rows, in its order
        computations, rows, cases = _counts(engine)
        assert (computations, rows) == (1, ROWS)
        with read_scope(engine) as s:
            stored = store.current(s, Q, list(providers()))
        with (out / "integrity.csv").open(newline="", encoding="utf-8") as f:
            written = list(csv.DictReader(f))
        assert [(r.provider_code, r.signal, r.measure) for r in stored.rows] == [
            (w["provider_code"], w["signal"], w["measure"]) for w in written
        ]
        for r, w in zip(stored.rows, written):
            assert ("yes" if r.flagged else "no") == w["flagged"] and r.explanation == w["explanation"]
            assert (r.statistic is None and w["statistic"] == "") or r.statistic == Decimal(w["statistic"])
        flagged = [r for r in stored.rows if r.flagged]
        assert {r.provider_code for r in flagged} == {"C05"}
        sl001r = next(r for r in flagged if r.measure == "SL001R")
        assert cases == sum(len(r.cases) for r in flagged)
        on_due = int(sl001r.explanation.split(" of ")[0].replace(",", ""))
        assert len(sl001r.cases) == on_due  # the cases behind the flag: those on the due day

        # in Dagster: a warning check per signal, failing only for the signal that flagged C05; a rerun of the
        # same inputs stores nothing
        result = dg.materialize(
            [integrity_signals],
            partition_key=quarter_key(Q),
            resources={"warehouse": Warehouse(url=database_url)},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert set(checks) == set(SIGNALS)
        assert all(e.severity == dg.AssetCheckSeverity.WARN for e in checks.values())
        assert {name for name, e in checks.items() if not e.passed} == {r.signal for r in flagged}
        heaping = checks["deadline_heaping"]
        assert heaping.metadata["flagged_providers"].value == "C05"
        assert heaping.description.startswith(f"1 provider flagged by deadline_heaping in {Q}: C05.")
        figures = heaping.metadata["flagged"].value
        assert {(f["provider_code"], f["measure"]) for f in figures} == {
            (r.provider_code, r.measure) for r in flagged if r.signal == "deadline_heaping"
        }
        assert next(f for f in figures if f["measure"] == "SL001R")["statistic"] == str(sl001r.statistic)
        assert checks["exclusion_drift"].passed and checks["exclusion_drift"].description == (
            f"No provider flagged by exclusion_drift in {Q}."
        )
        [materialized] = result.get_asset_materialization_events()
        meta = materialized.materialization.metadata
        assert meta["stored_now"].value is False and meta["computation_id"].value == stored.id
        # provider codes and figures only: no case reference anywhere in what Dagster keeps
        said = json.dumps(
            [{k: str(v.value) for k, v in e.metadata.items()} for e in checks.values()]
            + [{k: str(v.value) for k, v in meta.items()}]
        )
        assert not any(ref in said for r in flagged for ref in r.cases)
        assert _counts(engine) == (1, ROWS, cases)

        # the contract manager's page reads the stored rows (a stored explanation changed here shows there)
        with session_scope(engine) as s:
            s.execute(
                update(IntegritySignalRow)
                .where(IntegritySignalRow.provider_code == "C05", IntegritySignalRow.measure == "SL001R")
                .values(explanation="Read from the warehouse.")
            )
        page = html.unescape(client.get(f"/manage/quarters/{Q}/providers/C05/integrity").get_data(as_text=True))
        assert "Read from the warehouse." in page and "Worked out and stored by the quarter build on" in page
        # a chart per flagged signal, with its figures in words and in a table
        assert page.count('aria-labelledby="chart-') == len(flagged)
        assert "deadline_heaping SL001R: the provider's figure against what it is compared with" in page
        assert f"C05's figure: {float(sl001r.statistic):.1%}; Expected: {float(sl001r.expected):.1%}" in page
        assert "deadline_heaping SL001R: the figures in the chart" in page
        got = client.get(f"/manage/quarters/{Q}/providers/C05/integrity/deadline_heaping/SL001R.csv")
        assert got.get_data(as_text=True) == "case_ref\r\n" + "".join(f"{ref}\r\n" for ref in sl001r.cases)
        honest = html.unescape(client.get(f"/manage/quarters/{Q}/providers/C01/integrity").get_data(as_text=True))
        assert 'aria-labelledby="chart-' not in honest and f"No signal is flagged for {Q}." in honest

        # the quarter page tags the flagged provider only, linking to its integrity page
        quarter_page = html.unescape(client.get(f"/manage/quarters/{Q}").get_data(as_text=True))
        tag = f"{len(flagged)} integrity flag{'s' if len(flagged) != 1 else ''}"
        assert quarter_page.count("integrity flag") == 1 + 1  # the sentence above the table, and C05's tag
        assert f'>{tag}</strong><span class="govuk-visually-hidden"> of C05</span></a>' in quarter_page
        assert f'href="/manage/quarters/{Q}/providers/C05/integrity"' in quarter_page
        assert "1 provider has integrity flags" in quarter_page

        # not stored for the returns that count now: the pages say so, and the provider's page works them out
        _forget(engine)
        page = html.unescape(client.get(f"/manage/quarters/{Q}/providers/C05/integrity").get_data(as_text=True))
        assert "The quarter build has not stored these signals for the returns that count now" in page
        assert "Read from the warehouse." not in page and sl001r.explanation.split(";")[0] in page
        quarter_page = html.unescape(client.get(f"/manage/quarters/{Q}").get_data(as_text=True))
        assert "the quarter build has not stored them for the returns that count now" in quarter_page
        assert "integrity flag" not in quarter_page

        # a run killed while storing leaves nothing stored: one transaction
        class Killed(Exception):
            pass

        real = store._write

        def killed(session, quarter, key, rows):
            real(session, quarter, key, rows)
            session.flush()
            raise Killed

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(store, "_write", killed)
            with pytest.raises(Killed):
                store.ensure(engine, Q, list(providers()))
        assert _counts(engine) == (0, 0, 0)

        # two runs at once store one computation; both read the same rows
        gate, got = threading.Barrier(2), []

        def one_run():
            gate.wait()
            got.append(store.ensure(engine, Q, list(providers())))

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 2 and got[0].id == got[1].id and sorted(g.new for g in got) == [False, True]
        assert _counts(engine) == (1, ROWS, cases)
        assert (
            [r.explanation for r in got[0].rows]
            == [r.explanation for r in stored.rows]
            == [w["explanation"] for w in written]
        )
    finally:
        engine.dispose()


def test_the_demo_switches_one_providers_gaming_on_and_says_what_the_signals_flagged(tmp_path, monkeypatch):
    """``returns demo`` (here at 2% of the caseloads): C05 games its first appointments, the output says so, and
    says which providers the integrity signals flagged, as integrity.csv has them; the rejection count it ends
    its returns table with is still the count of rejected returns."""
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.chdir(tmp_path)
    for name in ("RETURNS_DATABASE_URL", "RETURNS_LANDING", "RETURNS_ARCHIVE", "RETURNS_OUTPUT", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RETURNS_PSEUDONYM_KEY", "test-key-for-synthetic-data-only")
    ran = CliRunner().invoke(app, ["demo", "--scale", "0.02"], env={"COLUMNS": "400"})
    assert ran.exit_code == 0, ran.output
    said = ran.output
    assert (
        "Gaming switched on for C05: due_day_appointments (first appointments recorded on the due business day "
        "(SL001R, SL002R))." in said
    )
    out = tmp_path / "var" / "output" / "2017Q3"
    with (out / "integrity.csv").open(newline="", encoding="utf-8") as f:
        flagged = [r for r in csv.DictReader(f) if r["flagged"] == "yes"]
    by_provider: dict[str, list[str]] = {}
    for r in flagged:
        by_provider.setdefault(r["provider_code"], []).append(f"{r['signal']} {r['measure']}")
    assert "deadline_heaping SL001R" in by_provider["C05"]
    # the demo's faults also move one provider's contacts to the phone (RET-002), which contact_intensity may see
    assert set(by_provider) - {"C05"} <= {r["provider_code"] for r in flagged if r["signal"] == "contact_intensity"}
    what = "; ".join(f"{code} ({', '.join(w)})" for code, w in by_provider.items())
    assert f"Integrity signals: {len(flagged)} flagged, for {what}: see the contract manager's" in said
    with (out / "submissions.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    sent = [r for r in rows if r["submission_id"]]
    rejected = sorted(r["provider_code"] for r in sent if r["outcome"] == "Rejected")
    assert "C05" not in rejected  # gaming passes every rule: it is never a rejection
    assert f"{len(rejected)} of {len(sent)} returns rejected: {', '.join(rejected)};" in said


def test_the_inputs_key_names_submissions_by_natural_key_not_by_database_id(engine):
    """A killed run can spend database ids (a PostgreSQL sequence is not rolled back), so after its rerun the same
    submissions carry other ids: the stored signals must still be found as current."""
    import datetime as dt

    from probation_returns.calendar import Quarter
    from probation_returns.integrity.store import inputs_key
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Submission

    when = dt.datetime(2017, 10, 20, 9, tzinfo=dt.UTC)

    def sent(session, code: str) -> Submission:
        row = Submission(
            provider_code=code, quarter="2017Q3", version=1, sha256="0" * 64, file_names=[f"{code}_2017Q3.xlsx"],
            received_at=when, delivered_at=when, status="validated", outcome="Accepted",
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row

    with session_scope(engine) as s:
        sent(s, "C05"), sent(s, "C14")
        before = inputs_key(s, Quarter.parse("2017Q3"), ["C05", "C14"])
    with session_scope(engine) as s:
        for row in s.query(Submission).all():
            s.delete(row)
        s.flush()
        sent(s, "C14"), sent(s, "C05")  # other ids, and in the other order
        after = inputs_key(s, Quarter.parse("2017Q3"), ["C05", "C14"])
    assert after == before
