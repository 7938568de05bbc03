"""A portal over a small seeded warehouse: four accounts, two providers' returns with feedback, an upload,
a credit and a quarter's build; and helpers to sign in through the real form (CSRF token included)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from portal.app import create_app
from portal.settings import Settings
from probation_returns import accounts
from probation_returns.ingest import discover, receive
from probation_returns.uploads import Incoming, place, store
from probation_returns.validation.service import validate_submission
from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import BuildRequest, Credit, Provider, Query, QueryMessage, ReturnBuild
from reports.feedback import with_feedback
from tests.support.returns import clean_tables, set_value, write_csvs

PASSWORD = "a-long-test-password"
ACCOUNTS = {
    "provider": "clerk@c14.example",
    "other_provider": "clerk@c05.example",
    "manager": "manager@moj.example",
    "admin": "admin@moj.example",
    "officer": "officer@c14.example",  # C14's accountable officer
}


@dataclass
class Seeded:
    app: object
    settings: Settings
    engine: object
    own_submission: int  # C14's
    other_submission: int  # C05's
    own_upload: int
    other_upload: int
    build: int
    workbook: Path
    users: dict  # role -> user id
    rebuild: int  # a failed rebuild request of 2017Q3
    query: int | None = None  # an open query on C14's version

    @property
    def provider_user(self) -> int:
        return self.users["provider"]

    @property
    def other_provider_user(self) -> int:
        return self.users["other_provider"]

    @property
    def admin_user(self) -> int:
        return self.users["admin"]


def _return(tmp: Path, provider: str, faulty: bool) -> list[Path]:
    tables = clean_tables()
    for row in tables["cases"]:
        row[0] = row[0]  # case references are provider-neutral in the fixture
    if faulty:
        set_value(tables, "cases", 0, "sentence_type", "XX")
    return write_csvs(tmp / "sent" / provider, tables, provider=provider)


def settings_under(tmp: Path, database_url: str, secret_key: str = "test-secret-key", **more) -> Settings:
    """The portal's settings for a test, its folders under ``tmp`` (landing, archive, output, dagster, alerts)."""
    return Settings(
        database_url=database_url,
        landing=tmp / "landing",
        archive=tmp / "archive",
        output=tmp / "output",
        dagster_home=tmp / "dagster",
        secret_key=secret_key,
        alerts=tmp / "alerts",
        open_quarter="2017Q3",
        **more,
    )


def seed(tmp: Path, database_url: str, **overrides) -> Seeded:
    upgrade(database_url)
    engine = engine_for(database_url)
    settings = settings_under(tmp, database_url, process_uploads=False, sign_in_limit="1000 per minute")
    for key, value in overrides.items():
        setattr(settings, key, value)
    with session_scope(engine) as s:
        accounts.add_user(s, ACCOUNTS["provider"], "provider", PASSWORD, provider="C14", name="C14 Clerk")
        accounts.add_user(s, ACCOUNTS["other_provider"], "provider", PASSWORD, provider="C05", name="C05 Clerk")
        accounts.add_user(s, ACCOUNTS["manager"], "manager", PASSWORD, name="Contract Manager")
        accounts.add_user(s, ACCOUNTS["admin"], "admin", PASSWORD, name="Administrator")
        accounts.add_user(s, ACCOUNTS["officer"], "officer", PASSWORD, provider="C14", name="C14 Officer")
        users = {a.email: a.id for a in accounts.all_accounts(s)}
    submissions, upload_ids = {}, {}
    for provider, faulty in (("C14", False), ("C05", True)):
        files = _return(tmp, provider, faulty)
        with session_scope(engine) as s:
            upload = store(
                s,
                settings.landing,
                provider,
                "2017Q3",
                users[ACCOUNTS["provider" if provider == "C14" else "other_provider"]],
                "A Clerk",
                [Incoming(f.name.split("_")[-1].removesuffix(".csv"), f.name, f.open("rb")) for f in files],
            )
            upload_ids[provider] = upload.id
            place(settings.landing, upload)  # as the worker does before its run
        landed = discover(settings.landing, provider=provider, quarter="2017Q3")[0]
        with session_scope(engine) as s:
            submissions[provider] = receive(s, landed, settings.archive).submission_id
        with_feedback(engine, validate_submission(engine, submissions[provider], settings.output / "feedback"))
    build_folder = tmp / "output" / "2017Q3" / "builds" / "1"
    (build_folder / "publication").mkdir(parents=True)
    workbook = build_folder / "ministry_return_2017Q3.xlsx"
    workbook.write_bytes(b"PK\x03\x04 the build's workbook bytes")
    (build_folder / "publication" / "ministry_return_2017Q3.xlsx").write_bytes(b"PK\x03\x04 the publication copy")
    (build_folder / "manifest.json").write_text('{"build": 1}')
    with session_scope(engine) as s:
        build = ReturnBuild(
            quarter="2017Q3",
            build_number=1,
            software_version="0.1.0",
            parameter_version="2017-18.1",
            inputs_sha256="a" * 64,
            manifest_sha256="b" * 64,
            output_path=str(build_folder),
        )
        s.add(build)
        s.add(
            Credit(
                quarter="2017Q3",
                provider_code="C05",
                measure="SL001R",
                amount_gbp=Decimal("1234.56"),
                unscaled_gbp=Decimal("1234.56"),
                parameter_version="2017-18.1",
            )
        )
        s.flush()
        build_id = build.id
        failed = BuildRequest(
            quarter="2017Q3",
            requested_by=ACCOUNTS["manager"],
            status="failed",
            error="quarter_performance: the test's build failed",
        )
        s.add(failed)
        s.flush()
        rebuild_id = failed.id
        query = Query(  # as if C14 had answered a warning (its return has none: the thread is what is tested)
            provider_code="C14",
            quarter="2017Q3",
            submission_id=submissions["C14"],
            subject="CAS-019",
            state="open",
            raised_by=ACCOUNTS["provider"],
        )
        s.add(query)
        s.flush()
        s.add(
            QueryMessage(query_id=query.id, written_by=ACCOUNTS["provider"], step="raised", words="Attended by phone.")
        )
        query_id = query.id
        assert s.get(Provider, "C05") is not None
    app = create_app(settings)
    app.config["TESTING"] = True
    return Seeded(
        app,
        settings,
        engine,
        submissions["C14"],
        submissions["C05"],
        upload_ids["C14"],
        upload_ids["C05"],
        build_id,
        workbook,
        {role: users[email] for role, email in ACCOUNTS.items()},
        rebuild_id,
        query_id,
    )


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path: str = "/sign-in") -> str:
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, role: str):
    response = client.post(
        "/sign-in", data={"email": ACCOUNTS[role], "password": PASSWORD, "csrf_token": token(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response
