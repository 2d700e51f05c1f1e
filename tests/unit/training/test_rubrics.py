"""Marking a production on its grid: every criterion must reach its own required level."""

from __future__ import annotations

from pathlib import Path

import pytest

from lti_tool.content.loader import load_content
from lti_tool.content.schemas import Rubric
from lti_tool.errors import InvalidInput
from lti_tool.training.rubrics import mark, parse_levels

ROOT = Path(__file__).resolve().parents[3] / "modules"


def grid() -> Rubric:
    def levels(n: int) -> list[dict[str, object]]:
        return [
            {"level": i, "label": f"niveau {i}", "descriptor": f"ce que montre le niveau {i}"}
            for i in range(1, n + 1)
        ]

    return Rubric.model_validate(
        {
            "criteria": [
                {"id": "projet", "title": "Le projet", "required": 3, "levels": levels(4)},
                {"id": "risques", "title": "Les risques", "required": 2, "levels": levels(4)},
                {"id": "forme", "title": "La forme", "required": 2, "levels": levels(3)},
            ]
        }
    )


def test_every_criterion_at_its_required_level_meets_the_grid() -> None:
    marking = mark(grid(), {"projet": 3, "risques": 2, "forme": 2})
    assert marking.is_met and marking.below == []
    # points above the lowest levels: (3-1)+(2-1)+(2-1) of (4-1)+(4-1)+(3-1)
    assert (marking.raw, marking.max, marking.score) == (4, 8, 0.5)


def test_one_criterion_under_its_level_fails_whatever_the_others() -> None:
    marking = mark(grid(), {"projet": 2, "risques": 4, "forme": 3})
    assert not marking.is_met
    assert marking.below == ["projet"]
    assert marking.score == 0.75  # a high score does not make up for a criterion below its level


def test_each_criterion_has_its_own_required_level() -> None:
    # 2 is enough for « risques » (required 2) but not for « projet » (required 3)
    assert mark(grid(), {"projet": 3, "risques": 2, "forme": 2}).is_met
    assert mark(grid(), {"projet": 2, "risques": 3, "forme": 2}).below == ["projet"]
    assert mark(grid(), {"projet": 4, "risques": 1, "forme": 1}).below == ["risques", "forme"]


@pytest.mark.parametrize(
    "levels",
    [
        {"projet": 3, "risques": 2},  # a criterion not marked
        {"projet": 3, "risques": 2, "forme": 4},  # « forme » has three levels
        {"projet": 0, "risques": 2, "forme": 2},  # no level 0
        {"projet": 3, "risques": 2, "forme": 2, "style": 3},  # not a criterion of the grid
    ],
)
def test_a_level_outside_the_grid_is_refused(levels: dict[str, int]) -> None:
    with pytest.raises(InvalidInput) as error:
        mark(grid(), levels)
    assert error.value.status == 400


@pytest.mark.parametrize("raw", ["", "3.0", "٣", "-1", "12", "3\x00"])
def test_the_form_takes_one_ascii_digit_per_criterion(raw: str) -> None:
    form = {"level-projet": ["3"], "level-risques": ["2"], "level-forme": [raw]}
    with pytest.raises(InvalidInput):
        parse_levels(grid(), form)


def test_the_form_is_read_per_criterion() -> None:
    form = {"level-projet": ["4"], "level-risques": ["2"], "level-forme": ["1"], "other": ["x"]}
    assert parse_levels(grid(), form) == {"projet": 4, "risques": 2, "forme": 1}


def test_the_shipped_productions_are_assessed_on_grids() -> None:
    content = load_content(ROOT)
    graded = {
        m.id: m.meta.deliverable
        for m in content.modules
        if m.meta.deliverable is not None and m.meta.deliverable.rubric is not None
    }
    assert {module_id: spec.bloc for module_id, spec in graded.items()} == {
        "M2": "B1",
        "M4": "B2",
        "M5": "B3",
        "M7": "B4",
        "M8": "B4",
    }
    for spec in graded.values():
        assert spec.rubric is not None and len(spec.rubric.criteria) >= 4
        for criterion in spec.rubric.criteria:
            # the lowest level never meets the grid, the highest always does
            lowest = {c.id: c.levels[0].level for c in spec.rubric.criteria}
            top = {c.id: c.levels[-1].level for c in spec.rubric.criteria}
            assert mark(spec.rubric, top).is_met
            assert mark(spec.rubric, {**top, criterion.id: lowest[criterion.id]}).below == [criterion.id]
