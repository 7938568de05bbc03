"""``late_flip``: a resubmission whose changes are concentrated in the dates that decide the deadline service
levels, and the service levels it flipped from missed to met.

Method: compare the counted version of the provider's return with the accepted version before it, record by
record (cases by case reference, breaches by case and breach reference; records in one version only are not
changes of a field). ``deadline_dates``: of the fields that changed, the share that are the dates a deadline
service level counts from or to (start, first appointment, sentence plan, unpaid work arranged, breach awareness
and referral); expected is that share if the changes had fallen on any field alike (the deciding fields' share
of the fields compared). Flagged when the share is at least ``share`` and its one-sided binomial z at least
``z``, with at least ``minimum_changes`` changed fields, and at least ``minimum_in_time`` deadline events that
were late or missing in the earlier version are in time in the counted one. ``missed_to_met``: the service
levels (the ministry return's own figures, ``measures.service_levels``) missed in the earlier version and met in
the counted one; flagged when there is one and ``deadline_dates`` is flagged.
"""

from __future__ import annotations

import math

import polars as pl

from probation_returns.integrity.model import QuarterData, Signal, Versions, dp, no_return, nothing, pct
from probation_returns.integrity.statistics import proportion_z
from probation_returns.measures.service_levels import DEADLINE_MEASURES, deadline_population, service_levels
from probation_returns.parameters import for_quarter

NAME = "late_flip"
MEASURES = ("deadline_dates", "missed_to_met")
KEYS = {"cases": ("case_ref",), "breaches": ("case_ref", "breach_ref")}
NOT_FIELDS = {"id", "submission_id", "row_number"}  # where a record sits, not what it says
DECIDING = {
    "cases": ("start_date", "first_appointment_date", "sentence_plan_date", "upw_arranged_date"),
    "breaches": ("awareness_date", "referral_date"),
}


def _fields(table: str, before: pl.DataFrame, after: pl.DataFrame) -> list[str]:
    return [c for c in after.columns if c in before.columns and c not in NOT_FIELDS and c not in KEYS[table]]


def changes(versions: Versions) -> tuple[pl.DataFrame, int, int]:
    """Every changed field of the records in both versions (``case_ref``, ``table``, ``field``, ``deciding``),
    the number of fields compared and how many of those are deciding fields."""
    found, compared, deciding = [], 0, 0
    for table, keys in KEYS.items():
        before, after = versions.before[table], versions.after[table]
        fields = _fields(table, before, after)
        both = before.select(*keys, *fields).join(
            after.select(*keys, *fields), on=list(keys), how="inner", suffix="_after"
        )
        compared += both.height * len(fields)
        deciding += both.height * sum(f in DECIDING[table] for f in fields)
        for f in fields:
            changed = both.filter(pl.col(f).ne_missing(pl.col(f"{f}_after")))
            found.append(
                changed.select("case_ref", table=pl.lit(table), field=pl.lit(f), deciding=pl.lit(f in DECIDING[table]))
            )
    schema = {"case_ref": pl.String, "table": pl.String, "field": pl.String, "deciding": pl.Boolean}
    return pl.concat([pl.DataFrame(schema=schema), *found], how="vertical_relaxed"), compared, deciding


def in_time_now(data: QuarterData, versions: Versions) -> dict[str, list[str]]:
    """Per deadline measure, the cases (in its population in both versions) whose event was late or missing in
    the earlier version and is in time in the counted one."""
    out = {}
    for measure, m in DEADLINE_MEASURES.items():
        keys = list(KEYS[m.table])
        now, then = (
            deadline_population(data.quarter, measure, tables[m.table]).select(
                *keys, (pl.col(m.event) <= pl.col("due")).fill_null(False).alias(name)
            )
            for tables, name in ((versions.after, "now"), (versions.before, "then"))
        )
        both = now.join(then, on=keys, how="inner")
        out[measure] = sorted(both.filter(pl.col("now") & ~pl.col("then"))["case_ref"].unique().to_list())
    return out


def compute(data: QuarterData, codes: list[str], limits: dict[str, float]) -> list[Signal]:
    out = []
    for code in codes:
        if code not in data.current:
            out += [no_return(data.quarter, code, NAME, measure) for measure in MEASURES]
        elif code not in data.versions:
            out += [_one_version(data, code, measure) for measure in MEASURES]
        else:
            out += _signals(data, code, data.versions[code], limits)
    return out


def _one_version(data: QuarterData, code: str, measure: str) -> Signal:
    return nothing(
        data.quarter,
        code,
        NAME,
        measure,
        "nothing: one version only",
        "Only one version of the return was accepted for the quarter, so there are no changes to look at.",
    )


def _signals(data: QuarterData, code: str, v: Versions, limits: dict[str, float]) -> list[Signal]:
    changed, compared, deciding_fields = changes(v)
    n = changed.height
    d = int(changed["deciding"].sum())
    expected = deciding_fields / compared if compared else 0.0
    expected = min(max(expected, 1e-6), 1 - 1e-6)
    z = proportion_z(d, n, expected)
    bound = max(limits["share"], expected + limits["z"] * math.sqrt(expected * (1 - expected) / max(n, 1)))
    share = d / n if n else None
    turned = in_time_now(data, v)
    turned_n = sum(len(c) for c in turned.values())
    enough = n >= limits["minimum_changes"]
    flagged = enough and share is not None and share >= bound and turned_n >= limits["minimum_in_time"]
    versions = f"version {v.counted} (the one that counts) against version {v.earlier}"
    compared_with = f"version {v.earlier}, changes spread over every field"
    if not n:
        words = f"No field of a case or breach in both versions changed ({versions}), so there is nothing to look at."
    else:
        words = (
            f"{d:,} of the {n:,} fields changed in {versions} ({pct(share)}) are dates that decide a deadline "
            f"service level; {pct(expected)} if the changes had fallen on any field alike. "
            f"{turned_n:,} deadline event{'s' if turned_n != 1 else ''} late or missing in version {v.earlier} "
            f"{'are' if turned_n != 1 else 'is'} in time now"
        )
        words += " (" + ", ".join(f"{m} {len(c):,}" for m, c in turned.items() if c) + ")." if turned_n else "."
        if not enough:
            words += f" Too few changes to judge (fewer than {int(limits['minimum_changes'])}): not flagged."
        elif flagged:
            words += (
                f" Flagged: at {pct(bound)} or more, with at least {int(limits['minimum_in_time'])} events put in "
                "time, the resubmission moved the dates the measures count rather than correcting the return."
            )
        elif share >= bound:
            words += f" Not flagged (fewer than {int(limits['minimum_in_time'])} events put in time)."
        else:
            words += f" Not flagged (flagged from {pct(bound)})."
    dates = sorted(changed.filter(pl.col("deciding"))["case_ref"].unique().to_list()) if flagged else []
    first = Signal(
        str(data.quarter),
        code,
        NAME,
        "deadline_dates",
        n,
        dp(share),
        dp(expected),
        dp(min(bound, 1.0)),
        dp(z, 2),
        compared_with,
        flagged,
        words,
        tuple(dates),
    )
    return [first, _flips(data, code, v, flagged, turned, limits)]


def _flips(data: QuarterData, code: str, v: Versions, concentrated: bool, turned, limits) -> Signal:
    params = for_quarter(data.quarter)
    then = {s.measure: s.status for s in service_levels(data.quarter, params, v.before)}
    now = {s.measure: s.status for s in service_levels(data.quarter, params, v.after)}
    missed = [m for m, status in then.items() if status == "missed"]
    flipped = [m for m in missed if now[m] == "met"]
    flagged = concentrated and len(flipped) >= limits["minimum_flipped"]
    words = f"{len(flipped)} of the {len(missed)} service levels missed in version {v.earlier} "
    words += f"{'are' if len(flipped) != 1 else 'is'} met in version {v.counted}"
    words += f" ({', '.join(flipped)})." if flipped else "."
    if flagged:
        words += " Flagged: the changes that met them are concentrated in deadline dates (see deadline_dates)."
    elif flipped:
        words += " Not flagged: the changes are not concentrated in deadline dates (see deadline_dates)."
    cases = sorted({ref for m in flipped if m in turned for ref in turned[m]}) if flagged else []
    return Signal(
        str(data.quarter),
        code,
        NAME,
        "missed_to_met",
        len(missed),
        dp(len(flipped)),
        dp(0),
        dp(limits["minimum_flipped"]),
        None,
        f"version {v.earlier}",
        flagged,
        words,
        tuple(cases),
    )
