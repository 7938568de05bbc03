"""The generator's gaming profiles: each records a provider's return the way its profile says, on the measures'
own due days, and the return still passes validation; an honest provider is left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import app
from probation_returns.calendar import Quarter
from probation_returns.generator.dataset import generate
from probation_returns.generator.gaming import OGRS_INFLATION, Gaming, game, parse
from probation_returns.generator.quarter import provider_return
from probation_returns.measures.service_levels import deadline
from probation_returns.validation.checking import validate_files

Q = Quarter.parse("2016Q2")


def _honest_and_gamed(profile: str, code: str = "C05", since: Quarter | None = None):
    honest = provider_return(3, code, Q, 0.05)
    return honest, game(Gaming(profile, since), honest, Q)


def test_due_day_appointments_puts_every_first_appointment_made_in_time_on_its_due_day():
    honest, gamed = _honest_and_gamed("due_day_appointments")
    due = (
        pl.when(pl.col("sentence_type").is_in(["CO", "SSO"]))
        .then(deadline("start_date", 5))
        .otherwise(deadline("start_date", 1))
    )
    both = (
        honest["cases"]
        .select("case_ref", "first_appointment_date", due.alias("due"))
        .join(gamed["cases"].select("case_ref", gamed_date="first_appointment_date"), on="case_ref")
    )
    in_quarter = pl.col("first_appointment_date").is_between(Q.first_day, Q.last_day) & pl.col("due").is_between(
        Q.first_day, Q.last_day
    )
    early = both.filter(in_quarter & (pl.col("first_appointment_date") < pl.col("due")))
    late = both.filter(pl.col("first_appointment_date") > pl.col("due"))
    assert early.height > 50 and late.height > 0
    assert (early["gamed_date"] == early["due"]).all()  # moved onto the due day, which still counts as met
    assert (late["gamed_date"] == late["first_appointment_date"]).all()  # a late appointment cannot be hidden
    # the first appointment's own contact moved with it
    firsts = gamed["contacts"].filter(pl.col("contact_type") == "F2F").select("case_ref", "contact_date")
    assert early.join(firsts, left_on=["case_ref", "gamed_date"], right_on=["case_ref", "contact_date"]).height == (
        early.height
    )


def test_due_day_referrals_dates_referrals_made_in_time_on_the_eighth_business_day():
    honest, gamed = _honest_and_gamed("due_day_referrals")
    both = honest["breaches"].with_columns(due=deadline("awareness_date", 8), gamed=gamed["breaches"]["referral_date"])
    moved = both.filter(
        (pl.col("referral_date") < pl.col("due")) & (pl.col("referral_date").dt.quarter() == pl.col("due").dt.quarter())
    )
    assert moved.height > 5 and (moved["gamed"] == moved["due"]).all()
    kept = both.filter(pl.col("referral_date") >= pl.col("due"))
    assert (kept["gamed"] == kept["referral_date"]).all()


def test_transfers_recodes_failed_community_orders_and_nothing_else():
    honest, gamed = _honest_and_gamed("transfers")
    was = honest["cases"]["termination_reason"]
    now = gamed["cases"]["termination_reason"]
    community = honest["cases"]["sentence_type"].is_in(["CO", "SSO"])
    failed = community & was.is_in(["FAILURE_TO_COMPLY", "FURTHER_OFFENCE"])
    assert failed.sum() > 0
    assert (now.filter(failed) == "TRANSFERRED_NPS").all()
    assert now.filter(~failed).equals(was.filter(~failed))


def test_phone_parking_moves_only_low_risk_cases_after_three_months_to_the_phone():
    honest, gamed = _honest_and_gamed("phone_parking")
    risk = honest["cases"].select("case_ref", "rosh_level")
    by_band = {
        name: t["contacts"]
        .join(risk, on="case_ref")
        .group_by("rosh_level")
        .agg((pl.col("contact_type") == "PHONE").mean())
        for name, t in (("honest", honest), ("gamed", gamed))
    }
    share = {k: dict(v.iter_rows()) for k, v in by_band.items()}
    assert share["honest"]["L"] < 0.2 and share["gamed"]["L"] > 0.5
    assert share["gamed"]["M"] == share["honest"]["M"]


def test_ogrs_inflation_raises_new_cases_scores_from_its_quarter_only():
    honest, gamed = _honest_and_gamed("ogrs_inflation", since=Q)
    new = honest["cases"]["start_date"] >= Q.first_day
    assert (gamed["cases"]["ogrs3_2yr"].filter(~new) == honest["cases"]["ogrs3_2yr"].filter(~new)).all()
    expected = (honest["cases"]["ogrs3_2yr"].filter(new) + OGRS_INFLATION).clip(upper_bound=99)
    assert (gamed["cases"]["ogrs3_2yr"].filter(new) == expected).all()


def test_a_profile_from_a_later_quarter_leaves_earlier_returns_alone():
    honest, gamed = _honest_and_gamed("transfers", since=Q + 1)
    assert all(gamed[t].equals(honest[t]) for t in honest)


@pytest.mark.parametrize("profile", ["due_day_appointments", "due_day_referrals", "transfers", "ogrs_inflation"])
def test_a_gamed_return_passes_validation_as_the_honest_one_does(tmp_path, profile):
    generate(tmp_path, [Q], ["C05"], scale=0.05, seed=3, gaming={"C05": Gaming(profile)})
    result = validate_files(sorted((tmp_path / "C05").glob("*.csv")), "C05", str(Q))
    assert result.outcome == "Accepted"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["gaming"] == {"C05": {"profile": profile, "since": "2016Q2"}}


def test_parse_reads_provider_profile_and_quarter_and_refuses_the_rest():
    assert parse(["c05:transfers", "N02:due_day_referrals:2016Q1"]) == {
        "C05": Gaming("transfers"),
        "N02": Gaming("due_day_referrals", Quarter.parse("2016Q1")),
    }
    for bad, words in (
        (["C05"], "PROVIDER:profile"),
        (["C99:transfers"], "C99 is not a provider code"),
        (["C05:cheating"], "unknown gaming profile 'cheating'"),
        (["C05:transfers", "C05:phone_parking"], "already has a profile"),
    ):
        with pytest.raises(ValueError, match=words):
            parse(bad)


def test_returns_generate_gaming_says_which_provider_games_and_how(tmp_path: Path):
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(tmp_path / "g"), "--quarters", "2016Q2", "--providers", "C05,C06", "--scale", "0.02"]
        + ["--gaming", "C05:due_day_referrals"],
    )
    assert result.exit_code == 0, result.output
    assert "C05 games its measures from 2016Q2: breach referrals dated on the last allowed business day (AE)" in (
        " ".join(result.output.split())
    )
    refused = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path / "h"), "--providers", "C05", "--gaming", "C06:transfers"]
    )
    assert refused.exit_code != 0 and "C06, not among the providers generated" in refused.output
