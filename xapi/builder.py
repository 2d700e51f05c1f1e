"""The parts of a statement, with tincan as the statement model: actor, activity, context, the statement.

The inputs are plain dataclasses (this package knows nothing of the application or of its events): who
acted, where (the LTI ids), what the statement records (an ``Occurrence``). Which statements a kind of
event makes is the application's vocabulary, not this module's. Statement ids are derived from the
occurrence's id, so building twice gives the same ids and every resend is idempotent. tincan sets
``version`` to 1.0.3 on every statement; a Learning Record Provider should not set it, so it is removed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    InteractionComponent,
    InteractionComponentList,
    LanguageMap,
    Result,
    StatementRef,
    Verb,
)
from tincan import Statement as TinCanStatement

from xapi import vocabulary as v
from xapi.vocabulary import Vocabulary

NAMESPACE = uuid.UUID("5a0c1e9e-7f3b-4c9a-9d7e-3c0b6d7a2f10")  # Socle's own namespace for derived ids
LANGUAGE = "fr"


@dataclass(frozen=True)
class Person:
    """An actor: the platform's issuer and the LTI ``sub`` (never an e-mail)."""

    issuer: str
    sub: str


@dataclass(frozen=True)
class Where:
    """The LTI placement of an event: it gives the registration, the session and the course."""

    issuer: str
    deployment_id: str
    context_id: str
    context_title: str | None
    resource_link_id: str | None
    session_key: str | None  # hashed into the session id; never sent as such


@dataclass(frozen=True)
class QuestionRef:
    id: str
    prompt: str
    interaction_type: str  # choice | true-false | matching | sequencing
    correct_pattern: str
    choices: Sequence[tuple[str, str]] = ()
    source: Sequence[tuple[str, str]] = ()
    target: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Occurrence:
    """What a statement records, in time: the id its statement ids derive from, when it happened, the
    version of the content it refers to, and who recorded it for the actor (a facilitator), if not them."""

    id: str
    occurred_at: datetime
    content_version: int
    instructor: Person | None = None


def registration(person: Person, where: Where) -> str:
    """One stable registration per learner x course context x resource."""
    key = "|".join(
        [where.issuer, where.deployment_id, where.context_id, where.resource_link_id or "", person.sub]
    )
    return str(uuid.uuid5(NAMESPACE, key))


def session_id(where: Where) -> str | None:
    return str(uuid.uuid5(NAMESPACE, "session|" + where.session_key)) if where.session_key else None


def statement_id(event_id: str, index: int = 0) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{event_id}/{index}"))


def agent(person: Person) -> Agent:
    return Agent(account=AgentAccount(home_page=person.issuer, name=person.sub))


def lang(fr: str, en: str | None = None) -> LanguageMap:
    return LanguageMap({"fr": fr, **({"en": en} if en else {})})


def activity(iri: str, kind: str, name: str, description: str | None = None, **definition: Any) -> Activity:
    return Activity(
        id=iri,
        definition=ActivityDefinition(
            type=v.ACTIVITY_TYPES[kind],
            name=lang(name),
            **({"description": lang(description)} if description else {}),
            **definition,
        ),
    )


def interaction(iri: str, question: QuestionRef) -> Activity:
    """A cmi.interaction activity: the question, its type, its components and its correct response."""

    def components(items: Sequence[tuple[str, str]]) -> InteractionComponentList:
        return InteractionComponentList([InteractionComponent(id=i, description=lang(t)) for i, t in items])

    definition: dict[str, Any] = {
        "interaction_type": question.interaction_type,
        "correct_responses_pattern": [question.correct_pattern],
    }
    if question.choices:
        definition["choices"] = components(question.choices)
    if question.source:
        definition["source"] = components(question.source)
        definition["target"] = components(question.target)
    return activity(iri, "question", question.prompt[:250], **definition)


def _as_dict(statement: TinCanStatement, event: Occurrence) -> dict[str, Any]:
    """The statement as JSON data, without ``version`` (an LRP should not set it; tincan sets 1.0.3) and
    with a UTC timestamp in milliseconds."""
    data: dict[str, Any] = json.loads(statement.to_json())
    data.pop("version", None)
    data["timestamp"] = (
        event.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    return data


def duration(seconds: float) -> str:
    return "PT" + f"{max(seconds, 0):.2f}".rstrip("0").rstrip(".") + "S"


class Builder:
    """Statements under a vocabulary (Socle's profile: its activity and extension IRIs)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    # -- common parts
    def course(self, where: Where) -> Activity:
        key = uuid.uuid5(NAMESPACE, "|".join([where.issuer, where.deployment_id, where.context_id]))
        return activity(
            self.vocabulary.activity("courses", str(key)), "course", where.context_title or "Cours"
        )

    def context(
        self,
        person: Person,
        where: Where,
        event: Occurrence,
        parent: Activity | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Context:
        ext = {
            self.vocabulary.extension("lti-issuer"): where.issuer,
            self.vocabulary.extension("lti-deployment-id"): where.deployment_id,
            self.vocabulary.extension("lti-context-id"): where.context_id,
            self.vocabulary.extension("content-version"): event.content_version,
        }
        if where.resource_link_id:
            ext[self.vocabulary.extension("lti-resource-link-id")] = where.resource_link_id
        if (sid := session_id(where)) is not None:
            ext[self.vocabulary.extension("session-id")] = sid
        ext.update(extra or {})
        programme = activity(
            self.vocabulary.programme,
            "course",
            "(Re)connaissance des modèles socio-économiques d'intérêt général",
        )
        activities = ContextActivities(
            grouping=ActivityList([self.course(where), programme]),
            category=ActivityList([activity(self.vocabulary.profile, "profile", "Profil xAPI de Socle")]),
            **({"parent": ActivityList([parent])} if parent is not None else {}),
        )
        return Context(
            registration=uuid.UUID(registration(person, where)),
            context_activities=activities,
            language=LANGUAGE,
            platform="Socle",
            extensions=Extensions(ext),
            **({"instructor": agent(event.instructor)} if event.instructor else {}),
        )

    def statement(
        self,
        index: int,
        person: Person,
        event: Occurrence,
        verb: str,
        obj: Any,
        context: Context,
        result: Result | None = None,
    ) -> dict[str, Any]:
        display = v.VERB_DISPLAY[verb]
        statement = TinCanStatement(
            id=uuid.UUID(statement_id(event.id, index)),
            actor=agent(person),
            verb=Verb(id=verb, display=LanguageMap(display)),
            object=obj,
            context=context,
            timestamp=event.occurred_at.astimezone(UTC),
            **({"result": result} if result is not None else {}),
        )
        return _as_dict(statement, event)

    def void(self, person: Person, event: Occurrence, target_id: str) -> dict[str, Any]:
        """A statement voiding ``target_id`` (an attendance withdrawn by the facilitator)."""
        statement = TinCanStatement(
            id=uuid.UUID(statement_id(event.id, 0)),
            actor=agent(event.instructor or person),
            verb=Verb(id=v.VOIDED, display=LanguageMap(v.VERB_DISPLAY[v.VOIDED])),
            object=StatementRef(id=uuid.UUID(target_id)),
            timestamp=event.occurred_at.astimezone(UTC),
        )
        return _as_dict(statement, event)
