"""A contract manager's credibility page for one provider and quarter: each of its main figures beside its
previous four quarters and the national figure, with the change and a tag where it is flagged.

Thin over ``probation_returns.credibility.table``: the same figures as the ministry return's ``credibility.csv``.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, redirect, render_template, url_for

from portal.integrity import _args
from portal.security import engine, roles
from probation_returns import overview
from probation_returns.credibility.report import FAMILIES
from probation_returns.credibility.table import provider_report
from probation_returns.reference import providers

bp = Blueprint("credibility", __name__, url_prefix="/manage")
CAPTIONS = {
    "totals": "Totals in the return",
    "sentence_type": "Cases by sentence type",
    "rosh_level": "Cases by risk of serious harm level",
    "ogrs3_band": "Cases by OGRS3 band",
    "age_band": "Cases by age at the start",
    "offence_group": "Cases by index offence group",
    "contact_type": "Contacts by type",
    "contact_outcome": "Contacts by outcome",
    "termination_reason": "Terminations this quarter by reason",
    "service_level": "Service levels (met of those due)",
    "vanished_cases": "Cases active at the end of last quarter and gone now",
}


def shown(figure, value: Decimal | None) -> str:
    """A figure as a person reads it: a count with commas, a share as a percentage, a mix's index as it is."""
    if value is None:
        return "–"
    if figure.family in ("totals", "vanished_cases"):
        return f"{int(value):,}"
    if figure.test == "PSI":
        return f"{value:.4f}"
    return f"{value * 100:.1f}%"


def change(figure, value: Decimal | None) -> str:
    if value is None:
        return "–"
    if figure.family == "totals":
        return f"{value * 100:+.1f}%"
    if figure.family == "vanished_cases":
        return f"{int(value):+,}"
    return f"{value * 100:+.1f} points"


@bp.route("/providers/<code>/credibility")
@roles("manager")
def latest(code: str):
    setting = current_app.extensions["returns_settings"].open_quarter
    return redirect(url_for("credibility.page", quarter=str(overview.open_quarter(setting=setting)), code=code))


@bp.route("/quarters/<quarter>/providers/<code>/credibility")
@roles("manager")
def page(quarter: str, code: str):
    q, info = _args(quarter, code)
    rows = provider_report(engine(), q, code, list(providers()))
    families = [(f, CAPTIONS[f], [r for r in rows if r.family == f]) for f in FAMILIES]
    return render_template(
        "manager/credibility.html",
        quarter=str(q),
        code=code,
        info=info,
        families=[f for f in families if f[2]],
        flagged=[r for r in rows if r.flagged],
        shown=shown,
        change=change,
        previous=str(q - 1) if overview.in_contract(q - 1) else None,
        following=str(q + 1) if overview.in_contract(q + 1) else None,
    )
