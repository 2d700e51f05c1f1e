"""modules check on the assessed productions: grids that make sense, thresholds that require them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lti_tool.competences.rules import track_for
from lti_tool.content.loader import load_content
from tests.unit.content.test_checker import ROOT, copy, edit_yaml, problems  # noqa: F401 - the fixture


def test_a_bloc_reachable_on_quizzes_and_pages_alone_is_refused(copy: Path) -> None:  # noqa: F811
    def quizzes_only(data: dict[str, Any]) -> None:
        for code in ("C1", "C2"):
            data["competences"][code].pop("assessed")

    edit_yaml(copy / "thresholds.yaml", quizzes_only)
    found = problems(copy)
    assert len(found) == 1
    assert found[0].startswith("modules/thresholds.yaml: competences (B1): bloc B1 is reachable on quizzes")
    assert "`assessed`" in found[0]


def test_assessed_needs_a_production_with_a_grid_and_accepted_refuses_one(copy: Path) -> None:  # noqa: F811
    def swap(data: dict[str, Any]) -> None:
        data["competences"]["C1"]["assessed"] = ["M1"]  # M1 has no production
        data["competences"]["C2"]["accepted"] = ["M2"]  # M2's production has a grid

    edit_yaml(copy / "thresholds.yaml", swap)
    found = problems(copy)
    assert (
        "modules/thresholds.yaml: competences.C1.assessed: M1 has no production with a marking grid; "
        "add `deliverable.rubric` to its module.yaml" in found
    )
    assert (
        "modules/thresholds.yaml: competences.C2.accepted: M2's production has a marking grid: "
        "name it under `assessed`" in found
    )


def test_a_grid_whose_required_level_does_not_exist_or_is_the_lowest(copy: Path) -> None:  # noqa: F811
    def break_grid(data: dict[str, Any]) -> None:
        criteria = data["deliverable"]["rubric"]["criteria"]
        criteria[0]["required"] = 7
        criteria[1]["required"] = 1
        criteria[2]["id"] = criteria[3]["id"]
        criteria[3]["levels"] = list(reversed(criteria[3]["levels"]))

    edit_yaml(copy / "m2-diagnostic" / "module.yaml", break_grid)
    file = "modules/m2-diagnostic/module.yaml: deliverable.rubric.criteria"
    assert sorted(problems(copy)) == sorted(
        [
            f"{file}[0].required: 7 is not a level; use one of [1, 2, 3, 4]",
            f"{file}[1].required: the lowest level cannot be the one required; raise it",
            f"{file}[3].id: coherence is used twice; make it unique",
            f"{file}[3].levels: list the levels from lowest to highest",
        ]
    )


def test_a_production_names_a_real_bloc(copy: Path) -> None:  # noqa: F811
    edit_yaml(copy / "m7-trajectoire" / "module.yaml", lambda d: d["deliverable"].update(bloc="B9"))
    assert problems(copy) == [
        "modules/m7-trajectoire/module.yaml: deliverable.bloc: unknown bloc B9; use one of "
        "['B1', 'B2', 'B3', 'B4']"
    ]


def test_a_track_is_claimed_by_profile_answers_the_autodiagnostic_asks(copy: Path) -> None:  # noqa: F811
    def claim(data: dict[str, Any]) -> None:
        data["tracks"][1]["from_profiles"] = [{"P1": ["directeur"]}, {"P9": ["x"]}]

    edit_yaml(copy / "programme.yaml", claim)
    found = problems(copy)
    assert any(
        p.startswith(
            "modules/programme.yaml: tracks[grantmaker].from_profiles[0].P1: unknown option 'directeur'"
        )
        for p in found
    )
    assert any("tracks[grantmaker].from_profiles[1]: unknown profiling question P9" in p for p in found)


def test_a_foundation_director_follows_the_grantmaker_track_and_a_fundraiser_the_first() -> None:
    programme = load_content(ROOT).programme
    assert track_for(programme, {"P1": "grantmaker", "P2": "association-employeuse"}) == "grantmaker"
    assert track_for(programme, {"P1": "dirigeant", "P2": "fondation"}) == "grantmaker"
    assert track_for(programme, {"P1": "dirigeant", "P2": "association-employeuse"}) == "fundraiser"
    assert track_for(programme, {"P1": "fundraiser", "P2": "fondation"}) == "fundraiser"
    assert track_for(programme, None) == "fundraiser"  # no autodiagnostic yet
