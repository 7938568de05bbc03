"""The portal's doors: who may use each route, CSRF on every form, another provider's things are 404,
sign-in is rate limited, sessions expire when idle, and the audit log records who did what."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from sqlalchemy import select

from probation_returns import uploads
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import AuditEvent, CreditDecision, SignOff, Upload
from tests.support.portal_fixtures import ACCOUNTS, PASSWORD, seed, sign_in, token

ROLES = ("provider", "manager", "admin", "officer")


@pytest.fixture
def portal(tmp_path, database_url):
    seeded = seed(tmp_path, database_url)
    yield seeded
    seeded.engine.dispose()


def _routes(p):
    """Every route, as (method, path, roles allowed). "provider" is C14, whose own things these are."""
    own_sub, own_upload, build = p.own_submission, p.own_upload, p.build
    return [
        ("GET", "/", ROLES),
        ("GET", "/help", ROLES),  # and anyone not signed in
        ("GET", "/rules", ROLES),  # the rule catalogue: anyone not signed in too
        ("GET", "/rules/CAS-005", ROLES),
        ("GET", "/rules.csv", ROLES),
        ("GET", "/rules.json", ROLES),
        ("POST", "/sign-out", ROLES),
        ("GET", "/returns", ("provider",)),
        ("GET", "/returns/2017Q3/send", ("provider",)),
        ("POST", "/returns/2017Q3/send", ("provider",)),
        ("GET", "/returns/history", ("provider",)),
        ("GET", f"/uploads/{own_upload}", ("provider", "manager")),
        ("GET", f"/uploads/{own_upload}/status", ("provider", "manager")),
        ("GET", f"/submissions/{own_sub}", ("provider", "officer", "manager")),  # the officer reads what it signs
        ("GET", f"/submissions/{own_sub}/files/findings.csv", ("provider", "officer", "manager")),
        ("GET", f"/submissions/{own_sub}/provisional", ("provider", "officer", "manager")),
        ("GET", f"/submissions/{own_sub}/changes", ("provider", "officer", "manager")),
        ("GET", f"/submissions/{own_sub}/changes.csv", ("provider", "officer", "manager")),
        ("GET", f"/submissions/{own_sub}/queries", ("provider", "officer", "manager")),
        ("GET", f"/submissions/{own_sub}/queries/new", ("provider",)),
        ("POST", f"/submissions/{own_sub}/queries/new", ("provider",)),
        ("GET", f"/queries/{p.query}", ("provider", "officer", "manager")),
        ("GET", f"/queries/{p.query}/decide", ("manager",)),
        ("POST", f"/queries/{p.query}/decide", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/queries", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/tolerances", ("manager",)),
        ("POST", "/manage/quarters/2017Q3/providers/C05/tolerances", ("manager",)),
        ("GET", "/sign-off", ("officer",)),
        ("GET", "/sign-off/2017Q3", ("officer",)),
        ("POST", "/sign-off/2017Q3", ("officer",)),
        ("GET", "/manage/", ("manager",)),
        ("GET", "/manage/quarters/2017Q3", ("manager",)),
        ("GET", "/manage/providers/C05", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/credits", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/changes", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/changes.csv", ("manager",)),
        ("GET", "/manage/providers/C05/integrity", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/integrity", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/integrity/deadline_heaping/SL001R.csv", ("manager",)),
        ("GET", "/manage/providers/C05/credibility", ("manager",)),
        ("GET", "/manage/quarters/2017Q3/providers/C05/credibility", ("manager",)),
        ("POST", "/manage/quarters/2017Q3/providers/C05/credits", ("manager",)),
        ("GET", f"/manage/builds/{build}", ("manager",)),
        ("POST", f"/manage/builds/{build}", ("manager",)),
        ("GET", f"/manage/builds/{build}/files/workbook", ("manager",)),
        ("GET", f"/manage/builds/{build}/publication/workbook", ("manager",)),
        ("POST", "/manage/quarters/2017Q3/rebuild", ("manager",)),
        ("GET", f"/manage/rebuilds/{p.rebuild}", ("manager",)),
        ("GET", f"/manage/rebuilds/{p.rebuild}/status", ("manager",)),
        ("GET", "/admin/audit", ("admin",)),
        ("GET", "/admin/accounts", ("admin",)),
        ("GET", f"/admin/accounts/{p.other_provider_user}", ("admin",)),
        ("POST", f"/admin/accounts/{p.other_provider_user}", ("admin",)),
    ]


def test_every_route_of_the_application_is_in_the_authorisation_table(portal):
    listed = {path.split("/")[1] + ":" + method for method, path, _ in _routes(portal)}
    rules = {
        (rule.rule, method)
        for rule in portal.app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    endpoints = {rule.endpoint for rule in portal.app.url_map.iter_rules()} - {"static", "auth.sign_in"}
    covered = set()
    adapter = portal.app.url_map.bind("localhost")
    for method, path, _ in _routes(portal):
        covered.add(adapter.match(path, method=method)[0])
    assert endpoints == covered, f"add these routes to the table: {sorted(endpoints - covered)}"
    assert listed and rules


HOME = {"provider": "/returns", "manager": "/manage/", "admin": "/admin/audit", "officer": "/sign-off"}


def _allowed_outcome(p, role, method, path):
    """What a role that may use the route gets from it, a POST carrying only its CSRF token: (status, redirect)."""
    if path == "/":
        return 302, HOME[role]
    if path == "/manage/":
        return 302, "/manage/quarters/2017Q3"  # the latest quarter
    if path == "/sign-off":
        return 302, "/sign-off/2017Q3"  # the open quarter's
    if path == "/manage/providers/C05/integrity":
        return 302, "/manage/quarters/2017Q3/providers/C05/integrity"  # the open quarter's signals
    if path.endswith("/changes.csv"):
        return 404, None  # one version each here: nothing to compare (tests/test_version_diff.py has several)
    if path == "/manage/providers/C05/credibility":
        return 302, "/manage/quarters/2017Q3/providers/C05/credibility"  # the open quarter's report
    if method == "GET":
        return 200, None
    return {
        "/returns/2017Q3/send": (400, None),  # no file chosen
        "/manage/quarters/2017Q3/providers/C05/credits": (200, None),  # no credit chosen: the page again
        f"/manage/builds/{p.build}": (400, None),  # the sign-off not confirmed
        "/manage/quarters/2017Q3/rebuild": (302, f"/manage/rebuilds/{p.rebuild + 1}"),  # the new rebuild's page
        f"/admin/accounts/{p.other_provider_user}": (400, None),  # no action chosen
        f"/submissions/{p.own_submission}/queries/new": (400, None),  # no finding chosen, no explanation
        f"/queries/{p.query}/decide": (400, None),  # no decision chosen
        "/manage/quarters/2017Q3/providers/C05/tolerances": (400, None),  # no rule chosen
        "/sign-off/2017Q3": (400, None),  # the declaration not confirmed
    }[path]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_routes_it_may_use_and_404_for_the_others(portal, role):
    for method, path, allowed in _routes(portal):
        if path == "/sign-out":
            continue  # it ends the session: tested on its own
        client = portal.app.test_client()
        sign_in(client, role)
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token(client, "/")})
        if role in allowed:
            got = (response.status_code, response.headers.get("Location"))
            assert got == _allowed_outcome(portal, role, method, path), (role, method, path)
        else:
            assert response.status_code == 404, (role, method, path, response.status_code)


def test_anyone_not_signed_in_is_sent_to_sign_in_from_every_route(portal):
    client = portal.app.test_client()
    for method, path, _ in _routes(portal):
        response = client.open(path, method=method)
        if path == "/help" or path.startswith("/rules"):
            assert response.status_code == 200  # help and the rules are for anyone who cannot sign in, too
        elif method == "POST":
            assert response.status_code in (302, 400), path  # the CSRF check may refuse it first
        else:
            assert response.status_code == 302 and "/sign-in" in response.location, path


def test_every_post_without_a_csrf_token_is_refused(portal):
    for role in ROLES:
        client = portal.app.test_client()
        sign_in(client, role)
        for method, path, allowed in _routes(portal):
            if method == "POST" and role in allowed:
                response = client.post(
                    path,
                    data={
                        "measure": "SL001R",
                        "decision": "waived",
                        "reason": "r",
                        "confirm": "y",
                        "declared_by": "Jo",
                        "declaration": "y",
                    },
                )
                assert response.status_code == 400, (role, path)
    client = portal.app.test_client()
    response = client.post("/sign-in", data={"email": ACCOUNTS["manager"], "password": PASSWORD})
    assert response.status_code == 400  # signing in needs the token too
    with session_scope(portal.engine) as s:
        assert s.scalars(select(CreditDecision)).first() is None and s.scalars(select(SignOff)).first() is None


def test_a_provider_asking_for_another_providers_things_gets_404_whatever_the_url(portal):
    """Signed in as C14, every provider-scoped URL of C05's is 404, as for something that does not exist."""
    client = portal.app.test_client()
    sign_in(client, "provider")
    other, own = portal.other_submission, portal.own_submission
    urls = [
        f"/submissions/{other}",
        f"/submissions/{other}?rule=CAS-012",
        f"/submissions/{other}?page=2",
        f"/submissions/{other}/provisional",
        f"/uploads/{portal.other_upload}",
        f"/uploads/{portal.other_upload}/status",
        f"/submissions/{other}/changes",
        f"/submissions/{other}/changes?against=1",
        f"/submissions/{other}/changes.csv",
    ]
    urls += [
        f"/submissions/{other}/files/{name}"
        for name in ("feedback.xlsx", "findings.csv", "feedback.html", "summary.json", "validation_result.json")
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    officer = portal.app.test_client()
    sign_in(officer, "officer")  # C14's accountable officer: C14's things only, as its clerk
    for url in urls:
        assert officer.get(url).status_code == 404, url
    import re

    def page(url):  # without what differs on every response: the CSP nonce, the time-stamped CSRF token
        text = re.sub(r'nonce="[^"]+"', "", client.get(url).get_data(as_text=True))
        return re.sub(r'(name="csrf_token"[^>]*value=)"[^"]+"', r"\1", text)

    assert client.get("/submissions/999999").status_code == 404
    assert page("/submissions/999999") == page(f"/submissions/{other}")  # nothing tells the two apart
    assert client.get(f"/submissions/{own}").status_code == 200
    assert client.get(f"/submissions/{own}/files/../../{other}/files/findings.csv").status_code == 404
    assert client.get(f"/submissions/{own}/files/..%2Fsummary.json").status_code == 404
    page = client.get("/returns").get_data(as_text=True)
    assert "C05" not in page.replace("C05_", "")  # nothing of C05's on C14's pages


def test_the_other_provider_sees_its_own_feedback_with_the_fatal_and_error_findings(portal):
    client = portal.app.test_client()
    sign_in(client, "other_provider")
    page = client.get(f"/submissions/{portal.other_submission}").get_data(as_text=True)
    assert "CAS-005" in page and "sentence_type" in page
    filtered = client.get(f"/submissions/{portal.other_submission}?rule=CAS-005").get_data(as_text=True)
    assert "1 finding shown by the filter" in filtered
    download = client.get(f"/submissions/{portal.other_submission}/files/findings.csv")
    assert download.status_code == 200 and b"CAS-005" in download.data
    assert "attachment" in download.headers["Content-Disposition"]


def test_sign_in_is_refused_without_saying_which_part_was_wrong_and_both_outcomes_are_audited(portal):
    client = portal.app.test_client()
    wrong_password = client.post(
        "/sign-in", data={"email": ACCOUNTS["manager"], "password": "nope-nope-nope", "csrf_token": token(client)}
    )
    unknown = client.post(
        "/sign-in", data={"email": "nobody@example.org", "password": "nope-nope-nope", "csrf_token": token(client)}
    )
    assert wrong_password.status_code == unknown.status_code == 401
    message = "The email address or password is not right"
    assert message in wrong_password.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    sign_in(client, "manager")
    with session_scope(portal.engine) as s:
        events = [(e.actor, e.action) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == [
        (ACCOUNTS["manager"], "sign_in_failed"),
        ("nobody@example.org", "sign_in_failed"),
        (ACCOUNTS["manager"], "sign_in"),
    ]


def test_sign_in_is_rate_limited(tmp_path, database_url):
    p = seed(tmp_path, database_url, sign_in_limit="3 per minute")
    client = p.app.test_client()
    codes = [
        client.post(
            "/sign-in", data={"email": ACCOUNTS["admin"], "password": "wrong-password!", "csrf_token": token(client)}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    right = client.post(
        "/sign-in", data={"email": ACCOUNTS["admin"], "password": PASSWORD, "csrf_token": token(client)}
    )
    assert right.status_code == 429  # even the right password waits: the limit is on attempts
    p.engine.dispose()


def test_an_idle_session_expires_and_cookies_are_secure(tmp_path, database_url):
    import datetime as dt

    p = seed(tmp_path, database_url, idle=dt.timedelta(seconds=2))
    p.app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=2)
    client = p.app.test_client()
    response = sign_in(client, "manager")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/manage/quarters/2017Q3").status_code == 200
    time.sleep(3)
    after = client.get("/manage/quarters/2017Q3")
    assert after.status_code == 302 and "/sign-in" in after.location
    p.engine.dispose()


def test_security_headers_on_every_page(portal):
    client = portal.app.test_client()
    for path in ("/sign-in",):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
    page = client.get("/sign-in").get_data(as_text=True)
    nonce = client.get("/sign-in").headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert "<script nonce=" in page and nonce not in page  # a new nonce on every response


def test_an_upload_is_streamed_into_the_landing_folder_under_the_services_names(portal):
    client = portal.app.test_client()
    sign_in(client, "provider")
    body = {
        "files": [
            (io.BytesIO(b"case_ref\nA1\n"), "../../etc/My cases.csv"),
            (io.BytesIO(b"x\n"), "contacts.csv"),
            (io.BytesIO(b"y\n"), "Breaches.CSV"),
        ],
        "declaration": "y",
        "declared_by": "Jo Clerk",
        "csrf_token": token(client, "/returns/2017Q3/send"),
    }
    response = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")
    assert response.status_code == 302 and "/uploads/" in response.location
    with session_scope(portal.engine) as s:
        upload = s.scalars(select(Upload).order_by(Upload.id.desc())).first()
        queued = sorted(p.name for p in uploads.queued_folder(portal.settings.landing, upload.id).iterdir())
        assert queued == ["C14_2017Q3_breaches.csv", "C14_2017Q3_cases.csv", "C14_2017Q3_contacts.csv"]
        assert not (portal.settings.landing / "etc").exists()
        uploads.place(portal.settings.landing, upload)  # the worker, at the upload's turn
        landed = sorted(p.name for p in (portal.settings.landing / "C14").iterdir())
        assert landed == queued
        assert (portal.settings.landing / "C14" / "C14_2017Q3_cases.csv").read_bytes() == b"case_ref\nA1\n"
        sent = upload.uploaded_at.replace(tzinfo=upload.uploaded_at.tzinfo or dt.UTC).timestamp()
        assert abs((portal.settings.landing / "C14" / "C14_2017Q3_cases.csv").stat().st_mtime - sent) < 1e-3
        assert upload.declared_by == "Jo Clerk" and {f["sent_as"] for f in upload.files} == {
            "My cases.csv",
            "contacts.csv",
            "Breaches.CSV",
        }
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "upload")).one()
        assert event.provider_code == "C14" and event.detail["files"] == 3


@pytest.mark.parametrize(
    "files, problem",
    [
        ([("cases.csv", b"a")], "Send either one Excel workbook"),
        ([("return.xls", b"a")], "name CSV files so they end in"),
        ([("C14_2017Q3.xlsx", b"")], "is empty"),
        ([], "Choose the file or files of your return"),
    ],
)
def test_a_wrong_upload_is_refused_with_what_to_send_instead(portal, files, problem):
    client = portal.app.test_client()
    sign_in(client, "provider")
    folder = portal.settings.landing / "C14"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    body = {
        "files": [(io.BytesIO(data), name) for name, data in files],
        "declaration": "y",
        "declared_by": "Jo",
        "csrf_token": token(client, "/returns/2017Q3/send"),
    }
    response = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")
    assert response.status_code == 400 and problem in response.get_data(as_text=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the last good return stays in place


def test_an_upload_without_the_declaration_is_refused(portal):
    client = portal.app.test_client()
    sign_in(client, "provider")
    body = {
        "files": [(io.BytesIO(b"PK"), "C14_2017Q3.xlsx")],
        "declared_by": "Jo",
        "csrf_token": token(client, "/returns/2017Q3/send"),
    }
    response = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")
    assert response.status_code == 400 and "Confirm that the return is complete and accurate" in response.get_data(
        as_text=True
    )


def test_a_file_over_the_size_limit_is_stopped_while_it_streams(portal, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 1000)
    with session_scope(portal.engine) as s:
        with pytest.raises(uploads.UploadError, match="larger than"):
            uploads.store(
                s,
                portal.settings.landing,
                "C14",
                "2017Q3",
                1,
                "Jo",
                [uploads.Incoming("workbook", "C14_2017Q3.xlsx", io.BytesIO(b"x" * 5000))],
            )
    assert not list((portal.settings.landing / uploads.STAGING).iterdir())  # nothing half-written is left


def test_a_contract_manager_decision_and_sign_off_are_kept_with_who_and_when(portal):
    client = portal.app.test_client()
    sign_in(client, "manager")
    form = token(client, "/manage/quarters/2017Q3/providers/C05/credits?measure=SL001R")
    signed = client.post(f"/manage/builds/{portal.build}", data={"confirm": "y", "csrf_token": form})
    assert signed.status_code == 302
    client.post(f"/manage/builds/{portal.build}", data={"confirm": "y", "csrf_token": form})  # twice: still one
    response = client.post(
        "/manage/quarters/2017Q3/providers/C05/credits",
        data={"measure": "SL001R", "decision": "waived", "reason": "Data migration in July", "csrf_token": form},
    )
    assert response.status_code == 302
    page = client.get("/manage/quarters/2017Q3/providers/C05/credits").get_data(as_text=True)
    assert "Data migration in July" in page and ACCOUNTS["manager"] in page and "waived" in page
    unknown = client.post(
        "/manage/quarters/2017Q3/providers/C05/credits",
        data={"measure": "NOPE", "decision": "waived", "reason": "x", "csrf_token": form},
    )
    assert unknown.status_code == 404
    download = client.get(f"/manage/builds/{portal.build}/files/workbook")
    assert download.data == portal.workbook.read_bytes()
    with session_scope(portal.engine) as s:
        assert [x.signed_by for x in s.scalars(select(SignOff))] == [ACCOUNTS["manager"]]
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["sign_in", "sign_off", "credit_decision", "download"]
    page = client.get(f"/manage/builds/{portal.build}").get_data(as_text=True)
    assert "Yes: this is the signed-off build" in page  # still what went to the ministry...
    assert "Out of date" in page and "C05 SL001R waived on" in page  # ...but it predates the decision
    assert "Build 1 is out of date" in client.get("/manage/quarters/2017Q3").get_data(as_text=True)


def test_the_audit_log_holds_no_offenders_data(portal):
    client = portal.app.test_client()
    sign_in(client, "other_provider")
    client.get(f"/submissions/{portal.other_submission}/files/findings.csv")
    with session_scope(portal.engine) as s:
        text = " ".join(f"{e.actor} {e.target} {e.detail}" for e in s.scalars(select(AuditEvent)))
    from tests.support.returns import CASES

    for row in CASES:
        assert row[0] not in text and row[1] not in text  # no case reference, no PNC id
    admin = portal.app.test_client()
    sign_in(admin, "admin")
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Downloaded a file" in page and ACCOUNTS["other_provider"] in page


def test_signing_out_ends_the_session_and_is_audited(portal):
    client = portal.app.test_client()
    sign_in(client, "provider")
    response = client.post("/sign-out", data={"csrf_token": token(client, "/returns")})
    assert response.status_code == 302 and "/sign-in" in response.location
    assert client.get("/returns").status_code == 302
    with session_scope(portal.engine) as s:
        assert [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))] == ["sign_in", "sign_out"]


def test_a_workbook_sent_after_csvs_replaces_them_in_the_landing_folder(portal):
    with session_scope(portal.engine) as s:
        upload = uploads.store(
            s,
            portal.settings.landing,
            "C14",
            "2017Q3",
            1,
            "Jo",
            [uploads.Incoming("workbook", "whatever.xlsx", io.BytesIO(b"PK\x03\x04 a workbook"))],
        )
        assert sorted(p.name for p in (portal.settings.landing / "C14").iterdir()) != ["C14_2017Q3.xlsx"]
        uploads.place(portal.settings.landing, upload)
    assert sorted(p.name for p in (portal.settings.landing / "C14").iterdir()) == ["C14_2017Q3.xlsx"]


def test_the_demo_accounts_get_new_passwords_each_time_and_no_password_is_in_the_code(engine):
    from pathlib import Path

    from probation_returns import accounts

    with session_scope(engine) as s:
        first = accounts.demo_accounts(s)
    with session_scope(engine) as s:
        second = accounts.demo_accounts(s)
        assert len(accounts.all_accounts(s)) == 3
        for (account, old), (_, new) in zip(first, second):
            assert old != new and accounts.authenticate(s, account.email, new) is not None
            assert accounts.authenticate(s, account.email, old) is None
    assert [a.role for a, _ in second] == ["provider", "manager", "officer"] and second[0][0].provider_code == "C14"
    assert second[2][0].provider_code == "C14"  # C14's accountable officer
    source = (Path(accounts.__file__)).read_text()
    assert all(password not in source for _, password in first + second)


def test_a_return_of_a_real_size_is_taken_whatever_the_line_breaks(portal):
    """Werkzeug applies a small form-memory limit to the file parts' read buffer too: a return of a few
    hundred kilobytes of short lines was refused with 413 before the limit was left at Flask's default."""
    client = portal.app.test_client()
    sign_in(client, "provider")
    lines = b"".join(b"A%06d,2017-07-%02d,F2F,ATTENDED,\n" % (i, 1 + i % 28) for i in range(40_000))  # ~1.3 MB
    body = {
        "files": [
            (io.BytesIO(b"case_ref\n" + lines), "cases.csv"),
            (io.BytesIO(lines), "contacts.csv"),
            (io.BytesIO(lines[:300_000]), "breaches.csv"),
        ],
        "declaration": "y",
        "declared_by": "Jo Clerk",
        "csrf_token": token(client, "/returns/2017Q3/send"),
    }
    response = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    upload_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    queued = uploads.queued_folder(portal.settings.landing, upload_id) / "C14_2017Q3_contacts.csv"
    assert queued.read_bytes() == lines


def test_a_worker_is_claimed_once_and_a_dead_workers_upload_can_be_taken_again(portal):
    with session_scope(portal.engine) as s:
        assert uploads.claim(s, portal.own_upload, "otherhost:1").status == "validating"
    with session_scope(portal.engine) as s:  # another host's worker is presumed alive: not taken from it
        assert uploads.claim(s, portal.own_upload, uploads.WORKER) is None
        s.get(Upload, portal.own_upload).worker = "{}:{}".format(
            uploads.WORKER.rpartition(":")[0],
            2**22 + 7,
        )  # no such pid
    with session_scope(portal.engine) as s:  # its worker on this machine is gone: taken again
        assert uploads.claim(s, portal.own_upload, uploads.WORKER).worker == uploads.WORKER
    with session_scope(portal.engine) as s:
        assert uploads.next_waiting(s) == portal.other_upload  # the other one still waits
        s.get(Upload, portal.other_upload).status = "done"
    with session_scope(portal.engine) as s:
        assert uploads.next_waiting(s) is None and uploads.claim(s, portal.other_upload, uploads.WORKER) is None


def test_one_worker_validates_its_upload_and_then_every_other_one_waiting(portal, monkeypatch):
    """Started for one upload, a worker drains the queue: Dagster is imported and the job built once."""
    from orchestration.runner import portal_intake

    for key, value in portal.settings.worker_environment().items():
        monkeypatch.setenv(key, value)
    done = portal_intake.work(portal.own_upload, portal.settings.dagster_home)
    assert done == 2
    with session_scope(portal.engine) as s:
        finished = {u.provider_code: (u.status, u.submission_id) for u in s.scalars(select(Upload))}
    assert finished == {"C14": ("done", portal.own_submission), "C05": ("done", portal.other_submission)}
    assert portal_intake.work(portal.own_upload, portal.settings.dagster_home) == 0  # nothing left to do


def _copy_of_session(client, app):
    """Another browser holding a copy of ``client``'s session cookie (copied by an attacker, say)."""
    thief = app.test_client()
    thief.set_cookie("returns_session", client.get_cookie("returns_session").value)
    return thief


def test_a_copied_session_cookie_stops_working_after_sign_out_password_reset_and_disable(portal):
    from probation_returns import accounts

    def end_by_sign_out(client):
        client.post("/sign-out", data={"csrf_token": token(client, "/returns")})

    def end_by_reset(client):
        with session_scope(portal.engine) as s:
            accounts.reset_password(s, ACCOUNTS["provider"], PASSWORD)  # even to the same password

    def end_by_disable(client):
        with session_scope(portal.engine) as s:
            accounts.disable(s, ACCOUNTS["provider"])

    for end in (end_by_sign_out, end_by_reset, end_by_disable):
        with session_scope(portal.engine) as s:
            accounts.enable(s, ACCOUNTS["provider"])
        client = portal.app.test_client()
        sign_in(client, "provider")
        thief = _copy_of_session(client, portal.app)
        assert thief.get("/returns").status_code == 200, end.__name__  # the copy works while the session lives
        end(client)
        for browser in (thief, client):
            replay = browser.get("/returns")
            assert replay.status_code == 302 and "/sign-in" in replay.location, end.__name__
    again = portal.app.test_client()  # disabled: cannot sign in again either
    response = again.post(
        "/sign-in", data={"email": ACCOUNTS["provider"], "password": PASSWORD, "csrf_token": token(again)}
    )
    assert response.status_code == 401


def test_a_session_ends_after_the_absolute_time_out_however_active(tmp_path, database_url, monkeypatch):
    import datetime as dt
    import types

    from portal import auth, security

    clock = types.SimpleNamespace(now=1_900_000_000.0)
    fake_time = types.SimpleNamespace(time=lambda: clock.now)
    monkeypatch.setattr(auth, "time", fake_time)  # the moment of signing in
    monkeypatch.setattr(security, "time", fake_time)  # the session's age, on every request
    p = seed(tmp_path, database_url, absolute_timeout=dt.timedelta(hours=8))
    client = p.app.test_client()
    sign_in(client, "manager")
    for _ in range(16):  # busy all day: a request every half hour, never idle
        assert client.get("/manage/quarters/2017Q3").status_code == 200
        clock.now += 30 * 60 - 1
    clock.now += 17  # 8 hours and 1 second after signing in
    after = client.get("/manage/quarters/2017Q3")
    assert after.status_code == 302 and "/sign-in" in after.location
    p.engine.dispose()


def _refused(client, email, **headers):
    return client.post(
        "/sign-in", data={"email": email, "password": "wrong-password!", "csrf_token": token(client)}, headers=headers
    ).status_code


def test_one_accounts_wrong_passwords_do_not_throttle_another_and_throttling_is_audited(tmp_path, database_url):
    p = seed(tmp_path, database_url, sign_in_limit="3 per minute")
    office = p.app.test_client()  # everyone behind one address
    assert [_refused(office, ACCOUNTS["admin"]) for _ in range(4)] == [401, 401, 401, 429]
    sign_in(office, "manager")  # a colleague at the same address is not held back
    with session_scope(p.engine) as s:
        throttled = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_throttled")).one()
    assert throttled.actor == ACCOUNTS["admin"] and throttled.detail["limit"] == "3 per 1 minute per account"
    p.engine.dispose()


def test_a_forged_x_forwarded_for_changes_nothing_without_a_configured_proxy(tmp_path, database_url):
    p = seed(tmp_path, database_url, sign_in_address_limit="3 per minute")
    client = p.app.test_client()
    codes = [_refused(client, f"guess{i}@example.org", **{"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(4)]
    assert codes == [401, 401, 401, 429]  # each guess claimed a new address: still one address, still throttled
    with session_scope(p.engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_throttled")).one()
    assert event.detail["address"] == "127.0.0.1" and event.detail["limit"] == "3 per 1 minute per address"

    import dataclasses

    from portal.app import create_app

    behind = create_app(dataclasses.replace(p.settings, proxies=1))  # the same, behind one configured proxy
    behind.config["TESTING"] = True
    client = behind.test_client()
    codes = [_refused(client, f"guess{i}@example.org", **{"X-Forwarded-For": f"10.0.1.{i}"}) for i in range(4)]
    assert codes == [401, 401, 401, 401]  # the proxy's header names the client: four clients
    p.engine.dispose()


def test_an_account_is_locked_after_wrong_passwords_and_unlocks_by_itself(tmp_path, database_url):
    import datetime as dt

    p = seed(tmp_path, database_url, lock_after=3, lock_for=dt.timedelta(seconds=2))
    client = p.app.test_client()
    assert [_refused(client, ACCOUNTS["manager"]) for _ in range(3)] == [401, 401, 401]
    right = client.post(
        "/sign-in", data={"email": ACCOUNTS["manager"], "password": PASSWORD, "csrf_token": token(client)}
    )
    assert right.status_code == 401  # locked: even the right password is refused, with the same words
    assert "The email address or password is not right" in right.get_data(as_text=True)
    sign_in(client, "admin")  # another account is not locked
    time.sleep(2.5)
    sign_in(p.app.test_client(), "manager")  # the lock has ended by itself
    with session_scope(p.engine) as s:
        actions = [
            e.action
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.actor == ACCOUNTS["manager"]).order_by(AuditEvent.id)
            )
        ]
    assert actions == ["sign_in_failed"] * 3 + ["sign_in_locked", "sign_in"]
    p.engine.dispose()


def test_an_administrator_disables_resets_unlocks_and_enables_an_account_each_audited(tmp_path, database_url):
    import datetime as dt

    p = seed(tmp_path, database_url, lock_after=2, lock_for=dt.timedelta(hours=1))
    clerk = p.app.test_client()
    sign_in(clerk, "provider")
    admin = p.app.test_client()
    sign_in(admin, "admin")
    page = f"/admin/accounts/{p.provider_user}"
    assert f'<a class="govuk-link" href="{page}">{ACCOUNTS["provider"]}</a>' in admin.get("/admin/accounts").get_data(
        as_text=True
    )

    def press(action):
        return admin.post(page, data={"action": action, "csrf_token": token(admin, page)}, follow_redirects=True)

    disabled = press("disable").get_data(as_text=True)
    assert "is disabled" in disabled and "Enable the account" in disabled
    assert clerk.get("/returns").status_code == 302  # the clerk's session ended at once
    refused = clerk.post(
        "/sign-in", data={"email": ACCOUNTS["provider"], "password": PASSWORD, "csrf_token": token(clerk)}
    )
    assert refused.status_code == 401
    assert "is enabled" in press("enable").get_data(as_text=True)
    sign_in(clerk, "provider")
    reset = press("reset").get_data(as_text=True)
    new_password = reset.split("<code>")[1].split("</code>")[0]
    assert len(new_password) == 23 and clerk.get("/returns").status_code == 302
    for _ in range(2):
        clerk.post(
            "/sign-in", data={"email": ACCOUNTS["provider"], "password": "not-the-password", "csrf_token": token(clerk)}
        )
    assert "locked until" in admin.get(page).get_data(as_text=True)
    assert "is unlocked" in press("unlock").get_data(as_text=True)
    signed = clerk.post(
        "/sign-in", data={"email": ACCOUNTS["provider"], "password": new_password, "csrf_token": token(clerk)}
    )
    assert signed.status_code == 302
    own = f"/admin/accounts/{p.admin_user}"
    mine = admin.post(own, data={"action": "disable", "csrf_token": token(admin, own)})
    assert mine.status_code == 400 and "cannot disable your own account" in mine.get_data(as_text=True)
    with session_scope(p.engine) as s:
        done = [
            (e.actor, e.action, e.target)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor == ACCOUNTS["admin"], AuditEvent.action != "sign_in")
                .order_by(AuditEvent.id)
            )
        ]
    assert done == [
        (ACCOUNTS["admin"], action, ACCOUNTS["provider"])
        for action in ("account_disabled", "account_enabled", "password_reset", "account_unlocked")
    ]
    assert admin.get("/admin/accounts/999999").status_code == 404
    p.engine.dispose()


def test_an_upload_whose_check_fails_says_what_failed_alerts_the_engineers_and_stays_in_history(portal, monkeypatch):
    from orchestration.runner import portal_intake
    from probation_returns.warehouse.models import Alert

    for key, value in portal.settings.worker_environment().items():
        monkeypatch.setenv(key, value)

    class Broken:  # the provider_intake run, failing in the validation step
        def __init__(self, home, url):
            pass

        def run(self, quarter, provider, upload_id):
            return f"run-of-upload-{upload_id}", "provider_validation: the disk is full"

    monkeypatch.setattr(portal_intake, "_Runner", Broken)
    with session_scope(portal.engine) as s:
        for done in (portal.own_upload, portal.other_upload):
            s.get(Upload, done).status = "done"
        failing = uploads.store(
            s,
            portal.settings.landing,
            "C14",
            "2017Q3",
            portal.provider_user,
            "Jo",
            [uploads.Incoming("workbook", "new.xlsx", io.BytesIO(b"PK\x03\x04 a new return"))],
        ).id
    assert portal_intake.work(failing, portal.settings.dagster_home) == 1
    words = "The check stopped while your return was being checked against the rules (the disk is full)."
    with session_scope(portal.engine) as s:
        upload = s.get(Upload, failing)
        assert (upload.status, upload.error) == ("failed", words)
        alert = s.scalars(select(Alert)).one()
        assert alert.partition_key == "C14|2017Q3" and alert.run_id == f"run-of-upload-{failing}"
        assert alert.detail["why"] == "provider_validation: the disk is full"
    logged = (portal.settings.alerts / "alerts.jsonl").read_text()
    assert f"The portal upload {failing} of C14 2017Q3 could not be checked" in logged
    assert uploads.queued_folder(portal.settings.landing, failing).is_dir()  # its files are kept
    client = portal.app.test_client()
    sign_in(client, "provider")
    page = client.get(f"/uploads/{failing}").get_data(as_text=True)
    assert words in page and "The data engineers have been sent an alert" in page
    history = client.get("/returns/history").get_data(as_text=True)
    assert f"Upload {failing}" in history and "Could not be checked" in history and words in history


def test_the_send_button_disables_itself_and_a_form_error_asks_for_the_files_again(portal):
    client = portal.app.test_client()
    sign_in(client, "provider")
    page = client.get("/returns/2017Q3/send").get_data(as_text=True)
    assert "data-send-once" in page and '<script type="module" src="/assets/send.js">' in page
    script = client.get("/assets/send.js").get_data(as_text=True)
    assert "form[data-send-once]" in script and "button.disabled = true" in script
    body = {
        "declaration": "y",
        "declared_by": "",
        "csrf_token": token(client, "/returns/2017Q3/send"),
        "files": [(io.BytesIO(b"PK"), "C14_2017Q3.xlsx")],
    }
    refused = client.post("/returns/2017Q3/send", data=body, content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "Choose your file or files again: after a problem the browser does not keep them." in refused.get_data(
        as_text=True
    )


def test_quarters_outside_the_contracts_are_a_404_page_and_previous_and_next_stop_at_their_ends(tmp_path, database_url):
    p = seed(tmp_path, database_url, open_quarter="2021Q1")
    client = p.app.test_client()
    sign_in(client, "manager")
    for missing in ("2014Q4", "2014Q1", "2021Q2", "2030Q1", "2017Q5", "nonsense"):
        response = client.get(f"/manage/quarters/{missing}")
        assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True), missing
        assert client.get(f"/manage/quarters/{missing}/providers/C05/credits").status_code == 404
    first = client.get("/manage/quarters/2015Q1").get_data(as_text=True)
    assert "Previous quarter" not in first and "Next quarter (2015Q2)" in first
    last = client.get("/manage/quarters/2021Q1").get_data(as_text=True)
    assert "Previous quarter (2020Q4)" in last and "Next quarter" not in last
    clerk = p.app.test_client()
    sign_in(clerk, "provider")
    assert clerk.get("/returns/2014Q4/send").status_code == 404
    import dataclasses

    from portal.app import create_app

    later = create_app(dataclasses.replace(p.settings, open_quarter="2030Q1"))  # a setting past the contracts' end
    client = later.test_client()
    sign_in(client, "manager")
    home = client.get("/manage/")
    assert home.status_code == 302 and home.location.endswith("/manage/quarters/2021Q1")
    p.engine.dispose()


def test_a_refused_sign_in_says_error_in_its_title_and_marks_both_inputs(portal):
    client = portal.app.test_client()
    page = client.post(
        "/sign-in", data={"email": ACCOUNTS["manager"], "password": "not-the-password", "csrf_token": token(client)}
    ).get_data(as_text=True)
    assert "<title>Error: Sign in – Probation returns</title>" in page
    assert page.count("The email address or password is not right, or the account is not active") == 2  # summary, field
    assert 'class="govuk-input govuk-!-width-two-thirds govuk-input--error" id="email"' in page
    assert (
        'govuk-input--error" id="password"' in page
        or 'govuk-input--error"\n' in page
        or re.search(r'<input[^>]*govuk-input--error[^>]*id="password"', page)
    )


def test_a_help_page_with_the_configured_contact_is_linked_from_every_page(tmp_path, database_url):
    p = seed(tmp_path, database_url, contact="the Probation Returns team at returns@justice.example")
    anonymous = p.app.test_client()
    help_page = anonymous.get("/help").get_data(as_text=True)
    assert "contact the Probation Returns team at returns@justice.example." in help_page
    assert 'href="/help"' in anonymous.get("/sign-in").get_data(as_text=True)
    for role, pages in (
        ("provider", ["/returns", "/returns/history", f"/submissions/{p.own_submission}"]),
        ("manager", ["/manage/quarters/2017Q3", f"/manage/builds/{p.build}"]),
        ("admin", ["/admin/audit", "/admin/accounts"]),
    ):
        client = p.app.test_client()
        sign_in(client, role)
        for page in pages:
            assert re.search(
                r'<a class="govuk-footer__link" href="/help">\s*Help and contact\s*</a>',
                client.get(page).get_data(as_text=True),
            ), page
    p.engine.dispose()


def test_feedback_says_why_a_version_does_not_count_and_offers_a_corrected_return_when_rejected(portal):
    client = portal.app.test_client()
    sign_in(client, "provider")
    page = client.get(f"/submissions/{portal.own_submission}").get_data(as_text=True)
    with session_scope(portal.engine) as s:
        from probation_returns.warehouse.models import Submission

        version = s.get(Submission, portal.own_submission).version
    # 20 working days after Saturday 30 September 2017 (contract year 2017-18), counted from Friday 29th:
    # 2-6, 9-13, 16-20 and 23-27 October, so the deadline is the end of Friday 27 October 2017
    assert (
        f"Version {version} does not count: it was delivered after the deadline (end of Friday 27 October 2017 "
        "(UK time)), and a version delivered late changes nothing. No version counts: the quarter has no valid "
        "return."
    ) in page
    other = portal.app.test_client()
    sign_in(other, "other_provider")
    rejected = other.get(f"/submissions/{portal.other_submission}").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Rejected</h1>' in rejected
    assert 'href="/returns/2017Q3/send">Send a corrected return</a>' in rejected
    manager = portal.app.test_client()
    sign_in(manager, "manager")
    assert "Send a corrected return" not in manager.get(f"/submissions/{portal.other_submission}").get_data(
        as_text=True
    )


def test_the_same_files_sent_again_say_they_are_the_version_already_sent(portal):
    from probation_returns.warehouse.models import Submission

    with session_scope(portal.engine) as s:
        first = s.get(Upload, portal.own_upload)
        again = Upload(
            provider_code="C14",
            quarter="2017Q3",
            user_id=first.user_id,
            declared_by="Jo",
            identity=first.identity,
            files=first.files,
            status="validating",
        )
        s.add(again)
        s.flush()
        uploads.finish(s, again.id, "a-run", None)  # the intake found them a duplicate of version 1
        assert again.submission_id == portal.own_submission
        version = s.get(Submission, portal.own_submission).version
        again_id = again.id
    client = portal.app.test_client()
    sign_in(client, "provider")
    follow = client.get(f"/uploads/{again_id}")
    assert follow.status_code == 302 and follow.location.endswith(f"?resent={again_id}")
    page = client.get(follow.location).get_data(as_text=True)
    assert f"are the same as version {version}&#39;s, so no new version was made" in page
    with session_scope(portal.engine) as s:
        uploads.finish(s, portal.own_upload, "a-run", None)
    first_page = client.get(f"/uploads/{portal.own_upload}")  # the upload that made the version: nothing said
    assert first_page.status_code == 302 and "resent" not in first_page.location
    forged = client.get(f"/submissions/{portal.own_submission}?resent={portal.own_upload}").get_data(as_text=True)
    assert "no new version was made" not in forged


def test_the_quarter_page_shows_the_version_that_counts_beside_a_later_late_one_and_the_totals(portal):
    """C14's version 1 was delivered on time and accepted; its version 2, rejected, came after the deadline
    (the end of 27 October 2017): version 1 still counts. C05's only version was late."""
    from probation_returns.warehouse.models import Submission

    with session_scope(portal.engine) as s:
        first = s.get(Submission, portal.own_submission)
        first.outcome, first.delivered_at = "Accepted", dt.datetime(2017, 10, 20, 9, 30, tzinfo=dt.UTC)
        s.add(
            Submission(
                provider_code="C14",
                quarter="2017Q3",
                version=2,
                sha256="c" * 64,
                file_names=["x.xlsx"],
                delivered_at=dt.datetime(2017, 11, 1, 8, 0, tzinfo=dt.UTC),
                status="received",
                outcome="Rejected",
                supersedes_id=first.id,
            )
        )
        s.get(Submission, portal.other_submission).delivered_at = dt.datetime(2017, 11, 3, 16, 5, tzinfo=dt.UTC)
    client = portal.app.test_client()
    sign_in(client, "manager")
    page = re.sub(r"\s+", " ", client.get("/manage/quarters/2017Q3").get_data(as_text=True))
    c14 = page[page.index('href="/manage/providers/C14"') : page.index('href="/manage/providers/C15"')]
    assert re.search(
        r"Accepted</strong> <a [^>]*>Version 1<[^>]*>[^<]*</span></a>, delivered 20 Oct 2017 09:30 UTC", c14
    ), c14
    assert re.search(
        r"Rejected</strong> <a [^>]*>Version 2<[^>]*>[^<]*</span></a>, delivered 01 Nov 2017 08:00 UTC "
        r"<strong class=\"govuk-tag govuk-tag--orange\">Late</strong>",
        c14,
    ), c14
    c05 = page[page.index('href="/manage/providers/C05"') : page.index('href="/manage/providers/C06"')]
    assert '<td class="govuk-table__cell">None</td>' in c05 and "delivered 03 Nov 2017 16:05 UTC" in c05
    assert (
        "2 of 28 providers have sent a return; 1 has a return that counts; 2 sent their latest version after "
        "the deadline." in page
    )
    totals = page[page.index("All providers") :]
    assert "1 of 28 count" in totals and "2 sent, 2 late" in totals and "£1,234.56" in totals


def test_each_credit_is_explained_with_its_shortfall_rate_and_caps(portal):
    """C05's fee is £7,350,000 (2017-18); a point of shortfall costs 0.25% of it, a measure at most 2.5%
    (£183,750), the quarter at most 10% (£735,000). SL001R: 88 of 100 = 88.0% against 95%, 7 points short:
    7 x 0.25% x £7,350,000 = £128,625.00. SL002R: 50 of 100, 45 points short: £826,875.00 before the cap,
    so £183,750.00. Together £312,375.00, under the quarterly cap: nothing scaled."""
    from decimal import Decimal

    from probation_returns.warehouse.models import Credit, Measure

    with session_scope(portal.engine) as s:
        for credit in s.scalars(select(Credit)):
            s.delete(credit)
        s.flush()
        for measure, n, amount in (("SL001R", 88, "128625.00"), ("SL002R", 50, "183750.00")):
            s.add(
                Measure(
                    quarter="2017Q3",
                    provider_code="C05",
                    measure=measure,
                    numerator=n,
                    denominator=100,
                    performance=float(n),
                    target=95.0,
                    status="missed",
                    parameter_version="2017-18.1",
                )
            )
            s.add(
                Credit(
                    quarter="2017Q3",
                    provider_code="C05",
                    measure=measure,
                    amount_gbp=Decimal(amount),
                    unscaled_gbp=Decimal(amount),
                    parameter_version="2017-18.1",
                )
            )
    client = portal.app.test_client()
    sign_in(client, "manager")
    page = re.sub(r"\s+", " ", client.get("/manage/quarters/2017Q3/providers/C05/credits").get_data(as_text=True))
    assert (
        "88 of 100 is 88% against a target of 95%: 7 points short. 7 x 0.25% of the £7,350,000.00 quarterly fee "
        "is £128,625.00."
    ) in page
    assert (
        "50 of 100 is 50% against a target of 95%: 45 points short. 45 x 0.25% of the £7,350,000.00 quarterly "
        "fee is £826,875.00. That is over the cap per measure (2.5% of the fee, £183,750.00), so the credit is "
        "£183,750.00."
    ) in page
    assert "Yes, at £183,750.00" in page and "scaled down" not in page


def test_credits_over_the_quarterly_cap_are_explained_as_scaled_down(portal):
    """Five measures each 45 points short, each capped at £183,750.00: £918,750.00 together, over the quarterly
    cap of £735,000.00, so each is scaled to £735,000.00 / 5 = £147,000.00."""
    from decimal import Decimal

    from probation_returns.warehouse.models import Credit, Measure

    with session_scope(portal.engine) as s:
        for credit in s.scalars(select(Credit)):
            s.delete(credit)
        s.flush()
        for i in range(1, 6):
            s.add(
                Measure(
                    quarter="2017Q3",
                    provider_code="C05",
                    measure=f"SL00{i}R",
                    numerator=50,
                    denominator=100,
                    performance=50.0,
                    target=95.0,
                    status="missed",
                    parameter_version="2017-18.1",
                )
            )
            s.add(
                Credit(
                    quarter="2017Q3",
                    provider_code="C05",
                    measure=f"SL00{i}R",
                    amount_gbp=Decimal("147000.00"),
                    unscaled_gbp=Decimal("183750.00"),
                    parameter_version="2017-18.1",
                )
            )
    client = portal.app.test_client()
    sign_in(client, "manager")
    from html import unescape

    page = unescape(
        re.sub(r"\s+", " ", client.get("/manage/quarters/2017Q3/providers/C05/credits").get_data(as_text=True))
    )
    scaled = (
        "The quarter's credits together were over the quarterly cap (10% of the fee, £735,000.00), so each was "
        "scaled down in proportion: £183,750.00 becomes £147,000.00."
    )
    assert page.count(scaled) == 5 and page.count("Yes, to £147,000.00") == 5


def test_a_chosen_file_is_a_part_of_the_return_by_the_end_of_its_name():
    # The upload is saved under the service's own names, so a clerk's names will do; ingest.part_of is stricter.
    assert uploads.part_sent_as("July return.XLSX") == "workbook"
    assert uploads.part_sent_as("C14 cases.csv") == "cases" and uploads.part_sent_as("x_breaches.csv") == "breaches"
    with pytest.raises(uploads.UploadError, match="end in _cases.csv, _contacts.csv or _breaches.csv"):
        uploads.part_sent_as("contacts.txt")
