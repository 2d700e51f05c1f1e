"""The module player (``/modules/…``) and the facilitators' live sessions (``/staff/sessions…``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from lti_tool import inputs
from lti_tool.content.loader import Module
from lti_tool.content.runtime import content
from lti_tool.db import DbSession, db
from lti_tool.errors import InvalidInput, not_found, refused
from lti_tool.lti import placements
from lti_tool.lti.launches import current_launch, here, require_launch
from lti_tool.scope import Scope
from lti_tool.training import (
    calendar,
    completion,
    deliverables,
    facilitation,
    live_sessions,
    next_steps,
    progress,
    quizzes,
)

bp = Blueprint("training", __name__)

# Refusals of what a person typed or chose: the form comes back with their work and the message at the
# field. Other refusals (a tampered or stale form) keep the error page.
KEPT_ANSWER_ERRORS = frozenset({"bad_choice", "bad_order"})
KEPT_DELIVERABLE_ERRORS = frozenset({"deliverable_too_short", "deliverable_too_long"})


# Who suggests the modules a learner should follow first: the autodiagnostic, a feature above training, which
# create_app names here (training does not import it).
Recommender = Callable[[DbSession, Scope], Sequence[str]]
_RECOMMENDER = "socle_recommended_modules"


def recommend_with(app: Flask, recommender: Recommender) -> None:
    """Let ``recommender`` choose the module the module page offers next, before the programme's order."""
    app.extensions[_RECOMMENDER] = recommender


def recommended_modules(scope: Scope) -> Sequence[str]:
    """The modules suggested to this learner, in order (none when no recommender is set)."""
    recommender: Recommender | None = current_app.extensions.get(_RECOMMENDER)
    return recommender(db.session, scope) if recommender is not None else ()


def module_or_404(key: str) -> Module:
    module = content().module(key)
    if module is None:
        raise not_found("Ce module", "This module")
    return module


@bp.get("/modules/<key>/")
@require_launch()
def module(key: str) -> str:
    """The module's overview: objectives, progress, where to resume, what is missing."""
    return _module_page(module_or_404(key))


def _module_page(module: Module, form_error: InvalidInput | None = None, draft: str | None = None) -> str:
    """The overview; after a refused deliverable, with the typed text kept and the message at the field."""
    scope = Scope.of_launch(current_launch())
    learner_progress = progress.get_progress(db.session, scope, module)
    following = None
    if learner_progress and learner_progress.completed_at:
        modules = content().modules
        following = next_steps.next_module(
            modules,
            placements.offered(db.session, scope.context_pk, [m.id for m in modules]),
            recommended_modules(scope),
            progress.progress_by_module(db.session, scope),
            module.id,
        )
    return render_template(
        "training/module.html",
        following=following,
        module=module,
        progress=learner_progress,
        percent=progress.percent_done(module, learner_progress),
        missing=completion.missing_for_completion(db.session, scope, module, learner_progress),
        quiz=quizzes.quiz_state(db.session, scope, module),
        deliverable=deliverables.deliverable_of(db.session, learner_progress),
        formats={f.code: f for f in content().programme.activity_formats},
        form_error=form_error,
        draft=draft,
        live_sessions=live_sessions.sessions_of_module(db.session, scope.context_pk, module.id),
        here=here,
    )


@bp.get("/modules/<key>/pages/<int:number>")
@require_launch()
def page(key: str, number: int) -> str:
    """One page; reading it is recorded (once) and it becomes where the learner resumes."""
    module = module_or_404(key)
    learner_progress = progress.read_page(
        db.session, Scope.of_launch(current_launch()), module, number, content().version
    )
    return render_template(
        "training/page.html",
        module=module,
        page=module.pages[number - 1],
        progress=learner_progress,
        percent=progress.percent_done(module, learner_progress),
        here=here,
    )


@bp.get("/modules/<key>/quiz")
@require_launch()
def quiz(key: str) -> str:
    """The quiz: the next question of the attempt in progress, the feedback just earned, or the results."""
    return _quiz_page(module_or_404(key))


def _quiz_page(
    module: Module, form_error: InvalidInput | None = None, kept: dict[str, list[str]] | None = None
) -> str:
    """The quiz page; after a refused answer, with the learner's choices kept and the message at the form."""
    scope = Scope.of_launch(current_launch())
    state = quizzes.quiz_state(db.session, scope, module)
    feedback = None
    answered = request.args.get("answered")
    last = state.attempts[-1] if state.attempts else None
    if answered and last is not None and answered in last.answers:
        question = module.question(answered)
        if question is not None:
            record = last.answers[answered]
            # A wrong answer's feedback names the theme and the pages to re-read, not the expected answer:
            # the question may be drawn again in a later attempt (unless this attempt is the last allowed).
            shown = record["correct"] or quizzes.reveals_answers(module, last)
            theme = module.theme(question.theme)
            feedback = {
                "question": question,
                "correct": record["correct"],
                "texts": quizzes.judge(question, record["response"])[1] if shown else [],
                "theme": theme,
                "pages": module.theme_pages(theme) if theme else [],
            }
    attempt = state.open_attempt
    question = quizzes.next_question(module, attempt) if attempt else None
    finished = last if last is not None and last.finished_at is not None else None
    return render_template(
        "training/quiz.html",
        module=module,
        state=state,
        attempt=attempt,
        question=question,
        last=last,
        total=quizzes.attempt_size(module, attempt) if attempt else module.draw,
        missed=quizzes.missed_themes(module, finished) if finished else [],
        feedback=feedback,
        order=(
            quizzes.shuffled(f"{attempt.id}-{question.id}", _size(question)) if attempt and question else []
        ),
        progress=progress.get_progress(db.session, scope, module),
        form_error=form_error,
        kept=kept or {},
        here=here,
    )


def _size(question: object) -> int:
    for name in ("choices", "pairs", "items"):
        if hasattr(question, name):
            return len(getattr(question, name))
    return 0


@bp.post("/modules/<key>/quiz/attempts")
@require_launch()
def start_attempt(key: str) -> Response:
    module = module_or_404(key)
    quizzes.start_attempt(db.session, Scope.of_launch(current_launch()), module, content().version)
    return redirect(here("training.quiz", key=module.slug), code=303)


@bp.post("/modules/<key>/quiz/attempts/<int:attempt_id>/answers")
@require_launch()
def answer(key: str, attempt_id: int) -> Response | tuple[str, int]:
    module = module_or_404(key)
    question_id = request.form.get("question", "")
    form = request.form.to_dict(flat=False)
    try:
        outcome = quizzes.answer(
            db.session,
            Scope.of_launch(current_launch()),
            module,
            attempt_id,
            question_id,
            form,
            content().version,
        )
    except InvalidInput as error:
        if error.code not in KEPT_ANSWER_ERRORS:
            raise
        # A missing or repeated answer: the question comes back with what was chosen and the message.
        db.session.rollback()
        return _quiz_page(module, form_error=error, kept=form), error.status
    return redirect(
        here("training.quiz", key=module.slug, answered=outcome.question.id, _anchor="feedback"), code=303
    )


@bp.post("/modules/<key>/deliverable")
@require_launch()
def deliverable(key: str) -> Response | tuple[str, int]:
    module = module_or_404(key)
    text = request.form.get("text", "")
    try:
        deliverables.submit_deliverable(
            db.session, Scope.of_launch(current_launch()), module, text, content().version
        )
    except InvalidInput as error:
        if error.code not in KEPT_DELIVERABLE_ERRORS:
            raise
        # Too short or too long: the form comes back with the text as typed, never an empty page.
        db.session.rollback()
        return _module_page(module, form_error=error, draft=text), error.status
    # Back at the top of the overview, where the confirmation is (not at the form, far below in a frame).
    return redirect(here("training.module", key=module.slug, done="deliverable"), code=303)


# -- learners: a module's live sessions in their calendar
@bp.get("/modules/<key>/sessions/<int:session_id>.ics")
@require_launch()
def session_calendar(key: str, session_id: int) -> Response:
    """A live session of this module, in this course, as an .ics file."""
    module = module_or_404(key)
    live = live_sessions.session_of_context(db.session, current_launch().context_pk, session_id)
    if live.module_id != module.id:
        raise not_found("Cette séance", "This session")
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "socle"
    body = calendar.session_ics(live, host, f"{module.id} · {module.meta.title}")
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="seance-{live.id}.ics"'},
    )


# -- facilitators: live sessions and attendance
def _plan_from_form() -> live_sessions.SessionPlan:
    """The session form's fields, parsed once (a 400 names the field that is wrong)."""
    starts_at = inputs.local_datetime(
        request.form.get("starts_at"),
        "starts_at",
        ZoneInfo(current_app.config["TIMEZONE"]),
        code="bad_date",
    )
    duration = inputs.integer(
        request.form.get("duration_minutes"), "duration_minutes", low=5, high=8 * 60, code="bad_duration"
    )
    linked = content().module(request.form["module_id"]) if request.form.get("module_id") else None
    if request.form.get("module_id") and linked is None:
        raise refused("unknown_module", "Ce module n'existe pas.", "This module does not exist.")
    return live_sessions.SessionPlan(
        kind=request.form.get("kind", ""),
        title=request.form.get("title", ""),
        starts_at=starts_at,
        duration_minutes=duration,
        module_id=linked.id if linked else None,
        place=request.form.get("place", ""),
        join_url=request.form.get("join_url", ""),
        description=request.form.get("description", ""),
    )


@bp.route("/staff/sessions", methods=["GET", "POST"])
@require_launch(staff=True)
def sessions() -> str | Response:
    """Plan a live session for this course, and see those planned."""
    launch = current_launch()
    if request.method == "POST":
        live = live_sessions.create_session(db.session, Scope.of_launch(launch), _plan_from_form())
        return redirect(here("training.attendance", session_id=live.id), code=303)
    return render_template(
        "training/sessions.html",
        sessions=live_sessions.sessions_of_context(db.session, launch.context_pk),
        modules=content().modules,
        kinds=live_sessions.LIVE_KINDS,
        here=here,
    )


@bp.route("/staff/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@require_launch(staff=True)
def edit_session(session_id: int) -> str | Response:
    """Change a session's time, place, link or description."""
    launch = current_launch()
    live = live_sessions.session_of_context(db.session, launch.context_pk, session_id)
    if request.method == "POST":
        live_sessions.update_session(db.session, live, _plan_from_form())
        return redirect(here("training.attendance", session_id=live.id, updated=1), code=303)
    return render_template(
        "training/session_edit.html",
        live=live,
        local_start=live.starts_at.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        modules=content().modules,
        here=here,
    )


@bp.post("/staff/sessions/<int:session_id>/cancel")
@require_launch(staff=True)
def cancel_session(session_id: int) -> Response:
    """Cancel a session: learners see it cancelled on the module page and in its .ics."""
    launch = current_launch()
    live = live_sessions.session_of_context(db.session, launch.context_pk, session_id)
    live_sessions.cancel_session(db.session, live)
    return redirect(here("training.attendance", session_id=live.id, cancelled=1), code=303)


@bp.route("/staff/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@require_launch(staff=True)
def attendance(session_id: int) -> tuple[str, int] | str | Response:
    """Tick who attended, among the learners known in this course (a session not yet started asks for a
    confirmation first)."""
    launch = current_launch()
    live = live_sessions.session_of_context(db.session, launch.context_pk, session_id)
    present = live_sessions.attendance_of(db.session, live.id)
    if request.method == "POST":
        ids = {
            inputs.identifier(raw, "present", code="unknown_learner")
            for raw in request.form.getlist("present")
        }
        try:
            live_sessions.record_attendance(
                db.session,
                Scope.of_launch(launch),
                live,
                ids,
                content(),
                confirmed_early=request.form.get("confirm_early") == "1",
            )
        except live_sessions.SessionNotStarted:
            db.session.rollback()
            # Nothing recorded: the page comes back with the ticks kept and the warning to confirm.
            return render_template(
                "training/attendance.html",
                live=live,
                learners=facilitation.context_learners(db.session, launch.context_pk),
                present={learner_id: True for learner_id in ids},
                not_started=True,
                must_confirm=True,
                here=here,
            ), 409
        return redirect(here("training.attendance", session_id=live.id, saved=1), code=303)
    return render_template(
        "training/attendance.html",
        live=live,
        learners=facilitation.context_learners(db.session, launch.context_pk),
        present=present,
        not_started=not live_sessions.has_started(live),
        must_confirm=False,
        saved=bool(request.args.get("saved")),
        updated=bool(request.args.get("updated")),
        cancelled=bool(request.args.get("cancelled")),
        here=here,
    )
