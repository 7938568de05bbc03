"""Administrators' pages: the accounts and the audit log."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.security import db, roles
from probation_returns import accounts, audit

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 100


@bp.route("/audit")
@roles("admin")
def audit_log():
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with db() as s:
        events = audit.recent(s, limit=PAGE + 1, offset=(page - 1) * PAGE, action=action)
    return render_template("admin/audit.html", events=events[:PAGE], more=len(events) > PAGE, page=page,
                           action=action, actions=audit.ACTIONS)


@bp.route("/accounts")
@roles("admin")
def accounts_list():
    with db() as s:
        users = accounts.all_accounts(s)
    return render_template("admin/accounts.html", users=users, roles=accounts.ROLES)
