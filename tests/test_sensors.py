"""The landing sensor: one run per distinct complete return, with a deterministic run key."""

from __future__ import annotations

import dagster as dg

from assets.intake.sensors import landing_sensor
from assets.lib.resources import Folders
from orchestration.definitions import defs
from tests.support.returns import clean_tables, set_value, write_csvs


def _tick(folder, cursor=None):
    context = dg.build_sensor_context(
        cursor=cursor, resources={"folders": Folders(landing=str(folder))}, definitions=defs
    )
    result = landing_sensor(context)
    return result.run_requests, result.cursor


def test_new_same_again_resubmitted_incomplete_and_out_of_order(tmp_path):
    landing = tmp_path / "landing"
    paths = write_csvs(landing / "C05", clean_tables())
    breaches = paths[2].read_bytes()
    paths[2].unlink()  # out of order: cases and contacts first
    runs, cursor = _tick(landing)
    assert runs == []  # incomplete: waits

    paths[2].write_bytes(breaches)  # the last table arrives
    runs, cursor = _tick(landing, cursor)
    assert [r.partition_key for r in runs] == ["C05|2017-07-01"]
    assert runs[0].run_key.startswith("C05-2017Q3-") and runs[0].tags["quarter"] == "2017Q3"
    first_key = runs[0].run_key

    runs, cursor = _tick(landing, cursor)
    assert runs == []  # the same files again: nothing
    again, _ = _tick(landing)  # even with a lost cursor, the run key is the same, so Dagster skips it
    assert [r.run_key for r in again] == [first_key]

    tables = clean_tables()
    set_value(tables, "cases", 0, "rosh_level", "H")
    write_csvs(landing / "C05", tables)  # a resubmission
    runs, cursor = _tick(landing, cursor)
    assert len(runs) == 1 and runs[0].run_key != first_key

    write_csvs(landing / "C14", clean_tables(), provider="C14")  # another provider, late
    runs, _ = _tick(landing, cursor)
    assert [r.partition_key for r in runs] == ["C14|2017-07-01"]


def test_a_tick_reads_only_new_or_changed_files(tmp_path, monkeypatch):
    import probation_returns.ingest as ingest

    landing = tmp_path / "landing"
    write_csvs(landing / "C05", clean_tables())
    runs, cursor = _tick(landing)
    assert len(runs) == 1
    hashed = []
    original = ingest.sha256_file
    monkeypatch.setattr(ingest, "sha256_file", lambda path: hashed.append(path.name) or original(path))
    runs, cursor = _tick(landing, cursor)
    assert runs == [] and hashed == []  # nothing new: nothing read
    write_csvs(landing / "C14", clean_tables(), provider="C14")
    runs, cursor = _tick(landing, cursor)
    assert [r.partition_key for r in runs] == ["C14|2017-07-01"]
    assert sorted(hashed) == ["C14_2017Q3_breaches.csv", "C14_2017Q3_cases.csv", "C14_2017Q3_contacts.csv"]
