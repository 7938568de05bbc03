"""Builds and decisions in step: a decision on a credit after the quarter was built makes the build out of date,
its sign-off is refused with the reason, a contract manager rebuilds the quarter from the portal (the real
quarter_build job in a worker process, through Dagster), and signs off the new build, whose payments carry
the decision. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.portal_fixtures import TOKEN

PASSWORD = "a-long-test-password"


@pytest.fixture
def built(tmp_path, database_url, monkeypatch):
    """C05's 2017Q3 return run through the pipeline (credits and build 1), a manager, and the portal over them."""
    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from portal.app import create_app
    from portal.settings import Settings
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    prepare(tmp_path / "dagster")
    upgrade(database_url)
    generate(out=tmp_path / "generated", quarters=[Quarter.parse("2017Q3")], codes=["C05"], scale=0.02, seed=7)
    landing = tmp_path / "landing"
    shutil.copytree(tmp_path / "generated" / "C05", landing / "C05")
    for extract in (tmp_path / "generated").glob("reoffending_*.csv"):
        shutil.copy(extract, landing / extract.name)
    run = run_quarter(
        Quarter.parse("2017Q3"),
        ["C05"],
        landing=landing,
        archive=tmp_path / "archive",
        output=tmp_path / "output",
        database_url=database_url,
    )
    assert not run.failed, run.reasons
    engine = engine_for(database_url)
    with session_scope(engine) as s:
        accounts.add_user(s, "manager@moj.example", "manager", PASSWORD)
    settings = Settings(
        database_url=database_url,
        landing=landing,
        archive=tmp_path / "archive",
        output=tmp_path / "output",
        dagster_home=tmp_path / "dagster",
        secret_key="rebuild-test",
        alerts=tmp_path / "alerts",
        open_quarter="2017Q3",
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    from portal import processing

    try:
        yield app, engine
    finally:
        for child in processing.started:  # workers still queued for a slot: done before the database goes
            child.wait(timeout=120)
        processing.started.clear()
        engine.dispose()


def _token(client, path):
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def _payments(build_folder: Path) -> dict:
    with (build_folder / "payments.csv").open(newline="", encoding="utf-8") as f:
        return next(row for row in csv.DictReader(f) if row["provider_code"] == "C05")


def test_a_decision_after_the_build_refuses_sign_off_until_the_quarter_is_rebuilt_from_the_portal(built):
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import AuditEvent, Credit, ReturnBuild, SignOff

    app, engine = built
    with session_scope(engine) as s:
        credit = s.scalars(
            select(Credit)
            .where(Credit.provider_code == "C05", Credit.amount_gbp > 0, Credit.replaced_at.is_(None))
            .order_by(Credit.measure)
        ).first()
        assert credit is not None, "the fixture's quarter should have a C05 service credit to decide on"
        measure, amount = credit.measure, credit.amount_gbp
        first = s.scalars(select(ReturnBuild)).one()
        first_id, first_folder = first.id, Path(first.output_path)
    before = _payments(first_folder)
    assert Decimal(before["credits_waived_gbp"]) == 0

    client = app.test_client()
    client.post(
        "/sign-in",
        data={"email": "manager@moj.example", "password": PASSWORD, "csrf_token": _token(client, "/sign-in")},
    )
    credits = "/manage/quarters/2017Q3/providers/C05/credits"
    decided = client.post(
        credits,
        data={
            "measure": measure,
            "decision": "waived",
            "reason": "Agreed at review",
            "csrf_token": _token(client, f"{credits}?measure={measure}"),
        },
    )
    assert decided.status_code == 302

    page = client.get(f"/manage/builds/{first_id}").get_data(as_text=True)
    assert "Out of date" in page and f"C05 {measure} waived on" in page and "Rebuild the quarter" in page
    assert "is out of date" in client.get("/manage/quarters/2017Q3").get_data(as_text=True)
    refused = client.post(
        f"/manage/builds/{first_id}", data={"confirm": "y", "csrf_token": _token(client, f"/manage/builds/{first_id}")}
    )
    assert refused.status_code == 400
    assert (
        "This build cannot be signed off. This build was made before this decision on credits: "
        f"C05 {measure} waived" in refused.get_data(as_text=True)
    )
    with session_scope(engine) as s:
        assert s.scalars(select(SignOff)).first() is None

    started = client.post(
        "/manage/quarters/2017Q3/rebuild", data={"csrf_token": _token(client, "/manage/quarters/2017Q3")}
    )
    assert started.status_code == 302 and "/manage/rebuilds/" in started.location
    status_url = started.location.rstrip("/") + "/status"
    end = time.monotonic() + 240
    while (state := client.get(status_url).get_json())["next"] is None:
        assert time.monotonic() < end, state
        time.sleep(1)
    assert state["status"] == "done", client.get(state["next"]).get_data(as_text=True)[-3000:]
    page = client.get(state["next"]).get_data(as_text=True)
    assert "Out of date" not in page and "Decisions on credits in this build" in page
    assert f'<td class="govuk-table__cell">{measure}</td>' in page.replace("\n", "").replace("  ", "")
    with session_scope(engine) as s:
        second = s.scalars(select(ReturnBuild).order_by(ReturnBuild.build_number.desc())).first()
        second_id, second_folder, number = second.id, Path(second.output_path), second.build_number
    assert number == 2 and state["next"].endswith(f"/manage/builds/{second_id}")
    signed = client.post(
        f"/manage/builds/{second_id}",
        data={"confirm": "y", "csrf_token": _token(client, f"/manage/builds/{second_id}")},
    )
    assert signed.status_code == 302
    after = _payments(second_folder)
    assert Decimal(after["credits_waived_gbp"]) == amount
    assert Decimal(after["credits_applied_gbp"]) == Decimal(before["credits_applied_gbp"]) - amount
    assert Decimal(after["net_gbp"]) == Decimal(before["net_gbp"]) + amount
    with session_scope(engine) as s:
        assert [x.build_id for x in s.scalars(select(SignOff))] == [second_id]
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["sign_in", "credit_decision", "rebuild_requested", "sign_off"]
