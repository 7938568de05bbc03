"""A quarter end to end: generated returns and extract in, service levels, reoffending and payments out."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from cli.main import app


def test_returns_run_writes_the_quarters_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(
        app, ["generate", "--out", "landing", "--quarters", "2017Q3", "--providers", "C05,N02", "--scale", "0.1"]
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        app,
        [
            "run",
            "--landing",
            "landing",
            "--quarter",
            "2017Q3",
            "--out",
            "out",
            "--extract",
            "landing/reoffending_2019-03-31.csv",
        ],
    )
    assert result.exit_code == 0, result.output
    levels = pl.read_csv(tmp_path / "out" / "service_levels.csv", infer_schema=False)
    c05_all = levels.filter(pl.col("provider_code") == "C05")
    assert c05_all["measure"].to_list() == [
        "SL001R",
        "SL002R",
        "SL003",
        "SL006R",
        "SL016",
        "AE",
        "AK",
        "successful_completion",
        "face_to_face_share",
        "high_risk_not_referred",
    ]
    assert set(c05_all.filter(pl.col("target").is_null())["status"]) == {"reported"}  # no target, no credit
    c05 = c05_all.filter(pl.col("status") != "reported")
    assert set(c05["status"]) <= {"met", "missed", "insufficient volume"}
    numbers = c05.select(pl.col("numerator").cast(pl.Int64), pl.col("denominator").cast(pl.Int64))
    assert (numbers["numerator"] <= numbers["denominator"]).all() and (numbers["denominator"] > 0).all()
    assert levels.filter(pl.col("provider_code") == "C01")["status"].unique().to_list() == ["no valid return"]

    reoffending = pl.read_csv(tmp_path / "out" / "reoffending.csv", infer_schema=False)
    codes = reoffending["provider_code"].to_list()
    assert len(codes) == 28 + 3 and codes[-3:] == ["CRC", "NPS", "ALL"]  # every provider, then the totals
    results = dict(zip(codes, reoffending["result"].to_list()))
    assert (results["C05"], results["N02"], results["C01"]) == ("final", "final", "no valid return")
    assert set(reoffending["result"].drop_nulls()) == {"final", "no valid return"}
    n02 = reoffending.filter(pl.col("provider_code") == "N02").row(0, named=True)
    assert n02["outcome_payment_gbp"] is None and n02["outcome_payment_gbp_marker"] == "[z]"  # NPS: never paid
    assert 0.2 < float(n02["binary_rate"]) < 0.45

    payments = pl.read_csv(tmp_path / "out" / "payments.csv", infer_schema=False)
    assert payments.height == 28
    c01 = payments.filter(pl.col("provider_code") == "C01").row(0, named=True)
    # No valid return: 7 measures at 0% -> capped at 10% of the 4,650,000.00 fee.
    assert (c01["service_credits_gbp"], c01["net_gbp"]) == ("465000.00", "4185000.00")
    for path in ("service_levels.csv", "reoffending.csv", "payments.csv"):
        text = (tmp_path / "out" / path).read_text()
        assert "pnc" not in text.lower() and "'" not in text  # no identifiers; plain numbers, not neutralised text


def test_credit_decisions_are_a_trail_and_show_in_the_outputs(tmp_path, monkeypatch):
    from sqlalchemy import select

    from probation_returns.warehouse.db import engine_for, session_scope
    from probation_returns.warehouse.models import Credit, CreditDecision

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(
        app, ["generate", "--out", "landing", "--quarters", "2017Q3", "--providers", "C05", "--scale", "0.05"]
    )
    assert runner.invoke(app, ["run", "--landing", "landing", "--quarter", "2017Q3", "--out", "out"]).exit_code == 0
    # C01 sent nothing: every measure has a credit. Waive one, then change our mind.
    args = ["credits", "decide", "--quarter", "2017Q3", "--provider", "C01", "--measure", "AK"]
    first = runner.invoke(
        app, args + ["--decision", "waived", "--reason", "system outage agreed", "--by", "J Smith (CM)"]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, args + ["--decision", "reinvested", "--reason", "reinvested in AK training", "--by", "J Smith (CM)"]
    )
    assert second.exit_code == 0
    bad = runner.invoke(app, args + ["--decision", "forgiven", "--reason", "x", "--by", "y"])
    assert bad.exit_code == 2 and "one of applied, waived, reinvested" in bad.output
    listing = runner.invoke(app, ["credits", "list", "--quarter", "2017Q3", "--provider", "C01"])
    assert "reinvested" in listing.output and "66,428.58" in listing.output

    # Rebuilding keeps the unchanged credit (and its decisions) and shows the latest decision.
    assert runner.invoke(app, ["run", "--landing", "landing", "--quarter", "2017Q3", "--out", "out"]).exit_code == 0
    levels = pl.read_csv(tmp_path / "out" / "service_levels.csv", infer_schema=False)
    ak = levels.filter((pl.col("provider_code") == "C01") & (pl.col("measure") == "AK")).row(0, named=True)
    assert (ak["credit_gbp"], ak["credit_decision"]) == ("66428.57", "reinvested")  # 465,000 / 7, pennies shared
    # A reinvested credit is shown but not deducted: 4,650,000.00 - (465,000.00 - 66,428.57).
    c01 = pl.read_csv(tmp_path / "out" / "payments.csv", infer_schema=False).filter(pl.col("provider_code") == "C01")
    assert c01.select("service_credits_gbp", "credits_reinvested_gbp", "credits_applied_gbp", "net_gbp").row(0) == (
        "465000.00",
        "66428.57",
        "398571.43",
        "4251428.57",
    )
    with session_scope(engine_for(f"sqlite:///{tmp_path / 'default.db'}")) as session:
        credits = session.scalars(select(Credit).where(Credit.provider_code == "C01", Credit.measure == "AK")).all()
        assert len(credits) == 1 and credits[0].replaced_at is None
        trail = session.scalars(select(CreditDecision).order_by(CreditDecision.id)).all()
        assert [(d.decision, d.reason) for d in trail] == [
            ("waived", "system outage agreed"),
            ("reinvested", "reinvested in AK training"),
        ]
