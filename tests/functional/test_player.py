"""The module player over real HTTP: direct launches, pages, quiz attempts and retries, deliverables,
completion, domain events, and tampered forms that are refused without recording anything."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from lti_tool.content.loader import Content, Module
from lti_tool.content.schemas import (
    ChoiceQuestion,
    MatchingQuestion,
    OrderingQuestion,
    Question,
    TrueFalseQuestion,
)
from lti_tool.db import db
from lti_tool.events import LearningEvent
from lti_tool.training.models import ModuleProgress, QuizAttempt
from tests.helpers import LtiBrowser, error_code, fr, launch_id_of


class Learner:
    """A fresh learner, launched through the demo platform, and the requests of their pages."""

    def __init__(
        self, browser: LtiBrowser, user: str = "learner", sub: str | None = None, **claims: Any
    ) -> None:
        self.browser = browser
        self.sub = sub or f"{user}-{time.time_ns()}"
        self.landing = browser.launch_with(user=user, sub=self.sub, **claims)
        assert self.landing.status_code == 200, error_code(self.landing)
        self.launch = launch_id_of(self.landing)

    def get(self, path: str, follow: bool = True, **params: Any) -> requests.Response:
        return self.browser.http.get(
            self.browser.base_url + path, params={"launch": self.launch, **params}, allow_redirects=follow
        )

    def post(self, path: str, data: dict[str, Any] | None = None) -> requests.Response:
        return self.browser.http.post(
            self.browser.base_url + path,
            params={"launch": self.launch},
            data=data or {},
            allow_redirects=False,
        )


def right_answer(question: Question) -> dict[str, Any]:
    if isinstance(question, ChoiceQuestion):
        return {"choice": [c.id for c in question.choices if c.correct]}
    if isinstance(question, TrueFalseQuestion):
        return {"answer": "true" if question.answer else "false"}
    if isinstance(question, MatchingQuestion):
        return {f"match-{i}": str(i) for i in range(len(question.pairs))}
    if isinstance(question, OrderingQuestion):
        return {f"position-{i}": str(i) for i in range(len(question.items))}
    raise AssertionError(question)


def wrong_answer(question: Question) -> dict[str, Any]:
    if isinstance(question, ChoiceQuestion):
        return {"choice": [next(c.id for c in question.choices if not c.correct)]}
    if isinstance(question, TrueFalseQuestion):
        return {"answer": "false" if question.answer else "true"}
    count = len(question.pairs) if isinstance(question, MatchingQuestion) else len(question.items)  # type: ignore[union-attr]
    prefix = "match" if isinstance(question, MatchingQuestion) else "position"
    return {f"{prefix}-{i}": str((i + 1) % count) for i in range(count)}


def events(app: Flask, sub: str | None = None, type_: str | None = None) -> int:
    from lti_tool.learners.models import Learner as LearnerRow

    with app.app_context():
        query = select(func.count()).select_from(LearningEvent)
        if sub:
            query = query.join(LearnerRow, LearnerRow.id == LearningEvent.learner_id).where(
                LearnerRow.sub == sub
            )
        if type_:
            query = query.where(LearningEvent.type == type_)
        count = int(db.session.scalar(query) or 0)
        db.session.remove()
        return count


def start_attempt(learner: Learner, module: Module) -> int:
    response = learner.post(f"/modules/{module.slug}/quiz/attempts")
    assert response.status_code == 303, error_code(response)
    page = learner.get(f"/modules/{module.slug}/quiz")
    import re

    match = re.search(r"/quiz/attempts/(\d+)/answers", page.text)
    assert match, page.text[:500]
    return int(match.group(1))


def answer(
    learner: Learner, module: Module, attempt: int, question: Question, form: dict[str, Any]
) -> requests.Response:
    return learner.post(
        f"/modules/{module.slug}/quiz/attempts/{attempt}/answers", {"question": question.id, **form}
    )


def asked(learner: Learner, module: Module) -> Question | None:
    """The question the quiz page asks now (the attempt's draw decides which), or None."""
    import re

    match = re.search(r'data-question="([^"]+)"', learner.get(f"/modules/{module.slug}/quiz").text)
    return module.question(match.group(1)) if match else None


def take_quiz(learner: Learner, module: Module, correct: int) -> int:
    """One whole attempt, answering the questions it draws: the first `correct` right, the rest wrong."""
    attempt = start_attempt(learner, module)
    for i in range(module.draw):
        question = asked(learner, module)
        assert question is not None, i
        form = right_answer(question) if i < correct else wrong_answer(question)
        response = answer(learner, module, attempt, question, form)
        assert response.status_code == 303, (question.id, error_code(response))
    assert asked(learner, module) is None
    return attempt


# -- landing and pages
def test_a_resource_link_naming_a_module_opens_it_directly(browser: LtiBrowser) -> None:
    learner = Learner(browser, custom={"module": "M2"})
    assert 'data-testid="module-overview"' in learner.landing.text and "M2 · " in learner.landing.text


def test_a_resource_link_naming_the_autodiagnostic_opens_it(browser: LtiBrowser) -> None:
    learner = Learner(browser, custom={"activity": "autodiagnostic"})
    assert 'data-testid="diagnostic-home"' in learner.landing.text


def test_a_resource_link_naming_the_live_sessions_opens_them_for_a_trainer(browser: LtiBrowser) -> None:
    # The launch POST renders the page: it must not be taken for the page's own "plan a session" form.
    trainer = Learner(browser, user="instructor", custom={"activity": "sessions"})
    assert "<h1>Séances en direct</h1>" in trainer.landing.text
    assert trainer.get("/staff/sessions").status_code == 200


def test_the_learner_home_lists_the_eight_modules(browser: LtiBrowser, content: Content) -> None:
    learner = Learner(browser)
    for module in content.modules:
        assert f"/modules/{module.slug}/" in learner.landing.text


def test_pages_render_record_once_and_resume(app: Flask, browser: LtiBrowser, content: Content) -> None:
    learner, module = Learner(browser), content.module("M1")
    assert module is not None
    page = learner.get("/modules/fondamentaux/pages/2")
    assert page.status_code == 200
    assert f"<h1>{module.pages[1].title}</h1>".replace("'", "&#39;") in page.text
    assert "Page 2 sur 6" in page.text
    learner.get("/modules/fondamentaux/pages/2")
    assert events(app, learner.sub, "page_read") == 1
    overview = learner.get("/modules/fondamentaux/")
    assert "Reprendre à la page 2" in overview.text
    assert 'value="14"' in overview.text  # 1 step of 7 (6 pages + quiz)


@pytest.mark.parametrize(
    "path",
    [
        "/modules/M99/",
        "/modules/nope/pages/1",
        "/modules/fondamentaux/pages/7",
        "/modules/fondamentaux/pages/0",
    ],
)
def test_modules_and_pages_that_do_not_exist_answer_404(app: Flask, browser: LtiBrowser, path: str) -> None:
    learner = Learner(browser)
    before = events(app)
    response = learner.get(path)
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert events(app) == before


# -- quiz
def test_a_perfect_quiz_passes_and_completes_the_module(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    learner, module = Learner(browser), content.module("M1")
    assert module is not None
    for number in range(1, len(module.pages) + 1):
        learner.get(f"/modules/{module.slug}/pages/{number}")
    attempt = take_quiz(learner, module, correct=len(module.quiz.questions))
    result = learner.get(f"/modules/{module.slug}/quiz")
    assert "Quiz réussi" in result.text and fr("Score : 100 %") in result.text
    assert "Module terminé." in learner.get(f"/modules/{module.slug}/").text
    assert events(app, learner.sub, "question_answered") == module.draw
    assert events(app, learner.sub, "quiz_passed") == 1
    assert events(app, learner.sub, "module_completed") == 1
    with app.app_context():
        row = db.session.get(QuizAttempt, attempt)
        assert (
            row is not None and row.score == 1.0 and row.is_passed and row.content_version == content.version
        )
        db.session.remove()


def test_each_answer_gets_immediate_feedback(browser: LtiBrowser, content: Content) -> None:
    learner, module = Learner(browser), content.module("M2")
    assert module is not None
    attempt = start_attempt(learner, module)
    question = asked(learner, module)
    assert question is not None
    response = answer(learner, module, attempt, question, right_answer(question))
    page = learner.browser.http.get(learner.browser.base_url + response.headers["Location"])
    assert "Bonne réponse" in page.text and 'id="feedback"' in page.text


def test_a_failed_quiz_can_be_retried_until_the_limit(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    learner, module = Learner(browser), content.module("M3")
    assert module is not None and module.meta.retry.max_attempts == 3
    for _ in range(3):
        take_quiz(learner, module, correct=2)
    assert events(app, learner.sub, "quiz_failed") == 3
    page = learner.get(f"/modules/{module.slug}/quiz")
    assert "Quiz non réussi" in page.text and "Les 3 tentatives permises sont utilisées." in page.text
    before = events(app)
    refused = learner.post(f"/modules/{module.slug}/quiz/attempts")
    assert refused.status_code == 409 and error_code(refused) == "attempts_exhausted"
    assert events(app) == before


def test_mastery_score_decides_pass_or_fail(app: Flask, browser: LtiBrowser, content: Content) -> None:
    module = content.module("M4")
    assert module is not None
    needed = -(-int(module.meta.mastery_score * 100) * module.draw // 100)  # ceil
    passing, failing = Learner(browser), Learner(browser)
    take_quiz(passing, module, correct=needed)
    take_quiz(failing, module, correct=needed - 1)
    assert events(app, passing.sub, "quiz_passed") == 1
    assert events(app, failing.sub, "quiz_failed") == 1


# -- tampered forms: refused, nothing recorded
def test_tampered_answers_are_refused_and_record_nothing(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, content: Content
) -> None:
    learner, module, other = Learner(browser), content.module("M5"), content.module("M6")
    assert module is not None and other is not None
    attempt = start_attempt(learner, module)
    first = asked(learner, module)
    while not isinstance(first, ChoiceQuestion):  # the draw's order is random: go on to a choice question
        assert first is not None, "the attempt drew no choice question"
        assert answer(learner, module, attempt, first, right_answer(first)).status_code == 303
        first = asked(learner, module)
    intruder = Learner(other_browser)
    before = events(app)
    cases = [
        (
            other.quiz.questions[0].id + "-x",
            right_answer(first),
            400,
            "unknown_question",
        ),  # another module's id
        (first.id, {"choice": ["zz"]}, 400, "bad_choice"),  # an answer out of range
        (first.id, {}, 400, "bad_choice"),  # no answer at all
    ]
    for question_id, form, status, code in cases:
        response = learner.post(
            f"/modules/{module.slug}/quiz/attempts/{attempt}/answers", {"question": question_id, **form}
        )
        assert (response.status_code, error_code(response)) == (status, code), (question_id, form)
    # a question of another module, by its real id, is not one of this module's
    foreign = (
        next(q for q in other.quiz.questions if module.question(q.id) is None)
        if any(module.question(q.id) is None for q in other.quiz.questions)
        else None
    )
    if foreign is not None:
        response = answer(learner, module, attempt, foreign, right_answer(foreign))
        assert response.status_code == 400 and error_code(response) == "unknown_question"
    # another learner posting to this attempt
    response = intruder.post(
        f"/modules/{module.slug}/quiz/attempts/{attempt}/answers",
        {"question": first.id, **right_answer(first)},
    )
    assert response.status_code == 404
    # the same attempt id under another module's URL
    response = learner.post(
        f"/modules/{other.slug}/quiz/attempts/{attempt}/answers",
        {"question": first.id, **right_answer(first)},
    )
    assert response.status_code == 404
    assert events(app) == before
    # a replayed submission: the first counts, the second is refused
    assert answer(learner, module, attempt, first, right_answer(first)).status_code == 303
    after_first = events(app)
    replay = answer(learner, module, attempt, first, wrong_answer(first))
    assert replay.status_code == 409 and error_code(replay) == "already_recorded"
    assert events(app) == after_first
    with app.app_context():
        row = db.session.get(QuizAttempt, attempt)
        assert row is not None and row.answers[first.id]["correct"] is True
        db.session.remove()


def test_ordering_needs_each_position_once(app: Flask, browser: LtiBrowser, content: Content) -> None:
    learner, module = Learner(browser), content.module("M7")
    assert module is not None
    ordering = next(q for q in module.quiz.questions if isinstance(q, OrderingQuestion))
    attempt = start_attempt(learner, module)
    with app.app_context():  # the attempt drew the ordering question first
        row = db.session.get(QuizAttempt, attempt)
        assert row is not None
        row.questions = [ordering.id, *[i for i in row.questions or [] if i != ordering.id]]
        db.session.commit()
        db.session.remove()
    response = answer(
        learner, module, attempt, ordering, {f"position-{i}": "0" for i in range(len(ordering.items))}
    )
    assert response.status_code == 400 and error_code(response) == "bad_order"
    # Not an error page: the same question, the positions as chosen, the message at the form.
    assert 'class="error"' not in response.text and f'data-question="{ordering.id}"' in response.text
    assert response.text.count('<option value="0" selected>') == len(ordering.items)
    assert 'id="answer-error"' in response.text and "Chaque position ne peut servir qu" in response.text
    empty = answer(learner, module, attempt, ordering, {})
    assert empty.status_code == 400 and error_code(empty) == "bad_choice"
    assert f'data-question="{ordering.id}"' in empty.text and 'id="answer-error"' in empty.text
    # a tampered form keeps the error page, which offers a way back to the learner's home
    tampered = learner.post(f"/modules/{module.slug}/quiz/attempts/{attempt}/answers", {"question": "nope"})
    assert tampered.status_code == 400 and error_code(tampered) == "unknown_question"
    assert 'data-testid="error-home"' in tampered.text and "Rechargez la page" not in tampered.text


# -- deliverables and live sessions
def test_live_module_completes_with_pages_quiz_deliverable_and_attendance(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, content: Content
) -> None:
    module = content.module("M8")
    assert module is not None and module.meta.deliverable is not None
    learner = Learner(browser)
    for number in range(1, len(module.pages) + 1):
        learner.get(f"/modules/{module.slug}/pages/{number}")
    take_quiz(learner, module, correct=len(module.quiz.questions))
    overview = learner.get(f"/modules/{module.slug}/")
    assert "participer à la séance en direct" in overview.text and "déposer le livrable" in overview.text
    short = learner.post(f"/modules/{module.slug}/deliverable", {"text": "trop court"})
    assert short.status_code == 400 and error_code(short) == "deliverable_too_short"
    # the form comes back with the text as typed and the message at the field
    assert ">trop court</textarea>" in short.text and 'id="deliverable-text-error"' in short.text
    text = " ".join(["mot"] * module.meta.deliverable.min_words)
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    again = learner.post(f"/modules/{module.slug}/deliverable", {"text": text})
    assert again.status_code == 409
    # a facilitator of the same course plans the session and records attendance
    facilitator = Learner(other_browser, user="instructor")
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "co-developpement",
            "title": "Session de co-dév",
            "starts_at": "2026-12-03T14:00",
            "duration_minutes": "120",
            "module_id": "M8",
        },
    )
    assert created.status_code == 303, error_code(created)
    attendance_url = created.headers["Location"].split("?")[0]
    with app.app_context():
        from lti_tool.learners.models import Learner as LearnerRow

        learner_id = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == learner.sub))
        db.session.remove()
    page = facilitator.get(attendance_url)
    assert f'value="{learner_id}"' in page.text
    saved = facilitator.post(attendance_url, {"present": [str(learner_id)]})
    assert saved.status_code == 303
    assert "Module terminé." in learner.get(f"/modules/{module.slug}/").text
    assert events(app, learner.sub, "attendance_recorded") == 1
    assert events(app, learner.sub, "module_completed") == 1
    home = learner.get("/learner/")
    assert "Session de co-dév" in home.text and "présent·e" in home.text
    assert "03/12/2026 14:00" in home.text  # shown in the programme's time zone


def test_attendance_refuses_people_outside_the_course(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    facilitator = Learner(other_browser, user="instructor")
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "webinaire",
            "title": "Webinaire",
            "starts_at": "2026-12-17T13:00",
            "duration_minutes": "90",
        },
    )
    url = created.headers["Location"].split("?")[0]
    outsider = Learner(browser, context={"id": f"other-course-{time.time_ns()}", "title": "Autre cours"})
    with app.app_context():
        from lti_tool.learners.models import Learner as LearnerRow

        outsider_id = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == outsider.sub))
        db.session.remove()
    before = events(app)
    response = facilitator.post(url, {"present": [str(outsider_id)]})
    assert response.status_code == 400 and error_code(response) == "unknown_learner"
    assert events(app) == before


def test_learners_cannot_plan_sessions_or_record_attendance(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    assert learner.get("/staff/sessions").status_code == 403
    response = learner.post(
        "/staff/sessions",
        {"kind": "webinaire", "title": "x", "starts_at": "2026-12-17T13:00", "duration_minutes": "90"},
    )
    assert response.status_code == 403


def test_a_session_of_another_course_is_not_found(browser: LtiBrowser, other_browser: LtiBrowser) -> None:
    here_ = Learner(other_browser, user="instructor")
    created = here_.post(
        "/staff/sessions",
        {"kind": "atelier", "title": "Atelier", "starts_at": "2026-12-10T10:00", "duration_minutes": "60"},
    )
    url = created.headers["Location"].split("?")[0]
    elsewhere = Learner(
        browser, user="instructor", context={"id": f"c-{time.time_ns()}", "title": "Ailleurs"}
    )
    assert elsewhere.get(url).status_code == 404


def test_progress_records_its_content_version(app: Flask, browser: LtiBrowser, content: Content) -> None:
    learner = Learner(browser)
    learner.get("/modules/alliances/pages/1")
    with app.app_context():
        from lti_tool.learners.models import Learner as LearnerRow

        progress = db.session.scalar(
            select(ModuleProgress)
            .join(LearnerRow, LearnerRow.id == ModuleProgress.learner_id)
            .where(LearnerRow.sub == learner.sub)
        )
        assert progress is not None and progress.content_version == content.version
        event = db.session.scalar(
            select(LearningEvent).where(LearningEvent.learner_id == progress.learner_id)
        )
        assert (
            event is not None
            and event.content_version == content.version
            and event.launch_id == learner.launch
        )
        db.session.remove()
