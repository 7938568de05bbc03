"""The service's one clock.

Every "now" and "today" in the service comes from here, so that a run can be repeated to the byte:
``RETURNS_CLOCK`` (an ISO 8601 instant with its offset, e.g. ``2017-10-20T09:00:00+00:00``) stops the
clock at that instant. It is for reproducible runs and tests only; in service the variable is unset and
the clock is the machine's.
"""

from __future__ import annotations

import datetime as dt
import os

from probation_returns.calendar import LONDON

VARIABLE = "RETURNS_CLOCK"


def _fixed() -> dt.datetime | None:
    text = os.environ.get(VARIABLE, "").strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"{VARIABLE}={text!r} is not an instant; write it as 2017-10-20T09:00:00+00:00") from error
    if moment.tzinfo is None:
        raise ValueError(f"{VARIABLE}={text!r} has no offset; write it as 2017-10-20T09:00:00+00:00")
    return moment.astimezone(dt.UTC)


def now() -> dt.datetime:
    """This instant, in UTC (aware)."""
    return _fixed() or dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in England (Europe/London), which is the date a deadline is counted in."""
    return now().astimezone(LONDON).date()
