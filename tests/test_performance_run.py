"""A quarter end to end: generated returns and extract in, service levels, reoffending and payments out."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from probation_returns.cli import app


def test_returns_run_writes_the_quarters_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(app, ["generate", "--out", "landing", "--quarters", "2017Q3", "--providers", "C05,N02",
                               "--scale", "0.1"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["run", "--landing", "landing", "--quarter", "2017Q3", "--out", "out",
                                 "--extract", "landing/reoffending_2019-03-31.csv"])
    assert result.exit_code == 0, result.output
    levels = pl.read_csv(tmp_path / "out" / "service_levels.csv", infer_schema=False)
    c05 = levels.filter(pl.col("provider_code") == "C05")
    assert c05["measure"].to_list() == ["SL001R", "SL002R", "SL003", "SL006R", "SL016", "AE", "AK"]
    assert set(c05["status"]) <= {"met", "missed", "insufficient volume"}
    numbers = c05.select(pl.col("numerator").cast(pl.Int64), pl.col("denominator").cast(pl.Int64))
    assert (numbers["numerator"] <= numbers["denominator"]).all() and (numbers["denominator"] > 0).all()
    assert levels.filter(pl.col("provider_code") == "C01")["status"].unique().to_list() == ["no valid return"]

    reoffending = pl.read_csv(tmp_path / "out" / "reoffending.csv", infer_schema=False)
    assert set(reoffending["provider_code"]) == {"C05", "N02"} and set(reoffending["result"]) == {"final"}
    n02 = reoffending.filter(pl.col("provider_code") == "N02").row(0, named=True)
    assert n02["outcome_payment_gbp"] == "0.00"  # NPS divisions are never paid
    assert 0.2 < float(n02["binary_rate"]) < 0.45

    payments = pl.read_csv(tmp_path / "out" / "payments.csv", infer_schema=False)
    assert payments.height == 28
    c01 = payments.filter(pl.col("provider_code") == "C01").row(0, named=True)
    # No valid return: 7 measures at 0% -> capped at 10% of the 4,650,000.00 fee.
    assert (c01["service_credits_gbp"], c01["net_gbp"]) == ("465000.00", "4185000.00")
    for path in ("service_levels.csv", "reoffending.csv", "payments.csv"):
        text = (tmp_path / "out" / path).read_text()
        assert "pnc" not in text.lower() and "'" not in text  # no identifiers; plain numbers, not neutralised text
