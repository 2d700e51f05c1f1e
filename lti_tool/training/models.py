"""Learner progress in modules, quiz attempts, deliverables, live sessions and attendance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Model, UTCDateTime, utcnow


class ModuleProgress(Model):
    """One learner's progress in one module, within one course context."""

    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("learner_id", "context_pk", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    module_id: Mapped[str] = mapped_column(String(16))
    content_version: Mapped[int] = mapped_column(Integer)
    pages_read: Mapped[list[int]] = mapped_column(JSON, default=list)
    last_page: Mapped[int] = mapped_column(Integer, default=1)
    best_score: Mapped[float | None] = mapped_column(Float)
    is_quiz_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuizAttempt(Model):
    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("progress_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    progress_id: Mapped[int] = mapped_column(ForeignKey("module_progress.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[str] = mapped_column(String(16))
    content_version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    # The question ids drawn for this attempt, in the order asked; None for attempts started before quizzes
    # drew from a bank (they asked every question of their time, in file order: see services.drawn_ids).
    questions: Mapped[list[str] | None] = mapped_column(JSON)
    # question id -> {"response": …, "correct": bool}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    is_passed: Mapped[bool | None] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Deliverable(Model):
    """The short written deliverable of a live-format module."""

    __tablename__ = "deliverables"

    id: Mapped[int] = mapped_column(primary_key=True)
    progress_id: Mapped[int] = mapped_column(
        ForeignKey("module_progress.id", ondelete="CASCADE"), unique=True
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    module_id: Mapped[str] = mapped_column(String(16))
    content_version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A facilitator's review: None (waiting), "accepted" or "returned" (with a comment to the learner).
    review_status: Mapped[str | None] = mapped_column(String(16))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An assessed production (a deliverable with a marking grid): criterion id -> level given, and the
    # share of the grid's points (0..1). "accepted" then means every criterion reached its required level.
    rubric_levels: Mapped[dict[str, int] | None] = mapped_column(JSON)
    rubric_score: Mapped[float | None] = mapped_column(Float)


class LiveSession(Model):
    """A webinaire, atelier or session de co-développement planned for a course context."""

    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    module_id: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # Where to join: a room (an address) or a link (a video call), or both; what the session is about.
    place: Mapped[str | None] = mapped_column(String(255))
    join_url: Mapped[str | None] = mapped_column(String(1024))
    description: Mapped[str | None] = mapped_column(Text)
    # A cancelled session stays (its attendance, if any, is history) but is no longer offered to learners.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on each change, so a calendar that imported the .ics takes the newer version (SEQUENCE).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(Model):
    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("session_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    is_present: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
