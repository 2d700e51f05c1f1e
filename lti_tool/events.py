"""Domain events: what a learner or a facilitator did, recorded in the same transaction as the change.

Every learner action goes through a service that writes its state change and one or more events here, so
that what is recorded and what happened cannot disagree. The xAPI work turns these rows into statements;
the competences work turns them into mastery.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import DbSession, Model, UTCDateTime, insert_row, utcnow
from lti_tool.lti.context import LaunchContext

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


@dataclass(frozen=True)
class Scope:
    """Who acts, where: every event and every learner row carries its registration and context, and the
    LTI ids that make the xAPI actor, registration and course."""

    platform_id: int
    context_pk: int
    learner_id: int
    launch_id: str | None = None
    issuer: str = ""
    sub: str = ""
    deployment_id: str = ""
    lti_context_id: str = ""
    context_title: str | None = None
    resource_link_id: str | None = None

    @classmethod
    def of_launch(cls, launch: LaunchContext) -> Scope:
        return cls(
            platform_id=launch.platform_id,
            context_pk=launch.context_pk,
            learner_id=launch.learner_id,
            launch_id=launch.launch_id,
            issuer=launch.issuer,
            sub=launch.sub,
            deployment_id=launch.deployment_id,
            lti_context_id=launch.lti_context_id,
            context_title=launch.context_title,
            resource_link_id=launch.resource_link_id,
        )

    def for_learner(self, learner_id: int, issuer: str, sub: str, resource_link_id: str | None) -> Scope:
        """The same course, for another person (a facilitator records a learner's attendance); the
        resource is the learner's own latest one, so their registration stays the same."""
        return replace(
            self,
            learner_id=learner_id,
            launch_id=None,
            issuer=issuer,
            sub=sub,
            resource_link_id=resource_link_id,
        )


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


def record_event(
    session: DbSession,
    scope: Scope,
    type_: str,
    *,
    content_version: int,
    module: Any = None,
    question: Any = None,
    payload: dict[str, Any] | None = None,
    actor: Scope | None = None,
    at: datetime | None = None,
    session_title: str | None = None,
) -> LearningEvent:
    """Write the event, the xAPI statements it makes, the gradebook score it earns and the mastery it
    changes, all in the caller's transaction."""
    # Imported here: each of them builds on events.
    from lti_tool import records
    from lti_tool.competences import services as competences
    from lti_tool.content.runtime import content
    from lti_tool.lti import ags

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
    event = insert_row(session, LearningEvent, row)
    statement_ids = records.emit(
        session, scope, event, module=module, question=question, actor=actor, session_title=session_title
    )
    grade = ags.grade_for(type_, event.payload, module)
    if grade is not None:
        ags.enqueue(session, scope, grade)
    competences.after_event(session, scope, event, statement_ids, content())
    return event
