"""Reference data shipped with the service: the 28 providers and their baselines."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Provider:
    code: str
    name: str
    type: str  # CRC or NPS
    owner_2015: str
    typical_caseload: int
    quarterly_fee_gbp: Decimal
    baseline_binary: float
    baseline_frequency: float
    baseline_mean_p1: float

    @property
    def is_crc(self) -> bool:
        return self.type == "CRC"


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files("probation_returns").joinpath("data", name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def providers() -> dict[str, Provider]:
    """Providers by code, in the reference file's order (C01..C21, N01..N07)."""
    money = {r["provider_code"]: r for r in _rows("contract_parameters.csv")}
    out: dict[str, Provider] = {}
    for row in _rows("providers.csv"):
        p = money[row["provider_code"]]
        out[row["provider_code"]] = Provider(
            code=row["provider_code"],
            name=row["name"],
            type=row["type"],
            owner_2015=row["owner_2015"],
            typical_caseload=int(row["typical_caseload"]),
            quarterly_fee_gbp=Decimal(p["quarterly_fee_gbp"]),
            baseline_binary=float(p["baseline_binary"]),
            baseline_frequency=float(p["baseline_frequency"]),
            baseline_mean_p1=float(p["baseline_mean_p1"]),
        )
    return out


def provider_codes(selection: str = "all") -> list[str]:
    """``all``, ``CRC``, ``NPS`` or a comma-separated list of codes, validated against the reference."""
    known = providers()
    sel = selection.strip()
    if sel.lower() == "all":
        return list(known)
    if sel.upper() in {"CRC", "NPS"}:
        return [c for c, p in known.items() if p.type == sel.upper()]
    codes = [c.strip().upper() for c in sel.split(",") if c.strip()]
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"unknown provider code(s) {', '.join(unknown)}; known codes are C01-C21 and N01-N07")
    return [c for c in known if c in codes]
