"""From the database to the documents a jury reads: the PDF certificate of a credential and the evidence
file of a learner in a course. No Flask here (the caller gives the URLs); a handful of queries per
document, whatever the length of the learner's history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import identity
from lti_tool.certificates.documents import (
    NBSP,
    PARIS,
    CertificateDocument,
    CompetenceEvidence,
    CompetenceLine,
    EvidenceDocument,
    EvidenceItem,
    french_percent,
)
from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState, EvidenceLink, PriorLearning
from lti_tool.competences.services import overview, rules_of
from lti_tool.content.loader import Content
from lti_tool.content.schemas import MasteryRule
from lti_tool.db import DbSession, utcnow
from lti_tool.errors import not_found
from lti_tool.learners.models import Context, Learner, Platform
from lti_tool.training.models import Attendance, LiveSession, ModuleProgress

BLOC_TYPE = "ext:BlocDeCompetences"
COMPETENCE_TYPE = "ext:Competence"
RECOGNISED = "Reconnue (acquis antérieurs)"


# -- shared reads -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Activity:
    """When a learner started in a course, and the hours of the modules they completed."""

    first_at: datetime | None
    hours: float


def activity(
    session: DbSession, learner_id: int, context_pk: int, content: Content, until: datetime | None = None
) -> Activity:
    """Hours followed: the duration of each module completed (by ``until``, when given). One query."""
    rows = session.execute(
        select(ModuleProgress.module_id, ModuleProgress.started_at, ModuleProgress.completed_at).where(
            ModuleProgress.learner_id == learner_id, ModuleProgress.context_pk == context_pk
        )
    ).all()
    minutes = 0
    for module_id, _started, completed_at in rows:
        module = content.module(module_id)
        if completed_at is not None and module is not None and (until is None or completed_at <= until):
            minutes += module.meta.duration_minutes
    first = min((started for _module, started, _completed in rows), default=None)
    return Activity(first, minutes / 60)


def learner_ref(learner: Learner) -> str:
    """The learner's opaque reference: the subject id of their credentials, without ``urn:uuid:``."""
    return identity.subject_id(learner.issuer, learner.sub).removeprefix("urn:uuid:")


def display_name(learner: Learner) -> str:
    return learner.formal_name or ""


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def track_label(name: str) -> str:
    """A track's name after the documents' "Parcours :" label ("Parcours fundraiser" -> "fundraiser")."""
    return name.removeprefix("Parcours ")


def rule_text(rule: MasteryRule) -> str:
    """A mastery rule in plain French, as the criteria of the credentials word it."""
    parts = [f"score pondéré des quiz {', '.join(rule.quiz_modules)} ≥ {rule.min_score}{NBSP}%"]
    if rule.completed:
        parts.append(f"modules terminés : {', '.join(rule.completed)}")
    if rule.attended:
        parts.append(f"séance en direct suivie : {', '.join(rule.attended)}")
    if rule.accepted:
        parts.append(f"livrable accepté : {', '.join(rule.accepted)}")
    if rule.assessed:
        parts.append(f"production évaluée, chaque critère au niveau requis : {', '.join(rule.assessed)}")
    return " ; ".join(parts)


def _document(credential: Credential) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(credential.document)
    return loaded


# -- the certificate ----------------------------------------------------------------------------------------
def certificate_document(
    session: DbSession, credential: Credential, content: Content, urls: ob.Urls | None = None
) -> CertificateDocument:
    """What the PDF certificate of a credential shows: the signed credential's achievement and results, the
    dates the competences were met, and the hours followed until it was issued."""
    urls = urls or identity.urls()
    learner = session.get(Learner, credential.learner_id)
    if learner is None:
        raise not_found("Cette personne", "This person")
    document = _document(credential)
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {})
    results = {
        str(result.get("resultDescription", "")).rpartition("#result-")[2]: result.get("value")
        for result in subject.get("result", [])
    }
    met_at = dict(
        session.execute(
            select(CompetenceState.code, CompetenceState.met_at).where(
                CompetenceState.learner_id == credential.learner_id,
                CompetenceState.context_pk == credential.context_pk,
                CompetenceState.is_met.is_(True),
            )
        ).all()
    )
    programme = content.programme
    names = {c.code: c.name.fr for c in programme.competences} | {b.code: b.name.fr for b in programme.blocs}

    def met_on(code: str) -> date | None:
        moment = met_at.get(code)
        return paris_day(moment) if moment is not None else None

    blocs: list[CompetenceLine] = []
    competences: list[CompetenceLine] = []
    if credential.achievement in names:  # a bloc's own credential: the bloc heads the certificate
        blocs.append(
            CompetenceLine(
                credential.achievement,
                names[credential.achievement],
                "Validé",
                met_on(credential.achievement),
            )
        )
    for alignment in achievement.get("alignment", []):
        code = str(alignment.get("targetCode", ""))
        name = names.get(code) or str(alignment.get("targetName", code))
        if alignment.get("targetType") == BLOC_TYPE:
            blocs.append(CompetenceLine(code, name, "Validé", met_on(code)))
        elif alignment.get("targetType") == COMPETENCE_TYPE:
            value = results.get(code)
            result = french_percent(float(value)) if value is not None else RECOGNISED
            competences.append(CompetenceLine(code, name, result, met_on(code)))
    track = next((track_label(t.name.fr) for t in programme.tracks if t.code == credential.track), None)
    followed = activity(session, credential.learner_id, credential.context_pk, content, credential.issued_at)
    # The hours of the evidence file frozen with the credential, so that both documents say the same.
    hours = json.loads(credential.evidence)["hours"] if credential.evidence else followed.hours
    issuer = document.get("issuer", {})
    return CertificateDocument(
        credential_id=credential.id,
        learner_name=display_name(learner),
        learner_ref=learner_ref(learner),
        programme=programme.title.fr,
        achievement=str(document.get("name") or achievement.get("name", credential.achievement)),
        track=track,
        blocs=blocs,
        competences=competences,
        first_activity=paris_day(min(followed.first_at or credential.issued_at, credential.issued_at)),
        issued_on=paris_day(credential.issued_at),
        hours=hours,
        issuer_name=str(issuer.get("name", "")),
        issuer_url=str(issuer.get("url", urls.base)),
        verify_url=urls.verify(credential.id),
        rules_version=credential.rules_version,
    )


# -- the evidence file --------------------------------------------------------------------------------------
def evidence_document(
    session: DbSession, learner_id: int, context_pk: int, content: Content, urls: ob.Urls | None = None
) -> EvidenceDocument:
    """A learner's evidence file in a course: each competence of their track with its status, score and
    rule, and the statements behind it in plain French; hours, live sessions attended, credentials."""
    urls = urls or identity.urls()
    learner = session.get(Learner, learner_id)
    context = session.get(Context, context_pk)
    if learner is None or context is None:
        raise not_found("Cette personne dans ce cours", "This person in this course")
    platform = session.get(Platform, context.platform_id)
    rules = rules_of(content)
    view = overview(session, learner_id, context_pk, content)
    links = [link for bloc in view.blocs for competence in bloc.competences for link in competence.evidence]
    describe = _Describer(session, learner_id, context_pk, content, links)
    competences = [
        CompetenceEvidence(
            code=competence.code,
            name=competence.name,
            status=_status(competence.evaluation.is_met, competence.evaluation.score),
            score=round(competence.evaluation.score * 100, 1)
            if competence.evaluation.score is not None
            else None,
            required=round(competence.evaluation.required * 100, 1),
            rule=rule_text(rules.rules[competence.code]),
            items=[
                EvidenceItem(link.occurred_at, describe(link), link.weight, link.statement_id or "")
                for link in competence.evidence
            ],
        )
        for bloc in view.blocs
        for competence in bloc.competences
    ]
    attended = session.execute(
        select(LiveSession.title, LiveSession.starts_at, LiveSession.duration_minutes)
        .join(Attendance, Attendance.session_id == LiveSession.id)
        .where(
            Attendance.learner_id == learner_id,
            Attendance.is_present.is_(True),
            LiveSession.context_pk == context_pk,
        )
        .order_by(LiveSession.starts_at)
    ).all()
    issued = session.scalars(
        select(Credential)
        .where(Credential.learner_id == learner_id, Credential.context_pk == context_pk)
        .order_by(Credential.issued_at, Credential.achievement)
    ).all()
    track = next(
        (track_label(t.name.fr) for t in content.programme.tracks if t.code == view.track), view.track
    )
    return EvidenceDocument(
        learner_name=display_name(learner),
        learner_ref=learner_ref(learner),
        programme=content.programme.title.fr,
        track=track,
        context_title=context.title,
        platform=(platform.name or platform.issuer) if platform is not None else learner.issuer,
        generated_at=utcnow().replace(microsecond=0),
        rules_version=rules.version,
        content_version=content.version,
        hours=activity(session, learner_id, context_pk, content).hours,
        sessions_attended=[(title, starts_at, minutes) for title, starts_at, minutes in attended],
        competences=competences,
        credentials=[
            (_credential_name(credential), credential.id, urls.verify(credential.id)) for credential in issued
        ],
    )


def _status(is_met: bool, score: float | None) -> str:
    if not is_met:
        return "en cours"
    return "reconnue" if score is None else "acquise"


def _credential_name(credential: Credential) -> str:
    name = str(_document(credential).get("name") or credential.achievement)
    return f"{name} (révoqué)" if credential.revoked_at is not None else name


class _Describer:
    """Each trail item in plain French; the live sessions and prior learning it names are read once."""

    def __init__(
        self,
        session: DbSession,
        learner_id: int,
        context_pk: int,
        content: Content,
        links: Iterable[EvidenceLink],
    ) -> None:
        self.content = content
        refs = {
            int(link.ref)
            for link in links
            if link.kind == "attended" and link.ref and link.ref.isascii() and link.ref.isdigit()
        }
        self.sessions: dict[str, str] = {}
        if refs:
            self.sessions = {
                str(session_id): title
                for session_id, title in session.execute(
                    select(LiveSession.id, LiveSession.title).where(LiveSession.id.in_(refs))
                )
            }
        self.reasons: dict[str, str] = dict(
            session.execute(
                select(PriorLearning.module_id, PriorLearning.reason).where(
                    PriorLearning.learner_id == learner_id, PriorLearning.context_pk == context_pk
                )
            ).all()
        )

    def __call__(self, link: EvidenceLink) -> str:
        module = link.module_id
        if link.kind == "quiz":
            known = self.content.module(module)
            percent = french_percent(round((link.value or 0.0) * 100))
            if known is None:
                return f"Quiz {module} — {percent}"
            outcome = "réussi" if (link.value or 0.0) >= known.meta.mastery_score else "non réussi"
            return f"Quiz {module} {outcome} — {percent}"
        if link.kind == "completed":
            return f"Module {module} terminé"
        if link.kind == "attended":
            title = self.sessions.get(link.ref or "")
            return (
                f"Présence à la séance « {title} »"
                if title
                else f"Présence à une séance en direct de {module}"
            )
        if link.kind == "accepted":
            return f"Livrable {module} accepté"
        if link.kind == "assessed":
            known = self.content.module(module)
            spec = known.meta.deliverable if known is not None else None
            title = f"« {spec.title} »" if spec is not None and spec.title else module
            percent = french_percent(round((link.value or 0.0) * 100))
            return f"Production {title} évaluée sur sa grille, chaque critère au niveau requis — {percent}"
        if link.kind == "waived":
            reason = self.reasons.get(module)
            return (
                f"Acquis antérieurs reconnus pour {module} : {reason}"
                if reason
                else (f"Acquis antérieurs reconnus pour {module}")
            )
        return f"{link.kind} {module}"
