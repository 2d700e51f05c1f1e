"""The mastery rules of modules/thresholds.yaml applied to a learner's facts. Pure functions, no database.

Facts (one JSON document per learner and course context):
``best`` module -> best quiz score (0..1); ``completed`` module -> when; ``attended`` module -> live session
ids attended; ``accepted`` module -> True; ``assessed`` module -> the score of its production, marked on
its grid with every criterion at its required level; ``waived`` module -> reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lti_tool.content.loader import Content
from lti_tool.content.schemas import MasteryRule, Programme


@dataclass(frozen=True)
class Evaluation:
    code: str
    score: float | None  # weighted quiz evidence; None when all of it was waived
    required: float  # 0..1
    is_met: bool
    missing: list[tuple[str, str]]  # (French, English)


def track_for(programme: Programme, profile: Mapping[str, str] | None) -> str:
    """The certificate track of a person whose latest autodiagnostic gave this profile: the first track
    whose `from_profiles` matches it, else the programme's first track (programme.yaml)."""
    answers = profile or {}
    for track in programme.tracks:
        if any(
            all(answers.get(question) in options for question, options in condition.items())
            for condition in track.from_profiles
        ):
            return track.code
    return programme.tracks[0].code


def empty_facts() -> dict[str, Any]:
    return {"best": {}, "completed": {}, "attended": {}, "accepted": {}, "assessed": {}, "waived": {}}


class Rules:
    """The thresholds of one content version, indexed for the engine."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.version = content.thresholds.version
        self.rules: dict[str, MasteryRule] = dict(content.thresholds.competences)
        self.blocs = {b.code: list(b.competences) for b in content.programme.blocs}
        self.tracks = {t.code: list(t.blocs) for t in content.programme.tracks}
        # French names of the competences and blocs (what `satisfied` statements show)
        self.names = {c.code: c.name.fr for c in content.programme.competences} | {
            b.code: b.name.fr for b in content.programme.blocs
        }
        # module -> the competences whose rule names it (what an event about the module can change)
        self.by_module: dict[str, set[str]] = {}
        for code, rule in self.rules.items():
            for module_id in (
                *rule.quiz_modules,
                *rule.completed,
                *rule.attended,
                *rule.accepted,
                *rule.assessed,
            ):
                self.by_module.setdefault(module_id, set()).add(code)

    def weight(self, module_id: str, code: str) -> float:
        module = self.content.module(module_id)
        return module.meta.competences.get(code, 0.0) if module is not None else 0.0

    def quiz_share(self, module_id: str, code: str) -> float:
        """The share of a module's quiz in the competence's weighted score."""
        rule = self.rules[code]
        total = sum(self.weight(m, code) for m in rule.quiz_modules)
        return round(self.weight(module_id, code) / total, 4) if total else 0.0

    def evaluate(self, code: str, facts: dict[str, Any]) -> Evaluation:
        rule = self.rules[code]
        waived = facts["waived"]
        counted = [m for m in rule.quiz_modules if m not in waived]
        required = rule.min_score / 100
        missing: list[tuple[str, str]] = []
        score: float | None = None
        if counted:
            total = sum(self.weight(m, code) for m in counted)
            score = round(sum(self.weight(m, code) * facts["best"].get(m, 0.0) for m in counted) / total, 4)
            if score < required:
                missing.append(
                    (
                        f"score aux quiz {', '.join(counted)} : {round(score * 100)} % "
                        f"sur {rule.min_score} % requis (chaque module compte selon son poids)",
                        f"quiz score {', '.join(counted)}: {round(score * 100)}% of the {rule.min_score}% "
                        "required (each module counts by its weight)",
                    )
                )
        for module_id in rule.completed:
            if module_id not in facts["completed"] and module_id not in waived:
                missing.append((f"terminer le module {module_id}", f"complete module {module_id}"))
        for module_id in rule.attended:
            if not facts["attended"].get(module_id) and module_id not in waived:
                missing.append(
                    (
                        f"participer à la séance en direct de {module_id}",
                        f"attend the live session of {module_id}",
                    )
                )
        for module_id in rule.accepted:
            if not facts["accepted"].get(module_id) and module_id not in waived:
                missing.append(
                    (
                        f"faire accepter le livrable de {module_id}",
                        f"have the deliverable of {module_id} accepted",
                    )
                )
        for module_id in rule.assessed:
            if module_id not in facts.get("assessed", {}) and module_id not in waived:
                title = self.production_title(module_id)
                missing.append(
                    (
                        f"faire évaluer la production de {module_id} ({title}) : chaque critère de sa "
                        "grille au niveau requis",
                        f"have the production of {module_id} ({title}) assessed: every criterion of its "
                        "grid at the level required",
                    )
                )
        return Evaluation(code, score, required, not missing, missing)

    def production_title(self, module_id: str) -> str:
        module = self.content.module(module_id)
        spec = module.meta.deliverable if module is not None else None
        return (spec.title if spec is not None and spec.title else None) or "livrable"

    def bloc_met(self, bloc: str, met: set[str]) -> bool:
        return all(code in met for code in self.blocs[bloc])

    def blocs_of(self, code: str) -> list[str]:
        return [bloc for bloc, codes in self.blocs.items() if code in codes]

    def certificate_met(self, track: str, met: set[str]) -> bool:
        return bool(self.tracks.get(track)) and all(bloc in met for bloc in self.tracks[track])
