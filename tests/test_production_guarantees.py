"""What the service guarantees in production: the schema holds every value it writes on every backend,
resubmissions follow the specification, a crash never leaves a return unanswered, lost feedback and
half-made builds heal on the next run, and PNC ids never leave validation raw."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from sqlalchemy import String, inspect, select, text

from probation_returns import spec
from probation_returns.conversation import STATES as QUERY_STATES
from probation_returns.credibility.figures import DEFINITION
from probation_returns.ingest import discover, receive
from probation_returns.integrity import (
    binary_vs_frequency,
    case_mix_drift,
    contact_intensity,
    deadline_heaping,
    exclusion_drift,
    late_flip,
)
from probation_returns.integrity.signals import SIGNALS
from probation_returns.measures.decisions import DECISIONS
from probation_returns.measures.service_levels import STATUSES
from probation_returns.validation.cascade import CASCADE
from probation_returns.validation.result import OUTCOMES, RULES_VERSION
from probation_returns.validation.service import validate_submission
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Base, Submission
from reports.feedback import with_feedback
from tests.support.returns import clean_tables, write_csvs

PNC = re.compile(r"\d{4}/\d{7}[A-Z]")


# The schema --------------------------------------------------------------------------------------


def _measure_names() -> set[str]:
    from probation_returns.parameters import MEASURES

    return set(MEASURES) | {"successful_completion", "face_to_face_share", "high_risk_not_referred"}


# Every bounded text column, with every value the code writes into it (or the longest it can be).
VALUES = {
    "providers.code": ["C01", "N07"],
    "providers.type": ["CRC", "NPS"],
    "providers.name": ["x" * 200],
    "providers.owner_2015": ["x" * 100],
    "submissions.provider_code": ["C01"],
    "submissions.quarter": ["2017Q3"],
    "submissions.sha256": ["f" * 64],
    "submissions.status": ["received", "validated", "superseded"],
    "submissions.outcome": list(OUTCOMES),
    "submission_files.sha256": ["f" * 64],
    "validation_runs.outcome": list(OUTCOMES),
    "validation_runs.rules_version": [RULES_VERSION],
    "validation_runs.reference_version": ["reference-2026-11"],
    "validation_runs.software_version": ["0.1.0"],
    "findings.table_name": [*spec.TABLES, "file", "return", "reoffending"],
    "findings.rule_id": [r.rule_id for r in spec.RULES] + [CASCADE],
    "findings.severity": ["F", "E", "W"],
    "accepted_cases.case_ref": ["X123456"],
    "accepted_cases.pnc_hash": ["f" * 64],
    "accepted_cases.provider_code": ["C01"],
    "accepted_cases.sentence_type": list(spec.SENTENCE_TYPES),
    "accepted_cases.rosh_level": list(spec.ROSH_LEVELS),
    "accepted_cases.sex": list(spec.SEXES),
    "accepted_cases.index_offence_group": list(spec.OFFENCE_GROUPS),
    "accepted_cases.termination_reason": list(spec.TERMINATION_REASONS),
    "accepted_contacts.case_ref": ["X123456"],
    "accepted_contacts.contact_type": list(spec.CONTACT_TYPES),
    "accepted_contacts.outcome": list(spec.CONTACT_OUTCOMES),
    "accepted_breaches.case_ref": ["X123456"],
    "reoffending_extracts.sha256": ["f" * 64],
    "measures.quarter": ["2017Q3"],
    "measures.provider_code": ["C01"],
    "measures.measure": sorted(_measure_names()),
    "measures.status": [*STATUSES, "reported", "not applicable"],
    "measures.parameter_version": ["contract-2017-18-v1"],
    "credits.quarter": ["2017Q3"],
    "credits.provider_code": ["C01"],
    "credits.measure": sorted(_measure_names()),
    "credits.parameter_version": ["contract-2017-18-v1"],
    "credit_decisions.decision": list(DECISIONS),
    "credit_decisions.decided_by": ["x" * 100],
    "reoffending_results.quarter": ["2017Q3"],
    "reoffending_results.provider_code": ["C01"],
    "reoffending_results.significance": [
        "significant reduction",
        "significant increase",
        "not significant",
        "no cohort",
    ],
    "reoffending_results.parameter_version": ["contract-2017-18-v1"],
    "return_builds.quarter": ["2017Q3"],
    "return_builds.software_version": ["0.1.0"],
    "return_builds.parameter_version": ["contract-2017-18-v1"],
    "return_builds.inputs_sha256": ["f" * 64],
    "return_builds.manifest_sha256": ["f" * 64],
    "alerts.alert_key": ["x" * 100],
    "alerts.kind": ["check_failed", "run_failed"],
    "alerts.asset_key": ["x" * 200],
    "alerts.partition_key": ["C05|2017-07-01"],
    "alerts.check_name": ["x" * 100],
    "alerts.run_id": ["f" * 36],
    "alerts.notified_via": ["webhook, email"],
    "users.email": ["x" * 254],
    "users.role": ["provider", "manager", "admin", "officer"],
    "audit_events.action": ["x" * 40],
    "audit_events.provider_code": ["C01"],
    "audit_events.quarter": ["2017Q3"],
    "users.provider_code": ["C01"],
    "uploads.provider_code": ["C01"],
    "uploads.quarter": ["2017Q3"],
    "uploads.identity": ["f" * 64],
    "uploads.status": ["received", "validating", "done", "failed"],
    "uploads.run_id": ["f" * 36],
    "build_requests.quarter": ["2017Q3"],
    "build_requests.status": ["received", "building", "done", "failed"],
    "build_requests.run_id": ["f" * 36],
    "integrity_computations.quarter": ["2017Q3"],
    "integrity_computations.inputs_sha256": ["f" * 64],
    "integrity_signals.provider_code": ["C01"],
    "integrity_signals.signal": list(SIGNALS),
    "integrity_signals.measure": [
        *deadline_heaping.MEASURES,
        exclusion_drift.MEASURE,
        *contact_intensity.BANDS,
        *case_mix_drift.MEASURES,
        *late_flip.MEASURES,
        *binary_vs_frequency.MEASURES,
    ],
    "integrity_cases.case_ref": ["X123456"],
    "credibility_tallies.definition": [DEFINITION],
    "credibility_vanished.definition": [DEFINITION],
    "queries.provider_code": ["C01"],
    "queries.quarter": ["2017Q3"],
    "queries.subject": [r.rule_id for r in spec.RULES] + [f"signal:{name}" for name in SIGNALS],
    "queries.state": list(QUERY_STATES),
    "query_messages.step": ["raised", *QUERY_STATES],
    "tolerances.provider_code": ["C01"],
    "tolerances.quarter": ["2017Q3"],
    "tolerances.rule_id": [r.rule_id for r in spec.RULES],
    "provider_sign_offs.provider_code": ["C01"],
    "provider_sign_offs.quarter": ["2017Q3"],
}


def test_every_bounded_text_column_holds_the_longest_value_the_code_writes():
    """A new bounded column must be listed here with its values; SQLite would never tell."""
    bounded = {
        f"{t.name}.{c.name}": c.type.length
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, String) and c.type.length is not None
    }
    assert set(bounded) == set(VALUES), f"list the values of {sorted(set(bounded) ^ set(VALUES))}"
    too_long = {
        name: max(VALUES[name], key=len)
        for name, length in bounded.items()
        if max(len(v) for v in VALUES[name]) > length
    }
    assert not too_long


def test_the_longest_values_are_stored_on_the_database_itself(engine):
    """Written and read back through the real server (PostgreSQL enforces lengths, SQLite does not)."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO providers (code, name, type, typical_caseload) VALUES ('Z99', :n, 'CRC', 1)"),
            {"n": "x" * 200},
        )
        for measure in _measure_names():
            conn.execute(
                text(
                    "INSERT INTO measures (quarter, provider_code, measure, status, parameter_version, "
                    "computed_at) VALUES ('2017Q3', 'Z99', :m, 'no valid return', 'contract-2017-18-v1', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"m": measure},
            )
            conn.execute(
                text(
                    "INSERT INTO credits (quarter, provider_code, measure, amount_gbp, unscaled_gbp, "
                    "parameter_version, computed_at) VALUES ('2017Q3', 'Z99', :m, 1, 1, "
                    "'contract-2017-18-v1', CURRENT_TIMESTAMP)"
                ),
                {"m": measure},
            )
        stored = set(conn.execute(text("SELECT measure FROM measures WHERE provider_code = 'Z99'")).scalars())
    assert stored == _measure_names()
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("findings")}
    assert getattr(columns["case_ref"], "length", None) is None  # a provider's text is unbounded


def test_the_database_refuses_a_second_current_credit_and_duplicate_measures(engine):
    from sqlalchemy.exc import IntegrityError

    insert = text(
        "INSERT INTO measures (quarter, provider_code, measure, status, parameter_version, computed_at) "
        "VALUES ('2017Q3', 'C05', 'SL001R', 'met', 'p', CURRENT_TIMESTAMP)"
    )
    with engine.begin() as conn:
        conn.execute(insert)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert)
    credit = text(
        "INSERT INTO credits (quarter, provider_code, measure, amount_gbp, unscaled_gbp, parameter_version, "
        "computed_at, replaced_at) VALUES ('2017Q3', 'C05', 'SL001R', 1, 1, 'p', CURRENT_TIMESTAMP, :r)"
    )
    with engine.begin() as conn:
        conn.execute(credit, {"r": dt.datetime(2020, 1, 1)})  # history: as many as there were
        conn.execute(credit, {"r": dt.datetime(2020, 2, 1)})
        conn.execute(credit, {"r": None})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(credit, {"r": None})


# Resubmissions -----------------------------------------------------------------------------------


def _receive(engine, landing: Path, archive: Path):
    [landed] = discover(landing, provider="C05")
    with session_scope(engine) as session:
        return receive(session, landed, archive)


def _versions(engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return [
            (s.version, s.status)
            for s in session.scalars(
                select(Submission).where(Submission.provider_code == "C05").order_by(Submission.version)
            )
        ]


def test_an_earlier_version_sent_again_is_the_latest_delivery_and_counts(engine, tmp_path):
    landing, archive = tmp_path / "landing" / "C05", tmp_path / "archive"
    paths = write_csvs(landing, clean_tables())
    first = _receive(engine, landing.parent, archive)
    original = paths[0].read_bytes()
    paths[0].write_bytes(original.replace(b"THEFT", b"DRUG"))
    second = _receive(engine, landing.parent, archive)
    paths[0].write_bytes(original)  # the provider sends the first version's files again
    third = _receive(engine, landing.parent, archive)
    assert (first.version, second.version, third.version) == (1, 2, 3)
    assert not third.duplicate and third.superseded_id == second.submission_id
    assert _versions(engine) == [(1, "superseded"), (2, "superseded"), (3, "received")]
    assert _receive(engine, landing.parent, archive).duplicate  # and again: now it is the latest, nothing new


def test_renamed_but_identical_files_are_the_same_return(engine, tmp_path):
    landing, archive = tmp_path / "landing" / "C05", tmp_path / "archive"
    paths = write_csvs(landing, clean_tables())
    _receive(engine, landing.parent, archive)
    for path in paths:  # C05_2017Q3_cases.csv -> C05-2017q3-cases.csv, the same bytes
        path.rename(path.with_name(path.name.replace("_", "-").replace("Q", "q")))
    assert _receive(engine, landing.parent, archive).duplicate
    assert _versions(engine) == [(1, "received")]


def test_a_stray_file_never_replaces_a_return_and_is_reported_as_a_warning(engine, tmp_path):
    landing, archive = tmp_path / "landing" / "C05", tmp_path / "archive"
    write_csvs(landing, clean_tables())
    first = _receive(engine, landing.parent, archive)
    (landing / "C05_2017Q3_notes.csv").write_text("our notes on 2001/0012345H\n")
    assert _receive(engine, landing.parent, archive).duplicate  # not part of the return: nothing new
    for path in landing.glob("C05_2017Q3_c*.csv"):
        path.unlink()
    (landing / "C05_2017Q3_breaches.csv").unlink()
    assert discover(landing.parent) == []  # a stray file alone is no return

    shutil.rmtree(landing)
    write_csvs(landing, clean_tables())
    (landing / "C05_2017Q3_notes.csv").write_text("our notes on 2001/0012345H\n")
    (landing / "C05_2017Q3_cases.csv").write_bytes((landing / "C05_2017Q3_cases.csv").read_bytes() + b"\n")
    second = _receive(engine, landing.parent, archive)
    done = with_feedback(engine, validate_submission(engine, second.submission_id, tmp_path / "feedback"))
    assert done.outcome == "Accepted with warnings" and done.rule_counts == {"FIL-007": 1}
    findings = (done.feedback / "findings.csv").read_text()
    assert "C05_2017Q3_notes.csv was sent with the return but is not one of its files" in findings
    assert first.submission_id != second.submission_id


# A crash never leaves a return unanswered; lost feedback heals -----------------------------------


class FakePanic(BaseException):
    """What a Rust panic inside Polars or calamine looks like from Python: not an Exception."""


def test_a_panic_while_reading_ends_in_a_rejected_return_with_feedback(engine, tmp_path, monkeypatch):
    import probation_returns.validation.service as service

    write_csvs(tmp_path / "landing" / "C05", clean_tables())
    receipt = _receive(engine, tmp_path / "landing", tmp_path / "archive")

    def panic(*args, **kwargs):
        raise FakePanic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(service, "validate_files", panic)
    done = with_feedback(engine, validate_submission(engine, receipt.submission_id, tmp_path / "feedback"))
    assert done.outcome == "Rejected" and done.fatal_rules == ["FIL-001"]
    summary = json.loads((done.feedback / "summary.json").read_text())
    assert (
        summary["outcome"] == "Rejected"
        and "could not be read: FakePanic" in (done.feedback / "findings.csv").read_text()
    )
    with session_scope(engine) as session:
        assert session.get(Submission, receipt.submission_id).status == "validated"


def test_feedback_lost_after_the_validation_was_stored_is_written_again(engine, tmp_path):
    tables = clean_tables()
    tables["cases"][0][10] = "THEFT\x1b"  # a control character, which once broke the workbook writer
    write_csvs(tmp_path / "landing" / "C05", tables)
    receipt = _receive(engine, tmp_path / "landing", tmp_path / "archive")
    done = with_feedback(engine, validate_submission(engine, receipt.submission_id, tmp_path / "feedback"))
    before = {p.name: p.read_bytes() for p in done.feedback.iterdir()}
    assert set(before) == {"findings.csv", "summary.json", "feedback.xlsx", "feedback.html", "validation_result.json"}
    for name in ("feedback.xlsx", "feedback.html", "validation_result.json"):  # killed after summary.json, say
        (done.feedback / name).unlink()
    again = with_feedback(engine, validate_submission(engine, receipt.submission_id, tmp_path / "feedback"))
    assert again.reused and again.validation_run_id == done.validation_run_id
    after = {p.name: p.read_bytes() for p in again.feedback.iterdir()}
    assert set(after) == set(before)
    for name in ("findings.csv", "summary.json", "feedback.html", "validation_result.json"):
        assert after[name] == before[name], name
    assert not list(done.feedback.parent.glob(".*incoming*"))


# Builds ------------------------------------------------------------------------------------------


def test_an_unrecorded_build_folder_is_adopted_and_a_damaged_one_rewritten(engine, tmp_path):
    from probation_returns.calendar import Quarter
    from probation_returns.warehouse.models import ReturnBuild, ReturnBuildSubmission
    from reports.ministry.build import build_return

    quarter, out = Quarter.parse("2017Q3"), tmp_path / "out"
    first = build_return(engine, quarter, out)
    with session_scope(engine) as session:  # as if the run had been killed before recording the build
        session.execute(ReturnBuildSubmission.__table__.delete())
        session.execute(ReturnBuild.__table__.delete())
    (out / "builds" / ".building-x1y2").mkdir()  # and another killed run's staging folder
    (out / ".payments.csv.incoming-k1ll3d").write_text("half copied")  # and a publisher killed part-way
    adopted = build_return(engine, quarter, out)
    assert (adopted.number, adopted.built_at, adopted.files) == (1, first.built_at, first.files)
    assert sorted(p.name for p in (out / "builds").iterdir()) == ["001"]
    assert not list(out.glob(".*.incoming-*"))

    with session_scope(engine) as session:
        session.execute(ReturnBuildSubmission.__table__.delete())
        session.execute(ReturnBuild.__table__.delete())
    (out / "builds" / "001" / "payments.csv").write_text("half written")
    rewritten = build_return(engine, quarter, out)
    assert rewritten.number == 1 and rewritten.files["payments.csv"] == first.files["payments.csv"]
    with session_scope(engine) as session:
        assert session.scalars(select(ReturnBuild.build_number)).all() == [1]


# Killed runs --------------------------------------------------------------------------------------

SLOW_RUN = """
import os, time, dagster as dg
from orchestration.runner.runs import _tags

@dg.asset
def slow():
    time.sleep(120)

print("started", flush=True)
dg.materialize([slow], instance=dg.DagsterInstance.get(), tags=_tags())
"""


def test_a_killed_command_line_run_is_marked_failed_at_the_next_start(tmp_path):
    from orchestration.instance import prepare
    from orchestration.runner.runs import fail_orphaned_runs

    home = tmp_path / "dagster"
    prepare(home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[1])}
    child = subprocess.Popen([sys.executable, "-c", SLOW_RUN], env=env, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert child.stdout.readline().strip() == b"started"
        instance = dg.DagsterInstance.from_config(str(home))
        deadline = time.monotonic() + 60
        while not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.2)
        assert fail_orphaned_runs(instance) == []  # alive: left alone
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED  # what the UI showed for good before
    assert fail_orphaned_runs(instance) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert fail_orphaned_runs(instance) == []


# Personal data --------------------------------------------------------------------------------------


def _texts_of(path: Path) -> str:
    """A file's text as a person or a program would read it (a workbook's parts inflated)."""
    import zipfile

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return path.read_bytes().decode("utf-8", "replace")


def test_swapped_case_ref_and_pnc_id_headers_leave_no_raw_pnc_id_anywhere(database_url, tmp_path, monkeypatch):
    """Masking keys on what a value looks like: a PNC id under the case_ref header is masked too."""
    from orchestration.instance import prepare
    from orchestration.runner.quarter import run_quarter
    from probation_returns.calendar import Quarter
    from probation_returns.warehouse.db import engine_for, upgrade

    home = tmp_path / "dagster"
    prepare(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    upgrade(database_url)
    landing = tmp_path / "landing" / "C05"
    paths = write_csvs(landing, clean_tables())
    header, rest = paths[0].read_text().split("\n", 1)
    paths[0].write_text(
        header.replace("case_ref", "@@").replace("pnc_id", "case_ref").replace("@@", "pnc_id") + "\n" + rest
    )
    raw_ids = {row[1] for row in clean_tables()["cases"]}
    out = tmp_path / "out"
    run = run_quarter(
        Quarter.parse("2017Q3"),
        ["C05"],
        landing=landing.parent,
        archive=tmp_path / "archive",
        output=out,
        database_url=database_url,
        quarter_subfolders=False,
    )
    assert run.failed == []
    feedback = next(out.glob("feedback/C05/2017Q3/submission-*"))
    findings = pl.read_csv(feedback / "findings.csv", infer_schema=False)
    assert "****345H" in findings["case_ref"].to_list()  # still enough for the provider to find the row

    leaks = []
    for path in [p for p in out.rglob("*") if p.is_file()] + [p for p in home.rglob("*") if p.is_file()]:
        content = _texts_of(path)
        leaks += [
            f"{path.relative_to(tmp_path)}: {m}"
            for m in set(PNC.findall(content)) | {i for i in raw_ids if i in content}
        ]
    assert leaks == []

    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if column.type.python_type not in (str, dict, list):
                        continue
                    values = conn.execute(select(column).where(column.is_not(None))).scalars().all()
                    found = [v for v in values if PNC.search(json.dumps(v) if not isinstance(v, str) else v)]
                    assert found == [], f"{table.name}.{column.name} holds raw PNC ids"
    finally:
        engine.dispose()


def test_a_killed_writers_temporary_files_are_removed_and_a_live_writers_are_left(tmp_path):
    import fcntl

    from probation_returns.staging import remove_abandoned

    dead = tmp_path / ".submission-1.incoming-dead"
    dead.mkdir()
    (dead / "findings.csv").write_text("half")
    live = tmp_path / ".submission-1.incoming-live"
    live.mkdir()
    (live / "findings.csv").write_text("being written")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run writing the same feedback right now
    try:
        remove_abandoned(tmp_path, ".submission-1.incoming-*")
        assert not dead.exists() and live.exists()
    finally:
        os.close(fd)
    remove_abandoned(tmp_path, ".submission-1.incoming-*")  # its writer was killed: the lock went with it
    assert not live.exists()


def test_a_killed_writers_empty_file_is_removed_at_once(tmp_path):
    """A writer killed between making its file and writing to it leaves an empty, unlocked file: the next
    tidy-up removes it whatever its age (CI once saw a rerun keep one because it was a few seconds old)."""
    from probation_returns import staging

    new = tmp_path / "upload-just-made"
    new.touch()
    assert staging.remove_abandoned(tmp_path, "upload-*") == [new]
    assert not new.exists()


def test_a_tidy_up_waits_while_a_writer_is_between_making_its_name_and_locking_it(tmp_path):
    """Between mkstemp and flock the writer holds a shared lock on the folder; a tidy-up takes an exclusive
    one, so it cannot delete the new file in that instant (two uploads at once lost one's file that way)."""
    import fcntl
    import threading

    from probation_returns import staging

    folder_fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(folder_fd, fcntl.LOCK_SH)  # a writer in the middle of making its name
    made = tmp_path / "upload-being-made"
    made.touch()
    tidier = threading.Thread(target=staging.remove_abandoned, args=(tmp_path, "upload-*"))
    tidier.start()
    tidier.join(timeout=0.5)
    assert tidier.is_alive() and made.exists()  # waiting for the writer
    file_fd = os.open(made, os.O_RDONLY)
    fcntl.flock(file_fd, fcntl.LOCK_EX)  # the writer has locked its file...
    os.close(folder_fd)  # ...and lets go of the folder
    tidier.join(timeout=30)
    assert not tidier.is_alive() and made.exists()
    os.close(file_fd)


def test_tidy_removes_every_abandoned_temporary_name_and_nothing_else(tmp_path):
    """One function knows every temporary name and folder: feedback staging, extract findings, archive
    copies, builds, the published return and portal uploads; a live writer's and a provider's own files stay."""
    import fcntl

    from probation_returns import staging

    output, archive, landing = tmp_path / "output", tmp_path / "archive", tmp_path / "landing"
    abandoned = [
        output / "feedback/C14/2017Q3/.submission-3.incoming-x1/findings.csv",
        output / "feedback/reoffending/2019-03-31/.findings.csv.incoming-ab12",
        output / "2017Q3/builds/.building-q9/service_levels.csv",
        output / "2017Q3/.payments.csv.incoming-zz",
        output / "2017Q3/publication/.data_quality.csv.incoming-y",
        archive / "ab/cd/.incoming-k2",
        archive / "checked/.rows.parquet.incoming-p",
        landing / ".portal-staging/upload-u7",
    ]
    kept = [
        output / "feedback/C14/2017Q3/submission-3/findings.csv",
        archive / ("ab/cd/abcd" + "0" * 60),
        landing / "C14/C14_2017Q3_cases.csv",
        landing / "C14/.incoming-mine",
        landing / "upload-notes.txt",
    ]
    for path in abandoned + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    live = output / "feedback/C05/2017Q3/.submission-4.incoming-live"
    live.mkdir(parents=True)
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run writing now
    try:
        removed = staging.tidy(output, archive, landing)
    finally:
        os.close(fd)
    tops = {p if staging.is_temporary(p.name) else p.parent for p in abandoned}
    assert set(removed) == tops
    assert not any(p.exists() for p in tops)
    assert all(p.exists() for p in kept) and live.exists()
    assert staging.tidy(output, archive, landing) == [live]  # its writer is gone now
