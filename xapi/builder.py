"""Domain events -> xAPI statements, with tincan as the statement model.

The inputs are plain dataclasses (this package knows nothing of the application): who acted, where (the LTI
ids), what happened. Statement ids are derived from the event id, so building twice gives the same ids and
every resend is idempotent. tincan sets ``version`` to 1.0.3 on every statement; a Learning Record
Provider should not set it, so it is removed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    Score,
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
class ModuleRef:
    id: str
    title: str


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    content_version: int
    module: ModuleRef | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    question: QuestionRef | None = None
    instructor: Person | None = None
    session_title: str | None = None


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


def _lang(fr: str, en: str | None = None) -> LanguageMap:
    return LanguageMap({"fr": fr, **({"en": en} if en else {})})


def _activity(iri: str, kind: str, name: str, description: str | None = None, **definition: Any) -> Activity:
    return Activity(
        id=iri,
        definition=ActivityDefinition(
            type=v.ACTIVITY_TYPES[kind],
            name=_lang(name),
            **({"description": _lang(description)} if description else {}),
            **definition,
        ),
    )


def _as_dict(statement: TinCanStatement, event: Event) -> dict[str, Any]:
    """The statement as JSON data, without ``version`` (an LRP should not set it; tincan sets 1.0.3) and
    with a UTC timestamp in milliseconds."""
    data: dict[str, Any] = json.loads(statement.to_json())
    data.pop("version", None)
    data["timestamp"] = (
        event.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    return data


def _duration(seconds: float) -> str:
    return "PT" + f"{max(seconds, 0):.2f}".rstrip("0").rstrip(".") + "S"


class Builder:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    # -- common parts
    def course(self, where: Where) -> Activity:
        key = uuid.uuid5(NAMESPACE, "|".join([where.issuer, where.deployment_id, where.context_id]))
        return _activity(
            self.vocabulary.activity("courses", str(key)), "course", where.context_title or "Cours"
        )

    def module_activity(self, module: ModuleRef) -> Activity:
        return _activity(self.vocabulary.activity("modules", module.id), "module", module.title)

    def context(
        self,
        person: Person,
        where: Where,
        event: Event,
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
        programme = _activity(
            self.vocabulary.programme,
            "course",
            "(Re)connaissance des modèles socio-économiques d'intérêt général",
        )
        activities = ContextActivities(
            grouping=ActivityList([self.course(where), programme]),
            category=ActivityList([_activity(self.vocabulary.profile, "profile", "Profil xAPI de Socle")]),
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
        event: Event,
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

    # -- one event, its statements
    def statements(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        handler = getattr(self, "_" + event.type, None)
        return handler(person, where, event) if handler else []

    def launched(
        self, person: Person, where: Where, event: Event, landing: Activity | None = None
    ) -> list[dict[str, Any]]:
        target = landing or self.course(where)
        return [self.statement(0, person, event, v.LAUNCHED, target, self.context(person, where, event))]

    def _launched(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        landing = self.module_activity(event.module) if event.module else None
        if event.payload.get("activity") == "diagnostic":
            landing = self.diagnostic()
        return self.launched(person, where, event, landing)

    def diagnostic(self) -> Activity:
        return _activity(self.vocabulary.activity("autodiagnostic"), "assessment", "Autodiagnostic")

    def _page_read(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        assert event.module is not None
        module = self.module_activity(event.module)
        page = _activity(
            self.vocabulary.activity("modules", event.module.id, "pages", str(event.payload["page"])),
            "page",
            str(event.payload.get("title") or f"Page {event.payload['page']}"),
        )
        statements = [
            self.statement(0, person, event, v.EXPERIENCED, page, self.context(person, where, event, module))
        ]
        if "progress" in event.payload:
            result = Result(extensions=Extensions({v.CMI5_PROGRESS: int(event.payload["progress"])}))
            statements.append(
                self.statement(
                    1, person, event, v.PROGRESSED, module, self.context(person, where, event), result
                )
            )
        return statements

    def _question_answered(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        assert event.module is not None and event.question is not None
        q = event.question

        def components(items: Sequence[tuple[str, str]]) -> InteractionComponentList:
            return InteractionComponentList(
                [InteractionComponent(id=i, description=_lang(t)) for i, t in items]
            )

        definition: dict[str, Any] = {
            "interaction_type": q.interaction_type,
            "correct_responses_pattern": [q.correct_pattern],
        }
        if q.choices:
            definition["choices"] = components(q.choices)
        if q.source:
            definition["source"] = components(q.source)
            definition["target"] = components(q.target)
        question = _activity(
            self.vocabulary.activity("modules", event.module.id, "questions", q.id),
            "question",
            q.prompt[:250],
            **definition,
        )
        result = Result(
            response=str(event.payload["response_pattern"]), success=bool(event.payload["correct"])
        )
        context = self.context(
            person,
            where,
            event,
            self.module_activity(event.module),
            {self.vocabulary.extension("attempt"): int(event.payload["attempt"])},
        )
        return [self.statement(0, person, event, v.ANSWERED, question, context, result)]

    def _quiz_result(self, person: Person, where: Where, event: Event, passed: bool) -> list[dict[str, Any]]:
        assert event.module is not None
        p = event.payload
        result = Result(
            score=Score(scaled=float(p["score"]), raw=int(p["correct"]), min=0, max=int(p["questions"])),
            success=passed,
            duration=_duration(float(p.get("duration_seconds", 0))),
        )
        context = self.context(
            person,
            where,
            event,
            extra={
                v.CMI5_MASTERY_SCORE: float(p["mastery_score"]),
                self.vocabulary.extension("attempt"): int(p["attempt"]),
            },
        )
        return [
            self.statement(
                0,
                person,
                event,
                v.PASSED if passed else v.FAILED,
                self.module_activity(event.module),
                context,
                result,
            )
        ]

    def _quiz_passed(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        return self._quiz_result(person, where, event, True)

    def _quiz_failed(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        return self._quiz_result(person, where, event, False)

    def _module_completed(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        assert event.module is not None
        result = Result(completion=True, duration=_duration(float(event.payload.get("duration_seconds", 0))))
        return [
            self.statement(
                0,
                person,
                event,
                v.COMPLETED,
                self.module_activity(event.module),
                self.context(person, where, event),
                result,
            )
        ]

    def _deliverable_submitted(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        assert event.module is not None
        deliverable = self.deliverable(event.module)
        result = Result(
            extensions=Extensions({self.vocabulary.extension("words"): int(event.payload["words"])})
        )
        return [
            self.statement(
                0,
                person,
                event,
                v.SUBMITTED,
                deliverable,
                self.context(person, where, event, self.module_activity(event.module)),
                result,
            )
        ]

    def _diagnostic_submitted(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        p = event.payload
        result = Result(
            completion=True,
            score=Score(
                scaled=round(float(p["global_score"]) / 100, 4),
                raw=round(float(p["global_score"]), 2),
                min=0,
                max=100,
            ),
            duration=_duration(float(p.get("duration_seconds", 0))),
            extensions=Extensions(
                {
                    self.vocabulary.extension("axis-scores"): p["axis_scores"],
                    self.vocabulary.extension("level"): p["level"],
                    self.vocabulary.extension("priority-axis"): p["priority_axis"],
                    # the person's practice, apart from the organisation's level (absent before version 4)
                    **(
                        {self.vocabulary.extension("practice-level"): p["practice_level"]}
                        if "practice_level" in p
                        else {}
                    ),
                    self.vocabulary.extension("strength-axis"): p["strength_axis"],
                    self.vocabulary.extension("recommendation"): {
                        "rule": p["rule"],
                        "primary": p["primary_format"],
                        "secondary": p["secondary_format"],
                        "modules": list(p["modules"]),
                    },
                }
            ),
        )
        return [
            self.statement(
                0, person, event, v.COMPLETED, self.diagnostic(), self.context(person, where, event), result
            )
        ]

    def _attendance_recorded(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        if not event.payload.get("present"):
            return []  # un-ticking voids the earlier statement (see void())
        p = event.payload
        session = _activity(
            self.vocabulary.activity("sessions", str(p["session"])),
            "meeting",
            event.session_title or str(p.get("kind", "séance")),
        )
        result = Result(duration=_duration(float(p.get("duration_minutes", 0)) * 60))
        return [
            self.statement(
                0,
                person,
                event,
                v.ATTENDED,
                session,
                self.context(
                    person, where, event, self.module_activity(event.module) if event.module else None
                ),
                result,
            )
        ]

    def deliverable(self, module: ModuleRef) -> Activity:
        iri = self.vocabulary.activity("modules", module.id, "deliverable")
        return _activity(iri, "file", f"Livrable : {module.title}")

    def _deliverable_reviewed(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        """A facilitator accepted (passed) or returned (failed) the learner's deliverable; a production with
        a marking grid is ``scored`` instead: the share of the grid's points, success when every criterion
        reached its required level, and the level given to each criterion."""
        assert event.module is not None
        accepted = bool(event.payload["accepted"])
        rubric = event.payload.get("rubric")
        if rubric is not None:
            result = Result(
                success=accepted,
                score=Score(
                    scaled=float(rubric["score"]), raw=int(rubric["raw"]), min=0, max=int(rubric["max"])
                ),
                extensions=Extensions(
                    {
                        self.vocabulary.extension("rubric-levels"): dict(rubric["levels"]),
                        self.vocabulary.extension("rubric-below"): list(rubric["below"]),
                    }
                ),
            )
            return [
                self.statement(
                    0,
                    person,
                    event,
                    v.SCORED,
                    self.deliverable(event.module),
                    self.context(person, where, event, self.module_activity(event.module)),
                    result,
                )
            ]
        return [
            self.statement(
                0,
                person,
                event,
                v.PASSED if accepted else v.FAILED,
                self.deliverable(event.module),
                self.context(person, where, event, self.module_activity(event.module)),
                Result(success=accepted),
            )
        ]

    def _prior_learning_recognised(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        assert event.module is not None
        result = Result(
            success=True,
            completion=True,
            extensions=Extensions({self.vocabulary.extension("reason"): str(event.payload["reason"])}),
        )
        return [
            self.statement(
                0,
                person,
                event,
                v.WAIVED,
                self.module_activity(event.module),
                self.context(person, where, event),
                result,
            )
        ]

    def competence(self, kind: str, code: str, name: str) -> Activity:
        """A competence (``competences/C1``) or a bloc (``blocs/B1``) of the framework."""
        return _activity(self.vocabulary.activity(kind + "s", code), "objective", f"{code} · {name}")

    def _competence_satisfied(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        p = event.payload
        score = p.get("score")
        result = Result(
            success=True,
            **({"score": Score(scaled=round(float(score), 4))} if score is not None else {}),
        )
        extra = {self.vocabulary.extension("rules-version"): int(p["rules_version"])}
        return [
            self.statement(
                0,
                person,
                event,
                v.SATISFIED,
                self.competence(str(p["kind"]), str(p["code"]), str(p["name"])),
                self.context(person, where, event, extra=extra),
                result,
            )
        ]

    def _credential_earned(self, person: Person, where: Where, event: Event) -> list[dict[str, Any]]:
        p = event.payload
        badge = _activity(
            self.vocabulary.activity("achievements", str(p["achievement"])), "badge", str(p["name"])
        )
        result = Result(
            success=True,
            completion=True,
            extensions=Extensions(
                {
                    self.vocabulary.extension("credential-id"): str(p["credential_id"]),
                    self.vocabulary.extension("verification-url"): str(p["verify_url"]),
                }
            ),
        )
        extra = {self.vocabulary.extension("rules-version"): int(p["rules_version"])}
        return [
            self.statement(
                0, person, event, v.EARNED, badge, self.context(person, where, event, extra=extra), result
            )
        ]

    def void(self, person: Person, event: Event, target_id: str) -> dict[str, Any]:
        """A statement voiding ``target_id`` (an attendance withdrawn by the facilitator)."""
        statement = TinCanStatement(
            id=uuid.UUID(statement_id(event.id, 0)),
            actor=agent(event.instructor or person),
            verb=Verb(id=v.VOIDED, display=LanguageMap(v.VERB_DISPLAY[v.VOIDED])),
            object=StatementRef(id=uuid.UUID(target_id)),
            timestamp=event.occurred_at.astimezone(UTC),
        )
        return _as_dict(statement, event)
