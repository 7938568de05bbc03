"""``contact_intensity``: cases of one risk band seen in person far less than other providers see theirs.

Method: for each RoSH band (low; medium; high and very high), of the contacts with the band's cases this
quarter, the share in person (face to face or video): low-risk cases "parked" on the phone show as a low share.
Expected is the same share over the other providers' contacts with that band this quarter (pooled). Flagged when
the share is at least ``difference`` below expected and the one-sided z is at most minus ``z``, with at least
``minimum_contacts`` contacts.
"""

from __future__ import annotations

import math

import polars as pl

from probation_returns.integrity.model import QuarterData, Signal, dp, no_return, pct
from probation_returns.integrity.statistics import proportion_z

NAME = "contact_intensity"
BANDS = {"rosh_low": ("L",), "rosh_medium": ("M",), "rosh_high": ("H", "VH")}
BAND_WORDS = {"rosh_low": "low", "rosh_medium": "medium", "rosh_high": "high or very high"}
IN_PERSON = ("F2F", "VIDEO")


def _contacts(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    risk = tables["cases"].select("case_ref", "rosh_level")
    return (
        tables["contacts"]
        .join(risk, on="case_ref", how="inner")
        .select("case_ref", "rosh_level", in_person=pl.col("contact_type").is_in(IN_PERSON))
    )


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    contacts = {code: _contacts(tables) for code, tables in data.current.items()}
    out = []
    for band, levels in BANDS.items():
        mine = {code: c.filter(pl.col("rosh_level").is_in(levels)) for code, c in contacts.items()}
        tally = {code: (int(c["in_person"].sum()), c.height) for code, c in mine.items()}
        for code in codes:
            if code not in data.current:
                out.append(no_return(data.quarter, code, NAME, band))
                continue
            out.append(_signal(data, code, band, mine[code], tally, limits))
    return out


def _signal(data, code, band, frame, tally, limits) -> Signal:
    x, n = tally[code]
    px = sum(t[0] for c, t in tally.items() if c != code)
    pn = sum(t[1] for c, t in tally.items() if c != code)
    share = x / n if n else None
    enough = n >= limits["minimum_contacts"] and pn >= limits["minimum_contacts"]
    expected = min(max(px / pn, 1e-6), 1 - 1e-6) if pn else None
    z = proportion_z(x, n, expected) if enough else None
    bound = (
        min(expected - limits["difference"], expected - limits["z"] * math.sqrt(expected * (1 - expected) / n))
        if enough
        else None
    )
    flagged = enough and share <= bound
    who = f"{BAND_WORDS[band]} risk of serious harm cases"
    if not n:
        words = f"No contacts with {who} this quarter, so there is nothing to look at."
    else:
        words = f"{x:,} of {n:,} contacts with {who} ({pct(share)}) were in person (face to face or video)"
        words += f"; other providers: {pct(expected)}." if expected is not None else "."
        if not enough:
            words += f" Too few contacts to judge (fewer than {int(limits['minimum_contacts'])}): not flagged."
        elif flagged:
            words += f" Flagged: at {pct(bound)} or less these cases are seen in person far less than elsewhere."
        else:
            words += (
                f" Not flagged (flagged at {pct(bound)} or less)."
                if bound >= 0
                else " Not flagged (with so few, not even none in person would be)."
            )
    cases = ()
    if flagged:  # the band's cases never seen in person this quarter
        seen = frame.group_by("case_ref").agg(pl.col("in_person").any()).filter(~pl.col("in_person"))
        cases = tuple(sorted(seen["case_ref"].to_list()))
    return Signal(
        str(data.quarter),
        code,
        NAME,
        band,
        n,
        dp(share),
        dp(expected),
        dp(bound) if bound is not None else None,
        dp(z, 2),
        "other providers",
        flagged,
        words,
        cases,
    )
