"""An attacker on a publication release folder: which ``[c]`` cells does the rest of the release give away?

Independent of the suppression code it checks: it reads only the published files (the CSVs, and the
workbook when there is one) and knows what a reader of the release knows.

The identities (always used):
- service-level counts (numerator, denominator, per measure) and cohort counts (cohort size,
  reoffenders, reoffences, per quarter): CRC rows sum to the CRC total, NPS rows to the NPS total,
  CRC + NPS = England and Wales;
- a CRC's credit lines sum to its service credits, and by decision to its applied, waived and
  reinvested credits, which sum to the service credits; its outcome payments are its final cohort's
  payment (0.00 with no final cohort); for every provider net = fee - applied + outcome payments;
- rounding: performance = numerator/denominator (3 dp), binary rate = reoffenders/cohort (4 dp),
  frequency = reoffences/reoffenders (3 dp), half up, so two of the three bound the third;
- in the workbook: every cell repeated from a CSV (table sheets, Summary, Charts data) equals it;
  Summary cases = rows - rejected records of the provider's ``cases`` table; Summary net adjustment =
  outcome payments - applied credits;
- counts, credits and data-quality figures are never negative (net, outcome payments, z and adjusted
  rates may be); a hidden count is at least 1 (``positive``: the policy publishes every 0, so a
  hidden count is a small count from 1 to 4 or a non-zero complement);
- across tables (the validation rules are published to providers): rule CAS-017 is the same test as
  a CRC's ``high_risk_not_referred`` numerator, on the table as sent, so the numerator is at most
  the provider's ``cases`` warnings, at most CAS-017's count when the most frequent rules list it,
  and when they list three rules without it, at most the third's count (less 1 when CAS-017 sorts
  before it: ties are listed by rule id); ``face_to_face_share``'s denominator is the contacts
  accepted (rows - rejected records of ``contacts``); a measure's denominator counts records of the
  accepted table it is measured on (cases, breaches; AK: case-months, at most 3 per case).
The published rules (``rules=True``, read from the status, result and significance columns and the
Notes): a numerator is at most its denominator, reoffenders at most the cohort and the reoffences;
``met`` means numerator/denominator >= target (unrounded) and ``missed`` below it, both with at least
the minimum volume (the Notes; 10 without a workbook), ``insufficient volume`` fewer; met and
insufficient-volume lines carry no credit; an outcome payment is 0.00 for an NPS division, an interim
result or a non-significant one, at least 0 on a significant reduction, at most 0 on an increase.

Assumed: one quarter per folder; an empty ``[x]``/``[z]`` cell is absent (0 in a sum); a figure lies
on its column's grid (whole counts, pennies, the rate's decimal places). Not modelled: the credit and
outcome-payment formulas beyond their sign, and the z formula.

Solved to a fixed point: an identity with one unknown gives it; exact Gauss-Jordan elimination over
the rationals gives every cell whose unit vector lies in the identities' row space; bounds pushed
through every identity and inequality, on each cell's grid, pin a cell whose bounds meet. Each
recovered or pinned cell is a ``Leak``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import polars as pl
from openpyxl.utils import range_boundaries

from probation_returns.reference import providers

HIDDEN, INF = "[c]", math.inf
KEYS = {
    "service_levels.csv": ("provider_code", "measure"),
    "reoffending.csv": ("provider_code", "cohort_quarter"),
    "payments.csv": ("provider_code",),
    "data_quality.csv": ("provider_code", "table"),
}
COUNTS = {
    "service_levels.csv": (("quarter", "measure"), ("numerator", "denominator")),
    "reoffending.csv": (("quarter",), ("cohort_size", "reoffenders", "reoffences")),
}
RATES = [
    ("service_levels.csv", "numerator", "denominator", "performance", 3),
    ("reoffending.csv", "reoffenders", "cohort_size", "binary_rate", 4),
    ("reoffending.csv", "reoffences", "reoffenders", "frequency_rate", 3),
]
ORDER = [
    ("service_levels.csv", "numerator", "denominator"),
    ("reoffending.csv", "reoffenders", "cohort_size"),
    ("reoffending.csv", "reoffenders", "reoffences"),
]  # (smaller, larger) in one row
COUNTED = {"numerator", "denominator", "cohort_size", "reoffenders", "reoffences", "rows", "cases", "warnings"}
TOP_RULES = 3  # the data dictionary: "the most frequent rules" (three, ties by rule id)
LINKED_RULE = ("high_risk_not_referred", "cases", "CAS-017")  # a measure's numerator, the table, the rule
MEASURED_ON = {
    "SL001R": ("cases", 1),
    "SL002R": ("cases", 1),
    "SL003": ("cases", 1),
    "SL006R": ("cases", 1),
    "successful_completion": ("cases", 1),
    "high_risk_not_referred": ("cases", 1),
    "SL016": ("breaches", 1),
    "AE": ("breaches", 1),
    "AK": ("cases", 3),
}  # records per accepted record
DECISIONS = {"applied": "credits_applied_gbp", "waived": "credits_waived_gbp", "reinvested": "credits_reinvested_gbp"}
SIGNED = {"net_gbp", "outcome_payments_gbp", "outcome_payment_gbp", "net_adjustment_gbp", "z", "adjusted_binary_rate"}
PLACES = {
    "performance": 3,
    "target": 3,
    "frequency_rate": 3,
    "binary_rate": 4,
    "mean_p1": 4,
    "z": 4,
    "adjusted_binary_rate": 4,
    "baseline_binary_rate": 4,
    "baseline_frequency_rate": 2,
}
# workbook sheet -> (the CSV it repeats, the row key: headings, or a literal such as "CRC", {heading: CSV column})
SHEETS = {
    "Service levels": (
        "service_levels.csv",
        ("Provider code", "Measure code"),
        {
            "Numerator (count)": "numerator",
            "Denominator (count)": "denominator",
            "Performance (%)": "performance",
            "Target (%)": "target",
            "Service credit (£)": "credit_gbp",
        },
    ),
    "Reoffending": (
        "reoffending.csv",
        ("Provider code", "Cohort"),
        {
            "Cohort size (people)": "cohort_size",
            "Reoffenders (people)": "reoffenders",
            "Reoffences (count)": "reoffences",
            "Binary rate (%)": "binary_rate",
            "Frequency (reoffences per reoffender)": "frequency_rate",
            "Mean p1 (%)": "mean_p1",
            "z (standard deviations)": "z",
            "Adjusted binary rate (%)": "adjusted_binary_rate",
            "Baseline binary rate (%)": "baseline_binary_rate",
            "Baseline frequency (reoffences per reoffender)": "baseline_frequency_rate",
            "Outcome payment (£)": "outcome_payment_gbp",
        },
    ),
    "Payments": (
        "payments.csv",
        ("Provider code",),
        {
            "Quarterly fee (£)": "quarterly_fee_gbp",
            "Service credits (£)": "service_credits_gbp",
            "Waived (£)": "credits_waived_gbp",
            "Reinvested (£)": "credits_reinvested_gbp",
            "Applied (£)": "credits_applied_gbp",
            "Outcome payments (£)": "outcome_payments_gbp",
            "Net payable (£)": "net_gbp",
        },
    ),
    "Data quality": (
        "data_quality.csv",
        ("Provider code", "Table"),
        {
            "Rows (count)": "rows",
            "Rejected records (count)": "rejected_records",
            "Errors (count)": "errors",
            "Warnings (count)": "warnings",
        },
    ),
    "Charts": ("service_levels.csv", ("CRC", "Measure code"), {"All CRCs' performance (%)": "performance"}),
}
SUMMARY = {
    "Cases (count)": "cases",
    "Service credits (£)": "service_credits_gbp",
    "Outcome payment (£)": "outcome_payments_gbp",
    "Net adjustment (£)": "net_adjustment_gbp",
}


@dataclass(frozen=True)
class Leak:
    file: str  # a CSV, or "<workbook>:<sheet>"
    row: tuple  # the file's row key: (provider code, measure | cohort quarter | table), or (provider code,)
    column: str  # the CSV's column name (Summary: cases, <M>_performance, service_credits_gbp, ...)
    how: str
    value: Decimal | Fraction


def places(column: str) -> int:
    """The decimal places a published figure has: none for counts, pennies for money, a rate's own."""
    return 2 if column.endswith("_gbp") else 3 if column.endswith("_performance") else PLACES.get(column, 0)


def half_up(x: Fraction, dp: int) -> Fraction:
    return Fraction(math.floor(x * 10**dp + Fraction(1, 2)), 10**dp)


def common_step(values) -> Fraction:
    """The largest g with every value a whole multiple of g (0 when all are 0)."""
    g = Fraction(0)
    for v in values:
        g = Fraction(
            math.gcd(g.numerator * v.denominator, abs(v.numerator) * g.denominator), g.denominator * v.denominator
        )
    return g


class Release:
    def __init__(self, folder: Path, rules: bool = True, positive: bool = True) -> None:
        self.rules, self.positive, self.minimum_volume = rules, positive, 10
        self.top_rules: dict[tuple, list[str]] = defaultdict(list)  # (provider, table) -> every text listing them
        self.values: dict[tuple, Fraction] = {}  # published cells: (file, row key, column) -> value
        self.hidden: set[tuple] = set()  # [c] cells
        self.rows = {
            name: pl.read_csv(folder / name, infer_schema_length=0).to_dicts()  # as text: exact decimals
            for name in KEYS
            if (folder / name).exists()
        }
        for name, rows in self.rows.items():
            for row in rows:
                for column, value in row.items():
                    if f"{column}_marker" in row or column == "quarterly_fee_gbp":
                        self.cell((name, self.key(name, row), column), value, row.get(f"{column}_marker"))
        for row in self.rows.get("data_quality.csv", []):
            self.top_rules[self.key("data_quality.csv", row)].append(row.get("top_rules"))
        self.links: list[tuple[list, str, tuple]] = []  # workbook identities, used when their cells are present
        for book in sorted(folder.glob("*.xlsx")):
            self._read_workbook(book)

    def key(self, name: str, row: dict) -> tuple:
        return tuple(row[k] for k in KEYS[name])

    def cell(self, cell: tuple, value, marker=None) -> None:
        """A number is published, [c] hidden; anything else ([x], [z], empty, text) is absent."""
        if marker == HIDDEN or value == HIDDEN:
            self.hidden.add(cell)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self.values[cell] = Fraction(repr(value) if isinstance(value, float) else value)
        elif isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
            self.values[cell] = Fraction(value.strip())

    def present(self, cell: tuple) -> bool:
        return cell in self.values or cell in self.hidden

    def _read_workbook(self, book: Path) -> None:
        for ws in openpyxl.load_workbook(book, data_only=True).worksheets:
            for table in ws.tables.values():
                c1, r1, c2, r2 = range_boundaries(table.ref)
                header, *body = ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2, values_only=True)
                header = [re.sub(r" ?\[notes? [^\]]*\]", "", h) if isinstance(h, str) else h for h in header]
                expected = set(SHEETS.get(ws.title, (None, (), {}))[2]) | (
                    set(SUMMARY) if ws.title == "Summary" else set()
                )
                if expected and not expected & set(header):  # renamed headings must not blind the attacker
                    raise ValueError(f"{book.name}:{ws.title} has none of the headings {sorted(expected)}")
                self._link(f"{book.name}:{ws.title}", ws.title, [dict(zip(header, r)) for r in body])

    def _link(self, sheet: str, title: str, rows: list[dict]) -> None:
        for row in rows:
            if title == "Notes" and row.get("Item") == "Minimum volume":
                self.minimum_volume = int(re.match(r"\d+", str(row["Meaning"])).group())
            if title in SHEETS:
                name, keys, columns = SHEETS[title]
                key = tuple(row.get(k, k) for k in keys)
                for heading, column in columns.items():
                    if heading in row:
                        self.cell((sheet, key, column), row[heading])
                        self.repeat((sheet, key, column), (name, key, column), f"the workbook's {title} sheet")
                if title == "Data quality" and "Most frequent rules (count)" in row:
                    self.top_rules[key].append(row["Most frequent rules (count)"])
            if title == "Summary":
                code = row["Provider code"]
                here, pay = (lambda c: (sheet, (code,), c)), (lambda c: ("payments.csv", (code,), c))
                for heading, value in row.items():
                    measure = heading[: -len(" (%)")] if heading.endswith(" (%)") else None
                    if SUMMARY.get(heading) or measure:
                        self.cell(here(SUMMARY.get(heading) or f"{measure}_performance"), value)
                    if measure:
                        level = ("service_levels.csv", (code, measure), "performance")
                        self.repeat(here(f"{measure}_performance"), level, "the Summary repeats the performance")
                for column in ("service_credits_gbp", "outcome_payments_gbp"):
                    self.repeat(here(column), pay(column), f"the Summary repeats {column}")
                self.links.append(
                    (
                        [
                            (here("net_adjustment_gbp"), -1),
                            (pay("outcome_payments_gbp"), 1),
                            (pay("credits_applied_gbp"), -1),
                        ],
                        "Summary net adjustment = outcome - applied",
                        (here("net_adjustment_gbp"),),
                    )
                )
                self.links.append(
                    (
                        [
                            (here("cases"), -1),
                            (("data_quality.csv", (code, "cases"), "rows"), 1),
                            (("data_quality.csv", (code, "cases"), "rejected_records"), -1),
                        ],
                        "Summary cases = rows - rejected records",
                        (here("cases"),),
                    )
                )

        if title == "Payments":  # the workbook's total rows: each is the sum of its providers' cells
            kinds = {c: p.type for c, p in providers().items()}
            members = {"CRC": ("CRC",), "NPS": ("NPS",), "ALL": ("CRC", "NPS")}
            for code in {r.get("Provider code") for r in rows} & set(members):
                parts = [c for c, k in kinds.items() if k in members[code]]
                for column in SHEETS["Payments"][2].values():
                    total = (sheet, (code,), column)
                    self.links.append(
                        (
                            [(total, -1), *((("payments.csv", (c,), column), 1) for c in parts)],
                            f"the workbook's Payments total {code} {column}",
                            (total,),
                        )
                    )

    def repeat(self, shown: tuple, cell: tuple, name: str) -> None:
        self.links.append(([(shown, 1), (cell, -1)], name, (shown, cell)))

    def constraints(self) -> list[tuple[dict, Fraction, str, str]]:
        """(terms, constant, name, kind): sum of coefficient x cell = (kind '='), >= or > the constant."""
        out = []

        def add(terms, name, const=0, kind="="):
            kept = defaultdict(Fraction)
            for c, k in terms:
                if self.present(c):
                    kept[c] += Fraction(k)
            if any(c in self.hidden for c in kept):
                out.append((dict(kept), Fraction(const), name, kind))

        kind_of = {c: p.type for c, p in providers().items()}
        for name, (by, counts) in COUNTS.items():
            groups = defaultdict(dict)
            for row in self.rows.get(name, []):
                groups[tuple(row[b] for b in by)][row["provider_code"]] = self.key(name, row)
            for group, codes in groups.items():
                for col in counts:
                    for total, parts in [(k, [c for c in codes if kind_of.get(c) == k]) for k in ("CRC", "NPS")] + [
                        ("ALL", ["CRC", "NPS"])
                    ]:
                        if total in codes:
                            add(
                                [((name, codes[total], col), -1)]
                                + [((name, codes[c], col), 1) for c in parts if c in codes],
                                f"{total} total of {name} {col} ({'/'.join(group)})",
                            )
        levels, cohorts = self.rows.get("service_levels.csv", []), self.rows.get("reoffending.csv", [])
        for row in self.rows.get("payments.csv", []):
            code = row["provider_code"]
            p = lambda c: ("payments.csv", (code,), c)  # noqa: E731
            add(
                [
                    (p("net_gbp"), -1),
                    (p("quarterly_fee_gbp"), 1),
                    (p("credits_applied_gbp"), -1),
                    (p("outcome_payments_gbp"), 1),
                ],
                f"{code}: net = fee - applied + outcome payments",
            )
            if not self.present(p("service_credits_gbp")):
                continue  # an NPS division: no credits, no outcome payments
            lines = [
                (("service_levels.csv", self.key("service_levels.csv", r), "credit_gbp"), r["credit_decision"])
                for r in levels
                if r["provider_code"] == code
            ]
            add([(p("service_credits_gbp"), -1)] + [(c, 1) for c, _ in lines], f"{code}'s credit lines sum up")
            for decision, col in DECISIONS.items():
                add([(p(col), -1)] + [(c, 1) for c, d in lines if d == decision], f"{code}'s {decision} lines sum up")
            add(
                [(p("service_credits_gbp"), -1)] + [(p(c), 1) for c in DECISIONS.values()],
                f"{code}: service credits = waived + reinvested + applied",
            )
            add(
                [(p("outcome_payments_gbp"), -1)]
                + [
                    (("reoffending.csv", self.key("reoffending.csv", r), "outcome_payment_gbp"), 1)
                    for r in cohorts
                    if r["provider_code"] == code and r["result"] == "final"
                ],
                f"{code}: outcome payments = its final cohort's payment",
            )
        for name, n, d, r, dp in RATES:  # a published rate bounds its counts (half up: [r - h, r + h))
            for row in self.rows.get(name, []):
                cell = lambda c: (name, self.key(name, row), c)  # noqa: E731
                if cell(r) in self.values:
                    rate, half = self.values[cell(r)], Fraction(1, 2 * 10**dp)
                    add([(cell(n), 1), (cell(d), -(rate - half))], f"{r} {rate} rounds {n}/{d}", 0, ">=")
                    add([(cell(d), rate + half), (cell(n), -1)], f"{r} {rate} rounds {n}/{d}", 0, ">")
        for terms, name, needed in self.links:
            if all(self.present(c) for c in needed):
                add(terms, name)
        self._across_tables(add, levels, kind_of)
        if self.rules:
            self._rules(add, levels, cohorts, kind_of)
        return out

    def _across_tables(self, add, levels: list[dict], kind_of: dict) -> None:
        """What data_quality.csv (and its sheet) says about the service levels' counts."""
        measure, table, rule = LINKED_RULE
        for row in levels:
            code, m = row["provider_code"], row["measure"]
            cell = lambda c: ("service_levels.csv", (code, m), c)  # noqa: E731
            quality = lambda t, c: ("data_quality.csv", (code, t), c)  # noqa: E731
            if m == measure and kind_of.get(code) == "CRC":
                if self.present(quality(table, "warnings")):
                    add(
                        [(quality(table, "warnings"), 1), (cell("numerator"), -1)],
                        f"{code}: {rule} is {measure}, so its numerator <= the {table} warnings",
                        0,
                        ">=",
                    )
                for text in self.top_rules.get((code, table), []):
                    most = rule_at_most(text, rule)
                    if most is not None:
                        add(
                            [(cell("numerator"), -1)],
                            f"{code}: {rule} <= {most} by the top rules '{text}'",
                            -most,
                            ">=",
                        )
            on, per = ("contacts", 1) if m == "face_to_face_share" else MEASURED_ON.get(m, (None, 0))
            records = [(quality(on, "rows"), per), (quality(on, "rejected_records"), -per)]
            if on is None or not all(self.present(c) for c, _ in records):
                continue  # not measured on one table, or its records are not published (or not read)
            if m == "face_to_face_share":
                add(records + [(cell("denominator"), -1)], f"{code}: contacts accepted = {m} denominator")
            else:
                add(records + [(cell("denominator"), -1)], f"{code}: {m} is measured on the accepted {on}", 0, ">=")

    def _rules(self, add, levels: list[dict], cohorts: list[dict], kind_of: dict) -> None:
        for name, small, large in ORDER:
            for row in self.rows.get(name, []):
                add(
                    [((name, self.key(name, row), large), 1), ((name, self.key(name, row), small), -1)],
                    f"{small} <= {large}",
                    0,
                    ">=",
                )
        for row in levels:
            cell = lambda c: ("service_levels.csv", self.key("service_levels.csv", row), c)  # noqa: E731
            target, status = self.values.get(cell("target")), row["status"]
            if status in ("met", "missed") and target is not None:
                sign = 1 if status == "met" else -1
                add(
                    [(cell("numerator"), sign), (cell("denominator"), -sign * target)],
                    f"status {status}",
                    0,
                    ">=" if status == "met" else ">",
                )
                add([(cell("denominator"), 1)], "status: at least the minimum volume", self.minimum_volume, ">=")
            if status == "insufficient volume":
                add([(cell("denominator"), -1)], "status: below the minimum volume", 1 - self.minimum_volume, ">=")
            if status in ("met", "insufficient volume"):
                add([(cell("credit_gbp"), 1)], f"published rule: no credit when {status}")
        for row in cohorts:
            cell = ("reoffending.csv", self.key("reoffending.csv", row), "outcome_payment_gbp")
            sig, nps = row["significance"], kind_of.get(row["provider_code"]) == "NPS"
            if nps or row["result"] != "final" or sig in ("not significant", "no cohort"):
                add([(cell, 1)], "published rule: outcome payments for CRCs' final, significant results only")
            elif sig in ("significant reduction", "significant increase"):
                add([(cell, 1 if sig.endswith("reduction") else -1)], f"published rule: the sign on a {sig}", 0, ">=")

    def solve(self) -> dict[tuple, tuple[Fraction, str]]:
        """Cells given away this round: by an identity with one unknown, then linear algebra, then bounds."""
        rows = []
        for terms, const, name, kind in self.constraints():
            known = sum((k * self.values[c] for c, k in terms.items() if c not in self.hidden), Fraction(0))
            rows.append(({c: k for c, k in terms.items() if c in self.hidden}, const - known, name, kind))
        found = {
            next(iter(t)): (c / next(iter(t.values())), name)
            for t, c, name, kind in rows
            if kind == "=" and len(t) == 1
        }
        found = found or {
            c: (v, "a combination of the identities")
            for c, v in determined([(t, c) for t, c, _, kind in rows if kind == "="]).items()
        }
        return found or self.bounds(rows)

    def bounds(self, rows) -> dict[tuple, tuple[Fraction, str]]:
        lo = {
            c: (-INF if c[2] in SIGNED else Fraction(1) if self.positive and c[2] in COUNTED else Fraction(0))
            for c in self.hidden
        }
        hi = {c: INF for c in self.hidden}
        step = {c: Fraction(1, 10 ** places(c[2])) for c in self.hidden}
        why, equations = defaultdict(set), []
        for i, (terms, const, name, kind) in enumerate(rows):
            if kind != "=":  # sum - slack = const; the slack lies on the sum's grid, > 0 takes one step
                s = ("slack", i)
                step[s] = common_step([k * step[c] for c, k in terms.items()] + [const])
                lo[s], hi[s] = (step[s] if kind == ">" else Fraction(0)), INF
                terms = {**terms, s: Fraction(-1)}
            equations.append((terms, const, name))
        for _ in range(200):
            changed = False
            for terms, const, name in equations:
                for j, kj in terms.items():
                    low = high = const  # kj * x_j = const - sum of the others
                    for c, k in terms.items():
                        if c != j:
                            a, b = k * lo[c], k * hi[c]
                            low, high = low - max(a, b), high - min(a, b)
                    new_lo, new_hi = (low / kj, high / kj) if kj > 0 else (high / kj, low / kj)
                    if step[j] and new_lo != -INF:
                        new_lo = math.ceil(new_lo / step[j]) * step[j]
                    if step[j] and new_hi != INF:
                        new_hi = math.floor(new_hi / step[j]) * step[j]
                    if new_lo > lo[j]:
                        lo[j], changed = new_lo, True
                        why[j].add(name)
                    if new_hi < hi[j]:
                        hi[j], changed = new_hi, True
                        why[j].add(name)
                    if lo[j] > hi[j]:
                        raise ValueError(f"the release contradicts the attacker's knowledge: {name} at {j}")
            if not changed:
                break
        found = {c: (lo[c], "bounds: " + "; ".join(sorted(why[c]))) for c in self.hidden if lo[c] == hi[c]}
        for name, n, d, r, dp in RATES:  # a hidden rate whose counts are narrowed to one rounded value
            for row in self.rows.get(name, []):
                cells = [(name, self.key(name, row), c) for c in (n, d, r)]
                if cells[2] in self.hidden and all(self.present(c) for c in cells[:2]):
                    (nl, nh), (dl, dh) = [
                        (self.values[c],) * 2 if c in self.values else (lo[c], hi[c]) for c in cells[:2]
                    ]
                    if dl > 0 and nh != INF:
                        low, high = half_up(nl / dh if dh != INF else Fraction(0), dp), half_up(nh / dl, dp)
                        if low == high:
                            found.setdefault(cells[2], (low, f"{r} is {n}/{d} rounded"))
        return found


def rule_at_most(text, rule: str) -> int | None:
    """The most a rule's finding count can be, from a table's 'most frequent rules' text (None: it says nothing)."""
    listed = re.findall(r"([A-Z]{3}-\d{3}) \((\d+)\)", text or "")
    if not listed:
        return None  # empty, hidden, or not a list (not validated, not read)
    counts = {r: int(n) for r, n in listed}
    if rule in counts:
        return counts[rule]
    if len(listed) < TOP_RULES:
        return 0  # every rule that fired is listed
    last, n = listed[-1][0], int(listed[-1][1])
    return n - 1 if rule < last else n  # a tie would have listed the rule first


def determined(rows: list[tuple[dict, Fraction]]) -> dict[tuple, Fraction]:
    """Gauss-Jordan over the rationals: a cell is determined when its pivot row holds no other unknown."""
    pivots: dict[tuple, tuple[dict, Fraction]] = {}
    for terms, rhs in rows:
        row = {c: Fraction(k) for c, k in terms.items() if k}
        for v in [v for v in row if v in pivots]:  # pivot rows hold no other pivot: one pass reduces
            k, (prow, prhs) = row.pop(v), pivots[v]
            for u, cu in prow.items():
                if u != v:
                    row[u] = row.get(u, 0) - k * cu
            row, rhs = {u: c for u, c in row.items() if c}, rhs - k * prhs
        if not row:
            continue
        p = min(row, key=str)
        row, rhs = {u: c / row[p] for u, c in row.items()}, rhs / row[p]
        for q, (qrow, qrhs) in list(pivots.items()):
            if k := qrow.get(p):
                merged = {u: qrow.get(u, 0) - k * row.get(u, 0) for u in qrow.keys() | row.keys()}
                pivots[q] = ({u: c for u, c in merged.items() if c}, qrhs - k * rhs)
        pivots[p] = (row, rhs)
    return {p: rhs for p, (row, rhs) in pivots.items() if len(row) == 1}


def attack(folder: Path, rules: bool = True, positive: bool = True) -> list[Leak]:
    """Every [c] cell of the release in ``folder`` that the rest of it gives away.

    ``rules`` and ``positive``: see above."""
    release, leaks = Release(Path(folder), rules, positive), []
    while found := release.solve():
        for cell, (value, how) in sorted(found.items(), key=str):
            release.hidden.discard(cell)
            release.values[cell] = value
            exact = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(10) ** -places(cell[2]))
            leaks.append(Leak(cell[0], cell[1], cell[2], how, exact if exact == value else value))
    return leaks
