"""Receiving returns: archived byte for byte first, duplicates recognised, resubmissions versioned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.ingest import current_submissions, discover, receive, sha256_file
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Submission


@pytest.fixture
def landing(tmp_path) -> Path:
    generate(tmp_path / "landing", [Quarter.parse("2017Q3")], ["C01", "C14"], scale=0.02)
    return tmp_path / "landing"


def test_discover_groups_a_providers_files_by_quarter(landing):
    found = {(r.provider, r.quarter): r for r in discover(landing)}
    assert set(found) == {("C01", "2017Q3"), ("C14", "2017Q3")}
    assert sorted(f.table for f in found["C01", "2017Q3"].files) == ["breaches", "cases", "contacts"]
    assert found["C01", "2017Q3"].is_complete and found["C14", "2017Q3"].is_complete
    (landing / "C01" / "C01_2017Q3_breaches.csv").unlink()
    assert not discover(landing, provider="C01")[0].is_complete


def test_files_that_are_not_returns_are_left_alone(landing):
    (landing / "C01" / "notes.txt").write_text("hello")
    (landing / "C01" / "..%2F..%2Fetc%2Fpasswd_2017Q3_cases.csv").write_text("x")
    (landing / "ZZZ").mkdir()
    (landing / "ZZZ" / "Z99_2017Q3.xlsx").write_bytes(b"PK")
    names = {f.name for r in discover(landing) for f in r.files}
    assert "notes.txt" not in names and not any("passwd" in n for n in names) and "Z99_2017Q3.xlsx" not in names


def test_receive_archives_every_byte_under_its_hash(landing, engine, tmp_path):
    ret = discover(landing, provider="C14")[0]
    with session_scope(engine) as session:
        receipt = receive(session, ret, tmp_path / "archive")
    assert (receipt.version, receipt.duplicate) == (1, False)
    with session_scope(engine) as session:
        sub = session.get(Submission, receipt.submission_id)
        assert sub.file_names == ["C14_2017Q3.xlsx"] and sub.status == "received"
        stored = Path(sub.files[0].archive_path)
        assert stored.name == sha256_file(landing / "C14" / "C14_2017Q3.xlsx")
        assert stored.read_bytes() == (landing / "C14" / "C14_2017Q3.xlsx").read_bytes()
        assert not stored.stat().st_mode & 0o222  # read-only


def test_the_same_bytes_again_are_a_duplicate_and_a_change_is_a_new_version(landing, engine, tmp_path):
    archive = tmp_path / "archive"
    with session_scope(engine) as session:
        first = receive(session, discover(landing, provider="C01")[0], archive)
    with session_scope(engine) as session:
        again = receive(session, discover(landing, provider="C01")[0], archive)
    assert again.duplicate and again.submission_id == first.submission_id

    cases = landing / "C01" / "C01_2017Q3_cases.csv"
    cases.write_bytes(cases.read_bytes() + b"")  # same bytes: still a duplicate
    with session_scope(engine) as session:
        assert receive(session, discover(landing, provider="C01")[0], archive).duplicate
    lines = cases.read_text().splitlines(keepends=True)
    cases.write_text("".join(lines[:-1]))  # the provider drops a case and resubmits
    with session_scope(engine) as session:
        second = receive(session, discover(landing, provider="C01")[0], archive)
    assert (second.version, second.duplicate, second.superseded_id) == (2, False, first.submission_id)
    with session_scope(engine) as session:
        versions = session.scalars(
            select(Submission).where(Submission.provider_code == "C01").order_by(Submission.version)
        ).all()
        assert [(s.version, s.status) for s in versions] == [(1, "superseded"), (2, "received")]
        rows = {r["provider_code"]: r for r in current_submissions(session, "2017Q3")}
    assert rows["C01"]["version"] == 2 and rows["C02"]["status"] == "no return" and len(rows) == 28
    # The first version's bytes are still in the archive.
    assert len(list(archive.rglob("*"))) >= 5


def test_loose_files_are_attributed_to_the_provider_in_their_name(landing, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(landing / "C14" / "C14_2017Q3.xlsx", loose / "c14_2017q3.xlsx")
    found = discover(loose)
    assert [(r.provider, r.quarter) for r in found] == [("C14", "2017Q3")]


def test_finding_one_quarter_reads_only_that_quarters_files(tmp_path, monkeypatch):
    import probation_returns.ingest as ingest

    generate(tmp_path / "landing", [Quarter.parse("2017Q2"), Quarter.parse("2017Q3")], ["C01", "C14"], scale=0.02)
    hashed = []
    original = ingest.sha256_file
    monkeypatch.setattr(ingest, "sha256_file", lambda path: hashed.append(path.name) or original(path))
    [found] = discover(tmp_path / "landing", provider="C01", quarter="2017Q3")
    assert (
        sorted(hashed)
        == sorted(f.name for f in found.files)
        == ["C01_2017Q3_breaches.csv", "C01_2017Q3_cases.csv", "C01_2017Q3_contacts.csv"]
    )
