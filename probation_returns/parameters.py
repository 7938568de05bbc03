"""Contract parameters: versioned data in ``parameters/``, one file per contract year (April to March).

Every figure the service computes records the ``version`` of the file it used. Loading checks the
file thoroughly; a problem is a ``ParameterError`` naming the file, the field and what is wrong.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from probation_returns.calendar import Quarter
from probation_returns.reference import providers

FIRST_QUARTER = Quarter(2015, 1)  # the Transforming Rehabilitation contracts began in February 2015

MEASURES = ("SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK")


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class ProviderTerms:
    quarterly_fee_gbp: Decimal
    baseline_binary: float
    baseline_frequency: float
    baseline_mean_p1: float


@dataclass(frozen=True)
class ContractParameters:
    version: str
    contract_year: str
    rejection_tolerance: float
    deadline_business_days: int
    minimum_volume: int
    targets: dict[str, float]  # percent
    credit_rate_per_point: Decimal
    credit_cap_per_measure: Decimal
    credit_cap_per_quarter: Decimal
    price_binary_gbp: Decimal
    price_frequency_gbp: Decimal
    significance_z: float
    deduction_cap: Decimal
    providers: dict[str, ProviderTerms]
    path: Path


def parameters_dir() -> Path:
    """``RETURNS_PARAMETERS_DIR``, or the ``parameters/`` folder of this checkout."""
    return Path(os.environ.get("RETURNS_PARAMETERS_DIR") or Path(__file__).resolve().parent.parent / "parameters")


def last_quarter() -> Quarter:
    """The last quarter any contract terms exist for (the contracts ran 2015Q1 to 2021Q1)."""
    years = sorted(p.stem.removeprefix("contract_year_") for p in parameters_dir().glob("contract_year_*.toml"))
    if not years:
        raise ParameterError(f"no contract_year_*.toml in {parameters_dir()}")
    return Quarter(int(years[-1][:4]) + 1, 1)  # a contract year runs April to March


def contract_year(quarter: Quarter) -> str:
    start = quarter.year if quarter.number >= 2 else quarter.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def for_quarter(quarter: Quarter | str) -> ContractParameters:
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    path = parameters_dir() / f"contract_year_{contract_year(q)}.toml"
    if not path.exists():
        raise ParameterError(
            f"no contract parameters for {q}: {path} does not exist; add the file for contract year {contract_year(q)}"
        )
    return load(path)


@lru_cache(maxsize=32)
def load(path: Path) -> ContractParameters:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path}: cannot be read ({exc})") from exc
    field = _Fields(path, data)
    terms = {}
    table = data.get("providers", {})
    for code in providers():
        if code not in table:
            raise ParameterError(f"{path}: providers.{code} is missing; every one of the 28 providers needs its terms")
        terms[code] = ProviderTerms(
            quarterly_fee_gbp=field.money(f"providers.{code}.quarterly_fee_gbp"),
            baseline_binary=field.number(f"providers.{code}.baseline_binary", 0, 1),
            baseline_frequency=field.number(f"providers.{code}.baseline_frequency", 0, 100),
            baseline_mean_p1=field.number(f"providers.{code}.baseline_mean_p1", 0, 1),
        )
    unknown = sorted(set(table) - set(providers()))
    if unknown:
        raise ParameterError(f"{path}: providers {', '.join(unknown)} are not known providers")
    return ContractParameters(
        version=field.text("version"),
        contract_year=field.text("contract_year"),
        rejection_tolerance=field.number("validation.rejection_tolerance", 0, 1),
        deadline_business_days=int(field.number("submission.deadline_business_days", 0, 100)),
        minimum_volume=int(field.number("service_levels.minimum_volume", 0, 10_000)),
        targets={m: field.number(f"service_levels.targets.{m}", 0, 100) for m in MEASURES},
        credit_rate_per_point=field.rate("credits.rate_per_point"),
        credit_cap_per_measure=field.rate("credits.cap_per_measure"),
        credit_cap_per_quarter=field.rate("credits.cap_per_quarter"),
        price_binary_gbp=field.money("reoffending.price_binary_gbp"),
        price_frequency_gbp=field.money("reoffending.price_frequency_gbp"),
        significance_z=field.number("reoffending.significance_z", 0, 10),
        deduction_cap=field.rate("reoffending.deduction_cap"),
        providers=terms,
        path=path,
    )


class _Fields:
    def __init__(self, path: Path, data: dict):
        self.path, self.data = path, data

    def _get(self, dotted: str):
        node = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ParameterError(f"{self.path}: {dotted} is missing")
            node = node[part]
        return node

    def text(self, dotted: str) -> str:
        value = self._get(dotted)
        if not isinstance(value, str) or not value:
            raise ParameterError(f"{self.path}: {dotted} must be non-empty text")
        return value

    def number(self, dotted: str, lo: float, hi: float) -> float:
        value = self._get(dotted)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{self.path}: {dotted} is {value!r}; it must be a number")
        if not lo <= value <= hi:
            raise ParameterError(f"{self.path}: {dotted} is {value}; it must be between {lo} and {hi}")
        return float(value)

    def rate(self, dotted: str) -> Decimal:
        return Decimal(str(self.number(dotted, 0, 1)))

    def money(self, dotted: str) -> Decimal:
        value = self._get(dotted)
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise ParameterError(
                f'{self.path}: {dotted} is {value!r}; it must be an amount such as "4650000.00"'
            ) from exc
        if not amount.is_finite() or amount < 0:
            raise ParameterError(f"{self.path}: {dotted} is {value}; it must be zero or more")
        return amount
