"""The module player's rules: pages read, quiz attempts and scores, deliverables, completion, live sessions.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
Every refusal is an ``InvalidInput`` / ``AlreadyRecorded`` / ``NotFound`` raised before anything is written.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select

from lti_tool import events
from lti_tool.content.loader import Module, Page
from lti_tool.content.schemas import (
    ChoiceQuestion,
    MatchingQuestion,
    OrderingQuestion,
    Question,
    Theme,
    TrueFalseQuestion,
)
from lti_tool.db import DbSession, insert_once, utcnow
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.learners.models import Enrolment, Learner
from lti_tool.lti.models import Launch
from lti_tool.scope import Scope
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt

LIVE_KINDS = ("webinaire", "atelier", "co-developpement")


# -- progress
def get_progress(session: DbSession, scope: Scope, module: Module) -> ModuleProgress | None:
    return session.scalar(
        select(ModuleProgress).where(
            ModuleProgress.learner_id == scope.learner_id,
            ModuleProgress.context_pk == scope.context_pk,
            ModuleProgress.module_id == module.id,
        )
    )


def progress_by_module(session: DbSession, scope: Scope) -> dict[str, ModuleProgress]:
    rows = session.scalars(
        _PROGRESS_OF_LEARNER, {"learner_id": scope.learner_id, "context_pk": scope.context_pk}
    )
    return {row.module_id: row for row in rows}


_PROGRESS_OF_LEARNER = select(ModuleProgress).where(
    ModuleProgress.learner_id == bindparam("learner_id"), ModuleProgress.context_pk == bindparam("context_pk")
)


def _progress(session: DbSession, scope: Scope, module: Module, version: int) -> ModuleProgress:
    progress = get_progress(session, scope, module)
    if progress is None:
        # Two first requests at once (a double click) both find none: the second insert does nothing.
        insert_once(
            session,
            ModuleProgress,
            {
                "platform_id": scope.platform_id,
                "context_pk": scope.context_pk,
                "learner_id": scope.learner_id,
                "module_id": module.id,
                "content_version": version,
                "pages_read": [],
                "last_page": 1,
            },
            ["learner_id", "context_pk", "module_id"],
        )
        progress = get_progress(session, scope, module)
        assert progress is not None
    return progress


def percent_done(module: Module, progress: ModuleProgress | None) -> int:
    """Pages read and quiz passed, as one percentage (the quiz counts as one more step)."""
    if progress is None:
        return 0
    steps = len(module.pages) + 1
    done = len(set(progress.pages_read)) + (1 if progress.is_quiz_passed else 0)
    return round(100 * done / steps)


def read_page(session: DbSession, scope: Scope, module: Module, number: int, version: int) -> ModuleProgress:
    """Mark a page read (once) and remember it as where to resume."""
    if not 1 <= number <= len(module.pages):
        raise not_found("Cette page du module", "This page of the module")
    progress = _progress(session, scope, module, version)
    progress.last_page = number
    progress.updated_at = utcnow()
    if number not in progress.pages_read:
        progress.pages_read = sorted({*progress.pages_read, number})
        events.record_event(
            session,
            scope,
            events.PAGE_READ,
            content_version=version,
            module=module,
            payload={
                "page": number,
                "title": module.pages[number - 1].title,
                "pages": len(module.pages),
                "progress": percent_done(module, progress),
            },
        )
        _complete_if_done(session, scope, module, progress, version)
    return progress


# -- quiz
@dataclass(frozen=True)
class QuizState:
    attempts: list[QuizAttempt]
    open_attempt: QuizAttempt | None
    can_start: bool
    reason_fr: str | None
    reason_en: str | None


def quiz_state(session: DbSession, scope: Scope, module: Module, now: datetime | None = None) -> QuizState:
    progress = get_progress(session, scope, module)
    attempts = (
        list(
            session.scalars(
                select(QuizAttempt).where(QuizAttempt.progress_id == progress.id).order_by(QuizAttempt.number)
            )
        )
        if progress
        else []
    )
    open_attempt = next((a for a in attempts if a.finished_at is None), None)
    retry = module.meta.retry
    now = now or utcnow()
    reason: tuple[str, str] | None = None
    if open_attempt is not None:
        reason = ("Une tentative est en cours.", "An attempt is in progress.")
    elif retry.max_attempts and len(attempts) >= retry.max_attempts:
        reason = (
            f"Les {retry.max_attempts} tentatives permises sont utilisées.",
            f"All {retry.max_attempts} attempts allowed are used.",
        )
    elif attempts and retry.wait_minutes:
        last = attempts[-1].finished_at
        if last and now - last < timedelta(minutes=retry.wait_minutes):
            wait = retry.wait_minutes - int((now - last).total_seconds() // 60)
            reason = (
                f"Prochaine tentative possible dans {wait} min.",
                f"Next attempt possible in {wait} min.",
            )
    return QuizState(attempts, open_attempt, reason is None, *(reason or (None, None)))


def start_attempt(session: DbSession, scope: Scope, module: Module, version: int) -> QuizAttempt:
    state = quiz_state(session, scope, module)
    if state.open_attempt is not None:
        return state.open_attempt  # a double click resumes the same attempt
    if not state.can_start:
        raise refused("attempts_exhausted", state.reason_fr or "", state.reason_en or "", status=409)
    progress = _progress(session, scope, module, version)
    attempt = QuizAttempt(
        progress_id=progress.id,
        learner_id=scope.learner_id,
        module_id=module.id,
        content_version=version,
        number=len(state.attempts) + 1,
        questions=draw(module, state.attempts, random.Random()),  # noqa: S311 - which questions, not a secret
        answers={},
    )
    session.add(attempt)
    session.flush()
    return attempt


def attempt_of(session: DbSession, scope: Scope, module: Module, attempt_id: int) -> QuizAttempt:
    """The attempt named in a form, only if it is this learner's, in this module and context."""
    attempt = session.get(QuizAttempt, attempt_id)
    progress = session.get(ModuleProgress, attempt.progress_id) if attempt else None
    if (
        attempt is None
        or progress is None
        or attempt.learner_id != scope.learner_id
        or progress.context_pk != scope.context_pk
        or attempt.module_id != module.id
    ):
        raise not_found("Cette tentative", "This attempt")
    return attempt


def draw(module: Module, earlier: Sequence[QuizAttempt], rng: random.Random) -> list[str]:
    """The questions of a new attempt, in the order asked: those the learner has been asked least often
    first (a second attempt asks new questions while the bank allows), spread over the themes, at random
    otherwise. Without `draw` in quiz.yaml: every question, in file order."""
    bank = module.quiz.questions
    if module.quiz.draw is None:
        return [q.id for q in bank]
    asked: dict[str, int] = {}
    for attempt in earlier:
        for question_id in drawn_ids(module, attempt):
            asked[question_id] = asked.get(question_id, 0) + 1
    tiebreak = {q.id: rng.random() for q in bank}
    per_theme: dict[str | None, int] = {}
    chosen: list[Question] = []
    left = list(bank)
    while left and len(chosen) < module.draw:
        pick = min(left, key=lambda q: (asked.get(q.id, 0), per_theme.get(q.theme, 0), tiebreak[q.id]))
        left.remove(pick)
        chosen.append(pick)
        per_theme[pick.theme] = per_theme.get(pick.theme, 0) + 1
    rng.shuffle(chosen)
    return [q.id for q in chosen]


def drawn_ids(module: Module, attempt: QuizAttempt) -> list[str]:
    """The question ids of an attempt. One started before quizzes drew from a bank stored none: it asked
    the whole quiz in file order, so it is read as its answers, then the rest of the file up to the draw."""
    if attempt.questions is not None:
        return list(attempt.questions)
    answered = list(attempt.answers)
    if attempt.finished_at is not None:
        return answered
    rest = [q.id for q in module.quiz.questions if q.id not in attempt.answers]
    return answered + rest[: max(0, module.draw - len(answered))]


def pending(module: Module, attempt: QuizAttempt) -> list[Question]:
    """The attempt's questions still to answer (a question since removed from the content is skipped)."""
    return [
        q
        for question_id in drawn_ids(module, attempt)
        if question_id not in attempt.answers and (q := module.question(question_id)) is not None
    ]


def attempt_size(module: Module, attempt: QuizAttempt) -> int:
    """How many questions the attempt asks (what its score is out of)."""
    return len(attempt.answers) + len(pending(module, attempt))


def next_question(module: Module, attempt: QuizAttempt) -> Question | None:
    return next(iter(pending(module, attempt)), None)


@dataclass(frozen=True)
class MissedTheme:
    theme: Theme | None  # None: questions written without a theme
    missed: int
    pages: list[Page]


def missed_themes(module: Module, attempt: QuizAttempt) -> list[MissedTheme]:
    """The themes of the questions answered wrong in an attempt, with the pages that teach them, in the
    quiz's order of themes; never which answer was expected."""
    counts: dict[str | None, int] = {}
    for question_id, record in attempt.answers.items():
        question = module.question(question_id)
        if not record.get("correct") and question is not None:
            counts[question.theme] = counts.get(question.theme, 0) + 1
    found = [
        MissedTheme(theme, counts[theme.id], module.theme_pages(theme))
        for theme in module.quiz.themes
        if theme.id in counts
    ]
    if any(key is None or module.theme(key) is None for key in counts):
        untagged = sum(n for key, n in counts.items() if key is None or module.theme(key) is None)
        found.append(MissedTheme(None, untagged, []))
    return found


def reveals_answers(module: Module, attempt: QuizAttempt) -> bool:
    """Whether the feedback of a wrong answer may show the expected answer: only on the last attempt allowed,
    when none of its questions can be drawn again for this learner."""
    limit = module.meta.retry.max_attempts
    return bool(limit) and attempt.number >= limit


@dataclass(frozen=True)
class Outcome:
    question: Question
    is_correct: bool
    feedback: list[str]
    attempt: QuizAttempt


def answer(
    session: DbSession,
    scope: Scope,
    module: Module,
    attempt_id: int,
    question_id: str,
    form: Mapping[str, Sequence[str]],
    version: int,
) -> Outcome:
    """Check and record one answer; score the attempt once every question is answered."""
    attempt = attempt_of(session, scope, module, attempt_id)
    if attempt.finished_at is not None:
        raise AlreadyRecorded(
            Message("Cette tentative est terminée.", "This attempt is finished."),
            Message(
                "Consultez votre résultat ou commencez une nouvelle tentative.",
                "See your result or start a new attempt.",
            ),
        )
    question = module.question(question_id)
    if question is None or question.id not in drawn_ids(module, attempt):
        raise refused(
            "unknown_question",
            "Cette question ne fait pas partie de cette tentative.",
            "This question is not part of this attempt.",
        )
    if question.id in attempt.answers:
        raise AlreadyRecorded(
            Message("Cette réponse est déjà enregistrée.", "This answer is already recorded."),
            Message("Passez à la question suivante.", "Go on to the next question."),
        )
    response = parse_response(question, form)
    is_correct, feedback = judge(question, response)
    attempt.answers = {**attempt.answers, question.id: {"response": response, "correct": is_correct}}
    events.record_event(
        session,
        scope,
        events.QUESTION_ANSWERED,
        content_version=attempt.content_version,
        module=module,
        question=question,
        payload={
            "attempt": attempt.number,
            "question": question.id,
            "type": question.type,
            "response": response,
            "correct": is_correct,
        },
    )
    if not pending(module, attempt):
        _finish(session, scope, module, attempt, version)
    session.flush()
    return Outcome(question, is_correct, feedback, attempt)


def parse_response(question: Question, form: Mapping[str, Sequence[str]]) -> Any:
    """The learner's response in a stored form, or InvalidInput when the form does not fit the question."""

    def values(name: str) -> list[str]:
        return [v for v in form.get(name, []) if v != ""]

    if isinstance(question, ChoiceQuestion):
        ids = {c.id for c in question.choices}
        picked = values("choice")
        if not picked or any(p not in ids for p in picked) or len(set(picked)) != len(picked):
            raise refused(
                "bad_choice",
                "Choisissez une ou plusieurs réponses proposées.",
                "Pick one or more of the answers offered.",
            )
        if question.type == "single":
            if len(picked) != 1:
                raise refused("bad_choice", "Choisissez une seule réponse.", "Pick exactly one answer.")
            return picked[0]
        return sorted(picked)
    if isinstance(question, TrueFalseQuestion):
        picked = values("answer")
        if picked not in (["true"], ["false"]):
            raise refused("bad_choice", "Répondez vrai ou faux.", "Answer true or false.")
        return picked[0] == "true"
    if isinstance(question, MatchingQuestion):
        return _indexes(
            form,
            "match",
            len(question.pairs),
            "Associez chaque élément à une proposition.",
            "Match every item with one proposal.",
        )
    if isinstance(question, OrderingQuestion):
        positions = _indexes(
            form,
            "position",
            len(question.items),
            "Donnez une position à chaque élément.",
            "Give every item a position.",
        )
        if sorted(positions) != list(range(len(question.items))):
            raise refused(
                "bad_order", "Chaque position ne peut servir qu'une fois.", "Each position can be used once."
            )
        return positions
    raise refused("unknown_question", "Type de question inconnu.", "Unknown question type.")


def _indexes(form: Mapping[str, Sequence[str]], prefix: str, count: int, fr: str, en: str) -> list[int]:
    result = []
    for i in range(count):
        raw = (form.get(f"{prefix}-{i}") or [""])[0]
        # isdigit() alone lets "²" through to int(): only ASCII digits, and only as many as count needs.
        if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(count)) or not 0 <= int(raw) < count:
            raise refused("bad_choice", fr, en)
        result.append(int(raw))
    return result


def judge(question: Question, response: Any) -> tuple[bool, list[str]]:
    """Right or wrong, and the feedback to show for this response."""
    if isinstance(question, ChoiceQuestion):
        picked = {response} if question.type == "single" else set(response)
        correct = {c.id for c in question.choices if c.correct}
        feedback = [c.feedback for c in question.choices if c.id in picked]
        return picked == correct, feedback
    if isinstance(question, TrueFalseQuestion):
        ok = response == question.answer
        return ok, [question.feedback.correct if ok else question.feedback.incorrect]
    if isinstance(question, MatchingQuestion | OrderingQuestion):
        # matching: left i must get right i; ordering: item i must be at position i
        ok = list(response) == list(range(len(response)))
        return ok, [question.feedback.correct if ok else question.feedback.incorrect]
    return False, []


def shuffled(seed: str, count: int) -> list[int]:
    """A stable shuffle of range(count) for one attempt and question (so a reload shows the same order)."""
    order = list(range(count))
    random.Random(seed).shuffle(order)  # noqa: S311 - presentation order, not security
    return order


def _finish(session: DbSession, scope: Scope, module: Module, attempt: QuizAttempt, version: int) -> None:
    correct = sum(1 for a in attempt.answers.values() if a["correct"])
    attempt.score = correct / len(attempt.answers)
    attempt.is_passed = attempt.score >= module.meta.mastery_score
    attempt.finished_at = utcnow()
    progress = session.get(ModuleProgress, attempt.progress_id)
    assert progress is not None
    progress.best_score = max(progress.best_score or 0.0, attempt.score)
    progress.is_quiz_passed = progress.is_quiz_passed or attempt.is_passed
    progress.updated_at = attempt.finished_at
    events.record_event(
        session,
        scope,
        events.QUIZ_PASSED if attempt.is_passed else events.QUIZ_FAILED,
        content_version=attempt.content_version,
        module=module,
        payload={
            "attempt": attempt.number,
            "score": attempt.score,
            # What the gradebook gets: the best score so far, so a failed retake never lowers a pass.
            "best_score": progress.best_score,
            "mastery_score": module.meta.mastery_score,
            "correct": correct,
            "questions": len(attempt.answers),
            "duration_seconds": (attempt.finished_at - attempt.started_at).total_seconds(),
        },
    )
    _complete_if_done(session, scope, module, progress, version)


# -- deliverable, attendance, completion
def submit_deliverable(
    session: DbSession, scope: Scope, module: Module, text: str, version: int
) -> Deliverable:
    spec = module.meta.deliverable
    if spec is None:
        raise not_found("Le livrable de ce module", "This module's deliverable")
    words = len(text.split())
    if words < spec.min_words:
        raise refused(
            "deliverable_too_short",
            f"Le livrable compte {words} mots ; il en faut au moins {spec.min_words}.",
            f"The deliverable has {words} words; it needs at least {spec.min_words}.",
        )
    if len(text) > 20_000:
        raise refused(
            "deliverable_too_long",
            "Le livrable dépasse 20 000 caractères.",
            "The deliverable is over 20,000 characters.",
        )
    progress = _progress(session, scope, module, version)
    deliverable = deliverable_of(session, progress)
    already_submitted = AlreadyRecorded(
        Message("Votre livrable est déjà déposé.", "Your deliverable is already submitted."),
        Message("Il sera examiné par l'équipe d'animation.", "The facilitators will review it."),
    )
    if deliverable is not None and deliverable.review_status != "returned":
        raise already_submitted
    if deliverable is None:
        inserted = insert_once(
            session,
            Deliverable,
            {
                "progress_id": progress.id,
                "learner_id": scope.learner_id,
                "module_id": module.id,
                "text": "",
                "content_version": version,
                "submitted_at": utcnow(),
            },
            ["progress_id"],
        )
        if inserted is None:  # the same form sent twice at once: the first one stands
            raise already_submitted
        deliverable = session.get(Deliverable, inserted)
        assert deliverable is not None
    # A returned deliverable is submitted again: the new text waits for a new review.
    deliverable.content_version = version
    deliverable.text = text.strip()
    deliverable.submitted_at = utcnow()
    deliverable.review_status = None
    events.record_event(
        session,
        scope,
        events.DELIVERABLE_SUBMITTED,
        content_version=version,
        module=module,
        payload={"words": words},
    )
    session.flush()
    _complete_if_done(session, scope, module, progress, version)
    return deliverable


def deliverable_of(session: DbSession, progress: ModuleProgress | None) -> Deliverable | None:
    if progress is None:
        return None
    return session.scalar(select(Deliverable).where(Deliverable.progress_id == progress.id))


def has_attended(session: DbSession, scope: Scope, module_id: str) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(LiveSession, LiveSession.id == Attendance.session_id)
            .where(
                Attendance.learner_id == scope.learner_id,
                Attendance.is_present.is_(True),
                LiveSession.context_pk == scope.context_pk,
                LiveSession.module_id == module_id,
            )
        )
    )


def missing_for_completion(
    session: DbSession, scope: Scope, module: Module, progress: ModuleProgress | None
) -> list[tuple[str, str]]:
    """What is still missing, as (French, English) sentences; empty when the module is complete."""
    rules = module.meta.completion
    missing: list[tuple[str, str]] = []
    read = set(progress.pages_read) if progress else set()
    unread = len(module.pages) - len(read & set(range(1, len(module.pages) + 1)))
    if unread:
        missing.append((f"{unread} page(s) à lire", f"{unread} page(s) to read"))
    if rules.quiz == "passed" and not (progress and progress.is_quiz_passed):
        score = round(module.meta.mastery_score * 100)
        missing.append((f"réussir le quiz (au moins {score} %)", f"pass the quiz (at least {score}%)"))
    if rules.attendance and not has_attended(session, scope, module.id):
        missing.append(("participer à la séance en direct", "attend the live session"))
    if rules.deliverable and not (
        progress and session.scalar(select(Deliverable.id).where(Deliverable.progress_id == progress.id))
    ):
        missing.append(("déposer le livrable", "submit the deliverable"))
    return missing


def _complete_if_done(
    session: DbSession, scope: Scope, module: Module, progress: ModuleProgress, version: int
) -> None:
    if progress.completed_at is not None:
        return
    session.flush()
    if missing_for_completion(session, scope, module, progress):
        return
    progress.completed_at = utcnow()
    events.record_event(
        session,
        scope,
        events.MODULE_COMPLETED,
        content_version=version,
        module=module,
        payload={
            "score": progress.best_score,
            "duration_seconds": (progress.completed_at - progress.started_at).total_seconds(),
        },
    )


# -- what comes next
@dataclass(frozen=True)
class NextModule:
    module: Module
    is_recommended: bool  # suggested by the learner's autodiagnostic


def next_module(
    modules: Sequence[Module],
    offered: set[str],
    recommended: Sequence[str],
    progress: Mapping[str, ModuleProgress],
    current: str,
) -> NextModule | None:
    """The module to offer after ``current``: the first the autodiagnostic suggested, then the first after
    it in the programme's order, that the course offers and the learner has not completed."""

    def open_(module_id: str) -> bool:
        done = progress.get(module_id)
        return module_id != current and module_id in offered and not (done and done.completed_at)

    by_id = {m.id: m for m in modules}
    for module_id in recommended:
        if module_id in by_id and open_(module_id):
            return NextModule(by_id[module_id], True)
    ids = [m.id for m in modules]
    after = ids[ids.index(current) + 1 :] + ids[: ids.index(current)] if current in ids else ids
    for module_id in after:
        if open_(module_id):
            return NextModule(by_id[module_id], False)
    return None


# -- live sessions (facilitators)
@dataclass(frozen=True)
class SessionPlan:
    """What a facilitator says about a live session: when, how long, where to join, what it is about."""

    kind: str
    title: str
    starts_at: datetime
    duration_minutes: int
    module_id: str | None
    place: str = ""
    join_url: str = ""
    description: str = ""


MAX_DESCRIPTION = 4000


def _checked(plan: SessionPlan) -> SessionPlan:
    if plan.kind not in LIVE_KINDS:
        raise refused("bad_kind", "Type de séance inconnu.", "Unknown kind of session.")
    if not plan.title.strip() or len(plan.title) > 255:
        raise refused(
            "bad_title", "Donnez un titre (255 caractères au plus).", "Give a title (255 characters at most)."
        )
    if not 5 <= plan.duration_minutes <= 8 * 60:
        raise refused(
            "bad_duration", "La durée va de 5 minutes à 8 heures.", "Duration is 5 minutes to 8 hours."
        )
    if len(plan.place) > 255:
        raise refused("bad_place", "Le lieu tient en 255 caractères.", "The place fits in 255 characters.")
    url = plan.join_url.strip()
    # Only a web link: a javascript: or data: URL would run in the learner's page when followed.
    if url and (
        len(url) > 1024
        or not (url.lower().startswith("https://") or url.lower().startswith("http://"))
        or any(c.isspace() for c in url)
        or len(url.split("://", 1)[1]) == 0
    ):
        raise refused(
            "bad_join_url",
            "Le lien de connexion doit être une adresse web complète (https://…).",
            "The joining link must be a full web address (https://…).",
        )
    if len(plan.description) > MAX_DESCRIPTION:
        raise refused(
            "bad_description",
            f"La description tient en {MAX_DESCRIPTION} caractères.",
            f"The description fits in {MAX_DESCRIPTION} characters.",
        )
    return plan


def create_session(session: DbSession, scope: Scope, plan: SessionPlan) -> LiveSession:
    """Plan a live session in the facilitator's course."""
    _checked(plan)
    live = LiveSession(
        platform_id=scope.platform_id,
        context_pk=scope.context_pk,
        created_by=scope.learner_id,
        revision=0,
    )
    _apply(live, plan)
    session.add(live)
    session.flush()
    return live


def update_session(session: DbSession, live: LiveSession, plan: SessionPlan) -> LiveSession:
    """Change a planned session; calendars that imported it take the new version (its revision grows)."""
    if live.cancelled_at is not None:
        raise refused(
            "session_cancelled",
            "Cette séance est annulée : elle ne se modifie plus.",
            "This session is cancelled: it can no longer be changed.",
            status=409,
        )
    _checked(plan)
    _apply(live, plan)
    live.revision = (live.revision or 0) + 1
    session.flush()
    return live


def cancel_session(session: DbSession, live: LiveSession, now: datetime | None = None) -> LiveSession:
    """Cancel a session: learners see it cancelled, its .ics says so; attendance no longer records."""
    if live.cancelled_at is None:
        live.cancelled_at = now or utcnow()
        live.revision = (live.revision or 0) + 1
        session.flush()
    return live


def _apply(live: LiveSession, plan: SessionPlan) -> None:
    live.kind = plan.kind
    live.title = plan.title.strip()
    live.starts_at = plan.starts_at
    live.duration_minutes = plan.duration_minutes
    live.module_id = plan.module_id
    live.place = plan.place.strip() or None
    live.join_url = plan.join_url.strip() or None
    live.description = plan.description.strip() or None


def has_started(live: LiveSession, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= live.starts_at


def sessions_of_module(session: DbSession, context_pk: int, module_id: str) -> list[LiveSession]:
    """A module's sessions in this course, as learners see them on the module page (cancelled ones
    included, marked: a learner who planned to come must learn it is off)."""
    return list(
        session.scalars(
            select(LiveSession)
            .where(LiveSession.context_pk == context_pk, LiveSession.module_id == module_id)
            .order_by(LiveSession.starts_at, LiveSession.id)
        )
    )


def sessions_of_context(session: DbSession, context_pk: int) -> list[LiveSession]:
    return list(session.scalars(_SESSIONS_OF_CONTEXT, {"context_pk": context_pk}))


_SESSIONS_OF_CONTEXT = (
    select(LiveSession)
    .where(LiveSession.context_pk == bindparam("context_pk"))
    .order_by(LiveSession.starts_at)
)


def session_of_context(session: DbSession, context_pk: int, session_id: int) -> LiveSession:
    live = session.get(LiveSession, session_id)
    if live is None or live.context_pk != context_pk:
        raise not_found("Cette séance", "This session")
    return live


def context_learners(session: DbSession, context_pk: int) -> list[Learner]:
    return list(
        session.scalars(
            select(Learner)
            .join(Enrolment, Enrolment.learner_id == Learner.id)
            .where(Enrolment.context_pk == context_pk, Enrolment.is_staff.is_(False))
            .order_by(Learner.family_name, Learner.name, Learner.id)
        )
    )


def latest_resource_link(session: DbSession, learner_id: int, context_pk: int) -> str | None:
    return session.scalar(
        select(Launch.resource_link_id)
        .where(Launch.learner_id == learner_id, Launch.context_pk == context_pk)
        .order_by(Launch.created_at.desc())
        .limit(1)
    )


def acting_for(session: DbSession, facilitator: Scope, learner: Learner) -> Scope:
    """The facilitator's scope turned to a learner of the same course, for what is recorded in the learner's
    name (attendance, a review, a recognition): their own latest resource link keeps their registration."""
    return facilitator.for_learner(
        learner.id,
        learner.issuer,
        learner.sub,
        latest_resource_link(session, learner.id, facilitator.context_pk),
    )


def attendance_of_learner(session: DbSession, learner_id: int, session_ids: list[int]) -> dict[int, bool]:
    """One learner's attendance at these sessions (one query, whatever the size of the course)."""
    if not session_ids:
        return {}
    rows = session.execute(
        select(Attendance.session_id, Attendance.is_present).where(
            Attendance.learner_id == learner_id, Attendance.session_id.in_(session_ids)
        )
    )
    return {session_id: present for session_id, present in rows}


def attendance_of(session: DbSession, session_id: int) -> dict[int, bool]:
    rows = session.execute(
        select(Attendance.learner_id, Attendance.is_present).where(Attendance.session_id == session_id)
    )
    return {learner_id: present for learner_id, present in rows}


class SessionNotStarted(Exception):
    """Attendance for a session that has not begun yet, not confirmed: the page warns and asks again."""


def record_attendance(
    session: DbSession,
    facilitator: Scope,
    live: LiveSession,
    present: set[int],
    content: Any,
    *,
    confirmed_early: bool = False,
    now: datetime | None = None,
) -> int:
    """Record who attended among the context's learners; return how many changed. Ids outside the
    context are refused; a session not yet started needs the facilitator's confirmation; a cancelled
    one records nothing."""
    people = {learner.id: learner for learner in context_learners(session, live.context_pk)}
    known = set(people)
    if not present <= known:
        raise refused(
            "unknown_learner",
            "Certaines personnes cochées ne sont pas inscrites à ce cours.",
            "Some people ticked are not enrolled in this course.",
        )
    if live.cancelled_at is not None:
        raise refused(
            "session_cancelled",
            "Cette séance est annulée : aucune présence ne s'y enregistre.",
            "This session is cancelled: no attendance is recorded for it.",
            status=409,
        )
    if not confirmed_early and not has_started(live, now):
        raise SessionNotStarted()
    current = attendance_of(session, live.id)
    changed = 0
    for learner_id in sorted(known):
        is_present = learner_id in present
        if current.get(learner_id) == is_present or (learner_id not in current and not is_present):
            continue
        row = session.scalar(
            select(Attendance).where(Attendance.session_id == live.id, Attendance.learner_id == learner_id)
        )
        if row is None:
            row = Attendance(session_id=live.id, learner_id=learner_id)
            session.add(row)
        row.is_present = is_present
        row.recorded_by = facilitator.learner_id
        row.recorded_at = utcnow()
        changed += 1
        person = people[learner_id]
        learner_scope = acting_for(session, facilitator, person)
        events.record_event(
            session,
            learner_scope,
            events.ATTENDANCE_RECORDED,
            content_version=content.version,
            module=content.module(live.module_id) if live.module_id else None,
            actor=facilitator,
            session_title=live.title,
            payload={
                "session": live.id,
                "kind": live.kind,
                "present": is_present,
                "duration_minutes": live.duration_minutes,
            },
        )
        if is_present and live.module_id and (module := content.module(live.module_id)) is not None:
            session.flush()
            progress = _progress(session, learner_scope, module, content.version)
            _complete_if_done(session, learner_scope, module, progress, content.version)
    session.flush()
    return changed
