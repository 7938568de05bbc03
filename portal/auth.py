"""Signing in and out. A refused sign-in never says whether the address has an account."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.forms import SignInForm, SignOutForm
from portal.security import PortalUser, db, limiter
from probation_returns import accounts, audit

bp = Blueprint("auth", __name__)


def _limit() -> str:
    from flask import current_app

    return current_app.extensions["returns_settings"].sign_in_limit


def _home_for(role: str) -> str:
    return {"provider": "provider.home", "manager": "manager.home", "admin": "admin.audit_log"}[role]


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never another host) may be where sign-in leads."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/")
def index():
    return redirect(url_for(_home_for(current_user.role)))


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def sign_in():
    form = SignInForm()
    refused = False
    if form.validate_on_submit():
        with db() as s:
            account = accounts.authenticate(s, form.email.data, form.password.data)
            audit.record(s, account.email if account else form.email.data.strip().lower()[:254],
                         "sign_in" if account else "sign_in_failed")
        if account is not None:
            session.clear()  # a fresh session for the signed-in user (no fixation)
            login_user(PortalUser(account))
            return redirect(_safe_next(request.args.get("next")) or url_for(_home_for(account.role)))
        refused = True
    return render_template("sign_in.html", form=form, refused=refused), 200 if not refused else 401


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    if SignOutForm().validate_on_submit():
        with db() as s:
            audit.record(s, current_user.email, "sign_out")
        logout_user()
        session.clear()
        return redirect(url_for("auth.sign_in", signed_out=1))
    return redirect(url_for("auth.index"))
