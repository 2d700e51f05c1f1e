"""Marking a production on its grid (modules/*/module.yaml `deliverable.rubric`). Pure functions.

A production meets its grid when every criterion reaches its required level: a strong criterion does not
make up for a weak one (a resource plan with no figures is not saved by a fine analysis). The score is the
share of the grid's points above the lowest levels, for the record and the xAPI statement only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lti_tool.content.schemas import Rubric
from lti_tool.errors import refused


@dataclass(frozen=True)
class Marking:
    levels: dict[str, int]  # criterion id -> level given
    below: list[str]  # the criteria under their required level, in the grid's order
    score: float  # 0..1
    raw: int
    max: int

    @property
    def is_met(self) -> bool:
        return not self.below


def mark(rubric: Rubric, levels: Mapping[str, int]) -> Marking:
    """The outcome of these levels on the grid; every criterion must be given one of its own levels."""
    given: dict[str, int] = {}
    for criterion in rubric.criteria:
        level = levels.get(criterion.id)
        if level is None or level not in {lv.level for lv in criterion.levels}:
            raise refused(
                "bad_level",
                f"Choisissez un niveau proposé pour le critère « {criterion.title} ».",
                f"Choose one of the levels offered for the criterion “{criterion.title}”.",
            )
        given[criterion.id] = level
    unknown = set(levels) - set(given)
    if unknown:
        raise refused(
            "unknown_criterion",
            "Un critère noté n'appartient pas à cette grille.",
            "A criterion marked is not part of this grid.",
        )
    below = [c.id for c in rubric.criteria if given[c.id] < c.required]
    lowest = {c.id: min(lv.level for lv in c.levels) for c in rubric.criteria}
    top = sum(max(lv.level for lv in c.levels) - lowest[c.id] for c in rubric.criteria)
    raw = sum(given[c.id] - lowest[c.id] for c in rubric.criteria)
    return Marking(given, below, round(raw / top, 4) if top else 1.0, raw, top)


def parse_levels(rubric: Rubric, form: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The levels of a facilitator's form (``level-<criterion id>``), ASCII digits only, else a 400."""
    levels: dict[str, int] = {}
    for criterion in rubric.criteria:
        raw = (form.get(f"level-{criterion.id}") or [""])[0]
        if not (raw.isascii() and raw.isdigit() and len(raw) == 1):
            raise refused(
                "bad_level",
                f"Choisissez un niveau pour le critère « {criterion.title} ».",
                f"Choose a level for the criterion “{criterion.title}”.",
            )
        levels[criterion.id] = int(raw)
    return levels
