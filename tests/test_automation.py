"""Schedules and sensors that run the service unattended: the quarterly build after the deadline,
a new extract registering and rebuilding the quarters it changes, and alerts on failures."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import select

from assets.lib.resources import Folders, Warehouse
from assets.performance.sensors import extract_sensor
from assets.returns.schedules import quarter_schedule
from assets.returns.sensors import quarters_changed_by, rebuild_requests
from orchestration.definitions import defs
from probation_returns.alerts import Alert, EmailNotifier, WebhookNotifier, raise_alert
from probation_returns.warehouse.db import engine_for, session_scope, upgrade
from probation_returns.warehouse.models import Alert as AlertRow
from probation_returns.warehouse.models import ReoffendingExtract, Submission

LONDON = ZoneInfo("Europe/London")


def _schedule_at(moment: dt.datetime):
    context = dg.build_schedule_context(scheduled_execution_time=moment)
    return quarter_schedule(context)


def test_the_quarter_is_built_once_its_submission_deadline_has_passed():
    # 2017Q3's deadline: end of Friday 27 October 2017 (20 business days after 30 September).
    before = _schedule_at(dt.datetime(2017, 10, 27, 7, 0, tzinfo=LONDON))
    assert isinstance(before, dg.SkipReason) and "2017Q3" in before.skip_message
    after = _schedule_at(dt.datetime(2017, 10, 28, 7, 0, tzinfo=LONDON))
    assert after.partition_key == "2017-07-01" and after.run_key == "quarter-build-2017Q3"
    later = _schedule_at(dt.datetime(2017, 12, 1, 7, 0, tzinfo=LONDON))
    assert later.run_key == after.run_key  # the same key every day after: Dagster runs it once
    # 2018Q1: the new year's first quarter builds 2017Q4 (deadline end of Monday 29 January 2018).
    assert isinstance(_schedule_at(dt.datetime(2018, 1, 29, 7, 0, tzinfo=LONDON)), dg.SkipReason)
    # after the contracts ended (2021Q1) the schedule skips, saying why, instead of failing for want of terms
    late = _schedule_at(dt.datetime(2026, 11, 30, 7, 0, tzinfo=LONDON))
    assert isinstance(late, dg.SkipReason) and "after the contracts ended (2021Q1" in late.skip_message
    assert _schedule_at(dt.datetime(2018, 1, 30, 7, 0, tzinfo=LONDON)).partition_key == "2017-10-01"


def test_a_new_extract_is_registered_once(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    folders = Folders(landing=str(landing))
    context = dg.build_sensor_context(resources={"folders": folders}, definitions=defs)
    assert isinstance(extract_sensor(context), dg.SkipReason)
    (landing / "reoffending_2019-03-31.csv").write_text(
        "pnc_id,offence_date,disposal_date,disposal_type,offence_group\n"
    )
    result = extract_sensor(dg.build_sensor_context(resources={"folders": folders}, definitions=defs))
    [request] = result.run_requests
    assert request.run_key.startswith("extract-")
    again = extract_sensor(
        dg.build_sensor_context(cursor=result.cursor, resources={"folders": folders}, definitions=defs)
    )
    assert isinstance(again, dg.SkipReason)


def test_a_new_extract_rebuilds_the_quarters_whose_results_it_can_change(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    engine = engine_for(db)
    with session_scope(engine) as session:
        for i, q in enumerate(["2016Q1", "2017Q2", "2017Q3", "2018Q4"]):
            session.add(
                Submission(
                    provider_code="C05",
                    quarter=q,
                    version=1,
                    sha256=f"{i:064d}",
                    file_names=[],
                    status="validated",
                    outcome="Accepted",
                )
            )
    # An extract as of 2018-12-31 after one as of 2018-09-30. 2016Q1 ended 31 Mar 2016, so its result
    # was final (18 months on) from 30 Sep 2017: nothing changes. 2017Q2 ended 30 Jun 2017 and is final
    # only from the end of December 2018, after the previous extract: it changes; 2017Q3 likewise.
    # 2018Q4 ends on the new as-of date: no follow-up yet.
    quarters = quarters_changed_by(engine, dt.date(2018, 12, 31), dt.date(2018, 9, 30))
    assert [str(q) for q in quarters] == ["2017Q2", "2017Q3"]
    assert [str(q) for q in quarters_changed_by(engine, dt.date(2018, 12, 31), None)] == ["2016Q1", "2017Q2", "2017Q3"]

    with session_scope(engine) as session:
        session.add(
            ReoffendingExtract(
                as_of_date=dt.date(2018, 12, 31),
                file_name="reoffending_2018-12-31.csv",
                sha256="ab" * 32,
                archive_path="x",
                rows=1,
            )
        )
    result = rebuild_requests(engine)
    assert [r.partition_key for r in result] == ["2016-01-01", "2017-04-01", "2017-07-01"]
    assert all(r.run_key.startswith("extract-abababababababab-") for r in result)


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server interface
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_alert_is_recorded_once_and_sent_to_a_webhook_on_127_0_0_1(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        db = f"sqlite:///{tmp_path / 'w.db'}"
        upgrade(db)
        engine = engine_for(db)
        hook = WebhookNotifier(f"http://127.0.0.1:{server.server_port}/alerts")
        alert = Alert(
            key="check-1",
            kind="check_failed",
            title="Check cases_errors failed on provider_validation",
            asset_key="provider_validation",
            partition_key="C05|2017-07-01",
            check_name="cases_errors",
        )
        assert raise_alert(engine, tmp_path / "alerts", alert, [hook]) is True
        assert raise_alert(engine, tmp_path / "alerts", alert, [hook]) is False  # once only
        assert [m["alert"]["check_name"] for m in _Hook.received] == ["cases_errors"]
        lines = (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["partition_key"] == "C05|2017-07-01"
        with session_scope(engine) as session:
            row = session.scalar(select(AlertRow))
            assert (row.notified_via, row.notify_error) == ("webhook", None)
    finally:
        server.shutdown()


def test_an_alert_is_e_mailed_through_an_smtp_server_on_127_0_0_1(tmp_path):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Sink

    messages = []

    class Keep(Sink):
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd interface
            messages.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port on 127.0.0.1
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        db = f"sqlite:///{tmp_path / 'w.db'}"
        upgrade(db)
        mail = EmailNotifier("127.0.0.1", port, "returns@example.org", ["data-engineers@example.org"])
        alert = Alert(
            key="run-9",
            kind="run_failed",
            title="Run of quarter_build for 2017-07-01 failed",
            run_id="abc",
            detail={"message": "disk full"},
        )
        assert raise_alert(engine_for(db), tmp_path / "alerts", alert, [mail])
        [envelope] = messages
        text = envelope.content.decode()
        assert envelope.rcpt_tos == ["data-engineers@example.org"]
        assert "Run of quarter_build for 2017-07-01 failed" in text and "disk full" in text
    finally:
        controller.stop()


def test_an_unreachable_notifier_is_recorded_and_the_alert_kept(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    engine = engine_for(db)
    alert = Alert(key="check-2", kind="check_failed", title="x")
    assert raise_alert(engine, tmp_path / "alerts", alert, [WebhookNotifier("http://127.0.0.1:9/nothing")])
    with session_scope(engine) as session:
        row = session.scalar(select(AlertRow))
        assert row.notified_via is None and "webhook" in row.notify_error


def test_a_rejected_return_is_alerted_once_by_its_validation_step_and_its_run_is_tagged(
    tmp_path, database_url, monkeypatch
):
    """A rejected return fails its cases_errors check (the run itself succeeds): the step raises one alert naming
    the failed checks, keyed by the submission; the run says Rejected in its tags and job name. Checked again by
    the command line or re-executed as from the UI, it runs provider_intake again and raises no second alert."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from tests.support.returns import clean_tables, set_value, write_csvs

    monkeypatch.setenv("RETURNS_ALERTS", str(tmp_path / "alerts"))
    db = database_url
    upgrade(db)
    tables = clean_tables()
    for row in range(len(tables["cases"])):  # every case broken: far over the 1% tolerance
        set_value(tables, "cases", row, "sentence_type", "XX")
    write_csvs(tmp_path / "landing" / "C05", tables)
    inst = dg.DagsterInstance.ephemeral()
    run = run_quarter(
        Quarter.parse("2017Q3"),
        ["C05"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        dagster_instance=inst,
    )
    assert run.failed == []  # a rejected return is a normal outcome for the run
    with session_scope(engine_for(db)) as session:
        alerts = session.scalars(select(AlertRow)).all()
    [alert] = [a for a in alerts if a.kind == "check_failed"]  # one alert for the run's asset, naming its checks
    intake = [r for r in inst.get_runs() if r.job_name == "provider_intake"]
    assert len(intake) == 1 and alert.run_id == intake[0].run_id
    assert alert.alert_key.startswith("checks-provider_validation-C05|2017-07-01-submission-")
    assert alert.asset_key == "provider_validation" and alert.partition_key == "C05|2017-07-01"
    assert alert.check_name == "cases_errors"  # one fault, one red check: warnings are not alerts
    assert alert.title.startswith("Check cases_errors failed on provider_validation C05|2017-07-01: cases: ")
    assert alert.detail["cases_errors.return_outcome"] == "Rejected"
    tags = intake[0].tags
    assert (tags["returns/outcome"], tags["returns/provider"], tags["returns/quarter"]) == ("Rejected", "C05", "2017Q3")
    assert {r.job_name for r in inst.get_runs()} == {"provider_intake", "quarter_build", "extract_intake"}
    rejected = inst.get_runs(filters=dg.RunsFilter(tags={"returns/outcome": "Rejected"}))
    assert [r.run_id for r in rejected] == [alert.run_id]  # the Runs page filter finds it
    assert tags["returns/reason"] == "cases over tolerance"
    # the return does not count: accepted_return was not materialized for it (a gap in its partitions)
    assert not inst.get_latest_materialization_event(dg.AssetKey("accepted_return"))
    # checked again (a rerun from the UI, or after a kill): the same rejected submission raises no second alert
    again = run_quarter(
        Quarter.parse("2017Q3"),
        ["C05"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        dagster_instance=inst,
    )
    assert again.failed == []
    assert len([r for r in inst.get_runs() if r.job_name == "provider_intake"]) == 2
    # re-executed as the UI's Re-execute does: the code location's provider_intake with the run's own configuration
    from orchestration.origin import code_location

    parent = inst.get_run_by_id(alert.run_id)
    rerun = dg.execute_job(
        code_location()[0].get_reconstructable_job("provider_intake"),
        inst,
        reexecution_options=dg.ReexecutionOptions(parent_run_id=parent.run_id),
        tags={k: v for k, v in parent.tags.items() if k.startswith("dagster/partition")},  # as the UI carries them
    )
    from orchestration.runner.runs import failure

    assert rerun.success, failure(rerun)
    assert rerun.dagster_run.job_name == "provider_intake"
    assert rerun.dagster_run.tags["returns/outcome"] == "Rejected"
    with session_scope(engine_for(db)) as session:
        assert len([a for a in session.scalars(select(AlertRow)).all() if a.kind == "check_failed"]) == 1
    assert len((tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()) == 1


def test_the_command_lines_runs_are_runs_of_their_jobs_in_the_code_location(tmp_path):
    """The UI lists a job's runs (its Runs tab, the Timeline) by job name and the code location's label, and offers
    Re-execute without a version warning when a run's job snapshot is the loaded job's: the command line's runs
    have both, and carry their folders as run configuration so a re-execution reads and writes the same ones."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from probation_returns.generator import generate

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    generate(tmp_path / "landing", [Quarter.parse("2017Q3")], ["C01"], scale=0.02)
    inst = dg.DagsterInstance.ephemeral()
    run_quarter(
        Quarter.parse("2017Q3"),
        ["C01"],
        landing=tmp_path / "landing",
        archive=tmp_path / "archive",
        output=tmp_path / "out",
        database_url=db,
        dagster_instance=inst,
    )
    label = "__repository__@orchestration.definitions"  # workspace.yaml's module, Definitions' one repository
    for job in ("extract_intake", "provider_intake", "quarter_build"):  # the job page's own query
        [run] = inst.get_runs(filters=dg.RunsFilter(job_name=job, tags={".dagster/repository": label}))
        assert run.tags["dagster/code_location"] == "orchestration.definitions"
        assert run.job_snapshot_id == defs.resolve_job_def(job).get_job_snapshot_id()
        assert run.run_config["resources"]["folders"]["config"]["landing"] == str(tmp_path / "landing")
        assert run.run_config["resources"]["warehouse"]["config"]["url"] == db
    [intake] = inst.get_runs(filters=dg.RunsFilter(job_name="provider_intake"))
    assert intake.tags["dagster/partition"] == "C01|2017-07-01" and intake.tags["returns/provider"] == "C01"


def test_a_failed_run_is_alerted_once_by_the_run_failure_sensor_naming_the_fix(tmp_path):
    from assets.lib.alerting import run_failure_alerts
    from assets.performance.assets import reoffending_extract

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    bad = tmp_path / "landing" / "reoffending_2019-02-30.csv"  # no such date
    bad.parent.mkdir()
    bad.write_text("pnc_id,offence_date,disposal_date,disposal_type,offence_group\n")
    inst = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": Warehouse(url=db), "folders": Folders(extract=str(bad), alerts=str(tmp_path / "alerts"))}
    result = dg.materialize([reoffending_extract], resources=resources, instance=inst, raise_on_error=False)
    assert not result.success
    [record] = inst.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=10).records
    for _ in range(2):  # evaluated twice (a restarted daemon): one alert
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=inst,
            dagster_run=inst.get_run_by_id(result.run_id),
            resources=resources,
        )
        run_failure_alerts(context.for_run_failure())
    lines = [json.loads(line) for line in (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["kind"] == "run_failed" and lines[0]["run_id"] == result.run_id
    assert lines[0]["key"] == f"run-{result.run_id}"
    assert (
        lines[0]["detail"]["message"].startswith("reoffending_extract:")
        and "2019-02-30" in lines[0]["detail"]["message"]
    )


def test_a_mistyped_notifier_setting_is_recorded_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("RETURNS_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RETURNS_ALERT_SMTP_PORT", "twenty-five")
    monkeypatch.setenv("RETURNS_ALERT_EMAIL_TO", "data-engineers@example.org")
    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    engine = engine_for(db)
    assert raise_alert(engine, tmp_path / "alerts", Alert(key="check-3", kind="check_failed", title="x"))
    with session_scope(engine) as session:
        row = session.scalar(select(AlertRow))
        assert row.notified_via is None and "RETURNS_ALERT_SMTP_PORT must be a port number" in row.notify_error


def test_an_alert_raised_by_two_processes_at_once_is_recorded_and_sent_once(engine, tmp_path, monkeypatch):
    """Two processes look at once and both find nothing; the first inserts. The database refuses the second's
    insert and the second call says the alert was already recorded, rather than failing its sensor."""
    from sqlalchemy.orm import Session

    alert = Alert(key="run-abc", kind="run_failed", title="Run abc failed", run_id="abc")
    sent = []

    class _Recorder:
        name = "recorder"

        def send(self, a):
            sent.append(a.key)

    assert raise_alert(engine, tmp_path / "alerts", alert, [_Recorder()]) is True  # the first process
    looked = Session.scalar
    calls = []

    def looked_before_the_first_committed(self, statement, *args, **kwargs):
        calls.append(1)
        return None if len(calls) == 1 else looked(self, statement, *args, **kwargs)

    monkeypatch.setattr(Session, "scalar", looked_before_the_first_committed)
    assert raise_alert(engine, tmp_path / "alerts", alert, [_Recorder()]) is False  # the second
    monkeypatch.undo()
    assert sent == ["run-abc"]
    assert len((tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()) == 1
    with session_scope(engine) as session:
        assert len(session.scalars(select(AlertRow)).all()) == 1


def _checks_of_one_return(tmp_path, tables=None, drop: str | None = None) -> dict[str, object]:
    """provider_intake for C05 2017Q3 from the given tables: each check's evaluation, by name."""
    from assets.lib.partitions import return_key
    from orchestration.runner.runs import _execute
    from tests.support.returns import clean_tables, write_csvs

    db = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(db)
    files = write_csvs(tmp_path / "landing" / "C05", tables or clean_tables())
    if drop:
        next(f for f in files if f.name.endswith(f"_{drop}.csv")).unlink()
    resources = {
        "warehouse": Warehouse(url=db),
        "folders": Folders(
            landing=str(tmp_path / "landing"),
            archive=str(tmp_path / "archive"),
            output=str(tmp_path / "out"),
            alerts=str(tmp_path / "alerts"),
        ),
    }
    result = _execute("provider_intake", resources, dg.DagsterInstance.ephemeral(), return_key("2017Q3", "C05"))
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_return_rejected_for_one_fault_of_the_whole_return_fails_exactly_one_check(tmp_path):
    """N05's breaches_errors was red with 'errors 0, pass_rate 1, rejected 0' for misnamed files: one fault, four
    red checks. Now the whole return's fault is file_readable's alone, with the reason as its description."""
    checks = _checks_of_one_return(tmp_path, drop="breaches")  # FIL-002: a table not sent
    failed = [name for name, e in checks.items() if not e.passed]
    assert failed == ["file_readable"]
    assert checks["file_readable"].description.startswith("The return cannot be used: FIL-002 is fatal")
    assert checks["breaches_errors"].description.startswith(
        "Not judged: the return as a whole could not be used (FIL-002; see file_readable). The breaches file: not sent"
    )


def test_a_return_rejected_for_row_errors_in_contacts_fails_only_contacts_errors(tmp_path):
    from tests.support.returns import clean_tables, set_value

    tables = clean_tables()
    for row in range(len(tables["contacts"])):  # every contact's type unlisted (CON-003): far over 1%
        set_value(tables, "contacts", row, "contact_type", "LETTER")
    checks = _checks_of_one_return(tmp_path, tables)
    failed = [name for name, e in checks.items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == ["contacts_errors"]
    assert checks["contacts_errors"].description.startswith("contacts: ")
    assert "above the 1% allowed" in checks["contacts_errors"].description


def _latest_metadata(inst: dg.DagsterInstance, asset: str, partition: str) -> dict:
    [record] = inst.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def test_the_trends_a_data_engineer_watches_and_the_build_expected_once_due(tmp_path, database_url, monkeypatch):
    """Rows, rejections, their shares and the run's time on each return's materialization, and the quarter's
    received, rejected, late and missing returns on quarter_submissions: numbers Dagster plots by partition.
    C05 has one of its 5 contacts unlisted (CON-003: 20% of contacts, over the 1% tolerance: rejected), C14 is
    clean, C07 sent no breaches file (FIL-002: rejected as a whole before its records were checked); all three
    on time. C20's clean return arrives after the deadline (end of Friday 27 October 2017)."""
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from tests.support.returns import clean_tables, set_value, write_csvs

    monkeypatch.setenv("RETURNS_ALERTS", str(tmp_path / "alerts"))
    upgrade(database_url)
    landing = tmp_path / "landing"
    tables = clean_tables()
    set_value(tables, "contacts", 0, "contact_type", "LETTER")
    write_csvs(landing / "C05", tables)
    for provider in ("C14", "C07", "C20"):
        tables = clean_tables()
        for row in range(len(tables["cases"])):
            set_value(tables, "cases", row, "provider_code", provider)
        files = write_csvs(landing / provider, tables, provider=provider)
        if provider == "C07":
            files[2].unlink()  # the breaches table
    c20 = landing.parent / "held-back"
    (landing / "C20").rename(c20)
    inst = dg.DagsterInstance.ephemeral()
    folders = {"landing": landing, "archive": tmp_path / "archive", "output": tmp_path / "out"}

    def run(providers, clock):
        monkeypatch.setenv("RETURNS_CLOCK", clock)
        done = run_quarter(
            Quarter.parse("2017Q3"), providers, **folders, database_url=database_url, dagster_instance=inst
        )
        assert done.failed == []

    run(["C05", "C14", "C07"], "2017-10-20T09:00:00+00:00")
    c20.rename(landing / "C20")
    run(["C20"], "2017-11-01T09:00:00+00:00")

    c05 = _latest_metadata(inst, "provider_validation", "C05|2017-07-01")
    assert c05["outcome"] == "Rejected" and c05["return_rejected"] == 1
    assert (c05["cases_rows"], c05["contacts_rows"], c05["breaches_rows"]) == (3, 5, 2)
    assert (c05["cases_rejected"], c05["contacts_rejected"], c05["breaches_rejected"]) == (0, 1, 0)
    assert (c05["records"], c05["records_rejected"]) == (10, 1)
    assert c05["rejected_share"] == 0.1 and c05["contacts_rejected_share"] == 0.2 and c05["cases_rejected_share"] == 0
    assert c05["seconds_since_run_start"] > 0
    c14 = _latest_metadata(inst, "provider_validation", "C14|2017-07-01")
    assert c14["return_rejected"] == 0 and (c14["records"], c14["rejected_share"]) == (10, 0.0)
    c07 = _latest_metadata(inst, "provider_validation", "C07|2017-07-01")
    assert c07["return_rejected"] == 1 and c07["breaches_file"] == "not sent"
    assert "breaches_rows" not in c07 and "rejected_share" not in c07  # no records were checked: no share
    plotted = ("rows", "rejected", "rejected_share", "records", "records_rejected", "return_rejected", "findings")
    for metadata in (c05, c14, c07):  # what the Plots tab draws: numbers, never words
        assert all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in metadata.items()
            if k.endswith(plotted) or k == "seconds_since_run_start"
        ), metadata

    quarter = _latest_metadata(inst, "quarter_submissions", "2017-07-01")
    assert (quarter["returns_received"], quarter["returns_rejected"]) == (4, 2)
    assert (quarter["returns_late"], quarter["returns_missing"]) == (1, 24)
    assert quarter["returns_rejected_share"] == 0.5
    # the build of 1 November 09:00 UTC, from the deadline at the end of 27 October (23:00 UTC): 4 days 10 hours
    build = _latest_metadata(inst, "ministry_return", "2017-07-01")
    assert build["build_days_after_deadline"] == 4.42

    # The build is expected 5 days after the deadline (2 November 2017, 00:00): its check, run alone as
    # quarter_freshness_schedule asks, passes for the built 2017Q3, passes for 2017Q4 (not due) and fails for
    # 2017Q2 (due long ago, never built), raising no alert: the run succeeds and only the ministry return's check
    # reads red.
    from assets.returns.schedules import quarter_freshness_schedule

    def scheduled(moment: dt.datetime):
        return quarter_freshness_schedule(dg.build_schedule_context(scheduled_execution_time=moment))

    waiting = scheduled(dt.datetime(2017, 11, 1, 9, 0, tzinfo=LONDON))
    assert waiting.skip_message == "2017Q3: its build is not due until 2017-11-02 00:00 GMT"
    request = scheduled(dt.datetime(2017, 11, 2, 9, 0, tzinfo=LONDON))
    assert (request.partition_key, request.run_key) == ("2017-07-01", "quarter-freshness-2017Q3")
    alerts_before = (tmp_path / "alerts" / "alerts.jsonl").read_text()
    monkeypatch.setenv("RETURNS_CLOCK", "2017-11-02T09:00:00+00:00")
    job = defs.resolve_job_def("quarter_build").get_subset(
        asset_selection=set(request.asset_selection), asset_check_selection=set(request.asset_check_keys)
    )
    seen = {}
    for partition in ("2017-07-01", "2017-10-01", "2017-04-01"):
        result = job.execute_in_process(partition_key=partition, instance=inst)
        assert result.success and not result.get_asset_materialization_events()  # the check alone: nothing built
        [seen[partition]] = result.get_asset_check_evaluations()
    built, not_due, overdue = seen["2017-07-01"], seen["2017-10-01"], seen["2017-04-01"]
    assert built.passed and built.description == "2017Q3 is built (due by 2017-11-02 00:00 GMT)."
    assert not_due.passed and not_due.description == "Not due: 2017Q4's build is expected by 2018-02-04 00:00 GMT."
    # 2017Q4's deadline: end of Monday 29 January 2018; 2017Q2's: end of Friday 28 July 2017
    assert not overdue.passed
    assert overdue.description == "Overdue: 2017Q2 has no build; it was expected by 2017-08-03 00:00 BST."
    assert (tmp_path / "alerts" / "alerts.jsonl").read_text() == alerts_before
