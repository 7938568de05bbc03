import datetime as dt

import numpy as np
import pytest

from probation_returns.calendar import Quarter, add_business_days, add_months, is_business_day, quarter_range


def test_quarter_parsing_and_bounds():
    q = Quarter.parse("2017Q3")
    assert (q.first_day, q.last_day) == (dt.date(2017, 7, 1), dt.date(2017, 9, 30))
    assert str(q + 2) == "2018Q1" and str(q - 3) == "2016Q4"
    assert Quarter.containing(dt.date(2016, 2, 29)) == Quarter(2016, 1)
    assert [m[1] for m in Quarter.parse("2016Q1").months()] == [
        dt.date(2016, 1, 31),
        dt.date(2016, 2, 29),
        dt.date(2016, 3, 31),
    ]


def test_quarter_range_is_inclusive_and_rejects_nonsense():
    assert [str(q) for q in quarter_range("2016Q3..2017Q2")] == ["2016Q3", "2016Q4", "2017Q1", "2017Q2"]
    assert [str(q) for q in quarter_range("2017Q1,2016Q4")] == ["2016Q4", "2017Q1"]
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter.parse("2017-Q5")
    with pytest.raises(ValueError, match="before the first"):
        quarter_range("2017Q3..2017Q1")


def test_business_days_skip_weekends_and_the_august_bank_holiday():
    # Friday 25 Aug 2017; Monday 28 Aug 2017 is the Summer bank holiday.
    assert add_business_days(dt.date(2017, 8, 25), 1) == dt.date(2017, 8, 29)
    # From a Saturday the first business day after is the next working day (here Tuesday).
    assert add_business_days(dt.date(2017, 8, 26), 1) == dt.date(2017, 8, 29)
    assert not is_business_day(dt.date(2017, 8, 28))
    assert add_business_days(dt.date(2017, 8, 22), 5) == dt.date(2017, 8, 30)


def test_business_days_skip_easter():
    # Thursday 13 Apr 2017; Good Friday 14th and Easter Monday 17th are bank holidays.
    assert add_business_days(dt.date(2017, 4, 13), 1) == dt.date(2017, 4, 18)
    assert add_business_days(dt.date(2017, 4, 12), 3) == dt.date(2017, 4, 19)


def test_business_days_work_on_whole_arrays():
    days = np.array(["2017-12-22", "2017-12-29"], dtype="datetime64[D]")
    # Christmas Day and Boxing Day 2017 fall on Monday and Tuesday; 1 Jan 2018 is a Monday.
    assert add_business_days(days, 1).tolist() == [dt.date(2017, 12, 27), dt.date(2018, 1, 2)]


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2017, 1, 31), 1) == dt.date(2017, 2, 28)
    assert add_months(dt.date(2017, 9, 30), 18) == dt.date(2019, 3, 30)
    assert add_months(dt.date(2015, 8, 31), 6) == dt.date(2016, 2, 29)


def test_the_written_out_bank_holidays_are_the_holidays_librarys():
    """probation_returns.bank_holidays spares `returns validate` importing the library: it must say the same."""
    from probation_returns import bank_holidays

    assert bank_holidays.generate() == bank_holidays.TABLE
    assert bank_holidays.dates()[0] == dt.date(1990, 1, 1) and dt.date(2022, 9, 19) in bank_holidays.dates()


def test_business_days_of_one_date_are_numpys_for_every_day_of_the_table():
    """The scalar paths count without numpy; they agree with numpy's business-day calendar on every day."""
    from probation_returns.calendar import _busdaycalendar, business_days_from

    calendar = _busdaycalendar()
    first = dt.date(1990, 1, 1)
    for k in range(0, 365 * 55, 2):
        day = first + dt.timedelta(days=k)
        assert is_business_day(day) == bool(np.is_busday(np.datetime64(day, "D"), busdaycal=calendar))
        for n in (0, 1, 10, -3):
            expected = np.busday_offset(np.datetime64(day, "D"), n, roll="backward", busdaycal=calendar)
            assert add_business_days(day, n) == expected.astype(dt.date)
        for span in (0, 6, 40):
            last = day + dt.timedelta(days=span)
            expected = np.busday_count(
                np.datetime64(day, "D"), np.datetime64(last + dt.timedelta(days=1), "D"), busdaycal=calendar
            )
            assert business_days_from(day, last) == int(expected)
