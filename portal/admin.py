"""Administrators' pages: the accounts and the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.forms import AccountActionForm
from portal.security import db, roles
from probation_returns import accounts, audit
from probation_returns.warehouse.models import User

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
    return render_template(
        "admin/audit.html",
        events=events[:PAGE],
        more=len(events) > PAGE,
        page=page,
        action=action,
        actions=audit.ACTIONS,
    )


@bp.route("/accounts")
@roles("admin")
def accounts_list():
    with db() as s:
        users = accounts.all_accounts(s)
    return render_template("admin/accounts.html", users=users, roles=accounts.ROLES)


ACTIONS = {  # the button's value -> (what it does, the audit action, what the admin is told)
    "disable": (
        accounts.disable,
        "account_disabled",
        "{email} is disabled: it cannot sign in, and its sessions have ended.",
    ),
    "enable": (accounts.enable, "account_enabled", "{email} is enabled: it can sign in again."),
    "unlock": (accounts.unlock, "account_unlocked", "{email} is unlocked."),
    "reset": (None, "password_reset", "{email} has a new password; its sessions have ended."),
}


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@roles("admin")
def account(user_id: int):
    form = AccountActionForm()
    with db() as s:
        user = s.get(User, user_id)
        if user is None:
            abort(404)
        email = user.email
    new_password, problem = None, None
    if form.validate_on_submit():
        action = request.form.get("action")
        if action not in ACTIONS:
            abort(400)
        change, audit_action, told = ACTIONS[action]
        if user_id == current_user.account.id and action == "disable":
            problem = "You cannot disable your own account: ask another administrator"
        else:
            if action == "reset":
                new_password = accounts.generate_password()
                change = lambda s, e: accounts.reset_password(s, e, new_password)  # noqa: E731
            with db() as s:
                changed = change(s, email)
                audit.record(s, current_user.email, audit_action, provider=changed.provider_code, target=changed.email)
            if new_password is None:
                flash(told.format(email=email))
                return redirect(url_for("admin.account", user_id=user_id))
    with db() as s:
        user = s.get(User, user_id)
        s.expunge(user)
    return render_template(
        "admin/account.html",
        user=user,
        form=form,
        roles=accounts.ROLES,
        problem=problem,
        new_password=new_password,
        locked=accounts.locked(user),
    ), 400 if problem else 200
