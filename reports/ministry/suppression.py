"""The publication copy: small counts of people hidden, and nothing hidden recoverable from the rest.

The policy is written in docs/ministry-returns.md ("Disclosure control"). In short:
- Primary: a count of people or of their events from 1 to 4 (zero identifies no one and is shown).
- Derived: a rate, z or payment computed from a hidden count is hidden with it; a service credit is
  hidden with its row only when the measure was missed (a met or low-volume measure's credit is
  0.00 by the published rule, whatever the counts).
- Never 0: a hidden count is from 1 to 4 or a non-zero complement; a 0 is published even in a hidden
  row (it identifies no one), so an attacker may take every hidden count as at least 1, and so do we.
- Linked: rule CAS-017 is the same test as a CRC's ``high_risk_not_referred`` numerator, so the
  numerator is at most the provider's ``cases`` warnings and CAS-017's count in its most frequent
  rules; both are hidden with the numerator. Otherwise data-quality counts of records and findings
  are never hidden (they describe a provider's data, not people).
- Secondary: the release is a set of cells tied by published identities (provider rows and the
  CRC, NPS and England and Wales totals; a provider's credit lines, their total and its split into
  waived, reinvested and applied; fee - applied + outcome = net; the Summary's cases and net
  adjustment). While an attacker who knows every identity can pin a hidden cell to one value, one
  more cell is hidden (the smallest non-zero visible cell of an identity that pins it).

``attack`` is that attacker: linear algebra for what the identities determine exactly, and bound
propagation (counts and credits are never negative, hidden counts at least 1, a count at most a
count that includes it) for what they narrow to one value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import polars as pl

from reports.ministry.tidy import CONFIDENTIAL, MARKED, NOT_APPLICABLE, SUMMARY_MEASURES, TOTALS, marker

HIDDEN = CONFIDENTIAL
Cell = tuple[str, int, str]  # (table, row index, column)

PEOPLE = {
    "service_levels": ("numerator", "denominator"),
    "reoffending": ("cohort_size", "reoffenders", "reoffences"),
    "data_quality": ("rows",),
    "summary": ("cases",),
}
DERIVED_REOFFENDING = ("binary_rate", "frequency_rate", "mean_p1", "adjusted_binary_rate", "z", "outcome_payment_gbp")
SIGNED = {
    ("payments", "net_gbp"),
    ("payments", "outcome_payments_gbp"),
    ("reoffending", "outcome_payment_gbp"),
    ("summary", "outcome_payments_gbp"),
    ("summary", "net_adjustment_gbp"),
    ("reoffending", "z"),
}
# a measure whose numerator a validation rule counts too, on the provider's table as sent: the table's
# warnings and its most frequent rules (where the rule's count is listed, or bounded by the third's) include it
LINKED = {"high_risk_not_referred": ("cases", "CAS-017")}
LINKED_CELLS = ("warnings", "top_rules")
TEXT = {"data_quality": ("top_rules",)}  # text cells hidden as [c] in place (they have no marker column)
DECISIONS = {"applied": "credits_applied_gbp", "waived": "credits_waived_gbp", "reinvested": "credits_reinvested_gbp"}


def small(value) -> bool:
    return value is not None and not isinstance(value, str) and 1 <= value <= 4


def protect(
    values: dict[Hashable, int | None],
    groups: Sequence[tuple[Hashable, Sequence[Hashable]]],
    primary: set | None = None,
) -> set:
    """One table with its totals: primary cells (1 to 4, or as given), then secondary until no group
    (total, parts) has exactly one hidden member. The complement is the smallest non-zero visible part
    (ties by key), which loses the least information; the total when no part will do.
    """
    release = Release()
    for key, value in values.items():
        release.values[("t", 0, str(key))] = value
    keys = {("t", 0, str(k)): k for k in values}
    for total, parts in groups:
        release.equation({("t", 0, str(total)): -1, **{("t", 0, str(p)): 1 for p in parts}})
    first = (
        {("t", 0, str(k)) for k in primary}
        if primary is not None
        else {c for c, v in release.values.items() if small(v)}
    )
    return {keys[c] for c in release.protect(first) if c in keys}


@dataclass
class Release:
    """Every published number, the identities tying them, and what hides with what."""

    values: dict[Cell, object] = field(default_factory=dict)
    equations: list[dict[Cell, int]] = field(default_factory=list)  # sum of coefficient x value = 0
    derived: dict[Cell, set[Cell]] = field(default_factory=dict)  # hidden when any source is hidden
    together: dict[Cell, tuple[Cell, ...]] = field(default_factory=dict)  # hidden as a whole (a row's counts)
    fixed: set[Cell] = field(default_factory=set)  # never hidden, never a complement
    signed: set[Cell] = field(default_factory=set)  # may be negative (everything else is at least 0)
    counts: set[Cell] = field(default_factory=set)  # counts: never hidden when 0, so at least 1 when hidden
    at_most: list[tuple[Cell, Cell]] = field(default_factory=list)  # (a, b): a <= b

    def equation(self, terms: dict[Cell, int]) -> None:
        terms = {c: k for c, k in terms.items() if c in self.values and k}
        if len(terms) > 1:
            self.equations.append(terms)

    def close(self, hidden: set[Cell]) -> set[Cell]:
        """Add whole rows and derived figures of what is hidden."""
        hidden = set(hidden)
        while True:
            grown = set(hidden)
            for cell in hidden:  # a 0 beside a hidden count stays published: it gives nothing away
                grown.update(c for c in self.together.get(cell, ()) if not self._zero_count(c))
            grown.update(c for c, sources in self.derived.items() if sources & grown)
            if grown == hidden:
                return hidden
            hidden = grown

    def _zero_count(self, cell: Cell) -> bool:
        return cell in self.counts and self.values.get(cell) == 0

    def _candidates(self, hidden: set[Cell], equation: dict[Cell, int]) -> list[set[Cell]]:
        """Ways to hide one more member of the identity, best first: each is the cells to hide.

        A member that is a figure derived from counts is hidden by hiding its counts; a fixed member
        (a contract term, or a figure its published rule decides) cannot be hidden. The smallest non-zero
        member comes first, which loses the least information.
        """

        def magnitude(cell):
            value = self.values[cell]
            return abs(Decimal(value)) if value is not None else Decimal(0)

        members = sorted(
            (
                c
                for c in equation
                if c not in hidden
                and c not in self.fixed
                and self.values.get(c) is not None
                and not self._zero_count(c)
            ),
            key=lambda c: (magnitude(c) == 0, magnitude(c), c in self.derived, str(c)),
        )
        return [set(self.derived.get(c) or {c}) for c in members]

    def _protect_one(self, hidden: set[Cell], pinned: list[Cell]) -> set[Cell] | None:
        """Hide one more cell of an identity that pins a hidden one.

        Of the ways to do so, the one that hides a non-zero figure (zero is published) and leaves the
        fewest cells pinned; ties go to the smallest figure, which loses the least information.
        """
        options: list[set[Cell]] = []
        links = [{a: 1, b: -1} for a, b in self.at_most]
        equations = [e for e in self.equations + links if any(c in e for c in pinned)]
        for equation in sorted(equations, key=lambda e: sum(c in hidden for c in e)):
            for cells in self._candidates(hidden, equation):
                grown = self.close(hidden | cells)
                if grown != hidden and grown not in options:
                    options.append(grown)

        def score(item):
            order, grown = item
            zero = not any(self.values.get(c) for c in grown - hidden)
            return zero, len(self.attack(grown)), order

        return min(enumerate(options), key=score)[1] if options else None

    def protect(self, primary: Iterable[Cell]) -> set[Cell]:
        """The cells to hide: primary and their rows and derived figures, then complements until no hidden
        cell can be pinned to one value."""
        hidden = self.close(set(primary))
        for _ in range(10_000):
            pinned = sorted(self.attack(hidden), key=str)
            if not pinned:
                return hidden
            grown = self._protect_one(hidden, pinned)
            if grown is None:
                raise RuntimeError(
                    f"disclosure control cannot protect {pinned[0]}: every other cell of its "
                    "identities is fixed by the contract or a published rule"
                )
            hidden = grown
        raise RuntimeError("disclosure control did not settle")

    def attack(self, hidden: set[Cell]) -> set[Cell]:
        """Hidden cells an attacker pins to one value from the visible cells and the identities."""
        return self._determined(hidden) | self._bounded(hidden)

    def _determined(self, hidden: set[Cell]) -> set[Cell]:
        """Exactly determined: the cell's unit vector lies in the row space of the identities."""
        unknown = sorted((c for c in hidden if c in self.values and self.values[c] is not None), key=str)
        index = {c: i for i, c in enumerate(unknown)}
        rows = []
        for e in self.equations:
            row = np.zeros(len(unknown))
            for c, k in e.items():
                if c in index:
                    row[index[c]] += k
            if row.any():
                rows.append(row)
        if not rows:
            return set()
        _, s, vt = np.linalg.svd(np.array(rows))
        rank = int((s > 1e-9).sum())
        null = vt[rank:]  # a basis of what the identities leave free
        return {c for c, i in index.items() if not null.size or np.abs(null[:, i]).max() < 1e-9}

    def _bounded(self, hidden: set[Cell]) -> set[Cell]:
        """Narrowed to one value by propagating bounds (at least 0 unless signed) through the identities."""
        inf = Decimal("Infinity")
        unknown = {c for c in hidden if c in self.values and self.values[c] is not None}
        low = {c: (-inf if c in self.signed else Decimal(1) if c in self.counts else Decimal(0)) for c in unknown}
        high = {c: inf for c in unknown}
        relevant = [e for e in self.equations if any(c in unknown for c in e)]
        for _ in range(50):
            changed = self._ordered(unknown, low, high)
            for e in relevant:
                known = sum((k * Decimal(self.values[c] or 0) for c, k in e.items() if c not in unknown), Decimal(0))
                for j, kj in e.items():
                    if j not in unknown:
                        continue
                    lo = hi = -known  # kj * x_j = -known - sum of the other unknown terms
                    for c, k in e.items():
                        if c in unknown and c != j:
                            a, b = k * low[c], k * high[c]
                            lo, hi = lo - max(a, b), hi - min(a, b)
                    new_low, new_high = (lo / kj, hi / kj) if kj > 0 else (hi / kj, lo / kj)
                    if new_low > low[j]:
                        low[j], changed = new_low, True
                    if new_high < high[j]:
                        high[j], changed = new_high, True
            if not changed:
                break
        return {c for c in unknown if low[c] == high[c]}

    def _ordered(self, unknown: set[Cell], low: dict, high: dict) -> bool:
        """Push bounds through a <= b: a is at most b's upper bound, b at least a's lower bound."""
        changed = False
        for a, b in self.at_most:
            top = high[b] if b in unknown else Decimal(self.values[b]) if self.values.get(b) is not None else None
            bottom = low[a] if a in unknown else Decimal(self.values[a]) if self.values.get(a) is not None else None
            if a in unknown and top is not None and top < high[a]:
                high[a], changed = top, True
            if b in unknown and bottom is not None and bottom > low[b]:
                low[b], changed = bottom, True
        return changed


def model(tables: dict[str, pl.DataFrame]) -> Release:
    """The release as cells and identities (the internal copy's tables, before markers)."""
    release = Release()
    rows = {name: frame.to_dicts() for name, frame in tables.items()}
    for name, columns in MARKED.items():
        for i, row in enumerate(rows.get(name, [])):
            for column in columns:
                release.values[(name, i, column)] = row.get(column)
                if (name, column) in SIGNED:
                    release.signed.add((name, i, column))
    for i, row in enumerate(rows["payments"]):
        release.values[("payments", i, "quarterly_fee_gbp")] = row["quarterly_fee_gbp"]
        release.fixed.add(("payments", i, "quarterly_fee_gbp"))
    _counts(release, rows["service_levels"], "service_levels", ("measure",), PEOPLE["service_levels"])
    _counts(release, rows["reoffending"], "reoffending", ("quarter",), PEOPLE["reoffending"])
    levels = rows["service_levels"]
    for i, row in enumerate(levels):
        counts = _sources(release, "service_levels", i, "numerator", PEOPLE["service_levels"])
        release.derived[("service_levels", i, "performance")] = counts
        if row["status"] == "missed" and row["credit_gbp"] is not None:
            release.derived[("service_levels", i, "credit_gbp")] = counts
        else:  # met or low volume: 0.00 by the published rule, so hiding it would protect nothing
            release.fixed.add(("service_levels", i, "credit_gbp"))
        release.fixed.add(("service_levels", i, "target"))
    for i, row in enumerate(rows["reoffending"]):
        counts = {("reoffending", i, c) for c in PEOPLE["reoffending"]}
        for column in DERIVED_REOFFENDING:
            release.derived[("reoffending", i, column)] = counts
        release.derived[("reoffending", i, "binary_rate")] = _sources(
            release, "reoffending", i, "reoffenders", PEOPLE["reoffending"]
        )
        if not _paid_by_rule(row):  # 0.00 by the published rule, whatever the counts
            del release.derived[("reoffending", i, "outcome_payment_gbp")]
            release.fixed.add(("reoffending", i, "outcome_payment_gbp"))
        release.fixed.update(
            {("reoffending", i, "baseline_binary_rate"), ("reoffending", i, "baseline_frequency_rate")}
        )
    _money(release, rows)
    _summary(release, rows)
    for i, _ in enumerate(rows["data_quality"]):
        release.fixed.update(("data_quality", i, c) for c in ("rejected_records", "errors", "warnings"))
    _linked(release, rows)
    linked = {c for c in release.derived if c[0] == "data_quality" and c in release.values}
    release.counts = {c for c in release.values if c[2] in PEOPLE.get(c[0], ())} | linked
    return release


def _linked(release: Release, rows: dict[str, list[dict]]) -> None:
    """A measure's numerator is at most the warnings (and the rule's listed count) of the table its rule checks:
    both are hidden with it, and a contacts table's accepted records are face_to_face_share's denominator."""
    quality = {(r["provider_code"], r["table"]): i for i, r in enumerate(rows["data_quality"])}
    for i, row in enumerate(rows["service_levels"]):
        code, measure = row["provider_code"], row["measure"]
        if measure in LINKED and (code, LINKED[measure][0]) in quality:
            q, numerator = quality[(code, LINKED[measure][0])], ("service_levels", i, "numerator")
            for column in LINKED_CELLS:
                release.fixed.discard(("data_quality", q, column))
                release.derived[("data_quality", q, column)] = {numerator}
            release.at_most.append((numerator, ("data_quality", q, "warnings")))
        if measure == "face_to_face_share" and (code, "contacts") in quality:
            q = quality[(code, "contacts")]
            release.equation(
                {
                    ("service_levels", i, "denominator"): -1,
                    ("data_quality", q, "rows"): 1,
                    ("data_quality", q, "rejected_records"): -1,
                }
            )


def _sources(release: Release, name: str, i: int, numerator: str, counts) -> set[Cell]:
    """The counts a ratio is computed from: its numerator alone when that is 0 (0 over any count is 0, and a 0 is
    published, so hiding the ratio would protect nothing)."""
    cell = (name, i, numerator)
    return {cell} if release.values.get(cell) == 0 else {(name, i, c) for c in counts}


def _paid_by_rule(row: dict) -> bool:
    """Only a CRC's final, significant result can be paid (or deducted); any other is 0.00 by the Notes."""
    from reports.ministry.tidy import provider_type

    return (
        provider_type(row["provider_code"]) == "CRC"
        and row.get("result") == "final"
        and str(row.get("significance") or "").startswith("significant")
    )


def _counts(release: Release, rows: list[dict], name: str, by: tuple[str, ...], counts: tuple[str, ...]) -> None:
    """Provider rows sum to their type's total, the two types to England and Wales; a row hides whole."""
    from reports.ministry.tidy import provider_type

    groups: dict[tuple, dict[str, list[int]]] = {}
    for i, row in enumerate(rows):
        code = row["provider_code"]
        key = tuple(row[b] for b in by)
        kind = code if code in TOTALS else provider_type(code)
        groups.setdefault(key, {}).setdefault("total:" + code if code in TOTALS else kind, []).append(i)
        cells = tuple((name, i, c) for c in counts)
        for cell in cells:
            release.together[cell] = cells
    for members in groups.values():
        total = {k.split(":")[1]: v[0] for k, v in members.items() if k.startswith("total:")}
        for column in counts:
            for kind in ("CRC", "NPS"):
                if kind in total:
                    release.equation(
                        {(name, total[kind], column): -1, **{(name, i, column): 1 for i in members.get(kind, [])}}
                    )
            if "ALL" in total:
                release.equation(
                    {
                        (name, total["ALL"], column): -1,
                        **{(name, total[k], column): 1 for k in ("CRC", "NPS") if k in total},
                    }
                )


def _money(release: Release, rows: dict[str, list[dict]]) -> None:
    """A provider's credit lines, their total and its split, the net, and the outcome payment it is paid."""
    final = {
        r["provider_code"]: i
        for i, r in enumerate(rows["reoffending"])
        if r["provider_code"] not in TOTALS and r.get("result") == "final"
    }
    for p, pay in enumerate(rows["payments"]):
        code = pay["provider_code"]
        if pay["service_credits_gbp"] is None:
            continue
        lines = [
            (i, r.get("credit_decision"))
            for i, r in enumerate(rows["service_levels"])
            if r["provider_code"] == code and r["credit_gbp"] is not None
        ]
        release.equation(
            {("payments", p, "service_credits_gbp"): -1, **{("service_levels", i, "credit_gbp"): 1 for i, _ in lines}}
        )
        for decision, column in DECISIONS.items():
            release.equation(
                {
                    ("payments", p, column): -1,
                    **{("service_levels", i, "credit_gbp"): 1 for i, d in lines if d == decision},
                }
            )
        release.equation(
            {
                ("payments", p, "service_credits_gbp"): -1,
                **{("payments", p, column): 1 for column in DECISIONS.values()},
            }
        )
        release.equation(
            {
                ("payments", p, "net_gbp"): -1,
                ("payments", p, "quarterly_fee_gbp"): 1,
                ("payments", p, "credits_applied_gbp"): -1,
                ("payments", p, "outcome_payments_gbp"): 1,
            }
        )
        if code in final:
            release.equation(
                {("payments", p, "outcome_payments_gbp"): -1, ("reoffending", final[code], "outcome_payment_gbp"): 1}
            )


def _summary(release: Release, rows: dict[str, list[dict]]) -> None:
    """The Summary repeats cells of other tables (hidden with them) and adds cases and the net adjustment."""
    level = {(r["provider_code"], r["measure"]): i for i, r in enumerate(rows["service_levels"])}
    pay = {r["provider_code"]: i for i, r in enumerate(rows["payments"])}
    quality = {r["provider_code"]: i for i, r in enumerate(rows["data_quality"]) if r["table"] == "cases"}
    for s, row in enumerate(rows["summary"]):
        code = row["provider_code"]
        for m in SUMMARY_MEASURES:
            if (code, m) in level:
                release.derived[("summary", s, f"{m}_performance")] = {
                    ("service_levels", level[(code, m)], "performance")
                }
        for column in ("service_credits_gbp", "outcome_payments_gbp"):
            release.derived[("summary", s, column)] = {("payments", pay[code], column)}
        release.equation(
            {
                ("summary", s, "net_adjustment_gbp"): -1,
                ("payments", pay[code], "outcome_payments_gbp"): 1,
                ("payments", pay[code], "credits_applied_gbp"): -1,
            }
        )
        if row["cases"] is not None and code in quality:
            q = quality[code]
            release.equation(
                {
                    ("summary", s, "cases"): -1,
                    ("data_quality", q, "rows"): 1,
                    ("data_quality", q, "rejected_records"): -1,
                }
            )


def primary(release: Release, tables: dict[str, pl.DataFrame]) -> set[Cell]:
    return {
        (name, i, column)
        for name, columns in PEOPLE.items()
        for column in columns
        for i, value in enumerate(tables[name][column].to_list())
        if small(value)
    }


def hidden_cells(tables: dict[str, pl.DataFrame]) -> set[Cell]:
    release = model(tables)
    return release.protect(primary(release, tables))


def apply(tables: dict[str, pl.DataFrame], hidden: set[Cell]) -> dict[str, pl.DataFrame]:
    """Marked tables with the hidden cells emptied and marked ``[c]``."""
    out = {}
    for name, frame in tables.items():
        exprs = []
        for column in MARKED.get(name, ()):
            values = frame[column].to_list()
            rows = sorted(i for (t, i, c) in hidden if t == name and c == column and values[i] is not None)
            if not rows:
                continue
            hit = pl.int_range(pl.len()).is_in(rows)
            exprs += [
                pl.when(hit).then(None).otherwise(pl.col(column)).alias(column),
                pl.when(hit).then(pl.lit(HIDDEN)).otherwise(pl.col(marker(column))).alias(marker(column)),
            ]
        for column in TEXT.get(name, ()):
            values = frame[column].to_list()
            rows = sorted(i for (t, i, c) in hidden if t == name and c == column and values[i] is not None)
            if rows:
                hit = pl.int_range(pl.len()).is_in(rows)
                exprs.append(pl.when(hit).then(pl.lit(HIDDEN)).otherwise(pl.col(column)).alias(column))
        out[name] = frame.with_columns(exprs) if exprs else frame
    return out


def publication(internal: dict[str, pl.DataFrame], marked: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The publication copy of the marked tables, from the internal (unmarked) ones."""
    return apply(marked, hidden_cells(internal))


__all__ = ["HIDDEN", "NOT_APPLICABLE", "Release", "apply", "hidden_cells", "model", "protect", "publication", "small"]
