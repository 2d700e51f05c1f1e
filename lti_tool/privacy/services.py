"""Privacy (GDPR): everything Socle holds about one person, erasing a person (keeping only anonymised
counts), and the retention rules that ``privacy purge`` applies.

No Flask here: callers pass the session and the loaded content, and commit once. Logs carry ids only.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, Table, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lti_tool.certificates import issuing
from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts, PriorLearning
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession, db, utcnow
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import Message, SocleError, not_found
from lti_tool.events import LearningEvent
from lti_tool.learners.models import Context, Enrolment, Learner, Platform
from lti_tool.lti.models import Launch, LoginState, ScoreOutbox
from lti_tool.privacy import models
from lti_tool.privacy.models import AnonymisedCount
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt
from xapi.models import Endpoint, OutboxRow, Statement, StatementActivity, StatementAgent

log = logging.getLogger(__name__)

EXPORT_FORMAT = "socle-personal-data/1"
# The revocation reason of the credentials of a person erased at their request (shown to verifiers).
ERASURE_REASON = "effacement à la demande de la personne"
RETENTION_REASON = "effacement au terme de la durée de conservation"
# A credential outlives its holder's erasure (revoked, its document deleted) so that its status-list bit
# stays set; it then belongs to a stand-in with a random sub, no name and no e-mail.
STAND_IN_PREFIX = "socle-erased:"
# Confirmation word of the erasure page, accepted beside the person's displayed name.
CONFIRM_WORD = "EFFACER"
CHUNK = 500


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


class OtherRegistrations(SocleError):
    """The person also uses Socle through another registration: only the operator may act on them."""

    status = 409
    code = "other_registrations"
    title = Message("Personne présente ailleurs", "Person present elsewhere")


class OwnAccount(SocleError):
    status = 409
    code = "own_account"
    title = Message("Votre propre compte", "Your own account")


# -- finding the person ---------------------------------------------------------------------------------
def ifi(learner: Learner) -> str:
    """The xAPI agent index key of a person (account on the platform's issuer, name = LTI sub)."""
    return f"account:{learner.issuer}|{learner.sub}"


def is_stand_in(learner: Learner) -> bool:
    return learner.sub.startswith(STAND_IN_PREFIX)


def find_learner(
    session: DbSession, learner_id: int | None = None, issuer: str | None = None, sub: str | None = None
) -> Learner:
    """A person by Socle's id, or by the platform's issuer and LTI sub (stand-ins are nobody)."""
    if learner_id is not None:
        learner = session.get(Learner, learner_id)
    else:
        learner = session.scalar(select(Learner).where(Learner.issuer == issuer, Learner.sub == sub))
    if learner is None or is_stand_in(learner):
        raise not_found("Cette personne", "This person")
    return learner


def registrations_of(session: DbSession, learner: Learner) -> set[int]:
    """The platform registrations a person came through (a person is one per issuer and sub)."""
    found = set(session.scalars(select(Enrolment.platform_id).where(Enrolment.learner_id == learner.id)))
    return found | {learner.platform_id}


def learner_of_registration(session: DbSession, scope: StaffScope, learner_id: int) -> Learner:
    """A person enrolled in a context the (administrator's) scope sees; 404 otherwise, as if unknown."""
    learner = session.get(Learner, learner_id)
    enrolled = session.scalar(
        select(Enrolment.id)
        .where(Enrolment.learner_id == learner_id, scope.contexts_clause(Enrolment.__table__.c.context_pk))
        .limit(1)
    )
    if learner is None or enrolled is None or is_stand_in(learner):
        raise not_found("Cette personne", "This person")
    return learner


def only_in(session: DbSession, learner: Learner, platform_id: int) -> None:
    """Refuse a person who also uses Socle through another registration of the same platform."""
    if registrations_of(session, learner) != {platform_id}:
        raise OtherRegistrations(
            Message(
                "Cette personne utilise aussi Socle par une autre inscription de votre plateforme.",
                "This person also uses Socle through another registration of your platform.",
            ),
            Message(
                "Demandez à l'exploitant de Socle d'exporter ou d'effacer ses données en ligne de commande.",
                "Ask the Socle operator to export or erase their data from the command line.",
            ),
        )


@dataclass(frozen=True)
class PersonRow:
    learner: Learner
    is_staff: bool


def people(
    session: DbSession, scope: StaffScope, context_pk: int, query: str | None, limit: int = 50
) -> list[PersonRow]:
    """People of this course, or of the whole registration whose name, e-mail or LTI id contains
    ``query``."""
    staff = func.max(Enrolment.is_staff.cast(Integer))
    statement = (
        select(Learner, staff)
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .group_by(Learner.id)
        .order_by(Learner.family_name, Learner.name, Learner.id)
        .limit(limit)
    )
    if query:
        text = query.strip()
        statement = statement.where(
            scope.contexts_clause(Enrolment.__table__.c.context_pk),
            or_(
                *(
                    column.icontains(text, autoescape=True)
                    for column in (
                        Learner.name,
                        Learner.given_name,
                        Learner.family_name,
                        Learner.email,
                        Learner.sub,
                    )
                )
            ),
        )
    else:
        scope.context(session, context_pk)
        statement = statement.where(Enrolment.context_pk == context_pk)
    return [PersonRow(learner, bool(is_staff)) for learner, is_staff in session.execute(statement)]


def confirms(learner: Learner, typed: str) -> bool:
    """The erasure form's confirmation: the person's displayed name, or the word EFFACER."""
    typed = " ".join(typed.split()).casefold()
    name = " ".join((learner.formal_name or "").split()).casefold()
    return bool(typed) and typed in {CONFIRM_WORD.casefold(), name}


# -- export ---------------------------------------------------------------------------------------------
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


def statement_ids(session: DbSession, learner: Learner) -> list[str]:
    """The statements whose actor (or agent object) is the person."""
    return list(
        session.scalars(
            select(StatementAgent.statement_id)
            .where(StatementAgent.ifi == ifi(learner), StatementAgent.is_direct.is_(True))
            .distinct()
        )
    )


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def learner_references() -> list[tuple[Table, Column[Any], bool]]:
    """Every column that points at a person, children tables first; True when the row goes with the
    person, False when only the reference is cleared (the facilitator who reviewed, planned…). Read from
    the metadata, so that a table added later is erased too (the models of every feature are imported
    by then: this module imports them, and the app imports every blueprint)."""
    learners = Learner.__table__
    found = []
    for table in reversed(db.metadata.sorted_tables):
        for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            if table is not learners and key.column is learners.c.id:
                found.append((table, key.parent, (key.ondelete or "").upper() != "SET NULL"))
    return found


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
    bodies: list[tuple[int, str, str]] = []
    forwarding: Counter[tuple[str, str, str]] = Counter()
    for chunk in _chunks(ids):
        bodies += session.execute(
            select(Statement.stored_us, Statement.id, Statement.body).where(Statement.id.in_(chunk))
        ).all()
        for name, url, status in session.execute(
            select(Endpoint.name, Endpoint.url, OutboxRow.status)
            .join(Endpoint, Endpoint.id == OutboxRow.endpoint_id)
            .where(OutboxRow.statement_id.in_(chunk))
        ):
            forwarding[(name, url, status)] += 1
    sections["xapi_statements"] = [json.loads(body) for _, _, body in sorted(bodies)]
    sections["xapi_forwarding"] = [
        {"lrs": name, "url": url, "status": status, "statements": n}
        for (name, url, status), n in sorted(forwarding.items())
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


# -- erasure --------------------------------------------------------------------------------------------
@dataclass
class Erasure:
    """What an erasure removed and kept."""

    learner_id: int
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    cleared: dict[str, int] = field(default_factory=dict)  # table.column -> references set to NULL
    statements: int = 0
    credentials_revoked: list[str] = field(default_factory=list)
    # Kept revoked, without document, so that their status-list bits stay set.
    credentials_kept: list[str] = field(default_factory=list)
    # External LRSs that already received some of the person's statements: erase them there too.
    forwarded_to: list[str] = field(default_factory=list)
    counts_kept: int = 0

    @property
    def rows(self) -> int:
        return sum(self.deleted.values())


def credentials_of(session: DbSession, learner: Learner) -> list[Credential]:
    return list(
        session.scalars(
            select(Credential).where(Credential.learner_id == learner.id).order_by(Credential.issued_at)
        )
    )


def erasure_preview(session: DbSession, learner: Learner) -> dict[str, int]:
    """How many rows of each table an erasure would delete (and the person's xAPI statements)."""
    counts = {
        table.name: int(
            session.scalar(select(func.count()).select_from(table).where(column == learner.id)) or 0
        )
        for table, column, goes_with_person in learner_references()
        # Credentials are not deleted: they are kept revoked, without their document.
        if goes_with_person and table is not Credential.__table__
    }
    counts = {name: n for name, n in counts.items() if n}
    counts["xapi_statements"] = len(statement_ids(session, learner))
    return counts


def erase_learner(
    session: DbSession, learner_id: int, by: str, *, content: Content, reason: str = ERASURE_REASON
) -> Erasure:
    """Delete a person and every row about them, their xAPI statements (with their index and outbox
    rows) included. Their credentials are revoked first, then kept without their document; anonymised
    counts per course and month are kept. ``by`` is recorded as who revoked the credentials."""
    learner = find_learner(session, learner_id)
    report = Erasure(learner.id)
    _keep_counts(session, learner, report)
    _retire_credentials(session, learner, by, content, reason, report)
    _erase_statements(session, learner, report)
    for table, column, goes_with_person in learner_references():
        if goes_with_person:
            result = session.execute(delete(table).where(column == learner.id))
            if result.rowcount:  # type: ignore[attr-defined]
                report.deleted[table.name] = report.deleted.get(table.name, 0) + result.rowcount  # type: ignore[attr-defined]
        else:
            result = session.execute(update(table).where(column == learner.id).values({column.name: None}))
            if result.rowcount:  # type: ignore[attr-defined]
                report.cleared[f"{table.name}.{column.name}"] = result.rowcount  # type: ignore[attr-defined]
    session.delete(learner)
    session.flush()
    report.deleted["learners"] = 1
    log.info(
        "erased learner %d: %d rows, %d statements, %d credentials revoked",
        report.learner_id,
        report.rows,
        report.statements,
        len(report.credentials_revoked),
    )
    return report


def _month(moment: datetime | None) -> str | None:
    return f"{moment:%Y-%m}" if moment is not None else None


def _keep_counts(session: DbSession, learner: Learner, report: Erasure) -> None:
    """Add the person to the anonymised counts of each course: as a learner, their completed modules,
    their submitted autodiagnostics."""
    counts: Counter[tuple[int, int, str, str, str]] = Counter()
    for e in session.scalars(
        select(Enrolment).where(Enrolment.learner_id == learner.id, Enrolment.is_staff.is_(False))
    ):
        month = _month(e.first_launch_at or e.roster_seen_at)
        if month:
            counts[(e.platform_id, e.context_pk, month, models.LEARNER, "")] += 1
    for p in session.scalars(
        select(ModuleProgress).where(
            ModuleProgress.learner_id == learner.id, ModuleProgress.completed_at.is_not(None)
        )
    ):
        month = _month(p.completed_at)
        assert month is not None
        counts[(p.platform_id, p.context_pk, month, models.MODULE_COMPLETED, p.module_id)] += 1
    for r in session.scalars(
        select(DiagnosticRun).where(
            DiagnosticRun.learner_id == learner.id, DiagnosticRun.status == "submitted"
        )
    ):
        month = _month(r.submitted_at or r.updated_at)
        assert month is not None
        counts[(r.platform_id, r.context_pk, month, models.DIAGNOSTIC_SUBMITTED, r.level or "")] += 1
    if not counts:
        return
    insert: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    for (platform_id, context_pk, month, kind, code), total in sorted(counts.items()):
        statement = insert(AnonymisedCount).values(
            platform_id=platform_id, context_pk=context_pk, month=month, kind=kind, code=code, total=total
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["context_pk", "month", "kind", "code"],
                set_={"total": AnonymisedCount.total + statement.excluded.total},
            )
        )
    report.counts_kept = sum(counts.values())


def _retire_credentials(
    session: DbSession, learner: Learner, by: str, content: Content, reason: str, report: Erasure
) -> None:
    """Revoke the person's credentials (verifiers then see them revoked), then hand them to a stand-in
    with no document: the status-list bit stays set, the name is gone."""
    credentials = list(
        session.scalars(select(Credential).where(Credential.learner_id == learner.id).order_by(Credential.id))
    )
    if not credentials:
        return
    for credential in credentials:
        if credential.revoked_at is None:
            issuing.revoke(session, credential.id, reason, by, content)
            report.credentials_revoked.append(credential.id)
    stand_in = Learner(
        issuer=learner.issuer,
        sub=STAND_IN_PREFIX + uuid.uuid4().hex,
        platform_id=learner.platform_id,
        last_launch_at=None,
    )
    session.add(stand_in)
    session.flush()
    for credential in credentials:
        credential.learner_id = stand_in.id
        credential.document = json.dumps(_without_holder(json.loads(credential.document)), ensure_ascii=False)
        credential.jwt = ""
        credential.evidence = None  # the frozen evidence file names the person and their results
        credential.earned_statement_id = None
        # A reason typed earlier may name the person.
        credential.revoked_reason = reason
        report.credentials_kept.append(credential.id)
    session.flush()


def _without_holder(document: dict[str, Any]) -> dict[str, Any]:
    """What a revoked credential keeps once its holder is erased: what it certified (the achievement's
    name, description and criteria), by whom, when, and its status entry; not the holder (name, subject
    id), their results, the evidence or the proof."""

    def only(source: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        return {key: source[key] for key in keys if key in source} if isinstance(source, dict) else {}

    kept = only(document, ("@context", "id", "type", "name", "issuer", "validFrom", "credentialStatus"))
    subject = document.get("credentialSubject") or {}
    achievement = only(
        subject.get("achievement"), ("id", "type", "achievementType", "name", "description", "criteria")
    )
    kept["credentialSubject"] = {"type": subject.get("type"), "achievement": achievement}
    return kept


def _erase_statements(session: DbSession, learner: Learner, report: Erasure) -> None:
    ids = statement_ids(session, learner)
    forwarded: set[str] = set()
    for chunk in _chunks(ids):
        forwarded.update(
            session.scalars(
                select(Endpoint.name)
                .join(OutboxRow, OutboxRow.endpoint_id == Endpoint.id)
                .where(OutboxRow.statement_id.in_(chunk), OutboxRow.status == "delivered")
            )
        )
        session.execute(delete(OutboxRow).where(OutboxRow.statement_id.in_(chunk)))
        session.execute(delete(StatementAgent).where(StatementAgent.statement_id.in_(chunk)))
        session.execute(delete(StatementActivity).where(StatementActivity.statement_id.in_(chunk)))
        session.execute(delete(Statement).where(Statement.id.in_(chunk)))
    report.statements = len(ids)
    report.forwarded_to = sorted(forwarded)


def anonymised_counts(session: DbSession, context_pk: int) -> list[AnonymisedCount]:
    """The counts kept for a course from people since erased (for the dashboard's totals)."""
    return list(
        session.scalars(
            select(AnonymisedCount)
            .where(AnonymisedCount.context_pk == context_pk)
            .order_by(AnonymisedCount.month, AnonymisedCount.kind, AnonymisedCount.code)
        )
    )


# -- retention ------------------------------------------------------------------------------------------
@dataclass
class Purge:
    launches: int = 0
    logins: int = 0
    learners: list[int] = field(default_factory=list)
    # Inactive, but holding a valid credential: kept so that it stays verifiable with its evidence.
    kept_for_credentials: list[int] = field(default_factory=list)


def _launches_due(now: datetime, launch_days: int | None) -> ColumnElement[bool]:
    due = Launch.expires_at < now
    if launch_days is not None:
        due = or_(due, Launch.created_at < now - timedelta(days=launch_days))
    return due


def inactive_learners(session: DbSession, days: int, now: datetime) -> tuple[list[int], list[int]]:
    """People with no launch, roster appearance or recorded activity for ``days``: those to erase, and
    those kept because they hold a valid credential."""
    cutoff = now - timedelta(days=days)
    recent_enrolment = exists().where(
        Enrolment.learner_id == Learner.id,
        or_(Enrolment.last_launch_at >= cutoff, Enrolment.roster_seen_at >= cutoff),
    )
    recent_event = exists().where(
        or_(LearningEvent.learner_id == Learner.id, LearningEvent.actor_id == Learner.id),
        LearningEvent.occurred_at >= cutoff,
    )
    valid_credential = exists().where(Credential.learner_id == Learner.id, Credential.revoked_at.is_(None))
    inactive = (
        select(Learner.id, valid_credential)
        .where(
            Learner.created_at < cutoff,
            or_(Learner.last_launch_at.is_(None), Learner.last_launch_at < cutoff),
            ~Learner.sub.startswith(STAND_IN_PREFIX, autoescape=True),
            ~recent_enrolment,
            ~recent_event,
        )
        .order_by(Learner.id)
    )
    erase: list[int] = []
    keep: list[int] = []
    for learner_id, holds_credential in session.execute(inactive):
        (keep if holds_credential else erase).append(learner_id)
    return erase, keep


def purge(
    session: DbSession,
    *,
    launch_days: int | None,
    learner_days: int | None,
    content: Content,
    dry_run: bool = False,
) -> Purge:
    """Apply the retention rules: expired logins and launches, launches older than ``launch_days``, and
    people inactive for ``learner_days`` (None: kept). With ``dry_run``, only count."""
    now = utcnow()
    result = Purge()
    login_due = LoginState.expires_at < now
    launch_due = _launches_due(now, launch_days)
    if dry_run:
        result.logins = int(
            session.scalar(select(func.count()).select_from(LoginState).where(login_due)) or 0
        )
        result.launches = int(session.scalar(select(func.count()).select_from(Launch).where(launch_due)) or 0)
    else:
        result.logins = session.execute(delete(LoginState).where(login_due)).rowcount  # type: ignore[attr-defined]
        result.launches = session.execute(delete(Launch).where(launch_due)).rowcount  # type: ignore[attr-defined]
    if learner_days is not None:
        result.learners, result.kept_for_credentials = inactive_learners(session, learner_days, now)
        if not dry_run:
            for learner_id in result.learners:
                erase_learner(
                    session, learner_id, "conservation (Socle)", content=content, reason=RETENTION_REASON
                )
    return result
