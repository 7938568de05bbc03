"""The WSGI entry point for gunicorn: ``gunicorn portal.wsgi:app`` (or ``returns serve``)."""

from werkzeug.middleware.proxy_fix import ProxyFix

from portal import create_app

app = create_app()
# Behind one TLS proxy: trust its X-Forwarded-For/-Proto so rate limits see the client and URLs say https.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
