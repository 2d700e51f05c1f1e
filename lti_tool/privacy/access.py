"""Everything Socle holds about one person (GDPR access), each section with why it is held.

No Flask here: callers pass the session. Logs carry ids only.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts, PriorLearning
from lti_tool.db import DbSession, utcnow
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.events import LearningEvent
from lti_tool.learners.models import Context, Enrolment, Platform
from lti_tool.lti.models import Launch, ScoreOutbox
from lti_tool.privacy.persons import find_learner, ifi, learner_references, statement_ids
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt
from xapi import documents, store

log = logging.getLogger(__name__)


EXPORT_FORMAT = "socle-personal-data/1"


def _why(fr: str, en: str) -> dict[str, str]:
    return {"fr": fr, "en": en}


WHY: dict[str, dict[str, str]] = {
    "identity": _why(
        "Votre identifiant opaque sur la plateforme (sub) et, si la plateforme les transmet, votre nom, "
        "votre e-mail et votre langue : pour vous reconnaître à chaque lancement et montrer aux "
        "formateurs qui est qui.",
        "Your opaque id on the platform (sub) and, when the platform sends them, your name, e-mail and "
        "language: to recognise you at each launch and show trainers who is who.",
    ),
    "enrolments": _why(
        "Les cours d'où vous avez lancé Socle (ou dont la plateforme nous donne la liste des "
        "participants) et vos rôles : pour savoir ce que vous pouvez voir et qui vous encadre.",
        "The courses you launched Socle from (or whose roster the platform shares) and your roles: to know "
        "what you may see and who supervises you.",
    ),
    "launches": _why(
        "Chaque lancement valide et ce que la plateforme y a transmis : pour retrouver votre session sur "
        "les pages suivantes et envoyer vos notes. Supprimés à leur expiration.",
        "Each valid launch and what the platform sent with it: to find your session on the following "
        "pages and send your grades. Deleted when they expire.",
    ),
    "learning_events": _why(
        "Ce que vous avez fait, enregistré au moment où vous l'avez fait : c'est le journal d'où "
        "viennent les traces xAPI et la maîtrise des compétences.",
        "What you did, recorded when you did it: the log the xAPI statements and competence mastery "
        "come from.",
    ),
    "module_progress": _why(
        "Votre progression dans chaque module (pages lues, meilleur score, achèvement) : pour reprendre "
        "où vous en étiez et suivre votre parcours.",
        "Your progress in each module (pages read, best score, completion): to resume where you left and "
        "follow your path.",
    ),
    "quiz_attempts": _why(
        "Vos tentatives aux quiz avec vos réponses : pour la correction, les nouvelles tentatives et les "
        "preuves de compétence.",
        "Your quiz attempts with your answers: for marking, retries and competence evidence.",
    ),
    "deliverables": _why(
        "Vos livrables écrits et l'avis du formateur : une condition d'achèvement et une preuve de "
        "compétence.",
        "Your written deliverables and the facilitator's review: a completion condition and competence "
        "evidence.",
    ),
    "diagnostic_runs": _why(
        "Vos autodiagnostics (profil, réponses, résultat) : pour vous recommander un parcours et "
        "comparer avec vos résultats précédents.",
        "Your autodiagnostics (profile, answers, result): to recommend a path and compare with your "
        "earlier results.",
    ),
    "attendance": _why(
        "Votre présence aux séances en direct, notée par le formateur : une condition d'achèvement et "
        "une preuve de compétence.",
        "Your attendance at live sessions, recorded by the facilitator: a completion condition and "
        "competence evidence.",
    ),
    "competence_facts": _why(
        "Les faits que lisent les règles de maîtrise (meilleurs scores, modules terminés…) : pour "
        "évaluer vos compétences sans relire tout l'historique.",
        "The facts the mastery rules read (best scores, completed modules…): to evaluate your "
        "competences without re-reading the whole history.",
    ),
    "competence_states": _why(
        "L'état de chaque compétence et de chaque bloc : pour vous montrer ce qui est acquis et délivrer "
        "les certificats.",
        "The state of each competence and bloc: to show what you have mastered and issue credentials.",
    ),
    "competence_evidence": _why(
        "Le lien entre chaque trace et chaque compétence : c'est le dossier de preuves présenté au jury.",
        "The link between each statement and each competence: the evidence file shown to the jury.",
    ),
    "prior_learning": _why(
        "Les acquis antérieurs reconnus par un formateur, avec leur raison : ils comptent pour vos "
        "compétences.",
        "Prior learning a facilitator recognised, with the reason: it counts toward your competences.",
    ),
    "credentials": _why(
        "Vos certificats signés (ils portent votre nom) et leur statut : pour que vous et ceux à qui vous "
        "les montrez puissiez les vérifier.",
        "Your signed credentials (they carry your name) and their status: so that you and those you show "
        "them to can verify them.",
    ),
    "grades": _why(
        "Les notes envoyées (ou à envoyer) au carnet de notes de votre plateforme : pour les livrer même "
        "si la plateforme est momentanément indisponible.",
        "The grades sent (or to send) to your platform's gradebook: to deliver them even when the "
        "platform is briefly unavailable.",
    ),
    "xapi_statements": _why(
        "Vos traces d'apprentissage au format xAPI, dont vous êtes l'acteur : le journal de preuves de "
        "la formation à distance.",
        "Your learning records as xAPI statements, with you as the actor: the evidence log of distance "
        "learning.",
    ),
    "xapi_documents": _why(
        "Les documents qu'un outil xAPI a enregistrés à votre sujet (état d'une activité, profil) : pour "
        "qu'il reprenne là où vous en étiez.",
        "The documents an xAPI tool stored about you (an activity's state, a profile): so that it resumes "
        "where you left off.",
    ),
    "xapi_forwarding": _why(
        "Les entrepôts de traces (LRS) externes qui ont reçu ou vont recevoir une copie de vos traces.",
        "The external learning record stores (LRS) that received or will receive a copy of your statements.",
    ),
    "as_facilitator": _why(
        "Combien de fois vous figurez comme formateur dans les dossiers d'autres personnes (séances "
        "planifiées, présences notées, livrables examinés…) ; ces dossiers sont les leurs.",
        "How often you appear as the facilitator in other people's records (sessions planned, attendance "
        "recorded, deliverables reviewed…); those records are theirs.",
    ),
}

# Every table holding rows about a person, and the section of the export that shows them. A test checks
# that every table whose rows go with the person (a foreign key to learners that is not SET NULL) is here.
TABLE_SECTIONS: dict[str, str] = {
    "learners": "identity",
    "enrolments": "enrolments",
    "lti_launches": "launches",
    "learning_events": "learning_events",
    "module_progress": "module_progress",
    "quiz_attempts": "quiz_attempts",
    "deliverables": "deliverables",
    "diagnostic_runs": "diagnostic_runs",
    "attendances": "attendance",
    "competence_facts": "competence_facts",
    "competence_states": "competence_states",
    "competence_evidence": "competence_evidence",
    "prior_learning": "prior_learning",
    "credentials": "credentials",
    "lti_score_outbox": "grades",
    "xapi_statements": "xapi_statements",
}


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(row: Any, *names: str) -> dict[str, Any]:
    return {name: _value(getattr(row, name)) for name in names}


class _Courses:
    """Each course named once per export, by its LTI id and title."""

    def __init__(self, session: DbSession) -> None:
        self.session = session
        self.cache: dict[int, dict[str, Any]] = {}

    def __call__(self, context_pk: int) -> dict[str, Any]:
        if context_pk not in self.cache:
            context = self.session.get(Context, context_pk)
            self.cache[context_pk] = (
                {"lti_context_id": context.lti_context_id, "title": context.title}
                if context is not None
                else {}
            )
        return self.cache[context_pk]


def export_learner(session: DbSession, learner_id: int) -> dict[str, Any]:
    """Everything Socle holds about one person, JSON-serialisable, each section with why it is held."""
    learner = find_learner(session, learner_id)
    course = _Courses(session)
    pk = learner.id
    platform = session.get(Platform, learner.platform_id)
    sections: dict[str, Any] = {}

    sections["identity"] = {
        **_row(learner, "issuer", "sub", "name", "given_name", "family_name", "email", "locale"),
        **_row(learner, "created_at", "last_launch_at"),
        "registration": _row(platform, "issuer", "client_id", "name") if platform else None,
    }
    sections["enrolments"] = [
        {
            "course": course(e.context_pk),
            **_row(
                e, "roles", "is_staff", "first_launch_at", "last_launch_at", "is_active", "roster_seen_at"
            ),
        }
        for e in session.scalars(select(Enrolment).where(Enrolment.learner_id == pk).order_by(Enrolment.id))
    ]
    # Launch and browser ids are bearer secrets of a live session: not exported.
    sections["launches"] = [
        {
            "course": course(launch.context_pk),
            **_row(
                launch,
                "created_at",
                "expires_at",
                "message_type",
                "roles",
                "is_staff",
                "is_admin",
                "resource_link_id",
                "target_link_uri",
                "locale",
                "claims",
            ),
        }
        for launch in session.scalars(
            select(Launch).where(Launch.learner_id == pk).order_by(Launch.created_at)
        )
    ]
    sections["learning_events"] = [
        {
            "course": course(event.context_pk),
            **_row(event, "id", "type", "module_id", "content_version", "payload", "occurred_at"),
            "recorded_by_facilitator": event.actor_id is not None,
        }
        for event in session.scalars(
            select(LearningEvent)
            .where(LearningEvent.learner_id == pk)
            .order_by(LearningEvent.occurred_at, LearningEvent.id)
        )
    ]
    sections["module_progress"] = [
        {
            "course": course(p.context_pk),
            **_row(
                p,
                "module_id",
                "content_version",
                "pages_read",
                "last_page",
                "best_score",
                "is_quiz_passed",
                "started_at",
                "updated_at",
                "completed_at",
            ),
        }
        for p in session.scalars(
            select(ModuleProgress).where(ModuleProgress.learner_id == pk).order_by(ModuleProgress.id)
        )
    ]
    sections["quiz_attempts"] = [
        _row(a, "module_id", "content_version", "number", "questions", "answers", "score", "is_passed")
        | _row(a, "started_at", "finished_at")
        for a in session.scalars(
            select(QuizAttempt).where(QuizAttempt.learner_id == pk).order_by(QuizAttempt.id)
        )
    ]
    sections["deliverables"] = [
        _row(d, "module_id", "content_version", "text", "submitted_at", "review_status", "review_comment")
        | _row(d, "reviewed_at")
        for d in session.scalars(
            select(Deliverable).where(Deliverable.learner_id == pk).order_by(Deliverable.id)
        )
    ]
    sections["diagnostic_runs"] = [
        {
            "course": course(r.context_pk),
            **_row(r, "content_version", "variant", "profile", "answers", "status", "result", "global_score"),
            **_row(r, "level", "started_at", "updated_at", "submitted_at"),
        }
        for r in session.scalars(
            select(DiagnosticRun).where(DiagnosticRun.learner_id == pk).order_by(DiagnosticRun.id)
        )
    ]
    sections["attendance"] = [
        {
            "course": course(live.context_pk),
            "session": _row(live, "kind", "title", "module_id", "starts_at", "duration_minutes"),
            **_row(a, "is_present", "recorded_at"),
        }
        for a, live in session.execute(
            select(Attendance, LiveSession)
            .join(LiveSession, LiveSession.id == Attendance.session_id)
            .where(Attendance.learner_id == pk)
            .order_by(LiveSession.starts_at, Attendance.id)
        )
    ]
    sections["competence_facts"] = [
        {"course": course(f.context_pk), **_row(f, "facts", "updated_at")}
        for f in session.scalars(select(LearnerFacts).where(LearnerFacts.learner_id == pk))
    ]
    sections["competence_states"] = [
        {
            "course": course(s.context_pk),
            **_row(s, "code", "score", "is_met", "met_at", "rules_version", "updated_at"),
        }
        for s in session.scalars(
            select(CompetenceState)
            .where(CompetenceState.learner_id == pk)
            .order_by(CompetenceState.context_pk, CompetenceState.code)
        )
    ]
    sections["competence_evidence"] = [
        {
            "course": course(link.context_pk),
            **_row(
                link, "code", "kind", "module_id", "statement_id", "ref", "weight", "value", "occurred_at"
            ),
        }
        for link in session.scalars(
            select(EvidenceLink)
            .where(EvidenceLink.learner_id == pk)
            .order_by(EvidenceLink.occurred_at, EvidenceLink.id)
        )
    ]
    sections["prior_learning"] = [
        {"course": course(p.context_pk), **_row(p, "module_id", "reason", "recognised_at")}
        for p in session.scalars(select(PriorLearning).where(PriorLearning.learner_id == pk))
    ]
    sections["credentials"] = [
        {
            "course": course(c.context_pk),
            **_row(c, "id", "achievement", "track", "rules_version", "content_version", "issued_at"),
            **_row(c, "revoked_at", "revoked_reason", "status_list", "status_index"),
            "document": json.loads(c.document),
            "jwt": c.jwt,
        }
        for c in session.scalars(
            select(Credential).where(Credential.learner_id == pk).order_by(Credential.issued_at)
        )
    ]
    sections["grades"] = [
        {
            "course": course(s.context_pk),
            **_row(s, "resource_id", "label", "score_given", "score_maximum", "activity_progress"),
            **_row(s, "grading_progress", "timestamp", "status", "attempts", "last_error", "delivered_at"),
        }
        for s in session.scalars(
            select(ScoreOutbox).where(ScoreOutbox.learner_id == pk).order_by(ScoreOutbox.id)
        )
    ]
    ids = statement_ids(session, learner)
    sections["xapi_statements"] = store.bodies(session, ids)
    sections["xapi_documents"] = documents.documents_of_actor(session, ifi(learner))
    sections["xapi_forwarding"] = [
        {"lrs": name, "url": url, "status": status, "statements": n}
        for (name, url, status), n in sorted(store.forwarding_of(session, ids).items())
    ]
    sections["as_facilitator"] = {
        f"{table.name}.{column.name}": int(
            session.scalar(select(func.count()).select_from(table).where(column == pk)) or 0
        )
        for table, column, goes_with_person in learner_references()
        if not goes_with_person
    }
    log.info("exported the personal data of learner %d", pk)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "learner_id": pk,
        "sections": {name: {"why": WHY[name], "data": data} for name, data in sections.items()},
    }
