"""The public rule catalogue: it lists exactly the rules that run, each with its notes; each rule's failing example
breaks it and its passing example passes (run through the real validation); the pages, downloads and the command
line show it to anyone; and every finding on a feedback page links to its rule's page."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from markupsafe import escape

from probation_returns.calendar import Quarter
from probation_returns.credibility.figures import tallies
from probation_returns.spec import RULES_BY_ID, TABLES
from probation_returns.validation import rule_catalogue
from probation_returns.validation.cascade import CASCADE
from probation_returns.validation.checking import typed_records, validate_files
from probation_returns.validation.result import RULES_REVISIONS, RULES_VERSION
from tests.support.returns import write_csvs

CATALOGUE = rule_catalogue.catalogue()
IDS = sorted(r.rule_id for r in CATALOGUE)


# ---------------------------------------------------------------------------------------------- the list is what runs


def test_the_catalogue_lists_every_rule_that_runs_and_no_other():
    from expectations.catalogue import CASE_LIST_RULES, HISTORY_RULES, RECORD_RULES, RETURN_RULES
    from probation_returns.validation.engine import expectations

    suites = {e.rule_id for table in TABLES for e in expectations(table)}
    python = {r.rule_id for r in (*RECORD_RULES, *RETURN_RULES, *CASE_LIST_RULES, *HISTORY_RULES)}
    files = {r for r in RULES_BY_ID if r.startswith("FIL-")}
    assert set(IDS) == suites | python | files | {CASCADE}
    assert set(IDS) == set(RULES_BY_ID) | {CASCADE}  # and the specification's table as this service keeps it
    assert len(IDS) == len(CATALOGUE)


def test_every_file_rule_in_the_catalogue_is_raised_by_the_reader_or_the_service():
    source = "".join(
        (Path(__file__).parents[1] / "probation_returns" / "validation" / name).read_text(encoding="utf-8")
        for name in ("reader.py", "checking.py", "service.py")
    )
    for rule_id in (r for r in IDS if r.startswith("FIL-")):
        assert f'"{rule_id}"' in source, rule_id


def test_every_rule_that_runs_has_notes_and_no_note_is_for_a_rule_that_does_not_run():
    notes = rule_catalogue.notes()["rules"]
    assert set(notes) == rule_catalogue.running_rule_ids()
    for rule_id, note in notes.items():
        assert note["why"].strip() and note["entered"] in ("spec-1", "service"), rule_id
        assert "fail" in note and "pass" in note, rule_id
        for change in note["changes"]:
            assert set(change) == {"on", "what"}, rule_id


def test_severities_agree_with_the_specification_and_are_in_words():
    for r in CATALOGUE:
        assert r.severity == (RULES_BY_ID[r.rule_id].severity if r.rule_id in RULES_BY_ID else "E"), r.rule_id
        assert r.severity_words == {"F": "fatal", "E": "error", "W": "warning"}[r.severity]


def test_rules_added_by_the_service_say_so_and_when():
    service = {r.rule_id: r for r in CATALOGUE if r.entered == "service"}
    assert set(service) == {"FIL-007", "FIL-008", "RET-003", "RET-004"}  # the four the specification's table lacks
    assert service["RET-003"].entered_words.startswith(
        "Added by this service on 2026-12-06 (rules version spec-1.2), after specification version 1. "
        "Specification version 1 does not have it"
    )
    assert all(
        r.entered_words.startswith("Specification version 1 (rules version spec-1).")
        for r in CATALOGUE
        if r.entered == "spec-1"
    )


def test_the_checks_that_run_are_read_from_the_suites_and_the_catalogue():
    rules = rule_catalogue.by_id()
    assert "sentence_type is not one of: CO, SSO, LIC, PSS" in rules["CAS-005"].checks_that_run
    assert "pnc_id has the wrong check letter" in rules["CAS-003"].checks_that_run
    assert "termination_date is before the first day of the quarter" in rules["CAS-007"].checks_that_run
    assert "a file is over 200 MB" in rules["FIL-001"].checks_that_run
    assert rules["CAS-004"].action.endswith("so the whole return is rejected.")


# ---------------------------------------------------------------------------------------------- the examples are true


def _return_for(example: rule_catalogue.Example, folder: Path) -> tuple[list[Path], dict]:
    """The example return (one row per table, from the notes) with the example's changes, as CSV files."""
    spec, base = example.spec, rule_catalogue.example_return()
    provider, quarter = base["provider"], base["quarter"]
    rows = {t: [dict(base["rows"][t])] for t in TABLES}
    if example.table:
        rows[example.table][0].update(spec.get("row", {}))
        rows[example.table] += [{**base["rows"][example.table], **extra} for extra in spec.get("also", [])]
    for other, values in spec.get("context", {}).items():
        rows[other][0].update(values)
    for t in spec.get("empty", []):
        rows[t] = []
    tables = {t: [[r[c] for c in TABLES[t]] for r in rows[t]] for t in TABLES}
    files = {p.name.split("_")[-1].removesuffix(".csv"): p for p in write_csvs(folder, tables, provider, quarter)}
    for t, cols in spec.get("drop_columns", {}).items():
        pl.read_csv(files[t], infer_schema=False).drop(cols).write_csv(files[t])
    for t, cols in spec.get("add_columns", {}).items():
        pl.read_csv(files[t], infer_schema=False).with_columns(pl.lit(v).alias(c) for c, v in cols.items()).write_csv(
            files[t]
        )
    for t, encoding in spec.get("encoding", {}).items():
        files[t].write_bytes(files[t].read_text(encoding="utf-8").encode(encoding))
    for t in spec.get("omit", []):
        files.pop(t).unlink()
    for t, name in spec.get("names", {}).items():
        files[t] = files[t].rename(folder / name)
    paths = list(files.values())
    for name in spec.get("extra_files", []):
        (folder / name).write_text("note\r\nchecked by the team leader\r\n", encoding="utf-8")
        paths.append(folder / name)
    kwargs = {k: spec[k] for k in ("previous_cases", "previous_active") if k in spec}
    if "previous_quarters" in spec:
        kwargs["previous_figures"] = _previous_figures(base, Quarter.parse(quarter), spec["previous_quarters"])
    return paths, {"provider": provider, "quarter": quarter, **kwargs}


def _previous_figures(base: dict, quarter: Quarter, copies: list[int]) -> dict:
    """The figures of the provider's earlier accepted returns of an example: each ``n`` copies of the example case,
    each with its contact and breach (references made distinct), the quarter before first."""
    out = {}
    for k, n in enumerate(copies, start=1):
        refs = {"case_ref": [f"P{k}{i:05d}" for i in range(n)], "breach_ref": [f"PB{k}{i:05d}" for i in range(n)]}
        tables = {
            t: pl.DataFrame({c: refs[c] if c in refs else [base["rows"][t][c]] * n for c in TABLES[t]}) for t in TABLES
        }
        out[quarter - k] = tallies(quarter - k, typed_records(tables))
    return out


def _run(example, folder):
    paths, how = _return_for(example, folder)
    provider, quarter = how.pop("provider"), how.pop("quarter")
    return validate_files(paths, provider, quarter, **how)


def test_the_example_return_breaks_no_rule(tmp_path):
    empty = rule_catalogue.Example("cases", {}, [], {})
    result = _run(empty, tmp_path)
    assert result.findings.height == 0, result.findings.to_dicts()
    assert result.outcome == "Accepted"


@pytest.mark.parametrize("rule_id", IDS)
def test_each_rules_failing_example_breaks_it_and_its_passing_example_breaks_nothing(tmp_path, rule_id):
    rule = rule_catalogue.by_id()[rule_id]
    failed = _run(rule.failing, tmp_path / "fail")
    fired = failed.findings.filter(pl.col("rule_id") == rule_id)
    assert fired.height >= 1, (rule_id, failed.findings.to_dicts())
    assert set(fired["severity"]) == {rule.severity}
    if rule.failing.table and rule.group not in ("file", "return"):
        mine = fired.filter(pl.col("table") == rule.failing.table)
        assert 2 in mine["row_number"].to_list(), fired.to_dicts()  # the example row: its table's first record row
    passed = _run(rule.passing, tmp_path / "pass")
    assert passed.findings.height == 0, (rule_id, passed.findings.to_dicts())
    assert passed.outcome == "Accepted"


# ---------------------------------------------------------------------------------------------- the downloads' contents


def test_the_csv_has_one_row_per_rule_with_its_words_and_no_formula():
    rows = list(csv.DictReader(io.StringIO(rule_catalogue.as_csv())))
    assert [r["rule_id"] for r in rows] == [r.rule_id for r in CATALOGUE]
    assert list(rows[0]) == rule_catalogue.CSV_COLUMNS
    cas005 = next(r for r in rows if r["rule_id"] == "CAS-005")
    assert cas005["severity"] == "E" and cas005["severity_words"] == "error"
    assert cas005["failing_example"] == "the cases row with sentence_type XX"
    assert cas005["passing_example"] == "the cases row with sentence_type CO"
    assert cas005["entered"] == "spec-1"
    assert next(r for r in rows if r["rule_id"] == "RET-003")["entered"] == "service"
    assert not any(v[:1] in "=+-@" for r in rows for v in r.values() if v)


def test_a_cell_that_would_be_a_formula_is_neutralised(monkeypatch):
    real = rule_catalogue.rows
    monkeypatch.setattr(rule_catalogue, "rows", lambda: [{**real()[0], "why_it_matters": "=HYPERLINK(1)"}])
    row = next(csv.DictReader(io.StringIO(rule_catalogue.as_csv())))
    assert row["why_it_matters"] == "'=HYPERLINK(1)"


def test_the_json_holds_every_rule_with_its_examples_and_history():
    document = json.loads(rule_catalogue.as_json())
    assert document["rules_version"] == "spec-1.2"
    assert [r["version"] for r in document["revisions"]] == ["spec-1", "spec-1.1", "spec-1.2"]
    assert document["example_return"]["provider"] == "C05"
    rules = {r["rule_id"]: r for r in document["rules"]}
    assert sorted(rules) == IDS
    con004 = rules["CON-004"]
    assert con004["severity_words"] == "error"
    assert con004["failing_example"]["row"] == {
        "contact_date": "2017-07-05",
        "outcome": "FAILED_TO_ATTEND",
        "followup_date": "2017-07-04",
    }
    assert con004["changes"][0]["on"] == "2026-12-06"
    assert rules["RET-003"]["entered"]["version"] == "service"


# ---------------------------------------------------------------------------------------------- the portal's pages


@pytest.fixture
def portal(tmp_path, database_url):
    from tests.support.portal_fixtures import seed

    seeded = seed(tmp_path, database_url)
    yield seeded
    seeded.engine.dispose()


def test_every_rule_page_the_list_and_the_downloads_open_without_signing_in(portal):
    client = portal.app.test_client()
    listing = client.get("/rules")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "Validation rules" in page and "Content-Security-Policy" in listing.headers
    for r in CATALOGUE:
        assert f'href="/rules/{r.rule_id}"' in page, r.rule_id
        response = client.get(f"/rules/{r.rule_id}")
        assert response.status_code == 200, r.rule_id
        text = response.get_data(as_text=True)
        assert f"Rule {r.rule_id}</h1>" in text
        for words in (r.severity_meaning, r.action, r.why, r.entered_words, *r.failing.words, *r.passing.words):
            assert str(escape(words)) in text, (r.rule_id, words)
    assert client.get("/rules/CAS-999").status_code == 404
    assert client.get("/rules/cas-005").status_code == 404  # ids are exact, as in the feedback
    csv_response = client.get("/rules.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert csv_response.headers["Content-Disposition"] == 'attachment; filename="rules_spec-1.2.csv"'
    assert csv_response.get_data(as_text=True) == rule_catalogue.as_csv()
    json_response = client.get("/rules.json")
    assert json_response.status_code == 200 and json_response.mimetype == "application/json"
    assert [r["rule_id"] for r in json_response.get_json()["rules"]] == [r.rule_id for r in CATALOGUE]
    assert client.get("/returns").status_code == 302  # the rest of the portal still needs signing in
    portal.app.config["RETURNS_PUBLIC_LIMIT"] = "1 per minute"  # an address that asks too often is slowed
    assert [client.get("/rules/CAS-001").status_code for _ in range(2)] == [200, 429]


def test_every_rule_link_on_a_rejected_returns_feedback_page_opens_its_rule(portal):
    from tests.support.portal_fixtures import sign_in

    client = portal.app.test_client()
    sign_in(client, "other_provider")  # C05, whose return was rejected (a sentence type of XX)
    page = client.get(f"/submissions/{portal.other_submission}").get_data(as_text=True)
    links = re.findall(r'href="(/rules/[^"#?]+)"', page)
    assert {"/rules/CAS-005", "/rules/CASCADE"} <= set(links)
    assert len(links) >= 4  # each rule broken, and the rule of each finding shown
    for link in sorted(set(links)):
        assert client.get(link).status_code == 200, link


# ---------------------------------------------------------------------------------------------- the command line


def test_returns_rules_lists_them_and_writes_the_same_csv_and_json_as_the_portal():
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["rules"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    lines = [line for line in listed.output.splitlines() if line.startswith("│")]
    assert [line.split("│")[1].strip() for line in lines] == [r.rule_id for r in CATALOGUE]
    assert "│ CAS-004 │ fatal    │ provider_code is not the submitting provider" in listed.output
    one = runner.invoke(app, ["rules", "ret-003"], env={"COLUMNS": "200"})
    assert one.exit_code == 0 and "RET-003 (warning)" in one.output
    assert "Added by this service on 2026-12-06" in one.output and "A100009" in one.output
    assert runner.invoke(app, ["rules", "--format", "csv"]).stdout_bytes == rule_catalogue.as_csv().encode()
    assert runner.invoke(app, ["rules", "--format", "json"]).output == rule_catalogue.as_json()
    unknown = runner.invoke(app, ["rules", "CAS-999"])
    assert unknown.exit_code == 2 and "CAS-999 is not a rule id" in unknown.output


# ---------------------------------------------------------------------------------------------- feedback.html's links


@pytest.mark.parametrize(
    "base, linked",
    [
        ("https://returns.example/portal/", "https://returns.example/portal/rules/"),
        (None, None),
        ("javascript:alert(1)//", None),  # not an http(s) address: plain text, never a link
    ],
)
def test_the_feedback_page_kept_as_a_file_links_each_rule_when_the_portals_address_is_known(
    tmp_path, monkeypatch, base, linked
):
    from typer.testing import CliRunner

    from cli.main import app
    from tests.support.returns import clean_tables, set_value

    if base is None:
        monkeypatch.delenv("RETURNS_PORTAL_URL", raising=False)
    else:
        monkeypatch.setenv("RETURNS_PORTAL_URL", base)
    tables = clean_tables()
    set_value(tables, "cases", 0, "sentence_type", "XX")  # CAS-005, and the cascade of its contacts and breach
    files = write_csvs(tmp_path / "sent", tables)
    out = tmp_path / "feedback"
    result = CliRunner().invoke(
        app, ["validate", *map(str, files), "--provider", "C05", "--quarter", "2017Q3", "--out", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    page = (out / "feedback.html").read_text(encoding="utf-8")
    if linked:
        rules_table = page.split("<h2>Rules that found problems</h2>")[1].split("</table>")[0]
        assert f'<td><a href="{linked}CAS-005">CAS-005</a></td>' in rules_table
        assert f'<td><a href="{linked}CASCADE">CASCADE</a></td>' in rules_table
        findings = page.split("<h2>Findings, in the order to fix them")[1]
        assert f'<td><a href="{linked}CAS-005">CAS-005</a></td>' in findings
        assert page.count("<a href=") == 2 + len(re.findall(r"<tr><td>", findings))  # each rule, each finding
    else:
        assert "<a " not in page and "/rules/" not in page
        assert "<td>CAS-005</td>" in page


# ---------------------------------------------------------------------------------------------- in a browser


@pytest.mark.browser
@pytest.mark.slow
def test_the_rule_list_and_a_rule_page_pass_axe_and_reflow_without_signing_in(tmp_path):
    """Chromium, not signed in: the list, a rule's page and the 404 of an unknown id; axe finds no serious or
    critical violation and nothing scrolls sideways at 320 px. ``RETURNS_SCREENSHOTS=<folder>`` keeps them."""

    from playwright.sync_api import sync_playwright

    from tests.support.browser import Visitor, open_browser, served
    from tests.support.portal_fixtures import seed

    seeded = seed(tmp_path, f"sqlite:///{tmp_path / 'warehouse.db'}")
    with served(seeded.app) as base:
        with sync_playwright() as p:
            browser = open_browser(p)
            context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})  # for axe only
            v = Visitor(context.new_page(), base)
            v.go("/rules", "rules")
            assert v.page.inner_text("h1") == "Validation rules"
            assert v.page.locator("table tbody tr").count() == len(CATALOGUE)
            v.page.click("a:has-text('CAS-017')")
            v.check("rule-CAS-017")
            assert v.page.inner_text("h1") == "Rule CAS-017"
            main = v.page.inner_text("main")
            assert "the cases row with rosh_level VH, escalation_referral_date blank" in main
            v.go("/rules/RET-003", "rule-RET-003")
            assert "Added by this service on 2026-12-06" in v.page.inner_text("main")
            v.go("/rules/NO-SUCH-RULE", "rule-not-found")
            assert v.page.inner_text("h1") == "Page not found"
            browser.close()
        seeded.engine.dispose()


def test_the_rules_cannot_change_without_a_new_rules_version():
    last = RULES_REVISIONS[-1]
    assert rule_catalogue.fingerprint() == last["fingerprint"], (
        "the rules that run changed: add a revision to expectations/rules_version.toml (a new version, the date, "
        f'what changed) with fingerprint = "{rule_catalogue.fingerprint()}"'
    )
    assert RULES_VERSION == last["version"] == "spec-1.2"
    assert RULES_REVISIONS[0]["version"] == "spec-1" and RULES_REVISIONS[0]["added"] == []
    versions = [r["version"] for r in RULES_REVISIONS]
    assert len(set(versions)) == len(versions)


def test_each_rule_the_service_added_is_in_the_revision_that_added_it_and_its_history_says_so():
    added = [rule_id for r in RULES_REVISIONS for rule_id in r["added"]]
    assert sorted(added) == sorted(r.rule_id for r in CATALOGUE if r.entered == "service")
    assert len(added) == len(set(added))
    for revision in RULES_REVISIONS[1:]:
        for rule_id in revision["added"]:
            entry = rule_catalogue.by_id()[rule_id]
            assert f"on {revision['on']} (rules version {revision['version']})" in entry.entered_words
            assert rule_catalogue.notes()["rules"][rule_id]["entered_on"] == revision["on"]


def test_the_fingerprint_moves_with_what_a_rule_checks_and_not_with_its_words(monkeypatch):
    before = rule_catalogue.fingerprint()
    entries = list(CATALOGUE)
    at = next(i for i, r in enumerate(entries) if r.rule_id == "CAS-005")

    def with_cas005(**changes):
        changed = dataclasses.replace(entries[at], **changes)
        monkeypatch.setattr(rule_catalogue, "catalogue", lambda: (*entries[:at], changed, *entries[at + 1 :]))
        return rule_catalogue.fingerprint()

    assert with_cas005(why="Other words.", action="Other advice.") == before
    assert with_cas005(checks_that_run=[*entries[at].checks_that_run, "one more"]) != before
    assert with_cas005(severity="F") != before
