"""Mastery for the rest of Socle: after each event, the learner's page, facilitators' actions, rebuild.

It knows nothing of certificates: what becomes met is announced (``competences.mastery``), and the
features that build on mastery subscribe to that.

No Flask here; callers commit once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lti_tool import events
from lti_tool.competences import engine
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts, PriorLearning
from lti_tool.competences.rules import Evaluation, Rules, empty_facts, track_for
from lti_tool.content.loader import Content, Module
from lti_tool.content.schemas import Rubric
from lti_tool.db import DbSession, insert_once, utcnow
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.learners.models import Context, Deployment, Learner
from lti_tool.learners.services import enrolled_learner
from lti_tool.scope import Scope
from lti_tool.training import rubrics
from lti_tool.training.facilitation import acting_for
from lti_tool.training.models import Deliverable, ModuleProgress
from xapi import store
from xapi.vocabulary import Vocabulary

DEFAULT_TRACK = "fundraiser"

_rules_cache: dict[int, Rules] = {}


def rules_of(content: Content) -> Rules:
    """The indexed rules of a loaded content (one per process and content object)."""
    key = id(content)
    rules = _rules_cache.get(key)
    if rules is None or rules.content is not content:
        rules = _rules_cache[key] = Rules(content)
    return rules


def owner_of(scope: Scope) -> engine.Owner:
    return engine.Owner(scope.platform_id, scope.context_pk, scope.learner_id)


# -- after every event ---------------------------------------------------------------------------------
def after_event(
    session: DbSession,
    scope: Scope,
    event: events.LearningEvent,
    statement_ids: Sequence[str],
    content: Content,
) -> list[engine.Met]:
    """Fold the event's evidence into mastery and record what became met (a follow-up event each); return
    it, for the pipeline's mastery handler to announce (``competences.mastery``)."""
    facts = engine.facts_of_event(
        event.type, event.module_id, event.payload, statement_ids, event.occurred_at
    )
    if not facts:
        return []
    rules = rules_of(content)
    met = engine.apply(session, rules, owner_of(scope), facts)
    for item in met:
        events.record_event(
            session,
            scope,
            events.COMPETENCE_SATISFIED,
            content_version=content.version,
            at=item.at,
            payload={
                "code": item.code,
                "kind": item.kind,
                "name": rules.names[item.code],
                "score": item.score,
                "rules_version": rules.version,
            },
        )
    return met


# -- reading -------------------------------------------------------------------------------------------
def facts_of(session: DbSession, learner_id: int, context_pk: int) -> dict[str, Any]:
    row = session.scalar(
        select(LearnerFacts).where(
            LearnerFacts.learner_id == learner_id, LearnerFacts.context_pk == context_pk
        )
    )
    return row.facts if row is not None else empty_facts()


def track_of(session: DbSession, learner_id: int, context_pk: int, content: Content) -> str:
    """The certificate track, from the profile of the latest submitted autodiagnostic (programme.yaml's
    `from_profiles`: a grantmaker, or the director of a foundation, follows the grantmaker track)."""
    profile = session.scalar(
        select(DiagnosticRun.profile)
        .where(
            DiagnosticRun.learner_id == learner_id,
            DiagnosticRun.context_pk == context_pk,
            DiagnosticRun.status == "submitted",
        )
        .order_by(DiagnosticRun.submitted_at.desc())
        .limit(1)
    )
    return track_for(content.programme, profile)


@dataclass(frozen=True)
class CompetenceView:
    code: str
    name: str
    evaluation: Evaluation
    met_at: datetime | None
    evidence: list[EvidenceLink]


@dataclass(frozen=True)
class BlocView:
    code: str
    name: str
    competences: list[CompetenceView]
    is_met: bool
    met_at: datetime | None


@dataclass(frozen=True)
class Overview:
    track: str
    blocs: list[BlocView]
    rules_version: int


def overview(session: DbSession, learner_id: int, context_pk: int, content: Content) -> Overview:
    """Every competence of the learner's track, evaluated now, with its trail and what is missing."""
    rules = rules_of(content)
    facts = facts_of(session, learner_id, context_pk)
    track = track_of(session, learner_id, context_pk, content)
    states = {
        s.code: s
        for s in session.scalars(
            select(CompetenceState).where(
                CompetenceState.learner_id == learner_id, CompetenceState.context_pk == context_pk
            )
        )
    }
    links: dict[str, list[EvidenceLink]] = {}
    for link in session.scalars(
        select(EvidenceLink)
        .where(EvidenceLink.learner_id == learner_id, EvidenceLink.context_pk == context_pk)
        .order_by(EvidenceLink.occurred_at, EvidenceLink.id)
    ):
        links.setdefault(link.code, []).append(link)
    blocs = []
    for bloc in content.programme.blocs:
        if bloc.code not in rules.tracks.get(track, []):
            continue
        views = [
            CompetenceView(
                code,
                rules.names[code],
                rules.evaluate(code, facts),
                states[code].met_at if code in states and states[code].is_met else None,
                links.get(code, []),
            )
            for code in bloc.competences
        ]
        state = states.get(bloc.code)
        blocs.append(
            BlocView(
                bloc.code,
                bloc.name.fr,
                views,
                all(v.evaluation.is_met for v in views),
                state.met_at if state is not None and state.is_met else None,
            )
        )
    return Overview(track, blocs, rules.version)


# -- facilitators' actions ----------------------------------------------------------------------------
def deliverables_to_review(session: DbSession, context_pk: int) -> list[tuple[Deliverable, Learner]]:
    rows = session.execute(
        select(Deliverable, Learner)
        .join(ModuleProgress, ModuleProgress.id == Deliverable.progress_id)
        .join(Learner, Learner.id == Deliverable.learner_id)
        .where(ModuleProgress.context_pk == context_pk)
        .order_by(Deliverable.review_status.is_not(None), Deliverable.submitted_at)
    )
    return [(d, learner) for d, learner in rows]


def rubric_of(session: DbSession, deliverable_id: int, context_pk: int, content: Content) -> Rubric | None:
    """The marking grid of a deliverable of this course context, if its module has one."""
    deliverable = session.get(Deliverable, deliverable_id)
    progress = session.get(ModuleProgress, deliverable.progress_id) if deliverable else None
    if deliverable is None or progress is None or progress.context_pk != context_pk:
        raise not_found("Ce livrable", "This deliverable")
    module = content.module(deliverable.module_id)
    spec = module.meta.deliverable if module is not None else None
    return spec.rubric if spec is not None else None


def review_deliverable(
    session: DbSession,
    facilitator: Scope,
    deliverable_id: int,
    accepted: bool,
    comment: str,
    content: Content,
    levels: Mapping[str, int] | None = None,
) -> Deliverable:
    """Accept or return a learner's deliverable, in the facilitator's own course context only. A production
    with a marking grid is assessed instead: a level per criterion and a comment; it is accepted when every
    criterion reaches its required level (``accepted`` is then ignored)."""
    deliverable = session.get(Deliverable, deliverable_id)
    progress = session.get(ModuleProgress, deliverable.progress_id) if deliverable else None
    if deliverable is None or progress is None or progress.context_pk != facilitator.context_pk:
        raise not_found("Ce livrable", "This deliverable")
    module = content.module(deliverable.module_id)
    spec = module.meta.deliverable if module is not None else None
    marking: rubrics.Marking | None = None
    if spec is not None and spec.rubric is not None:
        if levels is None:
            raise refused(
                "levels_required",
                "Cette production s'évalue sur sa grille : donnez un niveau pour chaque critère.",
                "This production is assessed on its grid: give a level for every criterion.",
            )
        marking = rubrics.mark(spec.rubric, levels)
        accepted = marking.is_met
        if not comment.strip():
            raise refused(
                "comment_required",
                "Ajoutez un commentaire pour la personne : ce qui est acquis, ce qu'il faut reprendre.",
                "Add a comment for the learner: what is achieved, what to rework.",
            )
    comment = comment.strip()
    if not accepted and not comment:
        raise refused(
            "comment_required",
            "Pour renvoyer un livrable, dites à la personne ce qu'il faut reprendre.",
            "To return a deliverable, tell the learner what to rework.",
        )
    if len(comment) > 5000:
        raise refused(
            "comment_too_long",
            "Le commentaire dépasse 5 000 caractères.",
            "The comment is over 5,000 characters.",
        )
    status = "accepted" if accepted else "returned"
    same_levels = marking is None or deliverable.rubric_levels == marking.levels
    if deliverable.review_status == status and same_levels:
        raise AlreadyRecorded(
            Message("Cette décision est déjà enregistrée.", "This decision is already recorded."),
            Message("Rien n'a changé.", "Nothing changed."),
        )
    learner = enrolled_learner(session, deliverable.learner_id, facilitator.context_pk)
    deliverable.review_status = status
    deliverable.review_comment = comment or None
    deliverable.reviewed_by = facilitator.learner_id
    deliverable.reviewed_at = utcnow()
    payload: dict[str, Any] = {"accepted": accepted, "deliverable": deliverable.id}
    if marking is not None:
        deliverable.rubric_levels = marking.levels
        deliverable.rubric_score = marking.score
        payload["rubric"] = {
            "levels": marking.levels,
            "below": marking.below,
            "score": marking.score,
            "raw": marking.raw,
            "max": marking.max,
        }
    events.record_event(
        session,
        acting_for(session, facilitator, learner),
        events.DELIVERABLE_REVIEWED,
        content_version=content.version,
        module=module,
        actor=facilitator,
        payload=payload,
    )
    session.flush()
    return deliverable


def recognise_prior_learning(
    session: DbSession, facilitator: Scope, learner_id: int, module: Module, reason: str, content: Content
) -> PriorLearning:
    """Recognise a module as mastered from prior learning (an xAPI ``waived`` with the reason)."""
    reason = reason.strip()
    if len(reason) < 10 or len(reason) > 2000:
        raise refused(
            "reason_required",
            "Donnez la raison de la reconnaissance (10 à 2 000 caractères) : diplôme, expérience, etc.",
            "Give the reason for the recognition (10 to 2,000 characters): diploma, experience, etc.",
        )
    learner = enrolled_learner(session, learner_id, facilitator.context_pk)
    existing = session.scalar(
        select(PriorLearning).where(
            PriorLearning.learner_id == learner.id,
            PriorLearning.context_pk == facilitator.context_pk,
            PriorLearning.module_id == module.id,
        )
    )
    already = AlreadyRecorded(
        Message(
            "Ces acquis sont déjà reconnus pour ce module.", "This prior learning is already recognised."
        ),
        Message("Rien n'a changé.", "Nothing changed."),
    )
    if existing is not None:
        raise already
    inserted = insert_once(
        session,
        PriorLearning,
        {
            "context_pk": facilitator.context_pk,
            "learner_id": learner.id,
            "module_id": module.id,
            "reason": reason,
            "recognised_by": facilitator.learner_id,
            "recognised_at": utcnow(),
        },
        ("learner_id", "context_pk", "module_id"),
    )
    if inserted is None:  # the same form sent twice at once (a double click): the first one stands
        raise already
    row = session.get(PriorLearning, inserted)
    assert row is not None
    events.record_event(
        session,
        acting_for(session, facilitator, learner),
        events.PRIOR_LEARNING_RECOGNISED,
        content_version=content.version,
        module=module,
        actor=facilitator,
        payload={"reason": reason},
    )
    session.flush()
    return row


# -- rebuild -----------------------------------------------------------------------------------------------
def rebuild(session: DbSession, learner: Learner, context: Context, content: Content, base_iri: str) -> int:
    """Recompute a learner's mastery in a context from the statements Socle recorded of them there; return
    how many statements were read. Nothing is emitted or issued: it restores state, it does not award.

    Only first-party statements of the context's registration are read: a Statement API client can write
    any actor, context and extension into its JSON, but cannot set the column that says Socle recorded it
    (nor choose its platform). Within those, the context extensions (Socle's own) pick the course."""
    deployment = session.get(Deployment, context.deployment_pk)
    vocabulary = Vocabulary(base_iri)
    ext = {
        vocabulary.extension("lti-issuer"): learner.issuer,
        vocabulary.extension("lti-context-id"): context.lti_context_id,
        vocabulary.extension("lti-deployment-id"): deployment.deployment_id if deployment else None,
    }
    owner = engine.Owner(context.platform_id, context.id, learner.id)
    engine.forget(session, owner)
    query = store.Query(
        agent=f"account:{learner.issuer}|{learner.sub}", ascending=True, limit=store.MAX_LIMIT
    )
    evidence = store.Visibility(evidence_of=context.platform_id)
    statements: list[dict[str, Any]] = []
    while True:
        page, more = store.find(session, query, evidence)
        statements += [
            s
            for s in page
            if all((s.get("context", {}).get("extensions") or {}).get(k) == value for k, value in ext.items())
        ]
        if more is None:
            break
        query = store.Query(**{**query.__dict__, "after": more})
    statements.sort(key=lambda s: (s.get("timestamp", ""), s["stored"]))
    facts = [fact for s in statements for fact in engine.facts_of_statement(s, vocabulary)]
    engine.apply(session, rules_of(content), owner, facts)
    session.flush()
    return len(statements)
