"""Uploads sent together are queued, never lost: 6 returns from C14 and 6 from C05 sent at the same moment
are all accepted by the portal, checked one after another per provider by the real worker through Dagster,
each becoming the next version in the order it was sent, and the latest is the one that counts.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from tests.support.portal_fixtures import TOKEN, settings_under
from tests.support.returns import clean_tables, set_value, write_csvs

PASSWORD = "a-long-test-password"
CLERKS = {"C14": "clerk@c14.example", "C05": "clerk@c05.example"}
SENT = 6


@pytest.fixture
def portal(tmp_path, database_url, monkeypatch):
    from orchestration.instance import prepare
    from portal.app import create_app
    from probation_returns import accounts
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    prepare(tmp_path / "dagster")
    upgrade(database_url)
    engine = engine_for(database_url)
    with session_scope(engine) as s:
        for code, email in CLERKS.items():
            accounts.add_user(s, email, "provider", PASSWORD, provider=code)
    settings = settings_under(tmp_path, database_url, "burst-test")
    app = create_app(settings)
    app.config["TESTING"] = True
    from portal import processing

    try:
        yield app, engine, tmp_path
    finally:
        for child in processing.started:  # workers still queued for a slot: done before the database goes
            child.wait(timeout=120)
        processing.started.clear()
        engine.dispose()


def _versions(tmp_path, code: str) -> list[list]:
    """Six different, valid returns of the provider: the second contact's date is 10, 11, ... 15 August."""
    out = []
    for i in range(SENT):
        tables = clean_tables()
        for row in range(len(tables["cases"])):
            set_value(tables, "cases", row, "provider_code", code)
        set_value(tables, "contacts", 1, "contact_date", f"2017-08-{10 + i}")
        out.append(write_csvs(tmp_path / "sent" / code / str(i), tables, provider=code))
    return out


def test_twelve_uploads_sent_at_once_are_all_checked_in_order_and_the_latest_counts(portal, monkeypatch):
    from probation_returns.measures import quarter as rules
    from probation_returns.warehouse.db import session_scope
    from probation_returns.warehouse.models import Submission, Upload

    app, engine, tmp_path = portal
    returns = {code: _versions(tmp_path, code) for code in CLERKS}
    senders = []  # (code, i, client, csrf token): each signed in beforehand, as twelve browsers would be
    for code, email in CLERKS.items():
        for i in range(SENT):
            client = app.test_client()
            token = TOKEN.search(client.get("/sign-in").get_data(as_text=True)).group(1)
            assert (
                client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code
                == 302
            )
            form = TOKEN.search(client.get("/returns/2017Q3/send").get_data(as_text=True)).group(1)
            senders.append((code, i, client, form))
    start, answers = threading.Barrier(len(senders)), {}

    def send(code, i, client, form):
        body = {
            "files": [(path.open("rb"), path.name) for path in returns[code][i]],
            "declaration": "y",
            "declared_by": "A Clerk",
            "csrf_token": form,
        }
        start.wait()
        answers[(code, i)] = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")

    threads = [threading.Thread(target=send, args=sender) for sender in senders]
    for t in threads:  # released together by the barrier: a burst however loaded the machine (no time asserted)
        t.start()
    for t in threads:
        t.join()
    assert {key: r.status_code for key, r in answers.items()} == {key: 302 for key in answers}  # all accepted
    with session_scope(engine) as s:
        sent = list(s.scalars(select(Upload).order_by(Upload.id)))
    assert len(sent) == 12

    end = time.monotonic() + 400
    waiting = {u.id for u in sent}
    while waiting:  # as each clerk's page does: looking also restarts a worker that was lost
        assert time.monotonic() < end, f"uploads {sorted(waiting)} not finished"
        for upload in sorted(waiting):
            owner = next(
                c for code, _, c, _ in senders if code == next(u.provider_code for u in sent if u.id == upload)
            )
            if owner.get(f"/uploads/{upload}/status").get_json()["next"] is not None:
                waiting.discard(upload)
        time.sleep(1)

    with session_scope(engine) as s:
        uploads = list(s.scalars(select(Upload).order_by(Upload.id)))
        assert [(u.status, u.error) for u in uploads] == [("done", None)] * 12  # none lost, none failed
        for code in CLERKS:
            mine = [u for u in uploads if u.provider_code == code]
            versions = [s.get(Submission, u.submission_id) for u in mine]
            assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]  # in the order they were sent
            assert [v.status for v in versions][:5] == ["superseded"] * 5  # each replaced by the next
            for upload, version in zip(mine, versions):  # delivered when sent, not when its turn came
                sent_at = upload.uploaded_at.replace(tzinfo=upload.uploaded_at.tzinfo or dt.UTC)
                delivered = version.delivered_at.replace(tzinfo=version.delivered_at.tzinfo or dt.UTC)
                assert abs((delivered - sent_at).total_seconds()) < 1
            assert rules.accepted_submission(s, code, "2017Q3") is None  # sent in 2026: after 2017Q3's deadline
        monkeypatch.setattr(rules, "submission_deadline", lambda q, p: dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        for code in CLERKS:  # had they been on time, the latest would count
            counted = rules.accepted_submission(s, code, "2017Q3")
            assert counted is not None and counted.version == 6
    history = senders[0][2].get("/returns/history").get_data(as_text=True)
    assert all(f"Version {n}<" in history for n in range(1, 7)) and "not a version yet" not in history
