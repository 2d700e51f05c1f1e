"""The bridge from domain events to xAPI: each event becomes statements, stored in the same transaction.

``xapi`` knows nothing of Socle; this module turns events, the content they refer to and the LTI placement
into its plain inputs, and stores what it builds (which also queues it for the external LRSs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app

from lti_tool.content.schemas import ChoiceQuestion, MatchingQuestion, OrderingQuestion, Question
from lti_tool.db import DbSession
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


def emit(
    session: DbSession,
    scope: Any,
    event: Any,
    *,
    module: Any = None,
    question: Question | None = None,
    actor: Any = None,
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
    x_event = xb.Event(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        content_version=event.content_version,
        module=xb.ModuleRef(module.id, module.meta.title) if module is not None else None,
        payload=payload,
        question=question_ref(question) if question is not None else None,
        instructor=xb.Person(actor.issuer, actor.sub) if actor is not None and actor.sub else None,
        session_title=session_title,
    )
    statements = build.statements(person, where, x_event)
    if event.type == "attendance_recorded" and not payload.get("present"):
        session_iri = build.vocabulary.activity("sessions", str(payload["session"]))
        ifi = f"account:{scope.issuer}|{scope.sub}"
        statements = [
            build.void(person, x_event, target)
            for target in store.statement_ids_for(session, ATTENDED, session_iri, ifi)
        ][:1]
    if event.type == "credential_revoked":
        # Revoking voids the "earned" statement; the voider is the administrator, or Socle itself.
        voider = x_event if x_event.instructor else replace(x_event, instructor=xb.Person(*socle_account()))
        statements = [build.void(person, voider, str(payload["earned_statement_id"]))]
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


def question_ref(question: Question) -> xb.QuestionRef:
    """The interaction definition of a quiz question (cmi.interaction types, correct response pattern)."""
    if isinstance(question, ChoiceQuestion):
        return xb.QuestionRef(
            question.id,
            question.prompt,
            "choice",
            "[,]".join(c.id for c in question.choices if c.correct),
            choices=[(c.id, c.text) for c in question.choices],
        )
    if isinstance(question, MatchingQuestion):
        return xb.QuestionRef(
            question.id,
            question.prompt,
            "matching",
            "[,]".join(f"l{i}[.]r{i}" for i in range(len(question.pairs))),
            source=[(f"l{i}", p.left) for i, p in enumerate(question.pairs)],
            target=[(f"r{i}", p.right) for i, p in enumerate(question.pairs)],
        )
    if isinstance(question, OrderingQuestion):
        return xb.QuestionRef(
            question.id,
            question.prompt,
            "sequencing",
            "[,]".join(f"i{i}" for i in range(len(question.items))),
            choices=[(f"i{i}", text) for i, text in enumerate(question.items)],
        )
    return xb.QuestionRef(question.id, question.prompt, "true-false", "true" if question.answer else "false")


def response_pattern(question: Question, response: Any) -> str:
    """The learner's response in the same pattern as correctResponsesPattern."""
    if isinstance(question, ChoiceQuestion):
        return "[,]".join([response] if isinstance(response, str) else response)
    if isinstance(question, MatchingQuestion):
        return "[,]".join(f"l{i}[.]r{j}" for i, j in enumerate(response))
    if isinstance(question, OrderingQuestion):
        order = sorted(range(len(response)), key=lambda item: response[item])
        return "[,]".join(f"i{i}" for i in order)
    return "true" if response else "false"
