"""Who is signed in and what they may see: sessions, roles, CSRF, rate limits and security headers.

Every page needs a signed-in user, except sign-in itself, help, the rule catalogue and the assets. A provider
submitter sees its own provider only: anything of another provider is answered 404 (not 403), so its existence
is not told.
"""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from probation_returns import accounts
from probation_returns.warehouse.db import engine_for, read_scope, session_scope

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class PortalUser(UserMixin):
    def __init__(self, account: accounts.Account):
        self.account = account
        self.id = f"{account.id}.{account.session_version}"  # a session of an older version no longer loads

    @property
    def role(self) -> str:
        return self.account.role

    @property
    def provider(self) -> str | None:
        return self.account.provider_code

    @property
    def email(self) -> str:
        return self.account.email


def engine():
    return current_app.extensions["returns_engine"]


@contextmanager
def db():
    with session_scope(engine()) as s:
        yield s


@login_manager.user_loader
def _load(user_id: str):
    """The session's account, on every request: none if it was disabled or its sessions ended since."""
    number, _, version = user_id.partition(".")
    if not number.isdigit() or not version.isdigit():
        return None
    signed_in_at = session.get("signed_in_at")
    if (
        not isinstance(signed_in_at, (int, float))
        or time.time() - signed_in_at > current_app.extensions["returns_settings"].absolute_timeout.total_seconds()
    ):
        return None  # however active, a session lasts no longer than the absolute time-out
    with read_scope(engine()) as s:  # every request: it must not queue behind a worker storing a return
        account = accounts.get(s, int(number), session_version=int(version))
    return PortalUser(account) if account else None


def roles(*allowed: str):
    """Only these roles; anyone else signed in gets 404 (the page does not exist for them)."""

    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(404)
            return view(*args, **kwargs)

        return inner

    return wrap


def may_see_provider(code: str) -> None:
    """404 unless the signed-in user may see this provider's returns."""
    if current_user.role in accounts.PROVIDER_ROLES and current_user.provider != code:
        abort(404)
    if current_user.role not in (*accounts.PROVIDER_ROLES, "manager"):
        abort(404)


# Pages anyone may read without signing in, besides sign-in and help: the rule catalogue (portal/rules.py).
PUBLIC_ENDPOINTS = ("rules.index", "rules.rule", "rules.csv_file", "rules.json_file")

CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def init_app(app) -> None:
    settings = app.extensions["returns_settings"]
    app.extensions["returns_engine"] = engine_for(settings.database_url)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "strong"
    if settings.proxies:  # only behind proxies that set X-Forwarded-For: otherwise anyone could forge it
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=settings.proxies)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _session():
        g.csp_nonce = secrets.token_urlsafe(16)
        session.permanent = True  # with PERMANENT_SESSION_LIFETIME: expires when idle
        if (
            request.endpoint not in (None, "static", "auth.sign_in", "auth.help_page", *PUBLIC_ENDPOINTS)
            and not current_user.is_authenticated
        ):
            return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))
        return None

    @app.after_request
    def _headers(response):
        response.headers["Content-Security-Policy"] = CSP.format(nonce=g.get("csp_nonce", "none"))
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if settings.secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _template_globals():
        return {
            "cspNonce": g.get("csp_nonce"),
            "current_user": current_user,
            "tag_html": tag_html,
            "link_html": link_html,
        }


def tag_html(text: str, colour: str) -> str:
    """A GOV.UK tag as plain HTML text, to be joined with other HTML in a table cell (a macro's Markup would
    escape what it is joined to)."""
    from markupsafe import escape

    return f'<strong class="govuk-tag govuk-tag--{escape(colour)}">{escape(text)}</strong>'


def link_html(href: str, text: str) -> str:
    """A GOV.UK link as plain HTML text (escaped here), for a table cell's html."""
    from markupsafe import escape

    return f'<a class="govuk-link" href="{escape(href)}">{escape(text)}</a>'
