"""The WSGI entry point for gunicorn: ``gunicorn portal.wsgi:app`` (or ``returns serve``).

``X-Forwarded-For`` is trusted only when ``RETURNS_PORTAL_PROXIES`` says how many proxies set it (see
portal.security): without a proxy in front, a forged header would give every guess a new address.
"""

from portal.app import create_app

app = create_app()
