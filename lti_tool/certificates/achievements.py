"""What a bloc's badge or a track's certificate asks for: the achievements the framework and criteria pages
show, and the Open Badges 3.0 Achievement a wallet fetches at its ``id``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing
from lti_tool.competences.rules import empty_facts
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.content.schemas import Bloc, Competence, Track
from lti_tool.errors import not_found


@dataclass(frozen=True)
class AchievementRef:
    code: str
    kind: str  # bloc | certificate
    track: str | None  # the track of a certificate


def achievement_of(content: Content, code: str) -> AchievementRef:
    """A bloc (``B1``) or a track's certificate (``certificate-fundraiser``); 404 for anything else."""
    programme = content.programme
    if any(bloc.code == code for bloc in programme.blocs):
        return AchievementRef(code, "bloc", None)
    track = code.removeprefix(issuing.CERTIFICATE)
    if code.startswith(issuing.CERTIFICATE) and any(t.code == track for t in programme.tracks):
        return AchievementRef(code, "certificate", track)
    raise not_found("Ce badge", "This badge")


def described(ref: AchievementRef, content: Content) -> dict[str, Any]:
    """Name, type, description, criteria and targets of an achievement (no learner's facts)."""
    return issuing.describe(ref.code, ref.track, content, rules_of(content), empty_facts())


def blocs_of_competences(content: Content) -> dict[str, list[Bloc]]:
    """For the framework page: the blocs each competence counts towards."""
    programme = content.programme
    return {c.code: [b for b in programme.blocs if c.code in b.competences] for c in programme.competences}


@dataclass(frozen=True)
class Criteria:
    """The criteria page of an achievement: what it asks for and the blocs it covers."""

    ref: AchievementRef
    track: Track | None
    blocs: list[Bloc]
    competences: dict[str, Competence]
    described: dict[str, Any]


def criteria(content: Content, ref: AchievementRef) -> Criteria:
    """What the criteria page of a bloc or a certificate shows."""
    programme = content.programme
    track = None
    if ref.kind == "bloc":
        blocs = [b for b in programme.blocs if b.code == ref.code]
    else:
        track = next(t for t in programme.tracks if t.code == ref.track)
        blocs = [b for b in programme.blocs if b.code in track.blocs]
    return Criteria(
        ref=ref,
        track=track,
        blocs=blocs,
        competences={c.code: c for c in programme.competences},
        described=described(ref, content),
    )


def achievement_document(ref: AchievementRef, content: Content, urls: ob.Urls) -> dict[str, Any]:
    """The Open Badges 3.0 Achievement at its own ``id`` (what a wallet fetches), with its contexts."""
    about = described(ref, content)
    document = ob.achievement_json(
        about["achievement_code"],
        about["achievement_type"],
        about["name"],
        about["description"],
        about["criteria"],
        about["targets"],
        rules_of(content).version,
        urls,
    )
    return {"@context": [ob.VC_V2, ob.OB_V3], **document}
