"""The bridge from domain events to xAPI: each event becomes statements, stored in the same transaction.

``xapi`` knows nothing of Socle's events; this package turns an event, the content it refers to and the LTI
placement into its plain inputs, builds the event's statements from Socle's vocabulary
(``records.statements``) and stores them (which also queues them for the external LRSs). ``on_event`` is
the first handler of the event pipeline (see ``lti_tool.events``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from lti_tool import events
from lti_tool.content.loader import Module
from lti_tool.content.schemas import Question
from lti_tool.db import DbSession
from lti_tool.records.statements import Event, ModuleRef, question_ref, response_pattern, statements_of
from lti_tool.scope import Scope
from xapi import builder as xb
from xapi import store
from xapi.vocabulary import ATTENDED, Vocabulary

# The authority of statements Socle records itself.
SOCLE = "Socle"


def vocabulary() -> Vocabulary:
    return Vocabulary(current_app.config.get("XAPI_IRI_BASE") or current_app.config["BASE_URL"])


def socle_account() -> tuple[str, str]:
    return current_app.config["BASE_URL"], "socle"


def authority() -> dict[str, Any]:
    home_page, name = socle_account()
    return {"objectType": "Agent", "name": SOCLE, "account": {"homePage": home_page, "name": name}}


def on_event(session: DbSession, recorded: events.Recorded) -> None:
    """The pipeline's xAPI handler: store the event's statements and note their ids for the handlers after
    it (mastery links them as evidence)."""
    recorded.statement_ids.extend(
        emit(
            session,
            recorded.scope,
            recorded.event,
            module=recorded.module,
            question=recorded.question,
            actor=recorded.actor,
            session_title=recorded.session_title,
        )
    )


def emit(
    session: DbSession,
    scope: Scope,
    event: events.LearningEvent,
    *,
    module: Module | None = None,
    question: Question | None = None,
    actor: Scope | None = None,
    session_title: str | None = None,
) -> list[str]:
    """Build and store the statements of one event; return their ids."""
    build = xb.Builder(vocabulary())
    person = xb.Person(scope.issuer, scope.sub)
    where = xb.Where(
        scope.issuer,
        scope.deployment_id,
        scope.lti_context_id,
        scope.context_title,
        scope.resource_link_id,
        scope.launch_id,
    )
    payload = dict(event.payload)
    if question is not None:
        payload["response_pattern"] = response_pattern(question, payload["response"])
    instructor = xb.Person(actor.issuer, actor.sub) if actor is not None and actor.sub else None
    if event.type == events.CREDENTIAL_REVOKED and instructor is None:
        instructor = xb.Person(*socle_account())  # no administrator named: Socle itself voids
    x_event = Event(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        content_version=event.content_version,
        module=ModuleRef(module.id, module.meta.title) if module is not None else None,
        payload=payload,
        question=question_ref(question) if question is not None else None,
        instructor=instructor,
        session_title=session_title,
    )
    statements = statements_of(build, person, where, x_event)
    if event.type == events.ATTENDANCE_RECORDED and not payload.get("present"):
        # Un-ticking voids the tick's statement (the latest one, if the learner was ticked).
        session_iri = build.vocabulary.activity("sessions", str(payload["session"]))
        ifi = f"account:{scope.issuer}|{scope.sub}"
        statements = [
            build.void(person, x_event, target)
            for target in store.statement_ids_for(session, ATTENDED, session_iri, ifi)
        ][:1]
    if not statements:
        return []
    # Statement ids derive from this brand-new event id: they cannot exist yet. Only this path stores
    # first-party statements, the only ones the competence engine and its rebuild read.
    return store.store(
        session,
        statements,
        authority=authority(),
        platform_id=scope.platform_id,
        new_ids=True,
        first_party=True,
    )
