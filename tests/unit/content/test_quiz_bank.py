"""Quiz banks in `modules check`: the draw and the size of the bank, themes and their pages, a question asked
in two modules, and the warnings for quizzes that give their answers away (the correct option the longest,
true/false keys one way). And the draw itself: least asked first, spread over the themes."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lti_tool.content.cli import modules as modules_cli
from lti_tool.content.loader import Content, load_content
from lti_tool.training.models import QuizAttempt
from lti_tool.training.quizzes import draw, drawn_ids
from tests.unit.content.test_checker import ROOT, edit_yaml, problems

QUIZ = "m1-fondamentaux/quiz.yaml"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "modules"
    shutil.copytree(ROOT, target)
    return target


def single(qid: str, correct: str, wrong: list[str], theme: str | None = None) -> dict[str, Any]:
    choices = [{"id": "a", "text": correct, "correct": True, "feedback": "Oui."}]
    choices += [{"id": f"w{i}", "text": t, "correct": False, "feedback": "Non."} for i, t in enumerate(wrong)]
    return {"id": qid, "type": "single", "prompt": f"Question {qid} ?", "choices": choices} | (
        {"theme": theme} if theme else {}
    )


def true_false(qid: str, answer: bool) -> dict[str, Any]:
    return {
        "id": qid,
        "type": "true_false",
        "prompt": f"Affirmation {qid}.",
        "answer": answer,
        "feedback": {"correct": "Exact.", "incorrect": "Non."},
    }


def warnings(root: Path) -> list[str]:
    return [str(w) for w in load_content(root).warnings]


# -- the shipped content
def test_every_bank_holds_twice_its_draw_and_every_question_a_theme_with_its_pages() -> None:
    content = load_content(ROOT)
    for module in content.modules:
        quiz = module.quiz
        if quiz.draw is None:
            continue  # still one fixed quiz: `modules check` warns about it
        assert module.draw >= 10 and len(quiz.questions) >= 2 * module.draw, module.id
        for question in quiz.questions:
            theme = module.theme(question.theme)
            assert theme is not None and module.theme_pages(theme), (module.id, question.id)
        assert not [w for w in content.warnings if w.file.endswith(f"{module.folder}/quiz.yaml")], module.id


# -- the draw and the bank
def test_a_bank_smaller_than_twice_the_draw_is_a_problem(copy: Path) -> None:
    edit_yaml(copy / QUIZ, lambda data: data.update(draw=11))
    found = problems(copy)
    assert found == [
        f"modules/{QUIZ}: questions: 20 question(s) for 11 drawn; the bank needs at least 22 so that a "
        "second attempt asks new questions, or draw fewer"
    ]


def test_a_draw_below_ten_questions_is_a_problem(copy: Path) -> None:
    edit_yaml(copy / QUIZ, lambda data: data.update(draw=6))
    assert problems(copy) == [f"modules/{QUIZ}: draw: an attempt draws 6; draw at least 10 questions"]


def test_a_quiz_without_draw_loads_with_a_warning(copy: Path) -> None:
    edit_yaml(copy / QUIZ, lambda data: data.pop("draw"))
    assert any(
        w.startswith(f"modules/{QUIZ}: draw: no `draw`: every attempt asks the same 20 questions")
        for w in warnings(copy)
    )


def test_an_unknown_theme_or_a_theme_page_that_does_not_exist_is_a_problem(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["questions"][0]["theme"] = "leviérs"
        data["themes"][1]["pages"] = ["02-histoire.md"]

    edit_yaml(copy / QUIZ, change)
    found = problems(copy)
    assert any(
        p.startswith(f"modules/{QUIZ}: questions[q01].theme: unknown theme 'leviérs'; use one of ['leviers',")
        for p in found
    ), found
    assert any(
        p.startswith(f"modules/{QUIZ}: themes[histoire].pages: 02-histoire.md is not a page of module.yaml")
        for p in found
    ), found


def test_questions_without_a_theme_are_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        for question in data["questions"][:2]:
            question.pop("theme")

    edit_yaml(copy / QUIZ, change)
    assert (
        f"modules/{QUIZ}: questions: 2 question(s) without `theme` (q01, q02): a wrong answer cannot send "
        "the learner to the page that teaches it; give each question a theme"
    ) in warnings(copy)


def test_the_same_question_in_two_modules_is_a_problem(copy: Path) -> None:
    m1 = yaml.safe_load((copy / QUIZ).read_text(encoding="utf-8"))
    repeated = m1["questions"][3]
    edit_yaml(
        copy / "m2-diagnostic/quiz.yaml",
        lambda data: data["questions"].append(repeated | {"id": "q99", "prompt": repeated["prompt"].upper()}),
    )
    found = problems(copy)
    assert any(
        p.startswith(
            f"modules/m2-diagnostic/quiz.yaml: questions[q99]: the same question as M1 {repeated['id']};"
        )
        for p in found
    ), found


def test_a_bank_with_fewer_than_half_situations_is_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        situations = [q for q in data["questions"] if q.get("situation")]
        for question in situations[: len(situations) - 9]:
            question.pop("situation")

    edit_yaml(copy / QUIZ, change)
    assert (
        f"modules/{QUIZ}: questions: 9 of 20 questions are situations that ask for a decision "
        "(`situation: true`); write at least half so"
    ) in warnings(copy)


def test_every_shipped_bank_is_at_least_half_situations() -> None:
    for module in load_content(ROOT).modules:
        if module.quiz.draw is not None:
            assert 2 * sum(q.situation for q in module.quiz.questions) >= len(module.quiz.questions), (
                module.id
            )


# -- quizzes that give their answers away
def test_the_correct_option_longest_in_most_single_choices_is_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data.pop("draw")  # a smaller quiz, of fixed questions
        data["questions"] = (
            [q for q in data["questions"] if q["type"] != "single"]
            + [
                single(
                    f"s{i}", "La réponse juste, nettement plus longue que les autres.", ["Court.", "Bref."]
                )
                for i in range(3)
            ]
            + [single("s3", "Court.", ["Une option fausse bien plus longue.", "Bref."])]
        )
        for question in data["questions"]:
            question.setdefault("theme", "leviers")

    edit_yaml(copy / QUIZ, change)
    assert (
        f"modules/{QUIZ}: questions: the correct option is the longest in 3 of 4 single-choice questions "
        "(s0, s1, s2): learners can pick it without reading; shorten it or lengthen a wrong option"
    ) in warnings(copy)


def test_a_correct_option_longest_in_half_the_single_choices_is_not_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data.pop("draw")  # a smaller quiz, of fixed questions
        data["questions"] = [q for q in data["questions"] if q["type"] != "single"] + [
            single("s0", "La réponse juste, la plus longue.", ["Court.", "Bref."], "leviers"),
            single("s1", "La réponse juste, la plus longue.", ["Court.", "Bref."], "leviers"),
            single("s2", "Juste.", ["Une option fausse plus longue.", "Bref."], "leviers"),
            single("s3", "Juste.", ["Une option fausse plus longue.", "Bref."], "leviers"),
        ]

    edit_yaml(copy / QUIZ, change)
    assert not [w for w in warnings(copy) if w.startswith(f"modules/{QUIZ}") and "longest" in w]


def test_true_false_keys_mostly_one_way_are_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["questions"] = [q for q in data["questions"] if q["type"] != "true_false"] + [
            true_false(f"t{i}", i == 0) | {"theme": "leviers"} for i in range(4)
        ]

    edit_yaml(copy / QUIZ, change)
    assert (
        f"modules/{QUIZ}: questions: 3 of 4 true/false questions are `false`: learners can guess the key; "
        "balance them"
    ) in warnings(copy)


def test_balanced_true_false_keys_are_not_a_warning(copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["questions"] = [q for q in data["questions"] if q["type"] != "true_false"] + [
            true_false(f"t{i}", i % 2 == 0) | {"theme": "leviers"} for i in range(4)
        ]

    edit_yaml(copy / QUIZ, change)
    assert not [w for w in warnings(copy) if w.startswith(f"modules/{QUIZ}") and "true/false" in w]


def test_modules_check_prints_warnings_and_still_passes(copy: Path) -> None:
    edit_yaml(copy / QUIZ, lambda data: data.pop("draw"))
    result = CliRunner().invoke(modules_cli, ["check", "--path", str(copy)])
    assert result.exit_code == 0, result.output
    assert f"warning: modules/{QUIZ}: draw: no `draw`" in result.output
    assert "warning(s) to look at." in result.output


# -- the draw
@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(ROOT)


def attempt(ids: list[str]) -> QuizAttempt:
    """An earlier attempt that drew these questions."""
    return QuizAttempt(questions=ids, answers={i: {"correct": False} for i in ids})


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - a repeatable draw, not a secret


def test_a_draw_asks_the_least_asked_questions_first(content: Content) -> None:
    module = content.module("M1")
    assert module is not None and module.quiz.draw is not None
    rng = seeded(7)
    first = draw(module, [], rng)
    second = draw(module, [attempt(first)], rng)
    third = draw(module, [attempt(first), attempt(second)], rng)
    assert len(set(first)) == len(first) == module.draw
    assert not set(first) & set(second)  # the bank holds twice the draw
    assert len(third) == module.draw and set(third) <= {q.id for q in module.quiz.questions}


def test_a_draw_spreads_over_the_themes(content: Content) -> None:
    module = content.module("M1")
    assert module is not None
    bank = Counter(q.theme for q in module.quiz.questions)
    for seed in range(20):
        themes = Counter(module.question(i).theme for i in draw(module, [], seeded(seed)))  # type: ignore[union-attr]
        fair = module.draw // len(bank)
        assert all(themes[t] >= min(fair, bank[t]) for t in bank), (seed, themes)


def test_draws_differ_from_one_attempt_to_another(content: Content) -> None:
    module = content.module("M1")
    assert module is not None
    draws = {tuple(draw(module, [], seeded(seed))) for seed in range(10)}
    assert len(draws) == 10


def test_an_attempt_started_before_the_banks_reads_as_the_file_up_to_the_draw(content: Content) -> None:
    module = content.module("M1")
    assert module is not None
    ids = [q.id for q in module.quiz.questions]
    legacy = QuizAttempt(questions=None, answers={ids[2]: {"correct": True}}, finished_at=None)
    assert drawn_ids(module, legacy) == [ids[2], *[i for i in ids if i != ids[2]][: module.draw - 1]]
    finished = QuizAttempt(questions=None, answers={i: {"correct": True} for i in ids[:12]}, finished_at=1)
    assert drawn_ids(module, finished) == ids[:12]
