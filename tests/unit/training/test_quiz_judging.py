"""Quiz judging, on a module built here (not the shipped content): every question type of the content schema
judged right and wrong with its feedback, malformed forms refused with a 400 that says what to fix, the draw
(never the previous attempt's questions while the bank allows), the themes to revise after a failed attempt,
and when a wrong answer's feedback may reveal the expected one."""

from __future__ import annotations

import random
from typing import Any

import pytest

from lti_tool.content.loader import Module, Page
from lti_tool.content.schemas import ModuleMeta, Quiz
from lti_tool.errors import InvalidInput
from lti_tool.training.models import QuizAttempt
from lti_tool.training.quizzes import draw, judge, missed_themes, parse_response, reveals_answers

PAGES = ("01-bases.md", "02-suite.md", "03-fin.md")


def make_module(
    questions: list[dict[str, Any]], draw_count: int | None = None, max_attempts: int = 3
) -> Module:
    meta = ModuleMeta.model_validate(
        {
            "id": "M9",
            "slug": "essai",
            "title": "Module d'essai",
            "summary": "Un module pour les tests.",
            "objectives": ["Tester le jugement des réponses."],
            "format": "autoformation",
            "duration_minutes": 30,
            "tracks": ["fundraiser"],
            "competences": {"C1": 1.0},
            "mastery_score": 0.7,
            "retry": {"max_attempts": max_attempts, "wait_minutes": 0},
            "completion": {},
            "pages": [{"file": f, "title": f"Page {i}"} for i, f in enumerate(PAGES, 1)],
        }
    )
    quiz = Quiz.model_validate(
        {
            "draw": draw_count,
            "themes": [
                {"id": "bases", "title": "Les bases", "pages": ["01-bases.md"]},
                {"id": "suite", "title": "La suite", "pages": ["03-fin.md", "02-suite.md"]},
            ],
            "questions": questions,
        }
    )
    pages = tuple(Page(i, f"Page {i}", f"<p>{i}</p>") for i in range(1, len(PAGES) + 1))
    return Module(meta, pages, quiz, "m9-essai")


def single(qid: str = "single", theme: str | None = "bases") -> dict[str, Any]:
    return {
        "id": qid,
        "type": "single",
        "theme": theme,
        "prompt": "Laquelle ?",
        "choices": [
            {"id": "a", "text": "La bonne", "correct": True, "feedback": "Oui, a."},
            {"id": "b", "text": "Une autre", "correct": False, "feedback": "Non, pas b."},
            {"id": "c", "text": "Encore une", "correct": False, "feedback": "Non, pas c."},
        ],
    }


def multiple() -> dict[str, Any]:
    return {
        "id": "multiple",
        "type": "multiple",
        "theme": "suite",
        "prompt": "Lesquelles ?",
        "choices": [
            {"id": "a", "text": "Vraie un", "correct": True, "feedback": "a en est."},
            {"id": "b", "text": "Fausse", "correct": False, "feedback": "b n'en est pas."},
            {"id": "c", "text": "Vraie deux", "correct": True, "feedback": "c en est."},
        ],
    }


def true_false(qid: str = "vrai-faux", answer: bool = False, theme: str | None = "suite") -> dict[str, Any]:
    return {
        "id": qid,
        "type": "true_false",
        "theme": theme,
        "prompt": "Affirmation.",
        "answer": answer,
        "feedback": {"correct": "Exact.", "incorrect": "Inexact."},
    }


def matching() -> dict[str, Any]:
    return {
        "id": "paires",
        "type": "matching",
        "prompt": "Associez.",
        "pairs": [{"left": f"gauche {i}", "right": f"droite {i}"} for i in range(3)],
        "feedback": {"correct": "Bien associé.", "incorrect": "Mal associé."},
    }


def ordering() -> dict[str, Any]:
    return {
        "id": "ordre",
        "type": "ordering",
        "prompt": "Ordonnez.",
        "items": ["premier", "deuxième", "troisième", "quatrième"],
        "feedback": {"correct": "Bon ordre.", "incorrect": "Mauvais ordre."},
    }


MODULE = make_module([single(), multiple(), true_false(), matching(), ordering()])


def question(qid: str) -> Any:
    found = MODULE.question(qid)
    assert found is not None
    return found


def judged(qid: str, form: dict[str, list[str]]) -> tuple[bool, list[str]]:
    q = question(qid)
    return judge(q, parse_response(q, form))


def refusal(qid: str, form: dict[str, list[str]]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_response(question(qid), form)
    assert caught.value.status == 400
    return caught.value


# -- every question type, right and wrong
def test_single_choice_is_right_only_with_the_correct_choice_and_shows_the_picked_feedback() -> None:
    assert parse_response(question("single"), {"choice": ["a"]}) == "a"
    assert judged("single", {"choice": ["a"]}) == (True, ["Oui, a."])
    assert judged("single", {"choice": ["b"]}) == (False, ["Non, pas b."])


def test_multiple_choice_needs_exactly_the_correct_set() -> None:
    assert parse_response(question("multiple"), {"choice": ["c", "a"]}) == ["a", "c"]  # stored sorted
    assert judged("multiple", {"choice": ["c", "a"]}) == (True, ["a en est.", "c en est."])
    assert judged("multiple", {"choice": ["a"]}) == (False, ["a en est."])  # one missing
    assert judged("multiple", {"choice": ["a", "b", "c"]})[0] is False  # one too many


def test_true_false_compares_with_the_answer_and_gives_the_matching_feedback() -> None:
    assert parse_response(question("vrai-faux"), {"answer": ["false"]}) is False
    assert judged("vrai-faux", {"answer": ["false"]}) == (True, ["Exact."])
    assert judged("vrai-faux", {"answer": ["true"]}) == (False, ["Inexact."])


def test_matching_is_right_when_each_left_item_gets_its_own_right_item() -> None:
    assert judged("paires", {"match-0": ["0"], "match-1": ["1"], "match-2": ["2"]}) == (
        True,
        ["Bien associé."],
    )
    assert judged("paires", {"match-0": ["1"], "match-1": ["0"], "match-2": ["2"]}) == (
        False,
        ["Mal associé."],
    )


def test_matching_may_give_one_proposal_twice_and_is_then_wrong() -> None:
    response = parse_response(question("paires"), {"match-0": ["0"], "match-1": ["0"], "match-2": ["2"]})
    assert response == [0, 0, 2]
    assert judge(question("paires"), response)[0] is False


def test_ordering_is_right_when_every_item_is_at_its_position() -> None:
    good = {f"position-{i}": [str(i)] for i in range(4)}
    assert judged("ordre", good) == (True, ["Bon ordre."])
    swapped = {**good, "position-0": ["1"], "position-1": ["0"]}
    assert judged("ordre", swapped) == (False, ["Mauvais ordre."])


# -- malformed forms: a 400 that says what to fix, before anything is judged
@pytest.mark.parametrize(
    "form",
    [{}, {"choice": [""]}, {"choice": ["z"]}, {"other": ["a"]}],
    ids=["nothing", "empty", "unknown-choice", "another-field"],
)
def test_a_choice_question_refuses_a_form_without_an_offered_choice(form: dict[str, list[str]]) -> None:
    error = refusal("single", form)
    assert error.code == "bad_choice"
    assert error.what.en == "Pick one or more of the answers offered."


def test_a_single_choice_refuses_two_choices() -> None:
    error = refusal("single", {"choice": ["a", "b"]})
    assert (error.code, error.what.en) == ("bad_choice", "Pick exactly one answer.")


def test_a_multiple_choice_refuses_a_choice_given_twice() -> None:
    assert refusal("multiple", {"choice": ["a", "a"]}).code == "bad_choice"


@pytest.mark.parametrize("value", [[], ["yes"], ["True"], ["true", "false"], ["1"]])
def test_a_true_false_question_takes_only_true_or_false(value: list[str]) -> None:
    error = refusal("vrai-faux", {"answer": value})
    assert (error.code, error.what.en) == ("bad_choice", "Answer true or false.")


@pytest.mark.parametrize(
    "value",
    ["", "3", "-1", "²", "٣", "01", "1.0", " 1"],
    ids=["empty", "out-of-range", "negative", "superscript", "arabic-digit", "padded", "decimal", "space"],
)
def test_a_matching_refuses_a_missing_or_malformed_index(value: str) -> None:
    form = {"match-0": ["0"], "match-1": [value], "match-2": ["2"]}
    error = refusal("paires", form)
    assert (error.code, error.what.en) == ("bad_choice", "Match every item with one proposal.")


def test_a_matching_refuses_an_item_left_out() -> None:
    assert refusal("paires", {"match-0": ["0"], "match-1": ["1"]}).code == "bad_choice"


def test_an_ordering_refuses_a_position_used_twice() -> None:
    form = {"position-0": ["0"], "position-1": ["0"], "position-2": ["2"], "position-3": ["3"]}
    error = refusal("ordre", form)
    assert (error.code, error.what.en) == ("bad_order", "Each position can be used once.")


def test_an_ordering_refuses_a_position_left_out_or_out_of_range() -> None:
    assert (
        refusal("ordre", {f"position-{i}": [str(i)] for i in range(3)}).what.en
        == "Give every item a position."
    )
    out = {f"position-{i}": [str(i)] for i in range(3)} | {"position-3": ["4"]}
    assert refusal("ordre", out).code == "bad_choice"


# -- the draw
def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - a repeatable draw, not a secret


def earlier(ids: list[str], number: int = 1) -> QuizAttempt:
    return QuizAttempt(number=number, questions=ids, answers={i: {"correct": False} for i in ids})


def bank(size: int, draw_count: int | None) -> Module:
    questions = [single(f"q{i}", theme="bases" if i % 2 else "suite") for i in range(size)]
    return make_module(questions, draw_count)


def test_without_a_draw_every_question_is_asked_in_file_order() -> None:
    module = bank(5, None)
    assert draw(module, [], seeded(1)) == ["q0", "q1", "q2", "q3", "q4"]
    assert draw(module, [earlier(["q0", "q1"])], seeded(2)) == ["q0", "q1", "q2", "q3", "q4"]


@pytest.mark.parametrize("seed", range(10))
def test_a_second_attempt_never_repeats_the_first_when_the_bank_holds_twice_the_draw(seed: int) -> None:
    module = bank(8, 4)
    first = draw(module, [], seeded(seed))
    second = draw(module, [earlier(first)], seeded(seed + 100))
    assert len(first) == len(set(first)) == 4 and len(second) == len(set(second)) == 4
    assert not set(first) & set(second)


def test_a_third_attempt_asks_the_least_asked_questions_first() -> None:
    module = bank(6, 4)  # 4 + 2: the second attempt must repeat two of the first
    first = draw(module, [], seeded(3))
    second = draw(module, [earlier(first)], seeded(4))
    never_asked = {f"q{i}" for i in range(6)} - set(first)
    assert never_asked <= set(second)
    third = draw(module, [earlier(first), earlier(second, 2)], seeded(5))
    asked_once = [q for q in (f"q{i}" for i in range(6)) if (q in first) + (q in second) == 1]
    assert set(asked_once) <= set(third)


def test_a_draw_asks_no_question_twice_and_no_more_than_the_bank() -> None:
    module = bank(3, 5)
    assert sorted(draw(module, [], seeded(9))) == ["q0", "q1", "q2"]


# -- after an attempt
def attempt_with(correct: dict[str, bool], number: int = 1) -> QuizAttempt:
    return QuizAttempt(number=number, answers={q: {"correct": ok} for q, ok in correct.items()})


def test_missed_themes_follow_the_quiz_order_with_their_pages_and_counts() -> None:
    module = make_module(
        [single("s1", "suite"), single("s2", "suite"), single("b1", "bases"), single("n1", None)], None
    )
    found = missed_themes(module, attempt_with({"s1": False, "s2": False, "b1": False, "n1": True}))
    assert [(m.theme.id if m.theme else None, m.missed) for m in found] == [("bases", 1), ("suite", 2)]
    # the pages that teach each theme (quiz.yaml lists pages 03 then 02 for "suite")
    assert [p.number for p in found[0].pages] == [1]
    assert sorted(p.number for p in found[1].pages) == [2, 3]


def test_questions_without_a_theme_are_counted_together_last() -> None:
    module = make_module([single("b1", "bases"), single("n1", None), single("n2", None)], None)
    found = missed_themes(module, attempt_with({"b1": False, "n1": False, "n2": False}))
    assert [(m.theme.id if m.theme else None, m.missed, m.pages) for m in found][-1] == (None, 2, [])


def test_a_perfect_attempt_misses_no_theme_and_a_removed_question_counts_for_nothing() -> None:
    assert missed_themes(MODULE, attempt_with({"single": True, "multiple": True})) == []
    assert missed_themes(MODULE, attempt_with({"gone": False})) == []


@pytest.mark.parametrize(
    ("number", "limit", "reveals"), [(1, 3, False), (2, 3, False), (3, 3, True), (4, 3, True)]
)
def test_the_expected_answer_is_revealed_only_from_the_last_attempt_allowed(
    number: int, limit: int, reveals: bool
) -> None:
    module = make_module([single()], max_attempts=limit)
    assert reveals_answers(module, attempt_with({}, number)) is reveals


def test_unlimited_attempts_never_reveal_the_expected_answer() -> None:
    module = make_module([single()], max_attempts=0)
    assert reveals_answers(module, attempt_with({}, 50)) is False
