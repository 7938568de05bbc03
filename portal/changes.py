"""What changed between versions of a return: for a provider, any two of its own versions of a quarter (a version
and the one before it, or another chosen with ``?against=``); for a contract manager, also the counted version
against the one that counted before it. A page and a CSV download of the field-level changes, both audited.

Thin over ``probation_returns.overview.version_changes`` (``probation_returns.versions.diff``)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user

from portal.security import db, engine, may_see_provider, roles
from probation_returns import audit, overview
from probation_returns.calendar import Quarter
from probation_returns.reference import providers
from probation_returns.warehouse.models import Submission

bp = Blueprint("changes", __name__)
SHOWN = 500  # field-level rows on the page; the download has them all
VERSION = re.compile(r"[1-9][0-9]{0,5}")


def _submission(submission_id: int) -> Submission:
    """The version, if it exists and the signed-in user may see its provider's things; 404 otherwise, alike."""
    with db() as s:
        row = s.get(Submission, submission_id)
        if row is None:
            abort(404)
        may_see_provider(row.provider_code)
    return row


def _against(submission: Submission) -> int | None:
    """The version to compare with: ``?against=`` (one whole number, another version of the same provider and
    quarter) or the version before; anything else is 404."""
    if set(request.args) - {"against"} or len(request.args.getlist("against")) > 1:
        abort(404)
    raw = request.args.get("against")
    with db() as s:
        if raw is None:
            return overview.previous_version(s, submission.provider_code, submission.quarter, submission.version)
        if not VERSION.fullmatch(raw) or int(raw) == submission.version:
            abort(404)
        if int(raw) not in overview.quarter_versions(s, submission.provider_code, submission.quarter):
            abort(404)
    return int(raw)


def _pair(submission: Submission) -> tuple[int, int] | None:
    against = _against(submission)
    if against is None:
        return None
    return (against, submission.version) if against < submission.version else (submission.version, against)


def _audit(action: str, provider: str, quarter: str, pair: tuple[int, int], what: str) -> None:
    with db() as s:
        audit.record(
            s,
            current_user.email,
            action,
            provider=provider,
            quarter=quarter,
            target=f"{provider} {quarter} version {pair[0]} to version {pair[1]}: {what}",
        )


def _csv(diff) -> Response:
    pair = (diff.before.version, diff.after.version)
    name = f"{diff.provider}_{diff.quarter}_v{pair[0]}_to_v{pair[1]}_changes.csv"
    body = diff.csv_text()  # made before the download is recorded: the log never records one that failed
    _audit("download", diff.provider, diff.quarter, pair, name)
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _page(diff, *, back: str, csv_href: str, others: list[tuple[int, str]], manager: bool):
    _audit("view_changes", diff.provider, diff.quarter, (diff.before.version, diff.after.version), "page")
    rows = diff.field_rows()
    return render_template(
        "changes.html",
        diff=diff,
        rows=rows[:SHOWN],
        total=len(rows),
        back=back,
        csv_href=csv_href,
        others=others,
        manager=manager,
    )


@bp.route("/submissions/<int:submission_id>/changes")
@roles("provider", "officer", "manager")
def page(submission_id: int):
    submission = _submission(submission_id)
    pair = _pair(submission)
    back = {
        "provider": url_for("provider.history"),
        "officer": url_for("provider.feedback", submission_id=submission.id),
    }.get(current_user.role) or url_for("manager.provider", code=submission.provider_code)
    with db() as s:
        versions = overview.quarter_versions(s, submission.provider_code, submission.quarter)
    others = [
        (v, url_for("changes.page", submission_id=submission.id, against=v))
        for v in versions
        if v != submission.version and (pair is None or v not in pair)
    ]
    if pair is None:
        return render_template("changes.html", diff=None, submission=submission, back=back, others=others)
    diff = overview.version_changes(engine(), submission.provider_code, submission.quarter, *pair)
    csv_href = url_for("changes.download", submission_id=submission.id, **dict(request.args))
    return _page(diff, back=back, csv_href=csv_href, others=others, manager=current_user.role == "manager")


@bp.route("/submissions/<int:submission_id>/changes.csv")
@roles("provider", "officer", "manager")
def download(submission_id: int):
    submission = _submission(submission_id)
    pair = _pair(submission)
    if pair is None:
        abort(404)  # the first version: nothing before it to compare
    return _csv(overview.version_changes(engine(), submission.provider_code, submission.quarter, *pair))


def _counted(quarter: str, code: str):
    """The quarter's counted version against the one that counted before it, or None (it never changed)."""
    try:
        q = Quarter.parse(quarter)
    except ValueError:
        abort(404)
    if not overview.in_contract(q) or code not in providers() or request.args:
        abort(404)
    with db() as s:
        changed = overview.counted_changes(s, code, str(q))
    if not changed:
        return str(q), None
    return str(q), overview.version_changes(engine(), code, str(q), changed[0]["before"], changed[0]["after"])


@bp.route("/manage/quarters/<quarter>/providers/<code>/changes")
@roles("manager")
def counted(quarter: str, code: str):
    quarter, diff = _counted(quarter, code)
    back = url_for("manager.provider", code=code)
    if diff is None:
        return render_template("changes.html", diff=None, provider=code, quarter=quarter, back=back, others=[])
    csv_href = url_for("changes.counted_download", quarter=quarter, code=code)
    return _page(diff, back=back, csv_href=csv_href, others=[], manager=True)


@bp.route("/manage/quarters/<quarter>/providers/<code>/changes.csv")
@roles("manager")
def counted_download(quarter: str, code: str):
    _, diff = _counted(quarter, code)
    if diff is None:
        abort(404)
    return _csv(diff)
