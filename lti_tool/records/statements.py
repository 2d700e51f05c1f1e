"""Socle's event vocabulary: the xAPI statements each kind of learning event makes.

``STATEMENTS`` maps every event type of ``lti_tool.events`` to the function that builds its statements
from the parts ``xapi.builder`` offers (actor, activity, context, statement, void). A type missing from it
is a mistake, and ``statements_of`` says so rather than record nothing. The functions are pure: what needs
the database (the earlier statement an un-ticked attendance voids) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tincan import Activity, Extensions, Result, Score

from lti_tool import events
from lti_tool.content.schemas import ChoiceQuestion, MatchingQuestion, OrderingQuestion, Question
from xapi import vocabulary as v
from xapi.builder import Builder, Occurrence, Person, QuestionRef, Where, activity, duration, interaction

Statements = list[dict[str, Any]]


@dataclass(frozen=True)
class ModuleRef:
    id: str
    title: str


@dataclass(frozen=True, kw_only=True)
class Event(Occurrence):
    """A learning event as its statements see it: the row's type and payload, the module it touched (its
    title), the question answered, and the title of the live session attended."""

    type: str
    module: ModuleRef | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    question: QuestionRef | None = None
    session_title: str | None = None


class UnknownEventType(LookupError):
    """An event type with no statements in the vocabulary: a new type needs its entry in STATEMENTS."""


def statements_of(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    """The statements of one event; an event type the vocabulary does not know raises."""
    try:
        make = STATEMENTS[event.type]
    except KeyError:
        raise UnknownEventType(f"no xAPI statements are defined for the event type {event.type!r}") from None
    return make(build, person, where, event)


# -- Socle's activities -------------------------------------------------------------------------------------
def module_activity(build: Builder, module: ModuleRef) -> Activity:
    return activity(build.vocabulary.activity("modules", module.id), "module", module.title)


def diagnostic_activity(build: Builder) -> Activity:
    return activity(build.vocabulary.activity("autodiagnostic"), "assessment", "Autodiagnostic")


def deliverable_activity(build: Builder, module: ModuleRef) -> Activity:
    iri = build.vocabulary.activity("modules", module.id, "deliverable")
    return activity(iri, "file", f"Livrable : {module.title}")


def competence_activity(build: Builder, kind: str, code: str, name: str) -> Activity:
    """A competence (``competences/C1``) or a bloc (``blocs/B1``) of the framework."""
    return activity(build.vocabulary.activity(kind + "s", code), "objective", f"{code} · {name}")


# -- one event type, its statements -------------------------------------------------------------------------
def launched(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    landing = module_activity(build, event.module) if event.module else None
    if event.payload.get("activity") == "diagnostic":
        landing = diagnostic_activity(build)
    target = landing or build.course(where)
    return [build.statement(0, person, event, v.LAUNCHED, target, build.context(person, where, event))]


def page_read(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    assert event.module is not None
    module = module_activity(build, event.module)
    page = activity(
        build.vocabulary.activity("modules", event.module.id, "pages", str(event.payload["page"])),
        "page",
        str(event.payload.get("title") or f"Page {event.payload['page']}"),
    )
    statements = [
        build.statement(0, person, event, v.EXPERIENCED, page, build.context(person, where, event, module))
    ]
    if "progress" in event.payload:
        result = Result(extensions=Extensions({v.CMI5_PROGRESS: int(event.payload["progress"])}))
        statements.append(
            build.statement(
                1, person, event, v.PROGRESSED, module, build.context(person, where, event), result
            )
        )
    return statements


def question_answered(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    assert event.module is not None and event.question is not None
    question = interaction(
        build.vocabulary.activity("modules", event.module.id, "questions", event.question.id), event.question
    )
    result = Result(response=str(event.payload["response_pattern"]), success=bool(event.payload["correct"]))
    context = build.context(
        person,
        where,
        event,
        module_activity(build, event.module),
        {build.vocabulary.extension("attempt"): int(event.payload["attempt"])},
    )
    return [build.statement(0, person, event, v.ANSWERED, question, context, result)]


def _quiz_result(build: Builder, person: Person, where: Where, event: Event, passed: bool) -> Statements:
    assert event.module is not None
    p = event.payload
    result = Result(
        score=Score(scaled=float(p["score"]), raw=int(p["correct"]), min=0, max=int(p["questions"])),
        success=passed,
        duration=duration(float(p.get("duration_seconds", 0))),
    )
    context = build.context(
        person,
        where,
        event,
        extra={
            v.CMI5_MASTERY_SCORE: float(p["mastery_score"]),
            build.vocabulary.extension("attempt"): int(p["attempt"]),
        },
    )
    verb = v.PASSED if passed else v.FAILED
    return [build.statement(0, person, event, verb, module_activity(build, event.module), context, result)]


def quiz_passed(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    return _quiz_result(build, person, where, event, True)


def quiz_failed(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    return _quiz_result(build, person, where, event, False)


def module_completed(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    assert event.module is not None
    result = Result(completion=True, duration=duration(float(event.payload.get("duration_seconds", 0))))
    return [
        build.statement(
            0,
            person,
            event,
            v.COMPLETED,
            module_activity(build, event.module),
            build.context(person, where, event),
            result,
        )
    ]


def deliverable_submitted(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    assert event.module is not None
    result = Result(extensions=Extensions({build.vocabulary.extension("words"): int(event.payload["words"])}))
    return [
        build.statement(
            0,
            person,
            event,
            v.SUBMITTED,
            deliverable_activity(build, event.module),
            build.context(person, where, event, module_activity(build, event.module)),
            result,
        )
    ]


def diagnostic_submitted(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    p = event.payload
    ext = build.vocabulary.extension
    result = Result(
        completion=True,
        score=Score(
            scaled=round(float(p["global_score"]) / 100, 4),
            raw=round(float(p["global_score"]), 2),
            min=0,
            max=100,
        ),
        duration=duration(float(p.get("duration_seconds", 0))),
        extensions=Extensions(
            {
                ext("axis-scores"): p["axis_scores"],
                ext("level"): p["level"],
                ext("priority-axis"): p["priority_axis"],
                # the person's practice, apart from the organisation's level (absent before version 4)
                **({ext("practice-level"): p["practice_level"]} if "practice_level" in p else {}),
                ext("strength-axis"): p["strength_axis"],
                ext("recommendation"): {
                    "rule": p["rule"],
                    "primary": p["primary_format"],
                    "secondary": p["secondary_format"],
                    "modules": list(p["modules"]),
                },
            }
        ),
    )
    return [
        build.statement(
            0,
            person,
            event,
            v.COMPLETED,
            diagnostic_activity(build),
            build.context(person, where, event),
            result,
        )
    ]


def attendance_recorded(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    """A tick makes an ``attended`` statement; an un-tick makes none here: it voids the tick's statement,
    which only the statement store can find (``records.emit`` does)."""
    if not event.payload.get("present"):
        return []
    p = event.payload
    session = activity(
        build.vocabulary.activity("sessions", str(p["session"])),
        "meeting",
        event.session_title or str(p.get("kind", "séance")),
    )
    result = Result(duration=duration(float(p.get("duration_minutes", 0)) * 60))
    parent = module_activity(build, event.module) if event.module else None
    return [
        build.statement(
            0, person, event, v.ATTENDED, session, build.context(person, where, event, parent), result
        )
    ]


def deliverable_reviewed(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    """A facilitator accepted (passed) or returned (failed) the learner's deliverable; a production with
    a marking grid is ``scored`` instead: the share of the grid's points, success when every criterion
    reached its required level, and the level given to each criterion."""
    assert event.module is not None
    accepted = bool(event.payload["accepted"])
    rubric = event.payload.get("rubric")
    deliverable = deliverable_activity(build, event.module)
    context = build.context(person, where, event, module_activity(build, event.module))
    if rubric is not None:
        result = Result(
            success=accepted,
            score=Score(scaled=float(rubric["score"]), raw=int(rubric["raw"]), min=0, max=int(rubric["max"])),
            extensions=Extensions(
                {
                    build.vocabulary.extension("rubric-levels"): dict(rubric["levels"]),
                    build.vocabulary.extension("rubric-below"): list(rubric["below"]),
                }
            ),
        )
        return [build.statement(0, person, event, v.SCORED, deliverable, context, result)]
    verb = v.PASSED if accepted else v.FAILED
    return [build.statement(0, person, event, verb, deliverable, context, Result(success=accepted))]


def prior_learning_recognised(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    assert event.module is not None
    result = Result(
        success=True,
        completion=True,
        extensions=Extensions({build.vocabulary.extension("reason"): str(event.payload["reason"])}),
    )
    return [
        build.statement(
            0,
            person,
            event,
            v.WAIVED,
            module_activity(build, event.module),
            build.context(person, where, event),
            result,
        )
    ]


def competence_satisfied(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    p = event.payload
    score = p.get("score")
    result = Result(
        success=True, **({"score": Score(scaled=round(float(score), 4))} if score is not None else {})
    )
    extra = {build.vocabulary.extension("rules-version"): int(p["rules_version"])}
    return [
        build.statement(
            0,
            person,
            event,
            v.SATISFIED,
            competence_activity(build, str(p["kind"]), str(p["code"]), str(p["name"])),
            build.context(person, where, event, extra=extra),
            result,
        )
    ]


def credential_earned(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    p = event.payload
    badge = activity(
        build.vocabulary.activity("achievements", str(p["achievement"])), "badge", str(p["name"])
    )
    result = Result(
        success=True,
        completion=True,
        extensions=Extensions(
            {
                build.vocabulary.extension("credential-id"): str(p["credential_id"]),
                build.vocabulary.extension("verification-url"): str(p["verify_url"]),
            }
        ),
    )
    extra = {build.vocabulary.extension("rules-version"): int(p["rules_version"])}
    return [
        build.statement(
            0, person, event, v.EARNED, badge, build.context(person, where, event, extra=extra), result
        )
    ]


def credential_revoked(build: Builder, person: Person, where: Where, event: Event) -> Statements:
    """Revoking voids the "earned" statement; the voider is the event's instructor (the administrator, or
    Socle itself, which ``records.emit`` puts there when no one else did)."""
    return [build.void(person, event, str(event.payload["earned_statement_id"]))]


StatementsOf = Callable[[Builder, Person, Where, Event], Statements]

STATEMENTS: Mapping[str, StatementsOf] = MappingProxyType(
    {
        events.LAUNCHED: launched,
        events.PAGE_READ: page_read,
        events.QUESTION_ANSWERED: question_answered,
        events.QUIZ_PASSED: quiz_passed,
        events.QUIZ_FAILED: quiz_failed,
        events.MODULE_COMPLETED: module_completed,
        events.DELIVERABLE_SUBMITTED: deliverable_submitted,
        events.DIAGNOSTIC_SUBMITTED: diagnostic_submitted,
        events.ATTENDANCE_RECORDED: attendance_recorded,
        events.DELIVERABLE_REVIEWED: deliverable_reviewed,
        events.PRIOR_LEARNING_RECOGNISED: prior_learning_recognised,
        events.COMPETENCE_SATISFIED: competence_satisfied,
        events.CREDENTIAL_EARNED: credential_earned,
        events.CREDENTIAL_REVOKED: credential_revoked,
    }
)


# -- quiz questions as interactions -------------------------------------------------------------------------
def question_ref(question: Question) -> QuestionRef:
    """The interaction definition of a quiz question (cmi.interaction types, correct response pattern)."""
    if isinstance(question, ChoiceQuestion):
        return QuestionRef(
            question.id,
            question.prompt,
            "choice",
            "[,]".join(c.id for c in question.choices if c.correct),
            choices=[(c.id, c.text) for c in question.choices],
        )
    if isinstance(question, MatchingQuestion):
        return QuestionRef(
            question.id,
            question.prompt,
            "matching",
            "[,]".join(f"l{i}[.]r{i}" for i in range(len(question.pairs))),
            source=[(f"l{i}", p.left) for i, p in enumerate(question.pairs)],
            target=[(f"r{i}", p.right) for i, p in enumerate(question.pairs)],
        )
    if isinstance(question, OrderingQuestion):
        return QuestionRef(
            question.id,
            question.prompt,
            "sequencing",
            "[,]".join(f"i{i}" for i in range(len(question.items))),
            choices=[(f"i{i}", text) for i, text in enumerate(question.items)],
        )
    return QuestionRef(question.id, question.prompt, "true-false", "true" if question.answer else "false")


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
