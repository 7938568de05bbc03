"""The portal served as `make portal` serves it: `returns serve` (gunicorn) started in the repository folder with
the default, relative settings (var/returns.db, var/output, ...), over a quarter the pipeline built with those
same relative folders. Every feedback and build file linked from a provider's and a contract manager's pages
downloads (before, Flask took the relative paths from the portal package's folder: every download was a 500).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PASSWORD = "a-long-test-password"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A quarter for C05 and C14 built in a fresh folder with relative settings, and `returns serve` over it."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns import accounts
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    root = tmp_path_factory.mktemp("repository")
    cwd, saved = (
        os.getcwd(),
        {k: os.environ.get(k) for k in ("RETURNS_PSEUDONYM_KEY", "DAGSTER_HOME", "RETURNS_DATABASE_URL")},
    )
    os.chdir(root)
    try:
        os.environ["RETURNS_PSEUDONYM_KEY"] = "test-key-for-synthetic-data-only"
        os.environ.pop("DAGSTER_HOME", None)
        os.environ.pop("RETURNS_DATABASE_URL", None)
        url = "sqlite:///var/returns.db"  # the default, relative to the working directory
        Path("var/landing").mkdir(parents=True)
        upgrade(url)
        generate(out=Path("generated"), quarters=[Quarter.parse("2017Q3")], codes=["C05", "C14"], scale=0.02, seed=7)
        for item in Path("generated").iterdir():
            if item.is_dir():
                shutil.copytree(item, Path("var/landing") / item.name)
            elif item.name.startswith("reoffending_"):
                shutil.copy(item, Path("var/landing") / item.name)
        run = run_quarter(
            Quarter.parse("2017Q3"),
            ["C05", "C14"],
            landing=Path("var/landing"),
            archive=Path("var/archive"),
            output=Path("var/output"),
            database_url=url,
        )
        assert not run.failed, run.reasons
        engine = engine_for(url)
        with session_scope(engine) as s:
            accounts.add_user(s, "clerk@c14.example", "provider", PASSWORD, provider="C14")
            accounts.add_user(s, "manager@moj.example", "manager", PASSWORD)
        engine.dispose()
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNS_") and k != "DAGSTER_HOME"}
    env.update(
        RETURNS_PORTAL_SECURE_COOKIES="0",
        RETURNS_OPEN_QUARTER="2017Q3",  # as the Makefile's portal target
        RETURNS_PSEUDONYM_KEY="test-key-for-synthetic-data-only",
    )
    returns = Path(sys.executable).parent / "returns"
    server = subprocess.Popen(
        [str(returns), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 180  # a bound against a hang: gunicorn's workers import Flask and the domain
        while True:
            try:
                if requests.get(base + "/sign-in", timeout=30).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still starting on a loaded machine
                pass
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < end, "the portal did not start within three minutes"
            time.sleep(0.3)
        yield {"base": base, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _signed_in(base: str, email: str) -> requests.Session:
    http = requests.Session()
    page = http.get(base + "/sign-in").text
    response = http.post(
        base + "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": TOKEN.search(page).group(1)},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:300]
    return http


def _links(html: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(rf'href="({pattern})"', html)))


def _download_all(http: requests.Session, base: str, page_paths: list[str], file_pattern: str) -> dict[str, bytes]:
    got = {}
    for path in page_paths:
        page = http.get(base + path)
        assert page.status_code == 200, path
        for link in _links(page.text, file_pattern):
            response = http.get(base + link)
            assert response.status_code == 200, (link, response.status_code)
            assert "attachment" in response.headers["Content-Disposition"] and response.content, link
            got[link] = response.content
    return got


def test_every_file_a_providers_and_a_managers_pages_link_to_downloads(served):
    base, root = served["base"], served["root"]
    clerk = _signed_in(base, "clerk@c14.example")
    submissions = _links(clerk.get(base + "/returns").text, r"/submissions/\d+")
    assert submissions, "C14's page links to its feedback"
    got = _download_all(clerk, base, submissions, r"/submissions/\d+/files/[^\"]+")
    names = {link.rsplit("/", 1)[1] for link in got}
    assert names == {"feedback.xlsx", "findings.csv", "feedback.html", "summary.json", "validation_result.json"}
    summary = next(data for link, data in got.items() if link.endswith("summary.json"))
    sub = re.search(r"/submissions/(\d+)/", next(iter(got))).group(1)
    on_disk = next((root / "var/output/feedback/C14/2017Q3").glob(f"submission-*{sub}*/summary.json"))
    assert summary == on_disk.read_bytes()

    manager = _signed_in(base, "manager@moj.example")
    quarter = manager.get(base + "/manage/quarters/2017Q3").text
    builds = _links(quarter, r"/manage/builds/\d+")
    assert builds, "the quarter page links to its build"
    build_files = _download_all(manager, base, builds, r"/manage/builds/\d+/(?:files|publication)/[^\"]+")
    assert len(build_files) >= 10  # the workbook, the CSVs, the manifest, and the publication copy
    payments = next(data for link, data in build_files.items() if link.endswith("/files/payments.csv"))
    assert payments == next((root / "var/output/2017Q3/builds").glob("*/payments.csv")).read_bytes()
    feedback = _links(quarter, r"/submissions/\d+")
    assert len(feedback) == 2  # C05's and C14's
    got = _download_all(manager, base, feedback, r"/submissions/\d+/files/[^\"]+")
    assert len(got) == 10


def test_an_upload_is_checked_by_the_intake_pool_the_server_started(served):
    """`returns serve` starts the intake pool with gunicorn: an upload is validated by one of its workers (started
    before the upload, Dagster imported), not by a process started for it, and its feedback opens."""
    from probation_returns.calendar import Quarter
    from probation_returns.generator.dataset import generate
    from probation_returns.warehouse.db import engine_for, read_scope
    from probation_returns.warehouse.models import Upload

    base, root = served["base"], served["root"]
    sent = root / "sent"
    generate(out=sent, quarters=[Quarter.parse("2017Q3")], codes=["C14"], scale=0.02, seed=11)
    files = sorted((sent / "C14").iterdir())  # a workbook or three CSVs, as the generator made them
    clerk = _signed_in(base, "clerk@c14.example")
    form = TOKEN.search(clerk.get(base + "/returns/2017Q3/send").text).group(1)
    response = clerk.post(
        base + "/returns/2017Q3/send",
        data={"csrf_token": form, "declaration": "y", "declared_by": "A Clerk"},
        files=[("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in files],
        allow_redirects=False,
    )
    assert response.status_code == 302 and "/uploads/" in response.headers["Location"], response.text[:300]
    upload_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    end, nxt = time.monotonic() + 300, None  # a bound against a hang (the pool may still be starting)
    while nxt is None:
        assert time.monotonic() < end, "no feedback within five minutes"
        time.sleep(0.5)
        nxt = clerk.get(f"{base}/uploads/{upload_id}/status").json()["next"]
    assert "/submissions/" in nxt
    page = clerk.get(base + nxt)
    assert page.status_code == 200 and "No feedback" not in page.text
    engine = engine_for(f"sqlite:///{root / 'var/returns.db'}")
    with read_scope(engine) as s:
        worker = s.get(Upload, upload_id).worker
    engine.dispose()
    pid = int(worker.rpartition(":")[2])
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"orchestration.runner.portal_intake" in command and b"--pool-worker" in command
