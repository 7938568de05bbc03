"""The public rule catalogue: a list of every validation rule, a page per rule, and the same as CSV and JSON for
providers' own systems. Open to anyone, signed in or not (a provider can read a rule before it has an account);
thin over ``probation_returns.validation.rule_catalogue``, which the command line (``returns rules``) shows too.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template

from portal.security import limiter
from probation_returns.validation import rule_catalogue
from probation_returns.validation.result import RULES_VERSION

bp = Blueprint("rules", __name__)


def _limit() -> str:
    """Per address: the pages are public, so an address that asks too often is slowed (429), never the service."""
    return current_app.config.get("RETURNS_PUBLIC_LIMIT", "120 per minute")


@bp.route("/rules")
@limiter.limit(_limit)
def index():
    entries = rule_catalogue.catalogue()
    groups = [(key, words, [r for r in entries if r.group == key]) for key, words in rule_catalogue.GROUPS.items()]
    return render_template(
        "rules/index.html",
        groups=groups,
        count=len(entries),
        rules_version=RULES_VERSION,
        meanings=rule_catalogue.SEVERITY_MEANING,
    )


@bp.route("/rules/<rule_id>")
@limiter.limit(_limit)
def rule(rule_id: str):
    entry = rule_catalogue.by_id().get(rule_id)
    if entry is None:
        abort(404)
    return render_template(
        "rules/rule.html",
        rule=entry,
        example=rule_catalogue.example_return(),
        rules_version=RULES_VERSION,
    )


def _download(body: str, name: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/rules.csv")
@limiter.limit(_limit)
def csv_file():
    return _download(rule_catalogue.as_csv(), f"rules_{RULES_VERSION}.csv", "text/csv")


@bp.route("/rules.json")
@limiter.limit(_limit)
def json_file():
    return _download(rule_catalogue.as_json(), f"rules_{RULES_VERSION}.json", "application/json")
