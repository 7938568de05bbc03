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


def test_resubmission_dates_every_late_deadline_event_on_its_due_day_and_changes_nothing_else():
    honest, gamed = _honest_and_gamed("resubmission")
    events = {"first_appointment_date", "sentence_plan_date", "upw_arranged_date"}
    changed = {c for c in honest["cases"].columns if not honest["cases"][c].equals(gamed["cases"][c], check_names=True)}
    assert changed and changed <= events  # only deadline dates move
    assert honest["breaches"].drop("referral_date").equals(gamed["breaches"].drop("referral_date"))
    cases = honest["cases"].with_columns(
        due=pl.when(pl.col("sentence_type").is_in(["CO", "SSO"]))
        .then(deadline("start_date", 5))
        .otherwise(deadline("start_date", 1)),
        now=gamed["cases"]["first_appointment_date"],
    )
    in_q = pl.col("due").is_between(Q.first_day, Q.last_day) & pl.col("first_appointment_date").is_between(
        Q.first_day, Q.last_day
    )
    late = cases.filter(in_q & (pl.col("first_appointment_date") > pl.col("due")))
    assert late.height > 0 and (late["now"] == late["due"]).all()  # late work now reads as on the due day
    kept = cases.filter(pl.col("first_appointment_date") <= pl.col("due"))
    assert (kept["now"] == kept["first_appointment_date"]).all()  # work in time is left as it was
    refs = gamed["breaches"].with_columns(due=deadline("awareness_date", 8), was=honest["breaches"]["referral_date"])
    moved = refs.filter(pl.col("referral_date") != pl.col("was"))
    assert moved.height > 0 and (moved["referral_date"] == moved["due"]).all() and (moved["was"] > moved["due"]).all()


def test_returns_generate_resubmission_writes_a_second_version_that_validates_after_the_first(tmp_path: Path):
    out = tmp_path / "g"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(out), "--quarters", str(Q), "--providers", "C05,C06", "--scale", "0.05"]
        + ["--seed", "3", "--gaming", "C05:resubmission"],
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"its second version is in {out / 'resubmissions'}: receive {out} first, then that folder" in said
    first = sorted((out / "C05").glob("*.csv"))
    second = sorted((out / "resubmissions" / "C05").glob("*.csv"))
    assert [p.name for p in first] == [p.name for p in second] and not (out / "resubmissions" / "C06").exists()
    assert all(b.stat().st_mtime > a.stat().st_mtime for a, b in zip(first, second, strict=True))  # sent later
    assert first[1].read_bytes() != second[1].read_bytes()  # the cases moved
    assert validate_files(second, "C05", str(Q)).outcome == "Accepted"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["gaming"] == {
        "C05": {"profile": "resubmission", "since": str(Q), "second_version": "resubmissions"}
    }


def test_reoffending_focus_leaves_the_return_alone_and_changes_who_reoffends_and_how_often():
    from probation_returns.calendar import add_months
    from probation_returns.generator.gaming import offences
    from probation_returns.generator.population import offences_for
    from probation_returns.reoffending import cohort, proven_reoffences

    honest, gamed = _honest_and_gamed("reoffending_focus", code="C11")
    assert all(gamed[t].equals(honest[t]) for t in honest)
    people = cohort(honest["cases"], Q)
    as_of = add_months(Q.last_day, 18)
    before = proven_reoffences(people, offences_for(3, "C11", [Q], 0.05), as_of)
    after = proven_reoffences(people, offences(Gaming("reoffending_focus"), 3, "C11", [Q], 0.05), as_of)

    def rates(frame):
        reoffenders = int((frame["reoffences"] > 0).sum())
        return reoffenders / frame.height, frame["reoffences"].sum() / reoffenders

    (b0, f0), (b1, f1) = rates(before), rates(after)
    assert b1 < b0 - 0.05 and f1 > f0 * 1.2
