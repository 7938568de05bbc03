"""A contract manager's pages: the quarter across all providers, a provider over time, credits, builds, sign-off."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from portal import downloads, processing
from portal.charts import service_level_chart
from portal.forms import DecisionForm, RebuildForm, SignOffForm
from portal.presentation import BUILD_DOWNLOADS, STATUS_TAGS
from portal.security import db, roles
from probation_returns import audit, conversation, overview, rebuilds, signoff
from probation_returns.calendar import Quarter
from probation_returns.integrity import store as integrity_store
from probation_returns.measures.decisions import DecisionError, current_credits, decide
from probation_returns.measures.decisions import trail as decision_trail
from probation_returns.measures.explain import explain
from probation_returns.reference import providers
from probation_returns.warehouse.models import BuildRequest, ReturnBuild
from reports.ministry.layout import MEASURE_NAMES

bp = Blueprint("manager", __name__, url_prefix="/manage")


def _open_quarter() -> Quarter:
    return overview.open_quarter(setting=current_app.extensions["returns_settings"].open_quarter)


def _quarter(text: str) -> str:
    """The quarter, or 404 for one that is not a quarter or in which the contracts did not run."""
    try:
        q = Quarter.parse(text)
    except ValueError:
        abort(404)
    if not overview.in_contract(q):
        abort(404)
    return str(q)


def _provider(code: str):
    known = providers()
    if code not in known:
        abort(404)
    return known[code]


@bp.route("/")
@roles("manager")
def home():
    return redirect(url_for("manager.quarter", quarter=str(_open_quarter())))


@bp.route("/quarters/<quarter>")
@roles("manager")
def quarter(quarter: str):
    quarter = _quarter(quarter)
    q = Quarter.parse(quarter)
    with db() as s:
        rows = overview.quarter_overview(s, quarter)
        built = overview.builds(s, quarter)
        since = overview.decisions_since(s, built[0]["build"]) if built else []
        rebuilding = overview.rebuild_in_progress(s, quarter)
        flags = integrity_store.flag_counts(s, q, list(providers()))
    return render_template(
        "manager/quarter.html",
        flags=flags,
        quarter=quarter,
        rows=rows,
        builds=built,
        totals=overview.quarter_totals(rows),
        out_of_date=overview.out_of_date_reason(since),
        rebuilding=rebuilding,
        rebuild_form=RebuildForm(),
        deadline=overview.deadline(q),
        previous=str(q - 1) if overview.in_contract(q - 1) else None,
        following=str(q + 1) if q < _open_quarter() and overview.in_contract(q + 1) else None,
        tags=STATUS_TAGS,
    )


@bp.route("/providers/<code>")
@roles("manager")
def provider(code: str):
    info = _provider(code)
    with db() as s:
        series = overview.service_level_history(s, code)
        versions = overview.versions(s, code)
        money = overview.money_history(s, code)
        counted_changes = overview.counted_changes(s, code)
    charts = [
        (measure, service_level_chart(measure, rows, MEASURE_NAMES.get(measure, "")), rows)
        for measure, rows in series.items()
    ]
    return render_template(
        "manager/provider.html",
        code=code,
        info=info,
        charts=charts,
        versions=versions,
        money=money,
        counted_changes=counted_changes,
        tags=STATUS_TAGS,
        names=MEASURE_NAMES,
    )


@bp.route("/quarters/<quarter>/providers/<code>/credits", methods=["GET", "POST"])
@roles("manager")
def credits(quarter: str, code: str):
    """The provider's credits and their trail; with ``?measure=``, the decision on that credit (one per page)."""
    quarter, info = _quarter(quarter), _provider(code)
    with db() as s:
        rows = current_credits(s, quarter, code)
    measure = request.values.get("measure") or None
    chosen = next((r for r in rows if r.measure == measure), None)
    if measure is not None and chosen is None:
        abort(404)
    form = DecisionForm()
    problem = None
    if chosen is not None and form.validate_on_submit():
        try:
            with db() as s:
                decision = decide(
                    s, quarter, code, chosen.measure, form.decision.data, form.reason.data, current_user.email
                )
                audit.record(
                    s,
                    current_user.email,
                    "credit_decision",
                    provider=code,
                    quarter=quarter,
                    target=f"{code} {chosen.measure} credit",
                    decision=decision.decision,
                )
        except DecisionError as exc:
            problem = str(exc)
        else:
            flash(f"Recorded: the {chosen.measure} credit is {form.decision.data}.")
            return redirect(url_for("manager.credits", quarter=quarter, code=code))
    with db() as s:
        trail = decision_trail(s, quarter, code)
        explained = explain(s, quarter, code)
    status = 400 if problem or any(f.errors for f in form) else 200
    return render_template(
        "manager/credits.html",
        quarter=quarter,
        code=code,
        info=info,
        rows=rows,
        form=form,
        problem=problem,
        trail=trail,
        chosen=chosen,
        explained=explained,
    ), status


def _build(build_id: int) -> ReturnBuild:
    with db() as s:
        build = s.get(ReturnBuild, build_id)
        if build is None:
            abort(404)
    return build


def _build_folder(build: ReturnBuild):
    """The build's folder, absolute (a build made with relative settings records a relative one)."""
    return current_app.extensions["returns_settings"].absolute(build.output_path)


@bp.route("/builds/<int:build_id>", methods=["GET", "POST"])
@roles("manager")
def build(build_id: int):
    build = _build(build_id)
    form = SignOffForm()
    with db() as s:
        listed = overview.builds(s, build.quarter)
    this = next(b for b in listed if b["build"].id == build.id)
    with db() as s:
        reason = overview.out_of_date_reason(overview.decisions_since(s, build))
        included = overview.decisions_included(s, build)
        rebuilding = overview.rebuild_in_progress(s, build.quarter)
        declared = list(conversation.declarations(s, build.quarter).values())
        s.expunge_all()
    problem = None
    if this["latest"] and this["sign_off"] is None and form.validate_on_submit():
        try:
            with db() as s:
                signoff.sign_off(s, s.get(ReturnBuild, build.id), current_user.email)
        except signoff.OutOfDate as exc:
            problem = f"This build cannot be signed off. {exc}"
        except signoff.AlreadySigned:
            return redirect(url_for("manager.build", build_id=build.id))  # signed off a moment ago by someone else
        else:
            flash(f"Build {build.build_number} of {build.quarter} is signed off for the ministry.")
            return redirect(url_for("manager.build", build_id=build.id))
    folder = _build_folder(build)
    files = [
        (name, what, overview.build_file(build, name, folder=folder) is not None)
        for name, what in BUILD_DOWNLOADS.items()
    ]
    published = [
        (name, what, overview.build_file(build, name, publication=True, folder=folder) is not None)
        for name, what in BUILD_DOWNLOADS.items()
    ]
    return render_template(
        "manager/build.html",
        build=build,
        this=this,
        form=form,
        files=files,
        published=published,
        newer=listed[0]["build"] if not this["latest"] else None,
        out_of_date=reason,
        problem=problem,
        included=included,
        rebuilding=rebuilding,
        rebuild_form=RebuildForm(),
        declared=declared,
        signed_on=conversation.signed_on,
    ), 400 if problem or any(f.errors for f in form) else 200


@bp.route("/quarters/<quarter>/rebuild", methods=["POST"])
@roles("manager")
def rebuild(quarter: str):
    """Build the quarter again, through the quarter_build job, in a worker; the next page follows it."""
    quarter = _quarter(quarter)
    if not RebuildForm().validate_on_submit():
        abort(400)
    with db() as s:
        row = rebuilds.request(s, quarter, current_user.email)
        new = row.status == "received" and row.worker is None
        if new:
            audit.record(
                s, current_user.email, "rebuild_requested", quarter=quarter, target=f"{quarter} rebuild {row.id}"
            )
        request_id = row.id
    if new:
        processing.start_build(request_id, current_app.extensions["returns_settings"])
    return redirect(url_for("manager.follow_build", request_id=request_id))


def _request(request_id: int) -> BuildRequest:
    with db() as s:
        row = s.get(BuildRequest, request_id)
        if row is None:
            abort(404)
    if rebuilds.stalled(row):  # its worker was killed or never started: start another (safe to repeat)
        processing.start_build(row.id, current_app.extensions["returns_settings"])
        with db() as s:
            row = s.get(BuildRequest, request_id)
    return row


@bp.route("/rebuilds/<int:request_id>")
@roles("manager")
def follow_build(request_id: int):
    row = _request(request_id)
    if row.status == "done":
        return redirect(url_for("manager.build", build_id=row.build_id))
    return render_template("manager/rebuild.html", row=row)


@bp.route("/rebuilds/<int:request_id>/status")
@roles("manager")
def follow_build_status(request_id: int):
    row = _request(request_id)
    nxt = (
        url_for("manager.build", build_id=row.build_id)
        if row.status == "done"
        else (url_for("manager.follow_build", request_id=row.id) if row.status == "failed" else None)
    )
    return jsonify({"status": row.status, "words": REBUILD_WORDS.get(row.status, ""), "next": nxt})


REBUILD_WORDS = {"received": "The rebuild is waiting to start.", "building": "The quarter is being built."}


@bp.route("/builds/<int:build_id>/files/<name>")
@bp.route(
    "/builds/<int:build_id>/publication/<name>", endpoint="build_publication_file", defaults={"publication": True}
)
@roles("manager")
def build_file(build_id: int, name: str, publication: bool = False):
    build = _build(build_id)
    path = overview.build_file(build, name, publication=publication, folder=_build_folder(build))
    if path is None:
        abort(404)
    return downloads.send(
        path,
        path.name,
        quarter=build.quarter,
        target=f"{build.quarter} build {build.build_number}: {'publication/' if publication else ''}{path.name}",
    )
