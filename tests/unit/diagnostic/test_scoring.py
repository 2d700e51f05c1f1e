"""Scoring (§7.4) and every routing rule (§7.5) of the autodiagnostic, on the shipped autodiagnostic.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from lti_tool.content.loader import load_content
from lti_tool.content.schemas import Diagnostic
from lti_tool.diagnostic import scoring

ROOT = Path(__file__).resolve().parents[3] / "modules"
AXES = "ABCDE"


@pytest.fixture(scope="module")
def diagnostic() -> Diagnostic:
    return load_content(ROOT).diagnostic


def answers_for(points: dict[str, int]) -> dict[str, int]:
    """Answers giving each axis ``k`` points above the minimum (k = 0..12, axis score = k / 12 x 100)."""
    answers: dict[str, int] = {}
    for axis, k in points.items():
        values = [1, 1, 1, 1]
        for i in range(k):
            values[i % 4] += 1
        answers.update({f"{axis}{n}": v for n, v in enumerate(values, start=1)})
    return answers


def profile(role: str = "fundraiser", time: str = "2-6h") -> dict[str, str]:
    return {"P1": role, "P2": "association-employeuse", "P3": time, "P4": "aucun"}


def result(diagnostic: Diagnostic, points: dict[str, int], **who: str) -> scoring.Result:
    return scoring.score(diagnostic, profile(**who), answers_for(points))


def same(k: int) -> dict[str, int]:
    return {axis: k for axis in AXES}


def test_axis_score_is_the_mean_rescaled_to_0_100(diagnostic: Diagnostic) -> None:
    r = scoring.score(diagnostic, profile(), {**answers_for(same(0)), "A1": 1, "A2": 2, "A3": 3, "A4": 4})
    assert r.axis_scores["A"] == pytest.approx(50)
    assert r.axis_scores["B"] == 0
    assert result(diagnostic, same(12)).axis_scores == {axis: pytest.approx(100) for axis in AXES}


def test_global_score_is_the_mean_of_the_axes(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, {"A": 12, "B": 0, "C": 6, "D": 3, "E": 9})
    assert r.global_score == pytest.approx((100 + 0 + 50 + 25 + 75) / 5)
    assert r.spread == pytest.approx(100)
    assert (r.priority_axis, r.strength_axis) == ("B", "A")


def test_dont_know_counts_as_the_lowest_level_and_is_flagged(diagnostic: Diagnostic) -> None:
    answers = {**answers_for(same(12)), "C2": scoring.DONT_KNOW}
    r = scoring.score(diagnostic, profile(), answers)
    assert r.axis_scores["C"] == pytest.approx((4 + 1 + 4 + 4) / 4 * 100 / 3 - 100 / 3)
    assert r.dont_know == ("C2",)


@pytest.mark.parametrize(
    ("points", "level"),
    [
        (same(0), "L1"),
        ({"A": 3, "B": 3, "C": 3, "D": 3, "E": 2}, "L1"),  # 23.3
        (same(3), "L2"),  # exactly 25
        ({"A": 6, "B": 6, "C": 6, "D": 6, "E": 5}, "L2"),  # 48.3
        (same(6), "L3"),  # exactly 50
        ({"A": 9, "B": 9, "C": 9, "D": 9, "E": 8}, "L3"),  # 73.3
        (same(9), "L4"),  # exactly 75
        (same(12), "L4"),
    ],
)
def test_level_thresholds(diagnostic: Diagnostic, points: dict[str, int], level: str) -> None:
    assert result(diagnostic, points).level == level


def test_priority_ties_are_broken_project_first(diagnostic: Diagnostic) -> None:
    assert result(diagnostic, same(6)).priority_axis == "A"
    assert result(diagnostic, {"A": 9, "B": 3, "C": 9, "D": 3, "E": 9}).priority_axis == "D"  # D before B
    assert result(diagnostic, {"A": 9, "B": 9, "C": 3, "D": 3, "E": 3}).priority_axis == "E"  # E before C, D


def test_missing_answers_are_refused(diagnostic: Diagnostic) -> None:
    answers = answers_for(same(6))
    del answers["D3"]
    with pytest.raises(scoring.IncompleteAnswers) as error:
        scoring.score(diagnostic, profile(), answers)
    assert error.value.missing == ["D3"]


# -- routing: one test per rule, evaluated top-down
def test_r1_researchers_go_to_academic_resources_at_any_level(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, same(0), role="chercheur")
    assert (r.rule, r.primary_format, r.secondary_format) == ("R1", "contenus-academiques", "parcours")
    assert "M8" in r.modules


@pytest.mark.parametrize("role", ["tete-de-reseau", "consultant"])
def test_r1_transfer_roles_at_l4_go_to_academic_resources(diagnostic: Diagnostic, role: str) -> None:
    assert result(diagnostic, same(10), role=role).rule == "R1"
    assert result(diagnostic, same(7), role=role).rule != "R1"  # at L3 they follow the common rules


def test_r2_discovering_starts_with_webinars(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, same(1), time="moins-2h")
    assert (r.rule, r.primary_format, r.secondary_format) == ("R2", "webinaires", "mooc")


def test_r3_appropriating_with_little_time_stays_with_webinars(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, same(4), time="moins-2h")
    assert (r.rule, r.primary_format, r.secondary_format) == ("R3", "webinaires", "mooc")


def test_r4_appropriating_goes_to_the_mooc_then_a_path(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, {"A": 4, "B": 4, "C": 2, "D": 4, "E": 4}, time="plus-6h")
    assert (r.rule, r.primary_format, r.secondary_format) == ("R4", "mooc", "parcours")
    assert r.modules[0] == "M4"  # the path starts with the module of the priority axis (C)


def test_r5_structuring_with_a_lagging_axis_goes_to_a_workshop_on_it(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, {"A": 12, "B": 12, "C": 12, "D": 1, "E": 6})
    assert r.level == "L3" and r.spread >= 40
    assert (r.rule, r.primary_format, r.secondary_format) == ("R5", "ateliers", "parcours")
    assert r.modules == ("M5",)  # D -> M5


def test_r6_structuring_follows_the_path_then_co_development(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, {"A": 7, "B": 6, "C": 7, "D": 7, "E": 7})
    assert (r.rule, r.primary_format, r.secondary_format) == ("R6", "parcours", "co-developpement")
    assert r.modules == ("M3",)  # B -> M3


def test_r6_grantmakers_are_pointed_to_m6(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, same(7), role="grantmaker")
    assert r.rule == "R6" and r.modules == ("M1", "M2", "M6")  # A -> M1, M2; then the role's M6


def test_r7_transforming_goes_to_co_development(diagnostic: Diagnostic) -> None:
    r = result(diagnostic, same(11))
    assert (r.rule, r.primary_format, r.secondary_format) == ("R7", "co-developpement", "parcours")


def test_suggested_modules_are_one_to_three(diagnostic: Diagnostic) -> None:
    for k in range(13):
        for role in ("fundraiser", "grantmaker", "chercheur", "consultant"):
            assert 1 <= len(result(diagnostic, same(k), role=role).modules) <= 3


def test_grantmakers_get_their_variant_questions(diagnostic: Diagnostic) -> None:
    asked = {q.id: q for q in scoring.questions(diagnostic, profile(role="grantmaker"))}
    assert {q for q in asked if asked[q].is_variant} == {"C2", "C3", "D4"}
    assert "accompagnement extra-financier" in asked["C3"].prompt
    common = {q.id: q for q in scoring.questions(diagnostic, profile())}
    assert not any(q.is_variant for q in common.values()) and len(common) == 20
