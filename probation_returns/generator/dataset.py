"""Realistic synthetic provider returns and a matching reoffending extract.

``generate`` writes, under ``out``:
- ``<PROVIDER>/`` one folder per provider with its returns (three CSVs, or one workbook for the
  providers in ``WORKBOOK_PROVIDERS``) for each quarter;
- ``reoffending_YYYY-MM-DD.csv``: the PNC extract for everyone in those returns, as of that date;
- ``manifest.json``: what was generated (seed, scale, files with sha256) and, with ``faults``,
  exactly which (file, row, rule) was broken.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from probation_returns import __version__
from probation_returns.calendar import Quarter, add_business_days, add_months
from probation_returns.generator.faults import (
    FATAL_RETURN_FAULTS,
    RECORD_RULES,
    RETURN_FAULTS,
    Breaker,
    Fault,
    fault_record,
)
from probation_returns.generator.gaming import SECOND_VERSION, Gaming, game, offences
from probation_returns.generator.population import provider_index
from probation_returns.generator.quarter import provider_return
from probation_returns.generator.writers import as_text, write_csv, write_workbook
from probation_returns.ingest import sha256_file
from probation_returns.parameters import for_quarter
from probation_returns.reference import providers
from probation_returns.spec import REOFFENDING_COLUMNS, return_file_names

# Providers whose case-management systems export one workbook rather than three CSVs.
WORKBOOK_PROVIDERS = {"C03": "dates", "C12": "text", "C14": "dates", "N03": "dates"}


def default_extract_date(quarters: list[Quarter]) -> dt.date:
    """The end of the month in which the last quarter's results become final (last day + 18 months)."""
    final = add_months(max(quarters).last_day, 18)
    return add_months(final.replace(day=1), 1) - dt.timedelta(days=1)


@dataclass
class GenerationResult:
    out: Path
    files: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    extract: Path | None = None

    @property
    def manifest_path(self) -> Path:
        return self.out / "manifest.json"


def _designations(
    seed: int, quarter: Quarter, codes: list[str], quarters: list[Quarter], previous: dict[str, str]
) -> dict[str, str]:
    """Which provider gets which whole-return fault this quarter (one provider each)."""
    rng = np.random.default_rng([seed, quarter.ordinal, 77])
    order = [codes[i] for i in rng.permutation(len(codes))]
    out: dict[str, str] = {}
    for rule in RETURN_FAULTS:
        for code in order:
            if code in out:
                continue
            if rule == "FIL-008" and code in WORKBOOK_PROVIDERS:
                continue  # a workbook cannot hold a control character (Excel and openpyxl refuse it)
            if rule == "RET-001":
                # Needs an accepted return from the previous quarter to differ from.
                if (quarter - 1) not in quarters or previous.get(code, "rejected") == "rejected":
                    continue
            out[code] = rule
            break
    return out


def _guarantees(codes: list[str], designated: dict[str, str]) -> dict[str, set[str]]:
    """Every record rule gets at least one fault each quarter, spread round the usable returns."""
    usable = [c for c in codes if designated.get(c) not in FATAL_RETURN_FAULTS]
    out: dict[str, set[str]] = {}
    if not usable:
        return out
    rules = [r for table_rules in RECORD_RULES.values() for r in table_rules]
    crc = [c for c in usable if providers()[c].is_crc] or usable
    for i, rule in enumerate(rules):
        pool = crc if rule == "CAS-017" else usable  # only CRCs must refer high-risk cases
        out.setdefault(pool[i % len(pool)], set()).add(rule)
    return out


def generate(
    out: Path,
    quarters: list[Quarter],
    codes: list[str],
    *,
    scale: float = 1.0,
    seed: int = 7,
    faults: float = 0.0,
    extract_date: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    gaming: dict[str, Gaming] | None = None,
) -> GenerationResult:
    """``gaming``: providers that game their measures, each with its profile (see ``gaming.PROFILES``)."""
    if scale <= 0:
        raise ValueError("--scale must be greater than 0")
    if not 0 <= faults <= 0.2:
        raise ValueError("--faults is a share of rows from 0 to 0.2")
    gaming = gaming or {}
    if unknown := sorted(set(gaming) - set(codes)):
        raise ValueError(f"--gaming names {', '.join(unknown)}, not among the providers generated")
    out.mkdir(parents=True, exist_ok=True)
    result = GenerationResult(out=out)
    quarters = sorted(quarters)
    previous: dict[str, str] = {}  # provider -> whether its return last quarter will be "accepted" or "rejected"
    for quarter in quarters:
        designated = _designations(seed, quarter, codes, quarters, previous) if faults > 0 else {}
        guaranteed = _guarantees(codes, designated)
        current = {}
        for code in codes:
            current[code] = _one_return(
                result,
                seed,
                code,
                quarter,
                scale,
                faults,
                designated.get(code),
                guaranteed.get(code, set()),
                gaming.get(code),
            )
            if progress:
                progress(f"{code} {quarter}")
        previous = current

    as_of = extract_date or default_extract_date(quarters)
    extract = (
        pl.concat([offences(gaming.get(code), seed, code, quarters, scale) for code in codes])
        .filter(pl.col("disposal_date") <= as_of)
        .sort("pnc_id", "offence_date", "disposal_date", "offence_group")
        .select(REOFFENDING_COLUMNS)
    )
    result.extract = out / f"reoffending_{as_of.isoformat()}.csv"
    write_csv(extract, result.extract)
    result.files.append(_file_entry(out, result.extract, extract.height, None, None))
    if progress:
        progress("reoffending extract")

    manifest = {
        "generator": "probation-returns",
        "version": __version__,
        "seed": seed,
        "scale": scale,
        "fault_rate": faults,
        "quarters": [str(q) for q in quarters],
        "providers": codes,
        "extract_as_of": as_of.isoformat(),
        "files": result.files,
        "faults": result.faults,
    }
    if gaming:  # only when asked for: an honest run's manifest is as it always was
        manifest["gaming"] = {
            code: {"profile": g.profile, "since": str(g.since or quarters[0])}
            | ({"second_version": SECOND_VERSION[g.profile]} if g.profile in SECOND_VERSION else {})
            for code, g in sorted(gaming.items())
        }
    result.manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return result


def _file_entry(out: Path, path: Path, rows: int | None, provider: str | None, quarter: str | None) -> dict:
    return {
        "path": path.relative_to(out).as_posix(),
        "sha256": sha256_file(path),
        "rows": rows,
        "provider": provider,
        "quarter": quarter,
    }


def _one_return(
    result: GenerationResult,
    seed: int,
    code: str,
    quarter: Quarter,
    scale: float,
    rate: float,
    designated: str | None,
    guaranteed: set[str],
    gaming: Gaming | None = None,
) -> str:
    """Write one return; say whether a correct validator will accept or reject it."""
    q = str(quarter)
    honest = typed = provider_return(seed, code, quarter, scale)
    if gaming is not None:
        typed = game(gaming, typed, quarter)
    second = None
    if gaming is not None and gaming.profile in SECOND_VERSION and typed is not honest:
        second, typed = typed, honest  # the honest return first; the gamed one is its second version
    if designated == "RET-001":
        # A system migration lost about 30% of the caseload, and their contacts and breaches.
        keep = typed["cases"].sample(fraction=0.7, seed=seed + quarter.ordinal).select("case_ref")
        typed = {k: v.join(keep, on="case_ref", how="semi") for k, v in typed.items()}
        typed["cases"] = typed["cases"].sort("start_date", "case_ref")
    text = {k: as_text(v) for k, v in typed.items()}
    found: list[Fault] = []
    verdict = "rejected" if designated in FATAL_RETURN_FAULTS else "accepted"
    if rate > 0 and designated not in FATAL_RETURN_FAULTS:
        rng = np.random.default_rng([seed, provider_index(code), quarter.ordinal, 2])
        breaker = Breaker(rng, typed, text, quarter, providers()[code].is_crc)
        breaker.record_faults(rate, guaranteed)
        if designated == "RET-002":
            breaker.phone_heavy()
        text = breaker.tables()
        found.extend(breaker.faults)
        if breaker.rejected_share() > for_quarter(quarter).rejection_tolerance:
            verdict = "rejected"
    if designated == "RET-001":
        found.append(fault_record("RET-001", "cases"))
    if designated:
        text, more = _break_return(designated, code, quarter, text)
        found.extend(more)

    folder = result.out / code
    folder.mkdir(parents=True, exist_ok=True)
    names = return_file_names(code, q)
    written: dict[str, Path] = {}
    if designated == "FIL-004":
        # Files named for a neighbouring provider, dropped in this provider's folder.
        other = list(providers())[(provider_index(code) + 1) % len(providers())]
        names = {k: v.replace(code, other, 1) for k, v in names.items()}
    if code in WORKBOOK_PROVIDERS:
        path = folder / names["workbook"]
        write_workbook(text, path, dates_as_text=WORKBOOK_PROVIDERS[code] == "text")
        if designated == "FIL-001":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])  # an upload cut off half way
        result.files.append(_file_entry(result.out, path, None, code, q))
        for table in text:
            written[table] = path
    else:
        for table, frame in text.items():
            path = folder / names[table]
            write_csv(frame, path)
            if designated == "FIL-001" and table == "cases":
                # Saved as "Unicode text" from Excel: UTF-16, not UTF-8.
                path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
            written[table] = path
            result.files.append(_file_entry(result.out, path, frame.height, code, q))
    if designated == "FIL-007":  # the provider's own notes, named like the return, left in its folder
        notes = folder / f"{code}_{q}_notes.csv"
        notes.write_text("note\r\nchecked by the team leader\r\n", encoding="utf-8")
        written["notes"] = notes
    delivered = delivery_time(seed, code, quarter)
    for path in set(written.values()):
        os.utime(path, (delivered, delivered))
    for fault in found:
        file = written.get(fault.table, next(iter(written.values())) if written else folder)
        result.faults.append(fault.record(code, q, file.relative_to(result.out).as_posix()))
    if second is not None:
        _second_version(result, seed, code, quarter, second, SECOND_VERSION[gaming.profile])
    return verdict


RESUBMITTED_AFTER = 3  # business days after the first version that the second is sent (still before the deadline)


def _second_version(
    result: GenerationResult, seed: int, code: str, quarter: Quarter, typed: dict[str, pl.DataFrame], under: str
) -> None:
    """A second version of the provider's return (no faults: the provider's own correction), in a landing folder
    of its own (``out/<under>/<PROVIDER>/``), so that receiving ``out`` and then ``out/<under>`` records the two
    versions in order; its files' time stamp is ``RESUBMITTED_AFTER`` business days after the first's."""
    folder = result.out / under / code
    folder.mkdir(parents=True, exist_ok=True)
    names = return_file_names(code, str(quarter))
    text = {k: as_text(v) for k, v in typed.items()}
    paths = []
    if code in WORKBOOK_PROVIDERS:
        path = folder / names["workbook"]
        write_workbook(text, path, dates_as_text=WORKBOOK_PROVIDERS[code] == "text")
        result.files.append(_file_entry(result.out, path, None, code, str(quarter)))
        paths.append(path)
    else:
        for table, frame in text.items():
            path = folder / names[table]
            write_csv(frame, path)
            result.files.append(_file_entry(result.out, path, frame.height, code, str(quarter)))
            paths.append(path)
    delivered = delivery_time(seed, code, quarter, later=RESUBMITTED_AFTER)
    for path in paths:
        os.utime(path, (delivered, delivered))


def delivery_time(seed: int, code: str, quarter: Quarter, later: int = 0) -> float:
    """When the provider sent its return (the files' time stamp): 16:00 UTC on the 5th to 15th
    business day after quarter end, always before the 20-business-day deadline; a second version ``later``
    business days after that."""
    days = 5 + zlib.crc32(f"{seed}|{code}|{quarter}".encode()) % 11 + later
    day = add_business_days(quarter.last_day, days)
    return dt.datetime(day.year, day.month, day.day, 16, tzinfo=dt.UTC).timestamp()


def _break_return(rule: str, code: str, quarter: Quarter, text: dict[str, pl.DataFrame]):
    found: list[Fault] = []
    if rule == "FIL-001":
        found.append(fault_record("FIL-001", "cases"))
    elif rule == "FIL-002":
        text = {k: v for k, v in text.items() if k != "breaches"}
        found.append(fault_record("FIL-002", "breaches"))
    elif rule == "FIL-003":
        text["cases"] = text["cases"].drop("rosh_level")
        found.append(fault_record("FIL-003", "cases", "rosh_level"))
    elif rule == "FIL-004":
        found.append(fault_record("FIL-004", "cases"))
    elif rule == "FIL-005":
        contacts = text["contacts"]
        notes = np.array(["", "seen at office", '=HYPERLINK("http://example.invalid")', "rearranged"])
        text["contacts"] = contacts.with_columns(
            officer_notes=pl.Series(notes[np.arange(contacts.height) % len(notes)])
        )
        found.append(fault_record("FIL-005", "contacts", "officer_notes"))
    elif rule == "FIL-006":
        text = {k: v.head(0) for k, v in text.items()}
        found.append(fault_record("FIL-006", "cases"))
    elif rule == "FIL-007":
        found.append(fault_record("FIL-007", "file", value=f"{code}_{quarter}_notes.csv"))
    elif rule == "FIL-008" and text["breaches"].height:
        # A reference pasted from another system, with an escape character in it.
        breaches = text["breaches"]
        row = breaches.height // 2
        value = breaches["breach_ref"][row][:2] + "\x1b" + breaches["breach_ref"][row][2:]
        text["breaches"] = breaches.with_columns(breaches["breach_ref"].scatter([row], [value]))
        found.append(Fault("FIL-008", "breaches", row + 2, "breach_ref", breaches["case_ref"][row], value))
    elif rule == "CAS-004":
        cases = text["cases"]
        other = "C01" if code != "C01" else "C02"
        row = cases.height // 2
        text["cases"] = cases.with_columns(cases["provider_code"].scatter([row], [other]))
        found.append(Fault("CAS-004", "cases", row + 2, "provider_code", cases["case_ref"][row], other))
    return text, found
