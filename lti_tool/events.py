"""Domain events and their pipeline: what a learner or a facilitator did, recorded in the same transaction
as the change, then handed to the features that react to it.

Every learner action goes through a service that writes its state change and one or more events through
``record_event``, so that what is recorded and what happened cannot disagree.

The pipeline. ``record_event`` inserts the event's row, then hands the event (a ``Recorded``: the row, its
scope, and what the recording service knew, its module, question, acting facilitator) to the handlers the
app registered at its creation, in their order. ``create_app`` registers, in this order: the xAPI records
(the event's statements, stored and queued for the LRSs), the gradebook (the AGS score outbox) and mastery
(competences; it announces what became met, and certificates, subscribed to that announcement, issue).
This module names none of them: the dependencies point from the features to the events, never back.

What a handler may do:

- write in the caller's session (add, flush, Core statements); never commit nor roll back: the request,
  CLI command or worker job that called ``record_event`` commits once, or rolls everything back;
- read what the handlers before it added to the ``Recorded`` (the xAPI handler adds the statement ids,
  which mastery keeps as evidence), and add to it for the handlers after it;
- record follow-up events (a competence satisfied, a credential earned) with ``record_event`` itself:
  their rows are inserted at once (their ids are known), but their handling is queued, and runs after
  every handler of the current event has finished, in the order they were recorded, in the same
  transaction. Nothing recurses: a chain of reactions is a queue, drained by the outermost call;
- raise: the remaining handlers and queued events are dropped, the exception reaches the caller, and its
  transaction rolls back, the event row and everything the earlier handlers wrote with it.

An app that registered no handler refuses to record (``NoEventHandlers``) rather than silently write
events that make no statement, grade or mastery.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.content.loader import Module
from lti_tool.content.schemas import Question
from lti_tool.db import DbSession, Model, UTCDateTime, insert_row, utcnow
from lti_tool.scope import Scope

# The event types services emit.
PAGE_READ = "page_read"
QUESTION_ANSWERED = "question_answered"
QUIZ_PASSED = "quiz_passed"
QUIZ_FAILED = "quiz_failed"
MODULE_COMPLETED = "module_completed"
DELIVERABLE_SUBMITTED = "deliverable_submitted"
DIAGNOSTIC_SUBMITTED = "diagnostic_submitted"
ATTENDANCE_RECORDED = "attendance_recorded"
LAUNCHED = "launched"
DELIVERABLE_REVIEWED = "deliverable_reviewed"
PRIOR_LEARNING_RECOGNISED = "prior_learning_recognised"
COMPETENCE_SATISFIED = "competence_satisfied"
CREDENTIAL_EARNED = "credential_earned"
CREDENTIAL_REVOKED = "credential_revoked"


class LearningEvent(Model):
    __tablename__ = "learning_events"
    __table_args__ = (
        Index("ix_learning_events_learner", "learner_id", "occurred_at"),
        Index("ix_learning_events_context", "context_pk", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    # Who recorded it when it is not the learner (a facilitator recording attendance).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    launch_id: Mapped[str | None] = mapped_column(String(64))
    module_id: Mapped[str | None] = mapped_column(String(16))
    content_version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass
class Recorded:
    """One event on its way through the handlers: its row and scope, what the service that recorded it knew
    (the module, the question answered, the facilitator acting for the learner, the live session's title),
    and what the handlers add for the ones after them."""

    event: LearningEvent
    scope: Scope
    module: Module | None = None
    question: Question | None = None
    actor: Scope | None = None
    session_title: str | None = None
    # The ids of the statements the xAPI handler stored for this event (mastery links them as evidence).
    statement_ids: list[str] = field(default_factory=list)


Handler = Callable[[DbSession, Recorded], None]


class NoEventHandlers(RuntimeError):
    """``record_event`` in an app whose pipeline has no handler: it would record events nobody handles."""


class Pipeline:
    """The handlers of one app, in the order they run."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []

    def register(self, handler: Handler) -> None:
        self.handlers.append(handler)


_EXTENSION = "socle_events"
_QUEUE = "socle_event_queue"  # in session.info: the events waiting for their handlers, while a dispatch runs


def init_app(app: Flask) -> Pipeline:
    """Give the app its (empty) pipeline; create_app registers the handlers on it, in order."""
    pipeline = Pipeline()
    app.extensions[_EXTENSION] = pipeline
    return pipeline


def _handlers() -> list[Handler]:
    pipeline: Pipeline | None = current_app.extensions.get(_EXTENSION)
    if pipeline is None or not pipeline.handlers:
        raise NoEventHandlers(
            "no event handler is registered on this app: create_app wires the pipeline "
            "(events.init_app, then the xAPI records, gradebook and mastery handlers)"
        )
    return pipeline.handlers


def record_event(
    session: DbSession,
    scope: Scope,
    type_: str,
    *,
    content_version: int,
    module: Module | None = None,
    question: Question | None = None,
    payload: dict[str, Any] | None = None,
    actor: Scope | None = None,
    at: datetime | None = None,
    session_title: str | None = None,
) -> LearningEvent:
    """Write the event and hand it to the app's handlers, in the caller's transaction; called by a handler,
    queue it behind the event being handled (see the module's docstring)."""
    handlers = _handlers()
    row = {
        "id": str(uuid.uuid4()),
        "type": type_,
        "platform_id": scope.platform_id,
        "context_pk": scope.context_pk,
        "learner_id": scope.learner_id,
        "actor_id": actor.learner_id if actor else None,
        "launch_id": scope.launch_id,
        "module_id": module.id if module is not None else None,
        "content_version": content_version,
        "payload": payload or {},
        "occurred_at": at or utcnow(),
    }
    event: LearningEvent = insert_row(session, LearningEvent, row)
    recorded = Recorded(event, scope, module, question, actor, session_title)
    queue: deque[Recorded] | None = session.info.get(_QUEUE)
    if queue is not None:  # a handler recorded it: it waits for the current event's handlers to finish
        queue.append(recorded)
        return event
    queue = session.info[_QUEUE] = deque([recorded])
    try:
        while queue:
            current = queue.popleft()
            for handler in handlers:
                handler(session, current)
    finally:
        del session.info[_QUEUE]
    return event
