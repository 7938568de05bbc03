"""The service's clock: the machine's unless RETURNS_CLOCK stops it at an instant (reproducible runs)."""

import datetime as dt

import pytest

from probation_returns import clock


def test_the_clock_is_the_machines_when_unset(monkeypatch):
    monkeypatch.delenv("RETURNS_CLOCK", raising=False)
    before = dt.datetime.now(dt.UTC)
    moment = clock.now()
    assert before <= moment <= dt.datetime.now(dt.UTC) and moment.tzinfo is not None


def test_a_set_clock_stops_at_its_instant_and_today_is_londons_date(monkeypatch):
    # 23:30 UTC on 30 June 2017 is 00:30 on 1 July in London (summer time): a new quarter there.
    monkeypatch.setenv("RETURNS_CLOCK", "2017-06-30T23:30:00+00:00")
    assert clock.now() == dt.datetime(2017, 6, 30, 23, 30, tzinfo=dt.UTC)
    assert clock.now().utcoffset() == dt.timedelta(0)
    assert clock.today() == dt.date(2017, 7, 1)
    monkeypatch.setenv("RETURNS_CLOCK", "2017-12-31T23:30:00+00:00")  # winter: London is UTC
    assert clock.today() == dt.date(2017, 12, 31)


def test_an_instant_without_its_offset_is_refused(monkeypatch):
    monkeypatch.setenv("RETURNS_CLOCK", "2017-10-20T09:00:00")
    with pytest.raises(ValueError, match="no offset"):
        clock.now()
    monkeypatch.setenv("RETURNS_CLOCK", "last Tuesday")
    with pytest.raises(ValueError, match="not an instant"):
        clock.now()


def test_the_open_quarter_and_a_deadline_follow_the_set_clock(monkeypatch):
    from probation_returns.calendar import Quarter
    from probation_returns.overview import deadline, open_quarter

    monkeypatch.setenv("RETURNS_CLOCK", "2017-10-20T09:00:00+00:00")
    assert open_quarter() == Quarter.parse("2017Q3")
    assert deadline(Quarter.parse("2017Q3")).today == dt.date(2017, 10, 20)
