"""Every file the portal hands out goes through ``send``: one place that makes the path absolute, opens the
file, records the download and sends it as an attachment."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_file
from flask_login import current_user

from portal.security import db
from probation_returns import audit


def send(
    path: str | Path | None, download_name: str, *, target: str, provider: str | None = None, quarter: str | None = None
):
    """Send the file at ``path`` (a relative one is taken from the start-up working directory), or 404.

    The download is audited only once the file is open, so the log never records a download that failed.
    """
    if path is None:
        abort(404)
    absolute = current_app.extensions["returns_settings"].absolute(path)
    try:
        handle = absolute.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        abort(404)
    try:
        with db() as s:
            audit.record(s, current_user.email, "download", provider=provider, quarter=quarter, target=target)
    except BaseException:
        handle.close()
        raise
    return send_file(
        handle,
        as_attachment=True,
        download_name=download_name,
        mimetype=None if "." in download_name else "application/octet-stream",
        last_modified=absolute.stat().st_mtime,
    )
