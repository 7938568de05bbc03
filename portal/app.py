"""The portal's application factory: settings, templates (GOV.UK Frontend), security, the blueprints, error pages."""

from __future__ import annotations

from flask import Flask
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from portal.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_environment()
    app = Flask("portal", static_folder="static", static_url_path="/assets")
    app.config.update(settings.flask_config())
    app.extensions["returns_settings"] = settings
    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("portal"),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True

    from govuk_frontend_wtf.main import WTFormsHelpers

    from portal import admin, auth, changes, conversation, credibility, integrity, manager, provider, rules, security

    WTFormsHelpers(app)
    security.init_app(app)
    blueprints = (auth.bp, provider.bp, manager.bp, admin.bp, integrity.bp, credibility.bp, changes.bp, rules.bp)
    for blueprint in (*blueprints, conversation.bp):
        app.register_blueprint(blueprint)
    _errors(app)
    return app


ERRORS = {
    400: (
        "There is a problem with that request",
        ["The form may have been open too long or sent twice. Go back, reload the page and try again."],
    ),
    404: ("Page not found", ["If you typed the web address, check it is correct."]),
    413: ("The files are too large", ["Each file of a return can be up to 200 MB. Check you chose the right files."]),
    429: ("Too many attempts", ["Wait a minute, then try again."]),
    500: ("Sorry, there is a problem with the service", ["Try again later. Nothing you sent has been lost."]),
}


def _errors(app: Flask) -> None:
    from flask import render_template

    def handler(code):
        title, lines = ERRORS[code]
        return lambda error: (render_template("error.html", title=title, lines=lines), code)

    for code in ERRORS:
        app.register_error_handler(code, handler(code))
