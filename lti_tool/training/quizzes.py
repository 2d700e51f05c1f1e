"""Quiz attempts: drawing the questions, judging the answers, scores, retries, the themes to re-read.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

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
from lti_tool.db import DbSession, utcnow
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.scope import Scope
from lti_tool.training.completion import complete_if_done
from lti_tool.training.models import ModuleProgress, QuizAttempt
from lti_tool.training.progress import get_progress, progress_row


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
    progress = progress_row(session, scope, module, version)
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
    complete_if_done(session, scope, module, progress, version)
