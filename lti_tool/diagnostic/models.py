"""Autodiagnostic runs: profile, answers saved as they come, and the result once submitted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Model, UTCDateTime, utcnow


class DiagnosticRun(Model):
    __tablename__ = "diagnostic_runs"
    __table_args__ = (Index("ix_diagnostic_runs_learner", "learner_id", "context_pk", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    content_version: Mapped[int] = mapped_column(Integer)
    variant: Mapped[str | None] = mapped_column(String(32))
    profile: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # question id -> 1..4, or 0 for "je ne sais pas"
    answers: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | submitted
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    global_score: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
