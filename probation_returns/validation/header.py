"""The header block of a provider's feedback: which return was judged, when it was delivered, how long was
left, and where the version stands (a content model every feedback file and the portal show)."""

from __future__ import annotations

import datetime as dt

from probation_returns import clock
from probation_returns.calendar import LONDON, Quarter
from probation_returns.standing import business_days_left, deadline_words


def about(
    provider: str,
    quarter: str,
    files: list[tuple[str, str]],
    *,
    delivered_at: dt.datetime | None = None,
    version: int | None = None,
    today: dt.date | None = None,
    standing: dict | None = None,
) -> dict:
    """The header block of every feedback file: which return was judged, when it was delivered, how many
    business days were left then (or, checked before sending, ``today``), and where the version stands."""
    q = Quarter.parse(quarter)
    moment = None
    if delivered_at is not None:
        moment = delivered_at if delivered_at.tzinfo else delivered_at.replace(tzinfo=dt.UTC)
    on = moment.astimezone(LONDON).date() if moment else (today or clock.today())
    return {
        "provider": provider,
        "quarter": quarter,
        "files": [{"name": name, "sha256": digest} for name, digest in files],
        "delivered_at": moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if moment
        else None,
        "version": version,
        "deadline": deadline_words(q),
        "business_days_left": business_days_left(q, on),  # as at delivery; checked before sending: as at today
        "standing": standing,
    }
