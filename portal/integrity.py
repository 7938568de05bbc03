"""A contract manager's integrity page for one provider and quarter: the signals, and the cases behind a flag.

Thin over ``probation_returns.integrity.store``: the rows the quarter build's ``integrity_signals`` asset stored,
the same as the ministry return's ``integrity.csv``. When they are not stored for the returns that count now,
the page works them out as it opens (``integrity.table``) and says so.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from portal.charts import signal_chart
from portal.security import db, engine, roles
from probation_returns import audit, overview
from probation_returns.calendar import Quarter
from probation_returns.integrity import store
from probation_returns.integrity.table import provider_signals
from probation_returns.reference import providers

bp = Blueprint("integrity", __name__, url_prefix="/manage")


def _args(quarter: str, code: str) -> tuple[Quarter, object]:
    try:
        q = Quarter.parse(quarter)
    except ValueError:
        abort(404)
    if not overview.in_contract(q) or code not in providers():
        abort(404)
    return q, providers()[code]


def _signals(q: Quarter, code: str):
    """The provider's rows and when the build stored them; None for when: worked out now (not stored)."""
    codes = list(providers())
    with db() as s:
        stored = store.current(s, q, codes)
    if stored is not None:
        return [r for r in stored.rows if r.provider_code == code], stored.computed_at
    return provider_signals(engine(), q, code, codes), None


@bp.route("/providers/<code>/integrity")
@roles("manager")
def latest(code: str):
    setting = current_app.extensions["returns_settings"].open_quarter
    return redirect(url_for("integrity.page", quarter=str(overview.open_quarter(setting=setting)), code=code))


@bp.route("/quarters/<quarter>/providers/<code>/integrity")
@roles("manager")
def page(quarter: str, code: str):
    q, info = _args(quarter, code)
    rows, stored_at = _signals(q, code)
    flagged = [r for r in rows if r.flagged]
    return render_template(
        "manager/integrity.html",
        quarter=str(q),
        code=code,
        info=info,
        rows=rows,
        flagged=flagged,
        charts=[(r, signal_chart(r, f"chart-{r.signal}-{r.measure}")) for r in flagged],
        stored_at=stored_at,
        previous=str(q - 1) if overview.in_contract(q - 1) else None,
        following=str(q + 1) if overview.in_contract(q + 1) else None,
    )


@bp.route("/quarters/<quarter>/providers/<code>/integrity/<signal>/<measure>.csv")
@roles("manager")
def cases(quarter: str, code: str, signal: str, measure: str):
    """The case references behind a flagged signal (no PNC id, no other personal data); none for another."""
    q, _ = _args(quarter, code)
    rows, _ = _signals(q, code)
    row = next((r for r in rows if (r.signal, r.measure) == (signal, measure)), None)
    if row is None:
        abort(404)
    # an unflagged signal has no cases behind it: the file says so with its header alone
    name = f"{code}_{q}_{signal}_{measure}_cases.csv"
    with db() as s:
        audit.record(s, current_user.email, "download", provider=code, quarter=str(q), target=name)
    body = "case_ref\r\n" + "".join(f"{ref}\r\n" for ref in row.cases)
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
