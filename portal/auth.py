"""Signing in and out. A refused sign-in never says whether the address has an account."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.forms import SignInForm, SignOutForm
from portal.security import PortalUser, db, limiter
from probation_returns import accounts, audit

bp = Blueprint("auth", __name__)


def _settings():
    from flask import current_app

    return current_app.extensions["returns_settings"]


def _typed_address() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _refused(response) -> bool:
    """Only refused attempts count towards the limits: an office signing in at nine is not throttled."""
    return response.status_code == 401


def _throttled(which: str):
    def breach(limit) -> None:
        with db() as s:
            audit.record(
                s,
                _typed_address() or None,
                "sign_in_throttled",
                limit=f"{limit.limit} per {which}",
                address=request.remote_addr,
            )

    return breach


def _home_for(role: str) -> str:
    return {
        "provider": "provider.home",
        "officer": "conversation.sign_off_home",
        "manager": "manager.home",
        "admin": "admin.audit_log",
    }[role]


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
@limiter.limit(
    lambda: _settings().sign_in_limit,
    key_func=_typed_address,
    methods=["POST"],
    scope="account",
    deduct_when=_refused,
    on_breach=_throttled("account"),
)
@limiter.limit(
    lambda: _settings().sign_in_address_limit,
    methods=["POST"],
    scope="address",
    deduct_when=_refused,
    on_breach=_throttled("address"),
)
def sign_in():
    form = SignInForm()
    refused = False
    if form.validate_on_submit():
        settings = _settings()
        with db() as s:
            outcome = accounts.sign_in(
                s, form.email.data, form.password.data, lock_after=settings.lock_after, lock_for=settings.lock_for
            )
            account = outcome.account
            detail = {"address": request.remote_addr}
            if outcome.locked_until is not None:
                detail["locked_until"] = outcome.locked_until.isoformat(timespec="seconds")
            audit.record(
                s,
                account.email if account else _typed_address(),
                {"accepted": "sign_in", "refused": "sign_in_failed", "locked": "sign_in_locked"}[outcome.why],
                **detail,
            )
        if account is not None:
            session.clear()  # a fresh session for the signed-in user (no fixation)
            login_user(PortalUser(account))
            session["signed_in_at"] = time.time()
            return redirect(_safe_next(request.args.get("next")) or url_for(_home_for(account.role)))
        refused = True
        form.email.errors = [REFUSED]  # both inputs are marked; the message is said once, at the address
    return render_template("sign_in.html", form=form, refused=refused), 200 if not refused else 401


REFUSED = "The email address or password is not right, or the account is not active"


@bp.route("/help")
def help_page():
    """How the service works and whom to ask: open to anyone, signed in or not (linked from every page)."""
    from probation_returns.validation.feedback import OUTCOME_WORDS

    return render_template("help.html", contact=_settings().contact, outcomes=OUTCOME_WORDS)


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    if SignOutForm().validate_on_submit():
        with db() as s:
            audit.record(s, current_user.email, "sign_out")
            accounts.end_sessions(s, current_user.account.id)  # and any copy of this session's cookie
        logout_user()
        session.clear()
        return redirect(url_for("auth.sign_in", signed_out=1))
    return redirect(url_for("auth.index"))
