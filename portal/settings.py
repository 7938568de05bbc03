"""The portal's settings, from the environment (production) or given directly (tests)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from probation_returns.warehouse.db import database_url

IDLE_MINUTES = 30
ABSOLUTE_HOURS = 12
DEFAULT_CONTACT = "your contract manager at the ministry"


def _secret_key(var: Path) -> str:
    """RETURNS_PORTAL_SECRET_KEY, or one made once and kept in var/portal/secret_key (every worker shares it)."""
    if value := os.environ.get("RETURNS_PORTAL_SECRET_KEY"):
        return value
    path = var / "portal" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    except FileExistsError:
        pass
    return path.read_text().strip()


@dataclass
class Settings:
    database_url: str
    landing: Path
    archive: Path
    output: Path
    dagster_home: Path
    secret_key: str
    alerts: Path = Path("var/alerts")
    open_quarter: str | None = None  # None: the quarter before today's
    secure_cookies: bool = True
    limiter_storage: str = "memory://"
    sign_in_limit: str = "10 per minute"  # refused sign-ins per account (the address typed)
    sign_in_address_limit: str = "50 per minute"  # refused sign-ins per client address (an office shares one)
    lock_after: int = 10  # wrong passwords in a row lock the account...
    lock_for: dt.timedelta = field(default_factory=lambda: dt.timedelta(minutes=15))  # ...for this long
    contact: str = DEFAULT_CONTACT  # the ministry's contact for providers, shown on the help page
    proxies: int = 0  # proxies in front that set X-Forwarded-For (and -Proto); 0: the headers are ignored
    absolute_timeout: dt.timedelta = field(default_factory=lambda: dt.timedelta(hours=ABSOLUTE_HOURS))
    process_uploads: bool = True  # False in tests of the views: uploads are stored, not validated
    idle: dt.timedelta = field(default_factory=lambda: dt.timedelta(minutes=IDLE_MINUTES))
    # Where a relative path recorded by another process (a build's folder) is taken from: the working
    # directory at start-up, as for the folders above.
    root: Path = field(default_factory=Path.cwd)

    def __post_init__(self) -> None:
        # Made absolute once, at start-up: Flask's send_file takes a relative path from the application's
        # package folder, not from the working directory the settings were written for.
        self.root = Path(self.root).resolve()
        for name in ("landing", "archive", "output", "dagster_home", "alerts"):
            setattr(self, name, self.absolute(getattr(self, name)))

    def absolute(self, path: str | Path) -> Path:
        """``path`` as an absolute path, a relative one taken from the start-up working directory."""
        path = Path(path)
        return path if path.is_absolute() else self.root / path

    @classmethod
    def from_environment(cls) -> Settings:
        var = Path(os.environ.get("RETURNS_VAR", "var"))
        return cls(
            database_url=database_url(),
            landing=Path(os.environ.get("RETURNS_LANDING") or var / "landing"),
            archive=Path(os.environ.get("RETURNS_ARCHIVE") or var / "archive"),
            output=Path(os.environ.get("RETURNS_OUTPUT") or var / "output"),
            dagster_home=Path(os.environ.get("DAGSTER_HOME") or var / "dagster"),
            alerts=Path(os.environ.get("RETURNS_ALERTS") or var / "alerts"),
            secret_key=_secret_key(var),
            open_quarter=os.environ.get("RETURNS_OPEN_QUARTER") or None,
            secure_cookies=os.environ.get("RETURNS_PORTAL_SECURE_COOKIES", "1") != "0",
            limiter_storage=os.environ.get("RETURNS_PORTAL_LIMITER_STORAGE", "memory://"),
            proxies=int(os.environ.get("RETURNS_PORTAL_PROXIES") or 0),
            contact=os.environ.get("RETURNS_PORTAL_CONTACT") or DEFAULT_CONTACT,
        )

    def flask_config(self) -> dict:
        from probation_returns.validation.reader import MAX_FILE_BYTES

        return {
            "SECRET_KEY": self.secret_key,
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_NAME": "returns_session",
            "REMEMBER_COOKIE_SECURE": self.secure_cookies,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "PERMANENT_SESSION_LIFETIME": self.idle,  # refreshed on every request: an idle session expires
            "SESSION_REFRESH_EACH_REQUEST": True,
            "MAX_CONTENT_LENGTH": 3 * MAX_FILE_BYTES + 1024 * 1024,  # three files at the limit, and the form
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
            "RATELIMIT_STORAGE_URI": self.limiter_storage,
            "RATELIMIT_HEADERS_ENABLED": True,
        }

    def worker_environment(self) -> dict[str, str]:
        """What the validation worker needs to find the same warehouse, folders and Dagster instance."""
        return {
            "RETURNS_DATABASE_URL": self.database_url,
            "RETURNS_LANDING": str(self.landing),
            "RETURNS_ARCHIVE": str(self.archive),
            "RETURNS_OUTPUT": str(self.output),
            "DAGSTER_HOME": str(self.dagster_home),
            "RETURNS_ALERTS": str(self.alerts),
        }
