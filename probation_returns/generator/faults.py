"""Breaking a clean return on purpose, one rule at a time, and writing down exactly what was broken.

Each record-level fault changes one value so that exactly one rule fires on that row (a duplicate
makes the rule fire on both copies, and both are listed). Faulty rows are kept apart: a case that is
broken has no broken contacts or breaches. Where one change necessarily breaks more (ending a case
before the quarter or before its start puts its contacts outside supervision, CON-005), every
consequence is listed too. The manifest therefore lists every finding a correct validator must
report, apart from the cascade (contacts and breaches of a rejected case), which follows from the
listed ``case_ref``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.spec import RULES_BY_ID

RECORD_RULES: dict[str, tuple[str, ...]] = {
    "cases": tuple(f"CAS-{i:03d}" for i in range(1, 21) if i != 4),
    "contacts": tuple(f"CON-{i:03d}" for i in range(1, 7)),
    "breaches": tuple(f"BRE-{i:03d}" for i in range(1, 6)),
}
# Faults that make a whole return unusable or flag it as a whole, given to one provider each quarter.
RETURN_FAULTS = (
    "FIL-001",
    "FIL-002",
    "FIL-003",
    "FIL-004",
    "FIL-006",
    "CAS-004",
    "FIL-005",
    "RET-002",
    "RET-001",
    "FIL-007",
    "FIL-008",
)
FATAL_RETURN_FAULTS = {"FIL-001", "FIL-002", "FIL-003", "FIL-004", "FIL-006", "CAS-004"}


@dataclass
class Fault:
    rule_id: str
    table: str
    row_number: int | None  # as the provider sees it: header is row 1
    column: str | None
    case_ref: str | None
    value: str | None

    def record(self, provider: str, quarter: str, file: str) -> dict:
        return {
            "provider": provider,
            "quarter": quarter,
            "file": file,
            "table": self.table,
            "row_number": self.row_number,
            "column": self.column,
            "case_ref": self.case_ref,
            "rule_id": self.rule_id,
            "severity": RULES_BY_ID[self.rule_id].severity,
            "value": self.value,
        }


def _d(days: np.ndarray | int) -> np.timedelta64:
    return np.asarray(days).astype("timedelta64[D]")


def _iso(values: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(values.astype("datetime64[D]"), unit="D")


class _Table:
    """A text table being broken, with its typed twin for choosing candidates."""

    def __init__(self, name: str, typed: pl.DataFrame, text: pl.DataFrame):
        self.name, self.typed, self.text = name, typed, text
        self.used = np.zeros(typed.height, dtype=bool)
        self.appended: list[int] = []  # source rows copied to the end

    def set(self, rows: np.ndarray, column: str, values) -> None:
        series = self.text[column].scatter(rows.tolist(), list(values))
        self.text = self.text.with_columns(series)


class Breaker:
    def __init__(
        self,
        rng: np.random.Generator,
        tables: dict[str, pl.DataFrame],
        text: dict[str, pl.DataFrame],
        quarter: Quarter,
        is_crc: bool,
    ):
        self.rng, self.quarter, self.is_crc = rng, quarter, is_crc
        self.t = {k: _Table(k, tables[k], text[k]) for k in tables}
        self.faults: list[Fault] = []
        self.first = np.datetime64(quarter.first_day, "D")
        self.last = np.datetime64(quarter.last_day, "D")
        cases = tables["cases"]
        self.refs = cases["case_ref"].to_numpy()
        self.broken = np.zeros(cases.height, dtype=bool)  # cases that already have a broken record
        index = cases.select("case_ref").with_row_index("case_row")
        self.case_row = {
            name: tables[name]
            .select("case_ref")
            .join(index, on="case_ref", how="left", maintain_order="left")["case_row"]
            .fill_null(-1)
            .to_numpy()
            .astype(np.int64)
            for name in ("contacts", "breaches")
        }

    # -- choosing rows ---------------------------------------------------------------------
    def _pick(self, table: str, mask: np.ndarray, k: int) -> np.ndarray:
        t = self.t[table]
        ok = mask & ~t.used
        case_row = np.arange(len(self.broken)) if table == "cases" else self.case_row[table]
        ok &= (case_row < 0) | ~self.broken[np.maximum(case_row, 0)]
        rows = np.flatnonzero(ok)
        if len(rows) == 0 or k <= 0:
            return rows[:0]
        rows = np.sort(self.rng.choice(rows, size=min(k, len(rows)), replace=False))
        t.used[rows] = True
        # A case with a broken record of any table gets no other broken record.
        hit = case_row[rows]
        self.broken[hit[hit >= 0]] = True
        return rows

    def _note(self, rule: str, table: str, rows: np.ndarray, column: str | None, values) -> None:
        t = self.t[table]
        refs = t.text["case_ref"].to_numpy()
        vals = list(values) if values is not None else [None] * len(rows)
        for r, v in zip(rows.tolist(), vals):
            self.faults.append(Fault(rule, table, r + 2, column, refs[r], None if v is None else str(v)))

    def _break(
        self, rule: str, table: str, mask: np.ndarray, k: int, column: str, make: Callable[[np.ndarray], np.ndarray]
    ) -> None:
        rows = self._pick(table, mask, k)
        if len(rows):
            values = make(rows)
            self.t[table].set(rows, column, values)
            self._note(rule, table, rows, column, values)

    def col(self, table: str, column: str) -> np.ndarray:
        return self.t[table].typed[column].to_numpy()

    # -- record faults -------------------------------------------------------------------------
    def record_faults(self, rate: float, guaranteed: set[str] = frozenset()) -> None:
        """About ``rate`` of each table's rows, spread over its rules, plus one of each ``guaranteed`` rule."""
        for table, rules in RECORD_RULES.items():
            total = int(round(rate * self.t[table].typed.height))
            counts = np.full(len(rules), total // len(rules))
            counts[: total % len(rules)] += 1
            counts += np.array([rule in guaranteed for rule in rules], dtype=np.int64)
            for rule, k in zip(rules, counts):
                getattr(self, "_" + rule.replace("-", "_").lower())(int(k))

    def _all(self, table: str) -> np.ndarray:
        return np.ones(self.t[table].typed.height, dtype=bool)

    def _cas_001(self, k: int) -> None:
        rows = self._pick("cases", self._all("cases"), k)
        if not len(rows):
            return
        bad = np.array([r[1:] for r in self.refs[rows]])  # the letter lost
        self.t["cases"].set(rows, "case_ref", bad)
        self._note("CAS-001", "cases", rows, "case_ref", bad)
        mapping = dict(zip(self.refs[rows].tolist(), bad.tolist()))
        for other in ("contacts", "breaches"):  # the provider's system exported the same bad reference
            t = self.t[other]
            t.text = t.text.with_columns(pl.col("case_ref").replace(mapping))

    def _cas_002(self, k: int) -> None:
        rows = self._pick("cases", self._all("cases"), k)
        t = self.t["cases"]
        for r in rows.tolist():
            t.appended.append(r)
            copy_row = t.typed.height + len(t.appended) + 1
            self.faults.append(Fault("CAS-002", "cases", r + 2, "case_ref", self.refs[r], self.refs[r]))
            self.faults.append(Fault("CAS-002", "cases", copy_row, "case_ref", self.refs[r], self.refs[r]))

    def _cas_003(self, k: int) -> None:
        def wrong(rows):
            pnc = self.col("cases", "pnc_id")[rows]
            return np.array([p[:-1] + ("A" if p[-1] != "A" else "B") for p in pnc])

        self._break("CAS-003", "cases", self._all("cases"), k, "pnc_id", wrong)

    def _cas_005(self, k: int) -> None:
        self._break("CAS-005", "cases", self._all("cases"), k, "sentence_type", lambda r: np.full(len(r), "COM"))

    def _cas_006(self, k: int) -> None:
        def bad(rows):
            years = self.col("cases", "sentence_date")[rows].astype("datetime64[Y]").astype(int) + 1970
            return np.array([f"{y}-02-30" if i % 2 else f"31/09/{y}" for i, y in enumerate(years)])

        self._break("CAS-006", "cases", self._all("cases"), k, "sentence_date", bad)

    def _cas_007(self, k: int) -> None:
        start = self.col("cases", "start_date")
        self._end_case_early(
            "CAS-007", start < self.first - _d(2), k, lambda rows: np.full(len(rows), self.first - _d(1))
        )

    def _end_case_early(self, rule: str, mask: np.ndarray, k: int, end: Callable[[np.ndarray], np.ndarray]) -> None:
        """Give a case a termination date before its contacts; each of those contacts then breaks CON-005."""
        rows = self._pick("cases", mask, k)
        if not len(rows):
            return
        values = _iso(end(rows))
        self.t["cases"].set(rows, "termination_date", values)
        reasons = self.t["cases"].text["termination_reason"].to_numpy()[rows]
        self.t["cases"].set(rows, "termination_reason", [r or "COMPLETED" for r in reasons])
        self._note(rule, "cases", rows, "termination_date", values)
        contacts = self.t["contacts"]
        hit = np.flatnonzero(np.isin(self.case_row["contacts"], rows))
        contacts.used[hit] = True
        dates = _iso(self.col("contacts", "contact_date")[hit]) if len(hit) else []
        self._note("CON-005", "contacts", hit, "contact_date", dates)

    def _cas_008(self, k: int) -> None:
        start = self.col("cases", "start_date")
        self._break("CAS-008", "cases", start < self.last, k, "sentence_date", lambda r: _iso(start[r] + _d(1)))

    def _cas_009(self, k: int) -> None:
        self._break("CAS-009", "cases", self._all("cases"), k, "rosh_level", lambda r: np.full(len(r), "MEDIUM"))

    def _cas_010(self, k: int) -> None:
        self._break(
            "CAS-010",
            "cases",
            self._all("cases"),
            k,
            "ogrs3_2yr",
            lambda r: np.array(["0", "100", "", "45.5"])[np.arange(len(r)) % 4],
        )

    def _cas_011(self, k: int) -> None:
        self._break(
            "CAS-011",
            "cases",
            self._all("cases"),
            k,
            "age_at_start",
            lambda r: np.array(["17", "111", "thirty"])[np.arange(len(r)) % 3],
        )

    def _cas_012(self, k: int) -> None:
        terminated = ~np.isnat(self.col("cases", "termination_date"))
        variants = (
            ("sex", "X", None),
            ("index_offence_group", "BURGLARY", None),
            ("em_only", "Yes", None),
            ("termination_reason", "FINISHED", terminated),
            ("upw_required", "y", None),
        )
        for i, (column, value, mask) in enumerate(variants):
            share = k // len(variants) + (1 if i < k % len(variants) else 0)
            self._break(
                "CAS-012",
                "cases",
                self._all("cases") if mask is None else mask,
                share,
                column,
                lambda r, v=value: np.full(len(r), v),
            )

    def _cas_013(self, k: int) -> None:
        start = self.col("cases", "start_date")
        self._end_case_early("CAS-013", start >= self.first + _d(2), k, lambda rows: start[rows] - _d(1))

    def _cas_014(self, k: int) -> None:
        terminated = ~np.isnat(self.col("cases", "termination_date"))
        self._break("CAS-014", "cases", terminated, k, "termination_reason", lambda r: np.full(len(r), None))

    def _cas_015(self, k: int) -> None:
        start = self.col("cases", "start_date")
        self._break("CAS-015", "cases", self._all("cases"), k, "sentence_plan_date", lambda r: _iso(start[r] - _d(1)))

    def _cas_016(self, k: int) -> None:
        self._break(
            "CAS-016",
            "cases",
            self._all("cases"),
            k,
            "sentence_plan_date",
            lambda r: _iso(np.full(len(r), self.last + _d(10))),
        )

    def _cas_017(self, k: int) -> None:
        if not self.is_crc:
            return
        mask = np.isin(self.col("cases", "rosh_level"), ["L", "M"]) & np.isnat(
            self.col("cases", "escalation_referral_date")
        )
        self._break("CAS-017", "cases", mask, k, "rosh_level", lambda r: np.full(len(r), "H"))

    def _cas_018(self, k: int) -> None:
        start = self.col("cases", "start_date")
        mask = self.col("cases", "upw_required") == "N"
        self._break("CAS-018", "cases", mask, k, "upw_arranged_date", lambda r: _iso(start[r]))

    def _cas_019(self, k: int) -> None:
        mask = ~np.isnat(self.col("cases", "first_appointment_date")) & (
            self.col("cases", "first_appointment_attended") != None  # noqa: E711 (numpy compares element-wise)
        )
        self._break("CAS-019", "cases", mask, k, "first_appointment_attended", lambda r: np.full(len(r), None))

    def _cas_020(self, k: int) -> None:
        start = self.col("cases", "start_date")
        mask = np.isin(self.col("cases", "sentence_type"), ["CO", "SSO"])
        self._break("CAS-020", "cases", mask, k, "sentence_date", lambda r: _iso(start[r] - _d(2200)))

    def _con_001(self, k: int) -> None:
        def unknown(rows):
            known = set(self.refs.tolist())
            out = []
            for r in rows.tolist():
                ref = f"Z{(r * 7919) % 1_000_000:06d}"
                while ref in known:
                    ref = f"Z{(int(ref[1:]) + 1) % 1_000_000:06d}"
                out.append(ref)
            return np.array(out)

        self._break("CON-001", "contacts", self._all("contacts"), k, "case_ref", unknown)

    def _con_002(self, k: int) -> None:
        self._break(
            "CON-002",
            "contacts",
            self._all("contacts"),
            k,
            "contact_date",
            lambda r: np.array([None, f"{self.quarter.year}-13-05"], dtype=object)[np.arange(len(r)) % 2],
        )

    def _con_003(self, k: int) -> None:
        self._break("CON-003", "contacts", self._all("contacts"), k, "outcome", lambda r: np.full(len(r), "DNA"))

    def _con_004(self, k: int) -> None:
        date = self.col("contacts", "contact_date")
        mask = ~np.isnat(self.col("contacts", "followup_date"))
        self._break("CON-004", "contacts", mask, k, "followup_date", lambda r: _iso(date[r] - _d(1)))

    def _con_005(self, k: int) -> None:
        cases = self.t["cases"].typed.select("case_ref", "start_date")
        starts = (
            self.t["contacts"].typed.select("case_ref").join(cases, on="case_ref", how="left")["start_date"].to_numpy()
        )
        first_of_case = pl.Series(self.col("contacts", "case_ref")).is_first_distinct().to_numpy()
        mask = (starts >= self.first + _d(2)) & first_of_case
        self._break("CON-005", "contacts", mask, k, "contact_date", lambda r: _iso(starts[r] - _d(1)))

    def _con_006(self, k: int) -> None:
        rows = self._pick("contacts", self._all("contacts"), k)
        t = self.t["contacts"]
        refs = self.col("contacts", "case_ref")
        for r in rows.tolist():
            t.appended.append(r)
            self.faults.append(Fault("CON-006", "contacts", r + 2, "contact_date", refs[r], None))
            self.faults.append(
                Fault("CON-006", "contacts", t.typed.height + len(t.appended) + 1, "contact_date", refs[r], None)
            )

    def _bre_001(self, k: int) -> None:
        self._break("BRE-001", "breaches", self._all("breaches"), k, "breach_ref", lambda r: np.full(len(r), None))

    def _bre_002(self, k: int) -> None:
        self._break(
            "BRE-002",
            "breaches",
            self._all("breaches"),
            k,
            "case_ref",
            lambda r: np.array([f"Y{(i * 104729) % 1_000_000:06d}" for i in r.tolist()]),
        )

    def _bre_003(self, k: int) -> None:
        self._break(
            "BRE-003", "breaches", self._all("breaches"), k, "awareness_date", lambda r: np.full(len(r), "2017-02-29")
        )

    def _bre_004(self, k: int) -> None:
        aware = self.col("breaches", "awareness_date")
        mask = ~np.isnat(self.col("breaches", "referral_date"))
        self._break("BRE-004", "breaches", mask, k, "referral_date", lambda r: _iso(aware[r] - _d(1)))

    def _bre_005(self, k: int) -> None:
        mask = ~np.isnat(self.col("breaches", "referral_date"))
        self._break("BRE-005", "breaches", mask, k, "pack_complete", lambda r: np.full(len(r), None))

    # -- whole-return faults ---------------------------------------------------------------------
    def phone_heavy(self) -> None:
        """RET-002: a provider that moved a quarter of its face-to-face appointments to the phone."""
        t = self.t["contacts"]
        is_f2f = self.col("contacts", "contact_type") == "F2F"
        rows = np.flatnonzero(is_f2f & ~t.used)
        rows = np.sort(self.rng.choice(rows, size=min(len(rows), int(0.25 * len(is_f2f))), replace=False))
        candidate = t.text.with_columns(
            pl.Series("contact_type", t.text["contact_type"]).scatter(rows.tolist(), "PHONE")
        )
        clash = (
            candidate.select(pl.struct("case_ref", "contact_date", "contact_type").is_duplicated())
            .to_series()
            .to_numpy()
        )
        keep = rows[~clash[rows]]
        t.set(keep, "contact_type", np.full(len(keep), "PHONE"))
        self.faults.append(Fault("RET-002", "contacts", None, "contact_type", None, None))

    def rejected_share(self) -> float:
        """The largest share of a table's rows that a correct validator rejects (errors and the cascade)."""
        errors = [f for f in self.faults if f.row_number is not None and RULES_BY_ID[f.rule_id].severity in "EF"]
        rows = {t: {f.row_number for f in errors if f.table == t} for t in self.t}
        bad_cases = np.zeros(len(self.broken), dtype=bool)
        index = {ref: i for i, ref in enumerate(self.refs.tolist())}
        for f in errors:
            if f.table == "cases" and f.case_ref in index:
                bad_cases[index[f.case_ref]] = True
        share = 0.0
        for name, t in self.t.items():
            height = t.typed.height + len(t.appended)
            cascaded = 0
            if name != "cases":
                case_row = self.case_row[name]
                cascaded = int((bad_cases[np.maximum(case_row, 0)] & (case_row >= 0)).sum())
            if height:
                share = max(share, (len(rows[name]) + cascaded) / height)
        return share

    def tables(self) -> dict[str, pl.DataFrame]:
        out = {}
        for name, t in self.t.items():
            frame = t.text
            if t.appended:
                frame = pl.concat([frame, frame[t.appended]])
            out[name] = frame
        return out


def fault_record(rule_id: str, table: str, column: str | None = None, value: str | None = None) -> Fault:
    """A fault of the whole return or of a file (no row)."""
    return Fault(rule_id, table, None, column, None, value)
