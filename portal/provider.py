"""A provider's pages: its quarters and deadline, sending a return, following it, reading its feedback."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from portal import downloads, processing
from portal.forms import UploadForm
from portal.presentation import FEEDBACK_DOWNLOADS as DOWNLOADS
from portal.presentation import STATUS_TAGS
from portal.security import db, may_see_provider, roles
from probation_returns import audit, clock, overview, uploads
from probation_returns.calendar import Quarter
from probation_returns.findings import findings_page
from probation_returns.measures.quarter import accepted_submission
from probation_returns.spec import TABLES
from probation_returns.standing import business_days_left
from probation_returns.validation.feedback import (
    HEADINGS,
    OUTCOME_WORDS,
    SEVERITY_WORDS,
    feedback_folder,
    stored_feedback,
)
from probation_returns.warehouse.models import Submission, Upload
from reports.provisional import provisional_line, provisional_rows

bp = Blueprint("provider", __name__)
PAGE = 50


def settings():
    return current_app.extensions["returns_settings"]


def _open_quarter() -> Quarter:
    return overview.open_quarter(setting=settings().open_quarter)


def _quarter(text: str) -> str:
    try:
        q = Quarter.parse(text)
    except ValueError:
        abort(404)
    if q > _open_quarter() or not overview.in_contract(q):
        abort(404)
    return str(q)


@bp.route("/returns")
@roles("provider")
def home():
    code = current_user.provider
    open_q = _open_quarter()
    with db() as s:
        quarters = overview.provider_quarters(s, code, open_q)
    return render_template(
        "provider/home.html",
        provider=code,
        open_quarter=str(open_q),
        deadline=overview.deadline(open_q),
        quarters=quarters,
        tags=STATUS_TAGS,
    )


@bp.route("/returns/<quarter>/send", methods=["GET", "POST"])
@roles("provider")
def send(quarter: str):
    quarter = _quarter(quarter)
    code = current_user.provider
    form = UploadForm()
    if form.validate_on_submit():  # the CSRF token, the declaration and the name
        chosen = [f for f in request.files.getlist(form.files.name) if f and f.filename]
        try:
            if not chosen:
                raise uploads.UploadError("Choose the file or files of your return")
            incoming = [uploads.Incoming(uploads.part_sent_as(f.filename), f.filename, f.stream) for f in chosen]
            with db() as s:
                upload = uploads.store(
                    s, settings().landing, code, quarter, current_user.account.id, form.declared_by.data, incoming
                )
                audit.record(
                    s,
                    current_user.email,
                    "upload",
                    provider=code,
                    quarter=quarter,
                    target=f"upload {upload.id}",
                    files=len(incoming),
                    bytes=sum(f["bytes"] for f in upload.files),
                    declared=True,
                )
                upload_id = upload.id
        except uploads.UploadError as exc:
            form.files.errors = [str(exc)]
        else:
            processing.start(upload_id, settings())
            return redirect(url_for("provider.follow", upload_id=upload_id))
    return render_template(
        "provider/send.html", form=form, quarter=quarter, deadline=overview.deadline(Quarter.parse(quarter))
    ), 400 if any(f.errors for f in form) else 200


def _owned(model, key: int):
    """The row, if it exists and the signed-in user may see its provider's things; 404 otherwise, alike."""
    with db() as s:
        row = s.get(model, key)
        if row is None:
            abort(404)
        may_see_provider(row.provider_code)
    return row


def _upload(upload_id: int) -> Upload:
    return _owned(Upload, upload_id)


@bp.route("/uploads/<int:upload_id>")
@roles("provider", "manager")
def follow(upload_id: int):
    upload = _upload(upload_id)
    if upload.status == "done" and upload.submission_id:
        return redirect(_feedback_of(upload))
    if uploads.stalled(upload):  # its worker was killed or never started: start another (safe to repeat)
        processing.start(upload.id, settings())
        upload = _upload(upload_id)
    return render_template("provider/follow.html", upload=upload, words=_words(upload))


def _feedback_of(upload: Upload) -> str:
    """The feedback of the version the upload became; saying so when its files were that version already."""
    return url_for(
        "provider.feedback", submission_id=upload.submission_id, **({"resent": upload.id} if _resent(upload) else {})
    )


def _resent(upload: Upload) -> int | None:
    """The version the upload's files already were (received before it was sent), or None."""
    with db() as s:
        submission = s.get(Submission, upload.submission_id) if upload.submission_id else None
        if submission is None or overview._utc(submission.received_at) >= overview._utc(upload.uploaded_at):
            return None
        return submission.version


def _words(upload: Upload) -> str:
    if upload.status == "received":
        return "Your return has been received and is waiting to be checked."
    if upload.status == "validating":
        return "Your return is being checked against the rules."
    return ""


@bp.route("/uploads/<int:upload_id>/status")
@roles("provider", "manager")
def follow_status(upload_id: int):
    """Where the upload has got to, for the follow page's script: where to go next once it is done or failed."""
    upload = _upload(upload_id)
    if uploads.stalled(upload):
        processing.start(upload.id, settings())
    done = upload.status == "done" and upload.submission_id
    nxt = (
        _feedback_of(upload)
        if done
        else (url_for("provider.follow", upload_id=upload.id) if upload.status == "failed" else None)
    )
    return jsonify({"status": upload.status, "words": _words(upload), "next": nxt})


def _submission(submission_id: int) -> Submission:
    return _owned(Submission, submission_id)


def _folder(submission: Submission) -> Path:
    return feedback_folder(settings().output / "feedback", submission.provider_code, submission.quarter, submission.id)


def _stored(submission: Submission):
    return stored_feedback(settings().output / "feedback", submission.provider_code, submission.quarter, submission.id)


@bp.route("/submissions/<int:submission_id>")
@roles("provider", "officer", "manager")
def feedback(submission_id: int):
    submission = _submission(submission_id)
    stored = _stored(submission)
    if stored is None:
        return render_template("provider/no_feedback.html", submission=submission), 200
    summary = stored.summary
    rule, table = request.args.get("rule") or None, request.args.get("table") or None
    shown = findings_page(
        stored.folder / "findings.csv",
        rule=rule,
        table=table,
        page=request.args.get("page", 1, type=int) or 1,
        per_page=PAGE,
    )
    rows, total, page, pages = shown.rows, shown.total, shown.page, shown.pages
    with db() as s:
        history = overview.versions(s, submission.provider_code, submission.quarter)
        counts, why = overview.why_counted(s, s.get(Submission, submission.id))
        counted = accepted_submission(s, submission.provider_code, submission.quarter)
        counts_now = counted.version if counted else None
        previous = overview.previous_version(s, submission.provider_code, submission.quarter, submission.version)
    days_now = business_days_left(Quarter.parse(submission.quarter), clock.today())
    sendable = current_user.role == "provider" and Quarter.parse(submission.quarter) <= _open_quarter()
    resent = None
    if request.args.get("resent", type=int):  # checked, not taken on trust: the upload must be one that was this
        with db() as s:
            upload = s.get(Upload, request.args.get("resent", type=int))
        if (
            upload is not None
            and upload.submission_id == submission.id
            and upload.provider_code == submission.provider_code
        ):
            resent = _resent(upload) and upload
    return render_template(
        "provider/feedback.html",
        submission=submission,
        summary=summary,
        counts=counts,
        why_counted=why,
        sendable=sendable,
        resent=resent,
        counts_now=counts_now,
        previous=previous,
        days_now=days_now,
        words=OUTCOME_WORDS.get(summary["outcome"], ""),
        findings=rows,
        total=total,
        page=page,
        pages=pages,
        rule=rule,
        table=table,
        headings=HEADINGS,
        severity=SEVERITY_WORDS,
        downloads=DOWNLOADS,
        history=history,
        rules=stored.rules,
        pagination=_pagination(
            page,
            pages,
            lambda p: (
                url_for("provider.feedback", submission_id=submission.id, rule=rule, table=table, page=p) + "#findings"
            ),
        ),
        tags=STATUS_TAGS,
        rule_ids=[r["rule_id"] for r in summary.get("rules", [])],
        provisional_line=provisional_line(summary["provisional_performance"])
        if summary.get("provisional_performance")
        else None,
        tables=list(TABLES) + ["file"],
    )


@bp.route("/submissions/<int:submission_id>/provisional")
@roles("provider", "officer", "manager")
def provisional(submission_id: int):
    """The version's provisional performance: its service levels, credits and cohort as its feedback worked
    them out (summary.json's ``provisional_performance``), before the quarter's ministry return."""
    submission = _submission(submission_id)
    stored = _stored(submission)
    if stored is None:
        return render_template("provider/no_feedback.html", submission=submission), 200
    found = stored.summary.get("provisional_performance")
    return render_template(
        "provider/provisional.html",
        submission=submission,
        p=found,
        rows=provisional_rows(found) if found else [],
        is_crc=bool(found) and found.get("credits_gbp") is not None,
    )


def _pagination(page: int, pages: int, href) -> dict | None:
    """GOV.UK pagination for the findings: the first and last pages, and two either side of this one."""
    if pages <= 1:
        return None
    items = []
    for p in range(1, pages + 1):
        if p == 1 or p == pages or abs(p - page) <= 2:
            items.append({"number": p, "href": href(p), "current": p == page})
        elif abs(p - page) == 3:
            items.append({"ellipsis": True})
    return {
        "previous": {"href": href(page - 1)} if page > 1 else None,
        "next": {"href": href(page + 1)} if page < pages else None,
        "items": items,
    }


@bp.route("/submissions/<int:submission_id>/files/<name>")
@roles("provider", "officer", "manager")
def feedback_file(submission_id: int, name: str):
    submission = _submission(submission_id)
    if name not in DOWNLOADS:
        abort(404)
    return downloads.send(
        _folder(submission) / name,
        f"{submission.provider_code}_{submission.quarter}_v{submission.version}_{name}",
        provider=submission.provider_code,
        quarter=submission.quarter,
        target=f"submission {submission.id}: {name}",
    )


@bp.route("/returns/history")
@roles("provider")
def history():
    with db() as s:
        rows = overview.versions(s, current_user.provider)
        for row in rows:
            s.expunge(row["submission"])
        unfinished = overview.unfinished_uploads(s, current_user.provider)
        s.expunge_all()
    return render_template(
        "provider/history.html",
        rows=rows,
        provider=current_user.provider,
        tags=STATUS_TAGS,
        unfinished=unfinished,
    )
