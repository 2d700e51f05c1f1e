"""Scoring and routing of the autodiagnostic, as autodiagnostic.yaml defines them. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from lti_tool.content import rules
from lti_tool.content.routing import all_question_ids, formats_offered
from lti_tool.content.schemas import Diagnostic, Text, Variant

DONT_KNOW = 0  # the stored answer for "je ne sais pas"
PRACTICE = "pratique"  # the step (and the `axis` of the questions) on the person's own practice


@dataclass(frozen=True)
class AskedQuestion:
    axis: str
    id: str
    prompt: str
    levels: Mapping[int, str]
    is_variant: bool


@dataclass(frozen=True)
class Result:
    """Two results: the person's practice, and the organisation's maturity (its five axes)."""

    practice_score: float
    practice_level: str
    axis_scores: dict[str, float]
    global_score: float  # the organisation's
    level: str  # the organisation's maturity level
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
    variant = _variant(diagnostic, profile)
    return variant.id if variant else None


def _variant(diagnostic: Diagnostic, profile: Mapping[str, str]) -> Variant | None:
    facts = rules.Facts(level="", profile=profile, spread=0)
    return next((v for v in diagnostic.variants if rules.matches(v.when, facts)), None)


def organisation_note(diagnostic: Diagnostic, profile: Mapping[str, str]) -> Text | None:
    """What this person's variant says about which organisation to answer the five axes for."""
    variant = _variant(diagnostic, profile)
    return variant.note if variant else None


def questions(diagnostic: Diagnostic, profile: Mapping[str, str]) -> list[AskedQuestion]:
    """The questions this person is asked, in order, with their variant's wording where one applies."""
    variant = _variant(diagnostic, profile)
    replace = variant.replace if variant else {}
    asked = []
    groups = [(PRACTICE, diagnostic.practice.questions), *((a.id, a.questions) for a in diagnostic.axes)]
    for group, group_questions in groups:
        for q in group_questions:
            text = replace.get(q.id)
            asked.append(
                AskedQuestion(
                    axis=group,
                    id=q.id,
                    prompt=text.prompt if text else q.prompt,
                    levels=text.levels if text else q.levels,
                    is_variant=text is not None,
                )
            )
    return asked


def score(
    diagnostic: Diagnostic,
    profile: Mapping[str, str],
    answers: Mapping[str, int],
    planned_modules: Set[str] = frozenset(),
) -> Result:
    """The person's practice level, the organisation's axis scores, global score, level, priority and
    strength axes, spread, and the route decided on both. ``planned_modules``: the modules with a live
    session planned in the course (a workshop is recommended only where one is planned)."""
    missing = [q for q in all_question_ids(diagnostic) if q not in answers]
    if missing:
        raise IncompleteAnswers(missing)
    counts_as = diagnostic.dont_know.counts_as

    def scaled(ids: list[str]) -> float:
        values = [answers[q] or counts_as for q in ids]
        return (sum(values) / len(values) - 1) / 3 * 100

    practice_score = scaled([q.id for q in diagnostic.practice.questions])
    practice_level = [lvl.code for lvl in diagnostic.practice.levels if practice_score >= lvl.from_][-1]
    axis_scores = {axis.id: scaled([q.id for q in axis.questions]) for axis in diagnostic.axes}
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
    facts = rules.Facts(level, profile, spread, practice=practice_level, priority=priority)
    rule = next((r for r in diagnostic.routing.rules if rules.matches(r.when, facts)), None)
    if rule is None:  # modules check proves every case reaches a rule; say so if edited away
        raise ValueError("no routing rule matches; end the rules with one per level")
    formats = formats_offered(diagnostic, rule.formats, profile, planned_modules)
    if len(formats) < 2:  # modules check proves two always remain; say so if edited away
        raise ValueError(f"rule {rule.id} leaves fewer than two formats; list more in its formats")
    axis_modules = next(a.modules for a in diagnostic.axes if a.id == priority)
    by_profile = [
        m
        for question, by_option in diagnostic.routing.modules_by_profile.items()
        for m in by_option.get(profile.get(question, ""), [])
    ]
    wanted = [
        *axis_modules,
        *rule.modules,
        *rule.modules_by_role.get(profile.get("P1", ""), []),
        *by_profile,
    ]
    modules = tuple(dict.fromkeys(wanted))[: diagnostic.routing.max_suggested_modules]
    return Result(
        practice_score=practice_score,
        practice_level=practice_level,
        axis_scores=axis_scores,
        global_score=global_score,
        level=level,
        priority_axis=priority,
        strength_axis=strength,
        spread=spread,
        dont_know=dont_know,
        rule=rule.id,
        primary_format=formats[0],
        secondary_format=formats[1],
        modules=modules,
    )
