"""Quarters and England & Wales business days.

A quarter is a calendar quarter written ``YYYYQn`` (Q1 = January to March). Business days are
Monday to Friday excluding England & Wales bank holidays, as the ``holidays`` library gives them
(``probation_returns.bank_holidays`` holds them written out, checked against the library by the tests).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from probation_returns import bank_holidays as _table

if TYPE_CHECKING:
    import numpy as np

_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a quarter; write it as YYYYQn, for example 2017Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def from_ordinal(cls, ordinal: int) -> Quarter:
        return cls(ordinal // 4, ordinal % 4 + 1)

    @property
    def ordinal(self) -> int:
        """Quarters since year 0; consecutive quarters have consecutive ordinals."""
        return self.year * 4 + self.number - 1

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return (self + 1).first_day - dt.timedelta(days=1)

    def months(self) -> list[tuple[dt.date, dt.date]]:
        """The three calendar months of the quarter as (first day, last day)."""
        out = []
        for m in range(3 * self.number - 2, 3 * self.number + 1):
            first = dt.date(self.year, m, 1)
            nxt = dt.date(self.year + (m == 12), m % 12 + 1, 1)
            out.append((first, nxt - dt.timedelta(days=1)))
        return out

    def __add__(self, quarters: int) -> Quarter:
        return Quarter.from_ordinal(self.ordinal + quarters)

    def __sub__(self, quarters: int) -> Quarter:
        return Quarter.from_ordinal(self.ordinal - quarters)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def quarter_range(text: str) -> list[Quarter]:
    """``2016Q1..2017Q3`` (inclusive), or a single ``2017Q3``, or a comma-separated list."""
    quarters: list[Quarter] = []
    for part in str(text).split(","):
        if ".." in part:
            first, last = (Quarter.parse(p) for p in part.split("..", 1))
            if last < first:
                raise ValueError(f"{part!r}: the last quarter is before the first")
            quarters.extend(Quarter.from_ordinal(o) for o in range(first.ordinal, last.ordinal + 1))
        else:
            quarters.append(Quarter.parse(part))
    return sorted(set(quarters))


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day of the month ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return min(day.replace(day=1, year=year, month=month) + dt.timedelta(days=day.day - 1), nxt - dt.timedelta(days=1))


# Business days -------------------------------------------------------------------------------

_FIRST_YEAR, _LAST_YEAR = _table.FIRST_YEAR, _table.LAST_YEAR


@lru_cache(maxsize=1)
def bank_holidays() -> tuple[dt.date, ...]:
    """England & Wales bank holidays (the ``holidays`` library, subdivision ENG, which Wales shares)."""
    return _table.dates()


@lru_cache(maxsize=1)
def _holiday_set() -> frozenset[dt.date]:
    return frozenset(bank_holidays())


@lru_cache(maxsize=1)
def _busdaycalendar() -> np.busdaycalendar:
    import numpy as np

    return np.busdaycalendar(weekmask="1111100", holidays=np.array(bank_holidays(), dtype="datetime64[D]"))


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holiday_set()


def business_days_from(today: dt.date, last: dt.date) -> int:
    """Business days from ``today`` to ``last``, both counted (0 once ``last`` has passed)."""
    if today > last:
        return 0
    weeks, rest = divmod((last - today).days + 1, 7)
    weekdays = weeks * 5 + sum((today.weekday() + i) % 7 < 5 for i in range(rest))
    return weekdays - sum(1 for day in _holiday_set() if today <= day <= last and day.weekday() < 5)


def add_business_days(days, n):
    """The n-th business day after each date (the deadline for "within n business days after").

    Works on a single ``date`` or on a numpy ``datetime64[D]`` array (whole arrays at once). A date
    that is itself not a business day counts from the business day before it, so the first business
    day after Saturday is Monday.
    """
    if isinstance(days, dt.date):  # one date: counted here, without numpy
        day = days
        while not is_business_day(day):
            day -= dt.timedelta(days=1)
        step = dt.timedelta(days=1 if n >= 0 else -1)
        for _ in range(abs(n)):
            day += step
            while not is_business_day(day):
                day += step
        return day
    import numpy as np

    arr = np.asarray(days, dtype="datetime64[D]")
    return np.busday_offset(arr, n, roll="backward", busdaycal=_busdaycalendar())


LONDON = ZoneInfo("Europe/London")


def submission_deadline(quarter: Quarter, params) -> dt.datetime:
    """The end (midnight, London time) of the last business day on which a return counts.

    ``params`` is the quarter's ``ContractParameters`` (its ``deadline_business_days``).
    """
    day = add_business_days(quarter.last_day, params.deadline_business_days) + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=LONDON)
