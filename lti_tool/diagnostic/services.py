"""The autodiagnostic as a learner goes through it: a run saved step by step, then scored and routed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy import bindparam, select

from lti_tool import events
from lti_tool.content.schemas import AxisQuestion, Diagnostic
from lti_tool.db import DbSession, utcnow
from lti_tool.diagnostic import scoring
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.scope import Scope
from lti_tool.training import live_sessions


def runs(session: DbSession, scope: Scope) -> list[DiagnosticRun]:
    """This learner's runs in this context, newest first."""
    return list(session.scalars(_RUNS, {"learner_id": scope.learner_id, "context_pk": scope.context_pk}))


_RUNS = (
    select(DiagnosticRun)
    .where(
        DiagnosticRun.learner_id == bindparam("learner_id"),
        DiagnosticRun.context_pk == bindparam("context_pk"),
    )
    .order_by(DiagnosticRun.started_at.desc(), DiagnosticRun.id.desc())
)


def recommended_modules(session: DbSession, scope: Scope) -> list[str]:
    """The modules the learner's latest submitted autodiagnostic suggests, in its order (none without one)."""
    return recommended_by(runs(session, scope))


def recommended_by(runs_newest_first: list[DiagnosticRun]) -> list[str]:
    """What the latest submitted run among these suggests (for a page that has read the runs already)."""
    for run in runs_newest_first:
        if run.status == "submitted" and run.result:
            return [str(module_id) for module_id in run.result.get("modules", [])]
    return []


def open_run(session: DbSession, scope: Scope) -> DiagnosticRun | None:
    return next((r for r in runs(session, scope) if r.status == "in_progress"), None)


def start(session: DbSession, scope: Scope, version: int) -> DiagnosticRun:
    """Resume the run in progress, or start a new one."""
    run = open_run(session, scope)
    if run is None:
        run = DiagnosticRun(
            platform_id=scope.platform_id,
            context_pk=scope.context_pk,
            learner_id=scope.learner_id,
            content_version=version,
            profile={},
            answers={},
        )
        session.add(run)
        session.flush()
    return run


def run_of(session: DbSession, scope: Scope, run_id: int) -> DiagnosticRun:
    run = session.get(DiagnosticRun, run_id)
    if run is None or run.learner_id != scope.learner_id or run.context_pk != scope.context_pk:
        raise not_found("Ce questionnaire", "This questionnaire")
    return run


def _editable(run: DiagnosticRun) -> None:
    if run.status != "in_progress":
        raise AlreadyRecorded(
            Message("Ce questionnaire est déjà envoyé.", "This questionnaire was already submitted."),
            Message(
                "Consultez vos résultats, ou recommencez un nouvel autodiagnostic.",
                "See your results, or start a new self-assessment.",
            ),
        )


def save_profile(
    session: DbSession, run: DiagnosticRun, diagnostic: Diagnostic, form: Mapping[str, str]
) -> None:
    _editable(run)
    profile = {}
    for question in diagnostic.profiling:
        value = form.get(question.id, "")
        if value not in {o.id for o in question.options}:
            raise refused(
                "bad_profile",
                f"Répondez à la question « {question.prompt.fr} » avec une option proposée.",
                f"Answer « {question.prompt.en} » with one of the options offered.",
            )
        profile[question.id] = value
    run.profile = profile
    run.variant = scoring.active_variant(diagnostic, profile)
    run.updated_at = utcnow()


def save_axis(
    session: DbSession, run: DiagnosticRun, diagnostic: Diagnostic, axis_id: str, form: Mapping[str, str]
) -> None:
    """Save the answers of one axis (every question answered: a level 1–4, or 0 for "je ne sais pas")."""
    _editable(run)
    if not run.profile:
        raise refused(
            "profile_first",
            "Répondez d'abord aux questions de profil.",
            "Answer the profile questions first.",
        )
    questions = _questions_of_step(diagnostic, axis_id)
    if questions is None:
        raise not_found("Cet axe", "This axis")
    answers = dict(run.answers)
    for question in questions:
        raw = form.get(question.id, "")
        if raw not in ("0", "1", "2", "3", "4"):
            raise refused(
                "bad_answer",
                f"Répondez à la question {question.id} (un niveau de 1 à 4, ou « je ne sais pas »).",
                f"Answer question {question.id} (a level from 1 to 4, or « I don't know »).",
            )
        answers[question.id] = int(raw)
    run.answers = answers
    run.updated_at = utcnow()


def steps(diagnostic: Diagnostic) -> list[str]:
    """The profile, the person's practice, then the organisation's axes."""
    return ["profile", scoring.PRACTICE, *(a.id for a in diagnostic.axes)]


def _questions_of_step(diagnostic: Diagnostic, step: str) -> list[AxisQuestion] | None:
    if step == scoring.PRACTICE:
        return diagnostic.practice.questions
    return next((a.questions for a in diagnostic.axes if a.id == step), None)


def next_step(run: DiagnosticRun, diagnostic: Diagnostic) -> str | None:
    """The first step not yet answered (to resume where the learner left), or None when all are.
    A run started before the practice questions existed resumes at them."""
    if not run.profile:
        return "profile"
    for step in steps(diagnostic)[1:]:
        if any(q.id not in run.answers for q in _questions_of_step(diagnostic, step) or []):
            return step
    return None


def planned_modules(session: DbSession, context_pk: int) -> set[str]:
    """The modules with a live session still to come in this course (a cancelled one does not count)."""
    now = utcnow()
    return {
        live.module_id
        for live in live_sessions.sessions_of_context(session, context_pk)
        if live.module_id and live.starts_at >= now and live.cancelled_at is None
    }


def submit(
    session: DbSession, scope: Scope, run: DiagnosticRun, diagnostic: Diagnostic, version: int
) -> scoring.Result:
    """Score and route the run with the content of ``version``, which the run then carries (a run started
    under an earlier version is scored, and shown, with today's rules)."""
    _editable(run)
    try:
        result = scoring.score(
            diagnostic, run.profile, run.answers, planned_modules(session, scope.context_pk)
        )
    except scoring.IncompleteAnswers as error:
        raise refused(
            "incomplete",
            f"Il reste des questions sans réponse : {', '.join(error.missing)}.",
            f"Some questions are unanswered: {', '.join(error.missing)}.",
        ) from error
    now = utcnow()
    run.content_version = version
    run.status = "submitted"
    run.submitted_at = now
    run.updated_at = now
    run.result = _as_json(result)
    run.global_score = result.global_score
    run.level = result.level
    events.record_event(
        session,
        scope,
        events.DIAGNOSTIC_SUBMITTED,
        content_version=run.content_version,
        payload={
            "run": run.id,
            "variant": run.variant,
            "profile": run.profile,
            **run.result,
            "duration_seconds": (now - run.started_at).total_seconds(),
        },
    )
    session.flush()
    return result


def _as_json(result: scoring.Result) -> dict[str, Any]:
    data = asdict(result)
    data["practice_score"] = round(result.practice_score, 2)
    data["axis_scores"] = {k: round(v, 2) for k, v in result.axis_scores.items()}
    data["global_score"] = round(result.global_score, 2)
    data["spread"] = round(result.spread, 2)
    data["dont_know"] = list(result.dont_know)
    data["modules"] = list(result.modules)
    return data
