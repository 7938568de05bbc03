"""Contract parameters are versioned data, checked when loaded."""

from decimal import Decimal

import pytest

from probation_returns import parameters
from probation_returns.calendar import Quarter


def test_every_quarter_of_the_contracts_has_parameters():
    for year in range(2015, 2021):
        for n in (1, 2, 3, 4):
            p = parameters.for_quarter(Quarter(year, n))
            assert set(p.providers) >= {"C01", "N07"} and len(p.providers) == 28
    p = parameters.for_quarter("2017Q3")
    assert p.version == "2017-18.1" and parameters.contract_year(Quarter(2018, 1)) == "2017-18"
    assert p.providers["C01"].quarterly_fee_gbp == Decimal("4650000.00")
    assert p.providers["C01"].baseline_binary == 0.5517  # Northumbria's published 2011 baseline
    assert p.targets["SL006R"] == 90.0 and p.credit_cap_per_quarter == Decimal("0.1")


def _write(tmp_path, change):
    text = (parameters.parameters_dir() / "contract_year_2017-18.toml").read_text()
    path = tmp_path / "contract_year_2017-18.toml"
    path.write_text(change(text))
    return path


def test_a_missing_provider_is_named(tmp_path):
    path = _write(tmp_path, lambda t: t.replace("[providers.C07]", "[notproviders.C07]"))
    with pytest.raises(parameters.ParameterError, match=r"contract_year_2017-18.toml: providers.C07 is missing"):
        parameters.load(path)


def test_a_rate_outside_0_to_1_is_named(tmp_path):
    path = _write(tmp_path, lambda t: t.replace("cap_per_quarter = 0.10", "cap_per_quarter = 10"))
    with pytest.raises(parameters.ParameterError, match=r"credits.cap_per_quarter is 10; it must be between 0 and 1"):
        parameters.load(path)


def test_a_bad_fee_is_named(tmp_path):
    path = _write(tmp_path, lambda t: t.replace('quarterly_fee_gbp = "4650000.00"', 'quarterly_fee_gbp = "lots"'))
    with pytest.raises(parameters.ParameterError, match=r"providers.C01.quarterly_fee_gbp is 'lots'"):
        parameters.load(path)


def test_a_quarter_without_a_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RETURNS_PARAMETERS_DIR", str(tmp_path))
    with pytest.raises(parameters.ParameterError, match="contract year 2017-18"):
        parameters.for_quarter("2017Q3")
