"""The data engineer's Monday morning in the Dagster UI, in headless Chromium (Debian's, driven by Playwright).

A small demo-like instance: 2017Q3 for four providers, C05's return naming another provider in one case (CAS-004,
fatal), run by `returns run` into a DAGSTER_HOME, then `dagster-webserver -w workspace.yaml` against that home on
a free port. From the front page, two clicks reach the reason C05 was rejected; the Timeline and provider_intake's
Runs tab list the command line's runs. ``RETURNS_SCREENSHOTS=docs/images`` keeps the screenshots for the docs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.browser import chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# clean_tables' third case (file row 4, case A100003) under C02's code in C05's return
SENTENCE = "CAS-004: Row 4 (case A100003): provider_code 'C02' is not the provider that sent this return."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", json.dumps({"query": query}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    from probation_returns.calendar import Quarter
    from probation_returns.generator import generate
    from tests.support.returns import clean_tables, set_value, write_csvs

    chromium()  # skipped before any work when there is no browser
    tmp = tmp_path_factory.mktemp("dagster-ui")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp / "dagster"),
        "RETURNS_DATABASE_URL": f"sqlite:///{tmp / 'returns.db'}",
        "RETURNS_LANDING": str(tmp / "landing"),
        "RETURNS_ARCHIVE": str(tmp / "archive"),
        "RETURNS_OUTPUT": str(tmp / "output"),
        "RETURNS_ALERTS": str(tmp / "alerts"),
        "RETURNS_PSEUDONYM_KEY": "test-key-for-synthetic-data-only",
    }
    generate(tmp / "landing", [Quarter.parse("2017Q3")], ["C01", "C14", "N05"], scale=0.02, seed=7)
    tables = clean_tables()
    set_value(tables, "cases", 2, "provider_code", "C02")
    write_csvs(tmp / "landing" / "C05", tables)
    done = subprocess.run(
        [BIN / "returns", "run", "--landing", tmp / "landing", "--quarter", "2017Q3", "--out", tmp / "output"]
        + ["--archive", tmp / "archive", "--workers", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its code server too is ended with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dagster-webserver did not start") from None
                time.sleep(1)
        yield {"base": base, "tmp": tmp}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def _page(p, base: str):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/")
    page.wait_for_load_state("networkidle")
    try:  # Dagster's community dialog, once per browser profile: dismissed, not a step of the route
        page.get_by_role("button", name="Skip").click(timeout=20_000)
    except PlaywrightTimeout:
        pass
    return browser, page


ROW = "[class*=RunsFeedRow_rowGrid]"  # a row of Dagster's runs table


def _scrolled_to(page, text: str):
    """The runs table's one row with ``text``, scrolled into view (the table renders only the rows in view)."""
    from playwright.sync_api import expect

    row = page.locator(ROW, has_text=text)
    expect(page.locator(ROW).first).to_be_visible(timeout=60_000)
    for _ in range(40):
        if row.count():
            break
        page.mouse.move(800, 600)
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(300)
    expect(row).to_have_count(1)
    row.scroll_into_view_if_needed()
    return row


def _shot(page, name: str, tmp: Path) -> None:
    folder = Path(os.environ.get("RETURNS_SCREENSHOTS") or tmp / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1500)  # charts and counts settle
    page.screenshot(path=str(folder / f"{name}.png"))


def test_from_the_front_page_two_clicks_reach_why_a_return_was_rejected(ui):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, ui["base"])
        # the front page, the Timeline: the command line's runs under their code location and jobs
        page.wait_for_url("**/overview/activity/timeline", timeout=60_000)
        timeline = page.locator("main, body").first
        expect(timeline.get_by_text("orchestration.definitions").first).to_be_visible(timeout=60_000)
        for job in ("extract_intake", "provider_intake", "quarter_build"):
            expect(timeline.locator(f"a[href$='/orchestration.definitions/jobs/{job}']")).to_be_visible()
        _shot(page, "ui-front-page", ui["tmp"])
        # click 1: Runs. C05's run says Rejected and names the fatal rule (the list is virtualized: scroll to it)
        page.locator("a[href='/runs']").first.click()
        rejected = _scrolled_to(page, "returns/outcome: Rejected")
        expect(rejected).to_contain_text("returns/reason: CAS-004")
        expect(rejected).to_contain_text("partition: C05|2017-07-01")
        # click 2: the run. Its event log holds the reason in the clerk's words, the rule id with its sentence, on
        # provider_validation's materialization and on the failed file_readable check (scroll up the log to it)
        rejected.locator("a[href*='/runs/']").first.click()
        reason = page.get_by_text(SENTENCE).first
        expect(page.get_by_text("ASSET_CHECK_EVA").first).to_be_attached(timeout=60_000)
        reason.scroll_into_view_if_needed(timeout=60_000)
        expect(reason).to_be_visible()
        expect(
            page.get_by_text("Check file_readable failed for materialization of provider_validation")
        ).to_be_attached()
        _shot(page, "ui-rejected-run", ui["tmp"])
        browser.close()


def test_the_timeline_and_the_jobs_runs_tab_list_the_command_lines_runs(ui):
    from playwright.sync_api import expect, sync_playwright

    runs = _graphql(  # the job page's own filter: the job and its code location's label
        ui["base"],
        '{ runsOrError(filter: {pipelineName: "provider_intake", tags: [{key: ".dagster/repository", '
        'value: "__repository__@orchestration.definitions"}]}) { ... on Runs { results { runId tags { key value }'
        " pipelineSnapshotId repositoryOrigin { repositoryName repositoryLocationName } } } } }",
    )["runsOrError"]["results"]
    assert len(runs) == 28  # `returns run` runs every provider; those without a return say "no return"
    job = _graphql(
        ui["base"],
        '{ pipelineOrError(params: {pipelineName: "provider_intake", repositoryName: "__repository__", '
        'repositoryLocationName: "orchestration.definitions"}) { ... on Pipeline { pipelineSnapshotId } } }',
    )["pipelineOrError"]
    for run in runs:  # Re-execute finds the same job, at the same version
        assert run["repositoryOrigin"] == {
            "repositoryName": "__repository__",
            "repositoryLocationName": "orchestration.definitions",
        }
        assert run["pipelineSnapshotId"] == job["pipelineSnapshotId"]
    outcomes = {t["value"] for r in runs for t in r["tags"] if t["key"] == "returns/outcome"}
    assert outcomes == {"Accepted", "Rejected", "no return"}
    with sync_playwright() as p:
        browser, page = _page(p, ui["base"])
        page.goto(f"{ui['base']}/locations/orchestration.definitions/jobs/provider_intake/runs")
        expect(page.locator(ROW).first).to_contain_text("provider_intake", timeout=60_000)
        expect(_scrolled_to(page, "returns/outcome: Rejected")).to_contain_text("partition: C05|2017-07-01")
        page.goto(f"{ui['base']}/assets/provider_validation?view=partitions&partition=C05%7C2017-07-01")
        expect(page.get_by_text(SENTENCE).first).to_be_visible(timeout=60_000)  # the partition's own metadata
        _shot(page, "ui-partitions", ui["tmp"])
        page.goto(f"{ui['base']}/assets/provider_validation?view=checks&checkDetail=file_readable")
        expect(page.get_by_text("Execution history", exact=True)).to_be_visible(timeout=60_000)  # the check's tabs
        page.get_by_text("Partitions", exact=True).last.click()  # the check's own partitions
        expect(page.get_by_text("Failed (1)")).to_be_visible(timeout=60_000)  # C05's return, and only it
        _shot(page, "ui-failed-check", ui["tmp"])
        page.goto(f"{ui['base']}/assets")
        expect(page.get_by_text("provider_validation").first).to_be_visible(timeout=60_000)
        _shot(page, "ui-catalog", ui["tmp"])
        browser.close()
