"""The ``returns`` command: clear errors for bad input, and the commands do what they say."""

import csv
import json

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_generate_rejects_a_bad_quarter_with_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--quarters", "2017Q5"])
    assert result.exit_code == 2
    assert "YYYYQn" in result.output and "Traceback" not in result.output


def test_generate_rejects_an_unknown_provider(tmp_path):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--providers", "C99"])
    assert result.exit_code == 2 and "C99" in result.output


def test_generate_writes_returns_and_a_manifest(tmp_path):
    result = runner.invoke(
        app,
        [
            "generate",
            "--out",
            str(tmp_path),
            "--quarters",
            "2017Q3",
            "--providers",
            "C01,N01",
            "--scale",
            "0.02",
            "--faults",
            "0.01",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["providers"] == ["C01", "N01"] and manifest["faults"]
    assert (tmp_path / "N01" / "N01_2017Q3_cases.csv").exists()


def test_db_upgrade_creates_the_warehouse(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.db").exists()


def test_db_upgrade_reports_an_unreachable_server_in_one_line():
    result = runner.invoke(app, ["db", "upgrade", "--url", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "could not upgrade" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_run_processes_a_landing_folder_and_refuses_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner.invoke(
        app, ["generate", "--out", "landing", "--quarters", "2017Q3", "--providers", "C02", "--scale", "0.02"]
    )
    result = runner.invoke(app, ["run", "--landing", "landing", "--quarter", "2017Q3", "--out", "out"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out" / "submissions.csv").open(newline="") as f:
        subs = {r["provider_code"]: r for r in csv.DictReader(f)}
    assert (subs["C02"]["submission_id"], subs["C02"]["version"], subs["C02"]["counted"]) == ("1", "1", "yes")
    assert sum(r["status"] == "no return" for r in subs.values()) == 27
    # the run ends with each return's outcome, findings and feedback, then how many were rejected
    text = " ".join(result.output.split())
    assert all(h in text for h in ("Provider", "Return", "Findings", "Feedback")) and "C02" in text
    assert "0 of 1 returns rejected; 27 providers sent nothing." in text
    assert (tmp_path / "out" / "ministry_return_2017Q3.xlsx").exists()
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["build_number"] == 1
    levels = (tmp_path / "out" / "service_levels.csv").read_text().splitlines()
    assert levels[0].startswith("quarter,provider_code,provider_name,measure,numerator,numerator_marker,denominator")
    # 7 service levels each, and 3 reported-only measures for the one provider that sent a return; then per
    # measure the totals of all CRCs, all NPS divisions and England and Wales (no NPS total when only CRCs report it)
    assert len(levels) == 1 + 28 * 7 + 3 + 7 * 3 + 3 * 2 and sum("no valid return" in line for line in levels) == 27 * 7
    missing = runner.invoke(app, ["run", "--landing", "nowhere", "--quarter", "2017Q3", "--out", "out"])
    assert missing.exit_code == 2 and "not a folder" in missing.output


def test_backfill_refuses_bad_quarters_and_a_misnamed_extract_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "extract.csv").write_text("pnc_id\n")
    bad_range = runner.invoke(app, ["backfill", "--quarters", "2017Q3..2016Q1", "--landing", "landing"])
    assert bad_range.exit_code == 2 and "before the first" in bad_range.output
    misnamed = runner.invoke(
        app, ["backfill", "--quarters", "2017Q3", "--landing", "landing", "--extract", "landing/extract.csv"]
    )
    assert misnamed.exit_code == 2 and "reoffending_YYYY-MM-DD.csv" in misnamed.output
    assert "Traceback" not in bad_range.output + misnamed.output


def test_every_command_line_mistake_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("RETURNS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    (tmp_path / "C05_2017Q3.xlsx").write_bytes(b"PK")
    mistakes = {
        "is a file; --out needs a folder": [
            "validate",
            str(tmp_path / "C05_2017Q3.xlsx"),
            "--provider",
            "C05",
            "--quarter",
            "2017Q3",
            "--out",
            str(a_file),
        ],
        "is a folder; give the return's files": [
            "validate",
            str(tmp_path),
            "--provider",
            "C05",
            "--quarter",
            "2017Q3",
            "--out",
            str(tmp_path / "out"),
        ],
        "a new or existing folder": ["generate", "--out", str(a_file)],
        "has no tables yet: run `returns db upgrade` first": [
            "credits",
            "list",
            "--quarter",
            "2017Q3",
            "--provider",
            "C05",
        ],
        "is not a provider code": ["credits", "list", "--quarter", "2017Q3", "--provider", "X99"],
    }
    for words, args in mistakes.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in " ".join(result.output.split()) and "Traceback" not in result.output


def test_nps_divisions_have_no_credits_and_the_version_is_shown():
    result = runner.invoke(app, ["credits", "list", "--quarter", "2017Q3", "--provider", "N03"])
    assert result.exit_code == 0 and "NPS divisions have no service credits" in result.output
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("returns ")


def test_an_unexpected_failure_is_one_line_not_a_traceback(monkeypatch, capsys):
    import pytest

    import probation_returns.validation.checking as validation

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke\nand more lines")

    monkeypatch.setattr(validation, "validate_files", broken)
    with pytest.raises(SystemExit) as stop:
        app(["validate", __file__, "--provider", "C05", "--quarter", "2017Q3", "--out", "/tmp/never-written"])
    assert stop.value.code == 3
    err = capsys.readouterr().err
    assert "RuntimeError: something inside broke" in err and "Traceback" not in err and "more lines" not in err


def test_help_text_reads_as_paragraphs_not_ragged_lines():
    """Docstrings are wrapped in the source; the help reflows them: within a paragraph only the last line is short."""
    for command in (["run"], ["backfill"], ["demo"], ["validate"]):
        out = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80"}).output
        lines = out.splitlines()
        start = next(i for i, line in enumerate(lines) if "Usage:" in line) + 1
        end = next(i for i, line in enumerate(lines) if line.startswith("╭"))
        paragraphs = "\n".join(line.strip() for line in lines[start:end]).strip().split("\n\n")
        assert len(paragraphs) >= 1, command
        for paragraph in paragraphs:
            for line in paragraph.splitlines()[:-1]:
                assert len(line) >= 60, (command, line)
    top = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "100"}).output
    assert "(OUT/<quarter>/)" in top  # markup does not eat the placeholder


def test_users_add_reads_the_password_from_standard_input_or_makes_one_up(tmp_path, monkeypatch):
    from probation_returns import accounts
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade

    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("RETURNS_DATABASE_URL", url)
    upgrade(url)
    added = runner.invoke(
        app,
        ["users", "add", "Clerk@C14.example", "--role", "provider", "--provider", "c14"],
        input="a-long-enough-password\n",
    )
    assert added.exit_code == 0 and "Added clerk@c14.example (provider for C14)" in added.output
    made = runner.invoke(app, ["users", "add", "cm@moj.example", "--role", "manager", "--generate"])
    assert made.exit_code == 0
    password = made.output.split("Password: ")[1].strip()
    with session_scope(engine_for(url)) as s:
        assert accounts.authenticate(s, "clerk@c14.example", "a-long-enough-password").provider_code == "C14"
        assert accounts.authenticate(s, "cm@moj.example", password).role == "manager"
        assert accounts.authenticate(s, "cm@moj.example", "not-" + password) is None
        stored = {u.email: u.password_hash for u in accounts.all_accounts(s)}
    assert all(h.startswith("$argon2id$") and password not in h for h in stored.values())
    for args, stdin, says in [
        (["users", "add", "x@moj.example", "--role", "provider"], "a-long-enough-password\n", "needs --provider"),
        (
            ["users", "add", "x@moj.example", "--role", "manager", "--provider", "C05"],
            "a-long-enough-password\n",
            "leave out --provider",
        ),
        (["users", "add", "x@moj.example", "--role", "boss"], "a-long-enough-password\n", "role must be one of"),
        (["users", "add", "not-an-address", "--role", "manager"], "a-long-enough-password\n", "not an e-mail address"),
        (["users", "add", "x@moj.example", "--role", "manager"], "short\n", "at least 12 characters"),
        (["users", "add", "cm@moj.example", "--role", "manager"], "a-long-enough-password\n", "already has an account"),
    ]:
        result = runner.invoke(app, args, input=stdin)
        assert result.exit_code == 2 and says in result.output, (args, result.output)
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1, result.output


def test_serve_says_what_is_missing_in_one_line(tmp_path, monkeypatch):
    from probation_returns.warehouse.db import upgrade

    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("RETURNS_DATABASE_URL", url)
    unmigrated = runner.invoke(app, ["serve"])
    assert unmigrated.exit_code == 2 and "returns db upgrade" in unmigrated.output
    upgrade(url)
    monkeypatch.delenv("RETURNS_PSEUDONYM_KEY")
    no_key = runner.invoke(app, ["serve"])
    assert no_key.exit_code == 2 and "RETURNS_PSEUDONYM_KEY" in no_key.output


@pytest.mark.slow
def test_users_disable_enable_unlock_and_reset_password_each_audited(tmp_path, monkeypatch):

    from sqlalchemy import select

    from probation_returns import accounts
    from probation_returns.warehouse.db import engine_for, session_scope, upgrade
    from probation_returns.warehouse.models import AuditEvent

    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("RETURNS_DATABASE_URL", url)
    upgrade(url)
    engine = engine_for(url)
    with session_scope(engine) as s:
        accounts.add_user(s, "clerk@c14.example", "provider", "the-first-password", provider="C14")
        version = accounts.sign_in(s, "clerk@c14.example", "the-first-password").account.session_version

    def run(*args, stdin=None):
        result = runner.invoke(app, ["users", *args], input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    assert "Disabled clerk@c14.example" in run("disable", "Clerk@C14.example")
    with session_scope(engine) as s:
        assert accounts.authenticate(s, "clerk@c14.example", "the-first-password") is None
        assert accounts.get(s, 1, session_version=version) is None  # signed in before: no longer
    assert "Enabled clerk@c14.example" in run("enable", "clerk@c14.example")
    assert "New password set" in run("reset-password", "clerk@c14.example", stdin="the-second-password\n")
    for _ in range(accounts.LOCK_AFTER):
        with session_scope(engine) as s:
            accounts.sign_in(s, "clerk@c14.example", "a-wrong-password")
    with session_scope(engine) as s:
        assert accounts.sign_in(s, "clerk@c14.example", "the-second-password").why == "locked"
    assert "Unlocked clerk@c14.example" in run("unlock", "clerk@c14.example")
    generated = run("reset-password", "clerk@c14.example", "--generate").split("Password: ")[1].strip()
    with session_scope(engine) as s:
        assert accounts.authenticate(s, "clerk@c14.example", generated).email == "clerk@c14.example"
        logged = [(e.action, e.target) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert logged == [
        (a, "clerk@c14.example")
        for a in ("account_disabled", "account_enabled", "password_reset", "account_unlocked", "password_reset")
    ]
    for args, stdin, says in [
        (["disable", "nobody@example.org"], None, "there is no account for"),
        (["reset-password", "clerk@c14.example"], "short\n", "at least 12 characters"),
    ]:
        result = runner.invoke(app, ["users", *args], input=stdin)
        assert result.exit_code == 2 and says in result.output, result.output
    engine.dispose()


def test_validate_imports_only_what_it_uses(tmp_path):
    """Issue 29: checking a return before sending it imports no warehouse (SQLAlchemy, Alembic), no Dagster, no Great
    Expectations and no holiday library: a fresh `returns validate` process pays for Polars and the feedback's
    writers only."""
    import subprocess
    import sys

    from tests.support.returns import clean_tables, write_csvs

    files = write_csvs(tmp_path, clean_tables())
    script = (
        "import sys\n"
        "from cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:], prog_name='returns')\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "heavy = ('sqlalchemy', 'alembic', 'dagster', 'great_expectations', 'holidays', 'pandas', 'flask')\n"
        "print('imported:', *sorted(m for m in heavy if m in sys.modules))\n"
    )
    args = ["validate", *map(str, files), "--provider", "C05", "--quarter", "2017Q3", "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "imported:"
    assert (tmp_path / "out" / "feedback.xlsx").exists() and (tmp_path / "out" / "feedback.html").exists()
