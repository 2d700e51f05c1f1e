"""Scoring and routing of the autodiagnostic, as autodiagnostic.yaml defines them. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lti_tool.content.schemas import Diagnostic
from lti_tool.diagnostic import rules

DONT_KNOW = 0  # the stored answer for "je ne sais pas"


@dataclass(frozen=True)
class AskedQuestion:
    axis: str
    id: str
    prompt: str
    levels: Mapping[int, str]
    is_variant: bool


@dataclass(frozen=True)
class Result:
    axis_scores: dict[str, float]
    global_score: float
    level: str
    priority_axis: str
    strength_axis: str
    spread: float
    dont_know: tuple[str, ...]  # the questions answered "je ne sais pas" (counted as the lowest level)
    rule: str
    primary_format: str
    secondary_format: str
    modules: tuple[str, ...]


class IncompleteAnswers(ValueError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"unanswered: {', '.join(missing)}")
        self.missing = missing


def active_variant(diagnostic: Diagnostic, profile: Mapping[str, str]) -> str | None:
    """The first variant whose condition matches the profile (profile conditions only)."""
    facts = rules.Facts(level="", profile=profile, spread=0)
    return next((v.id for v in diagnostic.variants if rules.matches(v.when, facts)), None)


def questions(diagnostic: Diagnostic, profile: Mapping[str, str]) -> list[AskedQuestion]:
    """The questions this person is asked, in order, with their variant's wording where one applies."""
    variant_id = active_variant(diagnostic, profile)
    replace = next((v.replace for v in diagnostic.variants if v.id == variant_id), {})
    asked = []
    for axis in diagnostic.axes:
        for q in axis.questions:
            text = replace.get(q.id)
            asked.append(
                AskedQuestion(
                    axis=axis.id,
                    id=q.id,
                    prompt=text.prompt if text else q.prompt,
                    levels=text.levels if text else q.levels,
                    is_variant=text is not None,
                )
            )
    return asked


def score(diagnostic: Diagnostic, profile: Mapping[str, str], answers: Mapping[str, int]) -> Result:
    """Axis scores 0–100, global score, level, priority and strength axes, spread, and the route."""
    missing = [q.id for axis in diagnostic.axes for q in axis.questions if q.id not in answers]
    if missing:
        raise IncompleteAnswers(missing)
    counts_as = diagnostic.dont_know.counts_as
    axis_scores: dict[str, float] = {}
    for axis in diagnostic.axes:
        values = [answers[q.id] or counts_as for q in axis.questions]
        axis_scores[axis.id] = (sum(values) / len(values) - 1) / 3 * 100
    weights = diagnostic.scoring.weights
    global_score = sum(axis_scores[a] * weights[a] for a in axis_scores) / sum(
        weights[a] for a in axis_scores
    )
    level = [lvl.code for lvl in diagnostic.scoring.levels if global_score >= lvl.from_][-1]
    order = {axis: rank for rank, axis in enumerate(diagnostic.scoring.priority_tie_order)}
    priority = min(axis_scores, key=lambda a: (axis_scores[a], order[a]))
    strength = max(axis_scores, key=lambda a: (axis_scores[a], -order[a]))
    spread = max(axis_scores.values()) - min(axis_scores.values())
    dont_know = tuple(q for q, v in answers.items() if v == DONT_KNOW)
    facts = rules.Facts(level=level, profile=profile, spread=spread)
    rule = next((r for r in diagnostic.routing.rules if rules.matches(r.when, facts)), None)
    if rule is None:  # the last rules cover every level in the shipped file; say so if edited away
        raise ValueError("no routing rule matches; end the rules with one per level")
    axis_modules = next(a.modules for a in diagnostic.axes if a.id == priority)
    wanted = [*axis_modules, *rule.modules, *rule.modules_by_role.get(profile.get("P1", ""), [])]
    modules = tuple(dict.fromkeys(wanted))[: diagnostic.routing.max_suggested_modules]
    return Result(
        axis_scores=axis_scores,
        global_score=global_score,
        level=level,
        priority_axis=priority,
        strength_axis=strength,
        spread=spread,
        dont_know=dont_know,
        rule=rule.id,
        primary_format=rule.primary,
        secondary_format=rule.secondary,
        modules=modules,
    )
