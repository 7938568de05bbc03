"""The conversation about a return: a provider's queries on its findings and the contract manager's decisions,
tolerances, and the sign-off by the provider's accountable officer. Thin over ``probation_returns.conversation``.

Every URL of a provider's thing is 404 for another provider's account, alike with one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.forms import QueryDecisionForm, QueryForm, ReturnSignOffForm, ToleranceForm
from portal.security import db, may_see_provider, roles
from probation_returns import conversation, overview
from probation_returns.calendar import Quarter
from probation_returns.conversation import STATES, ConversationError
from probation_returns.reference import providers
from probation_returns.spec import RULES
from probation_returns.warehouse.models import Submission

bp = Blueprint("conversation", __name__)

STATE_TAGS = {"open": "govuk-tag--yellow", "accepted": "govuk-tag--green", "rejected": "govuk-tag--red"}
RULE_STATES = {
    "resolved": ("Resolved", "govuk-tag--green"),
    "answered": ("Answered: waiting for a decision", "govuk-tag--yellow"),
    "unresolved": ("Not answered", "govuk-tag--grey"),
}


def _open_quarter() -> Quarter:
    return overview.open_quarter(setting=current_app.extensions["returns_settings"].open_quarter)


def _quarter(text: str) -> str:
    try:
        q = Quarter.parse(text)
    except ValueError:
        abort(404)
    if not overview.in_contract(q) or q > _open_quarter():
        abort(404)
    return str(q)


def _submission(submission_id: int) -> Submission:
    with db() as s:
        submission = s.get(Submission, submission_id)
        if submission is None:
            abort(404)
        may_see_provider(submission.provider_code)
        s.expunge(submission)
    return submission


def _thread(query_id: int) -> conversation.Thread:
    with db() as s:
        found = conversation.thread(s, query_id)
        if found is None:
            abort(404)
        may_see_provider(found.query.provider_code)
        s.expunge_all()
    return found


@bp.route("/submissions/<int:submission_id>/queries")
@roles("provider", "officer", "manager")
def findings(submission_id: int):
    """The version's warnings and errors, each with its tolerance and queries, and whether it is resolved."""
    submission = _submission(submission_id)
    with db() as s:
        states = conversation.rule_states(s, s.get(Submission, submission.id))
        granted = conversation.tolerances(s, submission.quarter, submission.provider_code)
        s.expunge_all()
    return render_template(
        "conversation/findings.html",
        submission=submission,
        states=states,
        granted=granted,
        rule_states=RULE_STATES,
        query_states=STATES,
        tags=STATE_TAGS,
    )


def _rows(text: str) -> list[int]:
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ConversationError("Write row numbers as whole numbers separated by commas, for example 4, 17")
    return [int(p) for p in parts]


@bp.route("/submissions/<int:submission_id>/queries/new", methods=["GET", "POST"])
@roles("provider")
def ask(submission_id: int):
    submission = _submission(submission_id)
    with db() as s:
        states = conversation.rule_states(s, s.get(Submission, submission.id))
    form = QueryForm()
    form.rule.choices = [(r.rule_id, f"{r.rule_id}: {r.summary} ({r.records:,} found)") for r in states]
    if request.method == "GET" and request.args.get("rule") in {r.rule_id for r in states}:
        form.rule.data = request.args["rule"]
    if form.validate_on_submit():
        try:
            rows = _rows(form.rows.data)
            with db() as s:
                query = conversation.raise_query(
                    s, s.get(Submission, submission.id), form.rule.data, form.explanation.data, current_user.email, rows
                )
                query_id = query.id
        except ConversationError as exc:
            field = form.rows if "row" in str(exc).lower() else form.explanation
            field.errors = [str(exc)]
        else:
            flash("Your answer has been sent to the contract manager.")
            return redirect(url_for("conversation.query", query_id=query_id))
    return render_template("conversation/ask.html", submission=submission, form=form, none_left=not states), 400 if any(
        f.errors for f in form
    ) else 200


@bp.route("/queries/<int:query_id>")
@roles("provider", "officer", "manager")
def query(query_id: int):
    found = _thread(query_id)
    return render_template(
        "conversation/thread.html", t=found, q=found.query, states=STATES, tags=STATE_TAGS, steps=STEPS
    )


STEPS = {"raised": "Answer from the provider", "accepted": "Accepted", "rejected": "Rejected"}


@bp.route("/queries/<int:query_id>/decide", methods=["GET", "POST"])
@roles("manager")
def decide(query_id: int):
    found = _thread(query_id)
    if found.query.state != "open":
        return redirect(url_for("conversation.query", query_id=query_id))
    form = QueryDecisionForm()
    if form.validate_on_submit():
        try:
            with db() as s:
                conversation.decide_query(
                    s, query_id, form.decision.data == "accepted", form.reason.data, current_user.email
                )
        except ConversationError as exc:
            form.reason.errors = [str(exc)]
        else:
            flash(f"Query {query_id} is {form.decision.data}.")
            return redirect(url_for("conversation.query", query_id=query_id))
    return render_template("conversation/decide.html", t=found, q=found.query, form=form, steps=STEPS), 400 if any(
        f.errors for f in form
    ) else 200


@bp.route("/manage/quarters/<quarter>/queries")
@roles("manager")
def quarter_queries(quarter: str):
    quarter = _quarter(quarter)
    with db() as s:
        rows = conversation.queries(s, None, quarter)
        granted = conversation.tolerances(s, quarter)
        s.expunge_all()
    return render_template(
        "conversation/quarter_queries.html",
        quarter=quarter,
        rows=rows,
        granted=granted,
        states=STATES,
        tags=STATE_TAGS,
    )


@bp.route("/manage/quarters/<quarter>/providers/<code>/tolerances", methods=["GET", "POST"])
@roles("manager")
def tolerances(quarter: str, code: str):
    quarter = _quarter(quarter)
    if code not in providers():
        abort(404)
    form = ToleranceForm()
    form.rule.choices = [("", "Choose a rule")] + [
        (r.rule_id, f"{r.rule_id}: {r.summary}") for r in RULES if r.severity in ("W", "E")
    ]
    query_id = request.args.get("query", type=int)
    if request.method == "GET" and query_id:
        with db() as s:
            found = conversation.thread(s, query_id)
        if found and found.query.provider_code == code and found.query.quarter == quarter:
            form.rule.data = found.query.subject
    if form.validate_on_submit():
        try:
            records, share = conversation.parse_limit(form.records.data, form.percent.data)
            with db() as s:
                conversation.grant_tolerance(
                    s,
                    code,
                    quarter,
                    form.rule.data,
                    form.reason.data,
                    current_user.email,
                    max_records=records,
                    max_share=share,
                    query_id=query_id if query_id and _query_of(query_id, code, quarter) else None,
                )
        except ConversationError as exc:
            target = form.records if "record" in str(exc) or "percentage" in str(exc) else form.rule
            target.errors = [str(exc)]
        else:
            flash(f"{code} has a tolerance for {form.rule.data} in {quarter}.")
            return redirect(url_for("conversation.tolerances", quarter=quarter, code=code))
    with db() as s:
        granted = conversation.tolerances(s, quarter, code)
        s.expunge_all()
    return render_template(
        "conversation/tolerances.html", quarter=quarter, code=code, info=providers()[code], form=form, granted=granted
    ), 400 if any(f.errors for f in form) else 200


def _query_of(query_id: int, code: str, quarter: str) -> bool:
    with db() as s:
        found = conversation.thread(s, query_id)
    return bool(found) and found.query.provider_code == code and found.query.quarter == quarter


@bp.route("/sign-off")
@roles("officer")
def sign_off_home():
    return redirect(url_for("conversation.sign_off", quarter=str(_open_quarter())))


@bp.route("/sign-off/<quarter>", methods=["GET", "POST"])
@roles("officer")
def sign_off(quarter: str):
    """The accountable officer's declaration for the quarter: the version that counts, the queries on the
    quarter, and the sign-off (refused, with why, while any query is open)."""
    quarter = _quarter(quarter)
    code = current_user.provider
    form = ReturnSignOffForm()
    problem = None
    if form.validate_on_submit():
        try:
            with db() as s:
                conversation.sign_off_return(s, code, quarter, current_user.email)
        except ConversationError as exc:
            problem = str(exc)
        else:
            flash(f"You signed off {code}'s return for {quarter}.")
            return redirect(url_for("conversation.sign_off", quarter=quarter))
    with db() as s:
        state = conversation.declaration(s, code, quarter)
        rows = conversation.queries(s, code, quarter)
        s.expunge_all()
    return render_template(
        "conversation/sign_off.html",
        quarter=quarter,
        code=code,
        state=state,
        rows=rows,
        form=form,
        problem=problem,
        states=STATES,
        tags=STATE_TAGS,
        declaration=conversation.DECLARATION,
    ), 400 if problem or any(f.errors for f in form) else 200
