"""Quizzes that draw from a bank, over real HTTP: each attempt draws anew and keeps its draw across reloads,
a wrong answer sends back to the pages of its theme without giving the key, the result of a failed attempt
lists the themes missed, and attempts recorded before the banks still render and grade."""

from __future__ import annotations

import html
import re

from flask import Flask

from lti_tool.content.loader import Content, Module
from lti_tool.content.schemas import ChoiceQuestion, Question
from lti_tool.db import db
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.training.models import ModuleProgress, QuizAttempt
from tests.functional.test_player import (
    Learner,
    answer,
    asked,
    events,
    right_answer,
    start_attempt,
    take_quiz,
    wrong_answer,
)
from tests.helpers import LtiBrowser, error_code, fr


def banked(content: Content, key: str = "M1") -> Module:
    module = content.module(key)
    assert module is not None and module.quiz.draw is not None, f"{key} should draw from a bank"
    assert len(module.quiz.questions) >= 2 * module.draw
    return module


def drawn(app: Flask, attempt: int) -> list[str]:
    with app.app_context():
        row = db.session.get(QuizAttempt, attempt)
        assert row is not None and row.questions is not None
        ids = list(row.questions)
        db.session.remove()
        return ids


def shown(text: str) -> str:
    """A content string as the page escapes it."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


def key_texts(question: Question) -> list[str]:
    if isinstance(question, ChoiceQuestion):
        return [c.feedback for c in question.choices]
    return [question.feedback.correct, question.feedback.incorrect]  # type: ignore[union-attr]


def test_each_attempt_draws_new_questions_and_keeps_its_draw_across_reloads(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    module, learner = banked(content), Learner(browser)
    first = start_attempt(learner, module)
    ids = drawn(app, first)
    assert len(ids) == len(set(ids)) == module.draw
    assert all(module.question(i) is not None for i in ids)
    # a reload asks the same question; the counter is out of the draw, not the bank
    page = learner.get(f"/modules/{module.slug}/quiz").text
    assert f'data-question="{ids[0]}"' in page and f"question 1 sur {module.draw}" in page
    assert f'data-question="{ids[0]}"' in learner.get(f"/modules/{module.slug}/quiz").text
    for number, question_id in enumerate(ids):
        question = module.question(question_id)
        assert question is not None and asked(learner, module) == question, number
        assert answer(learner, module, first, question, right_answer(question)).status_code == 303
    assert "Quiz réussi" in learner.get(f"/modules/{module.slug}/quiz").text
    # the second attempt asks questions the first did not (the bank holds twice the draw)
    second = start_attempt(learner, module)
    assert drawn(app, second) != ids and not set(drawn(app, second)) & set(ids)


def test_a_question_outside_the_attempts_draw_is_refused(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    module, learner = banked(content), Learner(browser)
    attempt = start_attempt(learner, module)
    outside = next(q for q in module.quiz.questions if q.id not in drawn(app, attempt))
    before = events(app)
    response = answer(learner, module, attempt, outside, right_answer(outside))
    assert response.status_code == 400 and error_code(response) == "unknown_question"
    assert "ne fait pas partie de cette tentative" in response.text
    assert events(app) == before


def test_a_wrong_answer_names_its_theme_and_pages_not_the_expected_answer(
    browser: LtiBrowser, content: Content
) -> None:
    module, learner = banked(content), Learner(browser)
    attempt = start_attempt(learner, module)
    question = asked(learner, module)
    assert question is not None and question.theme is not None
    theme = module.theme(question.theme)
    assert theme is not None
    response = answer(learner, module, attempt, question, wrong_answer(question))
    page = learner.browser.http.get(learner.browser.base_url + response.headers["Location"]).text
    assert "Réponse incorrecte" in page and shown(fr("Thème à revoir : ") + theme.title + ".") in page
    for taught in module.theme_pages(theme):
        assert f"/modules/{module.slug}/pages/{taught.number}?launch=" in page
    assert "La réponse attendue n'est pas affichée" in page
    for text in key_texts(question):
        assert shown(text) not in page, text
    # a right answer shows its explanation
    question = asked(learner, module)
    assert question is not None
    response = answer(learner, module, attempt, question, right_answer(question))
    page = learner.browser.http.get(learner.browser.base_url + response.headers["Location"]).text
    assert "Bonne réponse" in page
    if isinstance(question, ChoiceQuestion):
        assert all(shown(c.feedback) in page for c in question.choices if c.correct)
    else:
        assert shown(question.feedback.correct) in page  # type: ignore[union-attr]


def test_a_failed_attempt_lists_the_themes_missed_with_the_pages_to_reread(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    module, learner = banked(content), Learner(browser)
    attempt = take_quiz(learner, module, correct=module.draw // 2)
    with app.app_context():
        row = db.session.get(QuizAttempt, attempt)
        assert row is not None and row.is_passed is False and row.score == (module.draw // 2) / module.draw
        wrong = [module.question(i) for i, a in row.answers.items() if not a["correct"]]
        db.session.remove()
    result = learner.get(f"/modules/{module.slug}/quiz").text
    assert "Quiz non réussi" in result and "Thèmes à revoir" in result
    listed = result[result.index('data-testid="missed-themes"') :]
    listed = listed[: listed.index("</ul>")]
    missed = {q.theme for q in wrong if q is not None}
    for theme in module.quiz.themes:
        assert (shown(theme.title) in listed) == (theme.id in missed), theme.id
        if theme.id in missed:
            for taught in module.theme_pages(theme):
                assert f"/modules/{module.slug}/pages/{taught.number}?launch=" in listed
                assert shown(taught.title) in listed
    assert len(re.findall(r"<li>", listed)) == len(missed)
    for question in wrong:
        assert question is not None
        for text in key_texts(question):
            assert shown(text) not in result
    assert "La prochaine tentative tirera d'autres questions sur les mêmes thèmes." in result


def test_the_last_attempt_allowed_shows_the_expected_answer(browser: LtiBrowser, content: Content) -> None:
    module, learner = banked(content), Learner(browser)
    assert module.meta.retry.max_attempts == 3
    take_quiz(learner, module, correct=0)
    take_quiz(learner, module, correct=0)
    attempt = start_attempt(learner, module)
    question = asked(learner, module)
    assert question is not None
    response = answer(learner, module, attempt, question, wrong_answer(question))
    page = learner.browser.http.get(learner.browser.base_url + response.headers["Location"]).text
    assert "Réponse incorrecte" in page and "La réponse attendue n'est pas affichée" not in page
    if isinstance(question, ChoiceQuestion):
        picked = next(c for c in question.choices if not c.correct)
        assert shown(picked.feedback) in page
    else:
        assert shown(question.feedback.incorrect) in page  # type: ignore[union-attr]


def test_an_attempt_recorded_before_the_banks_still_renders_and_grades(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    """Attempts stored no draw before: an open one goes on with the rest of the file up to the draw, a
    finished one keeps its score and its result page (even naming a question since removed)."""
    module, learner = banked(content), Learner(browser)
    learner.get(f"/modules/{module.slug}/pages/1")  # creates the progress row
    old = [q.id for q in module.quiz.questions[:3]]
    with app.app_context():
        person = db.session.query(LearnerRow).filter_by(sub=learner.sub).one()
        progress = db.session.query(ModuleProgress).filter_by(learner_id=person.id).one()
        legacy = QuizAttempt(
            progress_id=progress.id,
            learner_id=person.id,
            module_id=module.id,
            content_version=content.version - 1,
            number=1,
            questions=None,
            answers={
                old[0]: {"response": "zz", "correct": False},
                "q99-removed": {"response": 1, "correct": False},
            },
        )
        db.session.add(legacy)
        db.session.commit()
        attempt = legacy.id
        db.session.remove()
    # the open attempt asks the file's questions it had not reached, up to the draw
    page = learner.get(f"/modules/{module.slug}/quiz").text
    assert f'data-question="{old[1]}"' in page and f"question 3 sur {module.draw}" in page
    for _ in range(module.draw - 2):
        question = asked(learner, module)
        assert question is not None
        assert answer(learner, module, attempt, question, right_answer(question)).status_code == 303
    assert asked(learner, module) is None
    with app.app_context():
        row = db.session.get(QuizAttempt, attempt)
        assert row is not None and row.finished_at is not None and row.questions is None
        assert row.score == (module.draw - 2) / module.draw
        db.session.remove()
    result = learner.get(f"/modules/{module.slug}/quiz").text
    assert fr("Score : ") + f"{round(100 * (module.draw - 2) / module.draw)} %" in result
    # the theme of the question missed is listed; the removed question, with no page left, is not
    first = module.question(old[0])
    theme = module.theme(first.theme if first else None)
    assert theme is not None and "Thèmes à revoir" in result and shown(theme.title) in result
    assert "Autres questions" not in result
    # the next attempt draws from the bank, the questions asked before last
    second = start_attempt(learner, module)
    assert not set(drawn(app, second)) & set(old[:2])
